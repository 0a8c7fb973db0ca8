"""What a handler of a metadata change does first: wait for the controller quorum.

Kafka's broker forwards CreateTopics, DeleteTopics, CreatePartitions and the config changes
to the active controller; with no controller quorum, nobody answers and the broker tells its
client REQUEST_TIMED_OUT once the wait is over. Here the wait is *timeout_ms* (the request's
own, where it has one and it is positive) or the broker's ``request_timeout_ms``; the change
then raises `MetadataQuorumUnavailable` if there is still no quorum, which the handlers answer
REQUEST_TIMED_OUT (`kafkalite.broker.errors`). Produce and Fetch never wait here: their leaders
keep serving without a quorum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker


async def wait_for_quorum(broker: Broker, timeout_ms: int | None = None) -> bool:
    """Wait until the controller quorum can commit, up to *timeout_ms* (None or not positive:
    the broker's ``request_timeout_ms``); return whether it can. Returns at once when it can."""
    if broker.quorum.has_majority():
        return True
    wait_ms = timeout_ms if timeout_ms is not None and timeout_ms > 0 else broker.config.request_timeout_ms
    return await broker.quorum.wait_for_majority(wait_ms / 1000)
