"""Client quota throttling on a connection: the throttle time in the answer, and the mute.

Kafka's quota managers measure a Produce by its request size and a Fetch by its response size
(`kafkalite.broker.throttle`). Over the quota, the answer carries ``throttle_time_ms`` and the
connection is muted that long: for versions whose clients throttle themselves (KIP-219:
Produce v6+, Fetch v8+) the answer goes out at once and nothing more is read from the
connection until the throttle ends; for older versions the answer itself is held back that
long. A throttled Fetch answers no records (and takes back the bytes it had measured), as
Kafka's ``getThrottledResponse``; a throttled Produce's records are appended all the same.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from kafkalite.broker.registry import RequestContext
from kafkalite.clock import BrokerClock
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.schema import encode_into

#: The first version of each API whose clients throttle themselves (KIP-219); older versions
#: get their answer late instead. Only the APIs quotas measure are listed.
CLIENT_THROTTLES_FROM = {ApiKey.PRODUCE: 6, ApiKey.FETCH: 8}


@attrs.define(eq=False)
class Mute:
    """One connection's throttle: set by `throttle` for the request just handled, carried out
    by the connection loop (which owns the socket)."""

    #: Milliseconds the connection stays muted after this answer (0: not throttled).
    throttle_ms: int = 0
    #: Whether the client throttles itself (the answer goes out first) or the answer waits.
    answer_first: bool = True

    def clear(self) -> None:
        self.throttle_ms = 0
        self.answer_first = True


def user_of(ctx: RequestContext) -> str:
    """The principal's name quotas are set for: ``alice`` for ``User:alice``."""
    principal = getattr(ctx, "principal", "User:ANONYMOUS")
    return principal.split(":", 1)[1] if ":" in principal else principal


def throttle(ctx: RequestContext, request: Any, response: Any, frame_size: int, mute: Mute | None) -> Any:
    """Record the request against the client's quotas and return the answer to send: with
    ``throttle_time_ms`` set, and for a throttled Fetch without records. Sets *mute*."""
    api_key = ctx.header.api_key
    if api_key not in CLIENT_THROTTLES_FROM:
        return response
    enforcer = ctx.broker.throttle
    user, client_id = user_of(ctx), ctx.header.client_id or ""
    version = ctx.api_version
    if api_key == ApiKey.PRODUCE:
        throttle_ms = enforcer.produce(user, client_id, frame_size)
    else:
        size = _size(response, version)
        throttle_ms = enforcer.fetch(user, client_id, size)
        if throttle_ms:
            enforcer.unrecord("consumer_byte_rate", user, client_id, size)
            response = _throttled_fetch(request, response, version)
    if not throttle_ms:
        return response
    if mute is not None:
        mute.throttle_ms = max(mute.throttle_ms, throttle_ms)
        mute.answer_first = version >= CLIENT_THROTTLES_FROM[api_key]
    if response is None:
        return None
    return _with_throttle(response, version, throttle_ms)


def _size(response: Any, version: int) -> int:
    out = bytearray()
    encode_into(out, response, version)
    return len(out)


def _throttled_fetch(request: Any, response: Any, version: int) -> Any:
    # A full fetch (a new or no session) is answered without a session, as Kafka's
    # FullFetchContext does; an incremental one keeps its session id.
    incremental = version >= 7 and request.session_epoch > 0
    session_id = response.session_id if incremental and version >= 7 else 0
    if version >= 7:
        return attrs.evolve(response, responses=[], session_id=session_id, error_code=0)
    return attrs.evolve(response, responses=[])


def _with_throttle(response: Any, version: int, throttle_ms: int) -> Any:
    spec = next((s for s in type(response).__kafka_fields__ if s.name == "throttle_time_ms"), None)
    if spec is None or version not in spec.versions:
        return response
    return attrs.evolve(response, throttle_time_ms=max(throttle_ms, response.throttle_time_ms))


async def wait_out(clock: BrokerClock, mute: Mute) -> None:
    """Sleep out *mute*'s throttle on the broker *clock* (advancing it ends the throttle
    sooner), then clear it."""
    with clock.move_on_after(mute.throttle_ms / 1000):
        await trio.sleep_forever()
    mute.clear()
