"""Client quota throttling on a connection: the throttle time in the answer, and the mute.

Kafka's quota managers measure a Produce by its request size and a Fetch by its response size
(`kafkalite.broker.throttle`), and every request by the time its handler ran
(``request_percentage``: the handler's own task steps, timed by a trio instrument that exists
only once such a quota is set, so waiting, e.g. a Fetch's max_wait_ms, costs nothing; an
acks=0 Produce is not timed, as in Kafka). Over a quota, the answer carries
``throttle_time_ms`` (the larger of the byte-rate and the request-time throttle) and the
connection is muted that long: for versions whose clients throttle themselves (KIP-219, from
the version each API's ``shouldClientThrottle`` names) the answer goes out at once and
nothing more is read from the connection until the throttle ends; for older versions the
answer itself is held back that long. A throttled Fetch answers no records (and takes back
the bytes it had measured), as Kafka's ``getThrottledResponse``; a throttled Produce's
records are appended all the same.
"""

from __future__ import annotations

from typing import Any

import time
import weakref

import attrs
import trio

from kafkalite.broker.registry import RequestContext
from kafkalite.clock import BrokerClock
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.schema import encode_into

#: The first version of each API whose clients throttle themselves (KIP-219, Kafka's
#: ``shouldClientThrottle``); older versions, and APIs not listed, get their answer late.
CLIENT_THROTTLES_FROM = {
    ApiKey.PRODUCE: 6, ApiKey.FETCH: 8, ApiKey.LIST_OFFSETS: 3, ApiKey.METADATA: 6,
    ApiKey.OFFSET_COMMIT: 4, ApiKey.OFFSET_FETCH: 4, ApiKey.FIND_COORDINATOR: 2, ApiKey.JOIN_GROUP: 3,
    ApiKey.HEARTBEAT: 2, ApiKey.LEAVE_GROUP: 2, ApiKey.SYNC_GROUP: 2, ApiKey.DESCRIBE_GROUPS: 2,
    ApiKey.LIST_GROUPS: 2, ApiKey.API_VERSIONS: 2, ApiKey.CREATE_TOPICS: 3, ApiKey.DELETE_TOPICS: 2,
    ApiKey.DELETE_RECORDS: 1, ApiKey.INIT_PRODUCER_ID: 1, ApiKey.ADD_PARTITIONS_TO_TXN: 1,
    ApiKey.ADD_OFFSETS_TO_TXN: 1, ApiKey.END_TXN: 1, ApiKey.TXN_OFFSET_COMMIT: 1, ApiKey.DESCRIBE_CONFIGS: 2,
    ApiKey.ALTER_CONFIGS: 1, ApiKey.CREATE_PARTITIONS: 1, ApiKey.DELETE_GROUPS: 1,
    ApiKey.INCREMENTAL_ALTER_CONFIGS: 0, ApiKey.OFFSET_DELETE: 0, ApiKey.DESCRIBE_LOG_DIRS: 1,
    ApiKey.DESCRIBE_TOPIC_PARTITIONS: 0,
}
_NEVER = 1 << 16


class TaskTimes(trio.abc.Instrument):
    """Time spent running in chosen tasks (their steps only, not their waits)."""

    def __init__(self) -> None:
        # Weak: a handler that raised never stops its timer, and its task may be gone.
        self._spent: weakref.WeakKeyDictionary[trio.lowlevel.Task, int] = weakref.WeakKeyDictionary()
        self._since: weakref.WeakKeyDictionary[trio.lowlevel.Task, int] = weakref.WeakKeyDictionary()

    def start(self, task: trio.lowlevel.Task) -> None:
        """Start timing *task*, which is running now."""
        self._spent[task] = 0
        self._since[task] = time.perf_counter_ns()

    def stop(self, task: trio.lowlevel.Task) -> int:
        """Nanoseconds *task* ran since `start` (it is running now)."""
        spent = self._spent.pop(task, 0)
        since = self._since.pop(task, None)
        return spent if since is None else spent + time.perf_counter_ns() - since

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task in self._spent:
            self._since[task] = time.perf_counter_ns()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        since = self._since.pop(task, None)
        if since is not None:
            self._spent[task] += time.perf_counter_ns() - since


#: One instrument per trio run (by its root task), added when first needed.
_TASK_TIMES: weakref.WeakKeyDictionary[trio.lowlevel.Task, TaskTimes] = weakref.WeakKeyDictionary()


def start_request_timer(quotas_active: bool, ctx_broker: Any) -> TaskTimes | None:
    """Start timing the current task's handler when a ``request_percentage`` quota is set;
    the timer to hand to `throttle`, else None."""
    if not quotas_active or not ctx_broker.quotas.in_use("request_percentage"):
        return None
    root = trio.lowlevel.current_root_task()
    times = _TASK_TIMES.get(root)
    if times is None:
        times = _TASK_TIMES[root] = TaskTimes()
        trio.lowlevel.add_instrument(times)
    times.start(trio.lowlevel.current_task())
    return times


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


def throttle(
    ctx: RequestContext, request: Any, response: Any, frame_size: int, mute: Mute | None, timer: TaskTimes | None = None
) -> Any:
    """Record the request against the client's quotas and return the answer to send: with
    ``throttle_time_ms`` set, and for a throttled Fetch without records. Sets *mute*. *timer*
    (from `start_request_timer`) has timed the handler."""
    api_key = ctx.header.api_key
    enforcer = ctx.broker.throttle
    user, client_id = user_of(ctx), ctx.header.client_id or ""
    version = ctx.api_version
    bandwidth_ms, fetch_size = 0, None
    if api_key == ApiKey.PRODUCE:
        bandwidth_ms = enforcer.produce(user, client_id, frame_size)
    elif api_key == ApiKey.FETCH:
        fetch_size = _size(response, version)
        bandwidth_ms = enforcer.fetch(user, client_id, fetch_size)
    request_ms = 0
    if timer is not None:
        elapsed_ns = timer.stop(trio.lowlevel.current_task())
        if not (api_key == ApiKey.PRODUCE and request.acks == 0):
            request_ms = enforcer.request_time(user, client_id, elapsed_ns)
    throttle_ms = max(bandwidth_ms, request_ms)
    if not throttle_ms:
        return response
    if fetch_size is not None:
        enforcer.unrecord("consumer_byte_rate", user, client_id, fetch_size)
        response = _throttled_fetch(request, response, version)
    if mute is not None:
        mute.throttle_ms = max(mute.throttle_ms, throttle_ms)
        mute.answer_first = version >= CLIENT_THROTTLES_FROM.get(api_key, _NEVER)
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
