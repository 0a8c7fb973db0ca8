"""A broker in a background thread, for synchronous code: scripts, unittest, Django, pytest.

    with kafkalite.run_in_thread(partitions=3) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
        ...
        broker.wait_for_records("orders", 10)

The broker runs `kafkalite.serve` in its own thread with its own trio loop. Helpers
(`BrokerThread.create_topic`, `produce`, `records`, `committed`, the ``wait_for_*`` methods)
work on the broker's state directly, in the broker's thread: each one is handed to the trio
loop through its `trio.lowlevel.TrioToken` and the calling thread blocks until it is done.
They may be called from any thread, also from inside another trio loop (a trio test), as
long as it is not the broker's own thread.

Waits return as soon as their condition holds: they re-check whenever a partition they
watch gets an append (commits and group generations are appends to ``__consumer_offsets``)
and at least every 50 ms otherwise. On timeout they raise `WaitTimeout`, an
``AssertionError`` that says what was expected and what was last seen.

`reset` empties the broker between tests in about a millisecond: user topics, groups,
committed offsets and idempotent-producer state are dropped; the listeners, the cluster id
and ``__consumer_offsets`` (emptied) stay.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Mapping, Sequence, TypeVar, Union

import attrs
import trio

from kafkalite.broker.settings import BrokerConfig

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker
    from kafkalite.server.serve import ServerInfo

log = logging.getLogger("kafkalite.inprocess")

T = TypeVar("T")

OFFSETS_TOPIC = "__consumer_offsets"
#: Config fields a running (shared) broker can change between tests: they are read on use.
RUNTIME_FIELDS = frozenset({"num_partitions", "auto_create_topics"})
_RECHECK_S = 0.05

Bytesish = Union[bytes, bytearray, str, None]


class WaitTimeout(AssertionError):
    """A ``wait_for_*`` helper ran out of time; the message says expected vs seen."""


class BrokerNotRunning(RuntimeError):
    """The broker thread is not running (not started yet, stopped, or failed)."""


@attrs.frozen
class ConsumedRecord:
    """A record as the helpers read it from the log."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@attrs.frozen
class MemberInfo:
    member_id: str
    client_id: str
    client_host: str
    group_instance_id: str | None
    #: topic -> partitions, decoded from the consumer protocol assignment ({} if none yet).
    assignment: Mapping[str, tuple[int, ...]]


@attrs.frozen
class GroupInfo:
    group_id: str
    state: str  # Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
    generation_id: int
    protocol_type: str
    protocol_name: str
    leader_id: str
    members: tuple[MemberInfo, ...]

    def assignment(self) -> dict[tuple[str, int], str]:
        """(topic, partition) -> member id of every assigned partition."""
        return {
            (topic, p): m.member_id
            for m in self.members
            for topic, partitions in m.assignment.items()
            for p in partitions
        }


def _unwrap(exc: BaseException) -> BaseException:
    """The one exception inside (nested) single-exception groups, as trio's nurseries wrap it."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _as_bytes(value: Bytesish) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def make_config(config: BrokerConfig | None = None, **overrides: Any) -> BrokerConfig:
    """*config* (default: in memory, 127.0.0.1, a free port) with *overrides* applied.

    ``partitions`` is accepted as the name of ``num_partitions`` (the CLI's name).
    """
    if "partitions" in overrides:
        overrides["num_partitions"] = overrides.pop("partitions")
    if config is None:
        base: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "memory": True}
        base.update(overrides)
        return BrokerConfig(**base)
    return attrs.evolve(config, **overrides) if overrides else config


class BrokerThread:
    """A running broker in a background thread; see the module docstring.

    Create with `run_in_thread` (a context manager) or call `start` / `stop` yourself.
    """

    def __init__(self, config: BrokerConfig | None = None, **overrides: Any) -> None:
        self.config = make_config(config, **overrides)
        self._base_config = self.config
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._info: ServerInfo | None = None
        self._started = threading.Event()
        self._stop = trio.Event()
        self._grace_s: float | None = None
        self._error: BaseException | None = None
        self._round_robin: dict[str, itertools.count[int]] = {}

    # -- lifetime ------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> BrokerThread:
        """Start the broker; return once it accepts connections.

        Raises:
            BrokerNotRunning: it failed to start (the cause is chained), or took longer than
                *timeout* seconds.
        """
        if self._thread is not None:
            raise RuntimeError("this BrokerThread was already started")
        self._thread = threading.Thread(target=self._thread_main, name="kafkalite-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise BrokerNotRunning(f"kafkalite did not start within {timeout} s")
        if self._info is None:
            self._thread.join(timeout)
            raise BrokerNotRunning(f"kafkalite failed to start: {self._error}") from self._error
        return self

    def stop(self, timeout: float = 10.0, grace_s: float = 0.0) -> None:
        """Stop gracefully (in-flight requests get *grace_s*) and wait for the thread.

        Idempotent. Raises what the broker thread died of, if it died of anything.
        """
        thread = self._thread
        if thread is None:
            return
        token = self._token
        if token is not None and thread.is_alive():
            self._grace_s = grace_s
            with contextlib.suppress(trio.RunFinishedError):  # it just ended on its own
                token.run_sync_soon(self._stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the kafkalite broker thread did not stop within {timeout} s")
        error, self._error = self._error, None
        if error is not None:
            raise error

    def __enter__(self) -> BrokerThread:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _thread_main(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported by start() / stop(), never lost in the thread
            self._error = _unwrap(exc)
            log.debug("kafkalite broker thread ended with %r", exc)
        finally:
            self._token = None
            self._started.set()

    async def _main(self) -> None:
        from kafkalite.server.serve import serve

        self._token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as helpers:
            self._nursery = helpers  # tasks of `run`
            async with trio.open_nursery() as server:
                self._info = await server.start(serve, self.config)
                self._started.set()
                await self._stop.wait()
                self._info.shutdown(self._grace_s)
            # serve returned, the logs are closed: end helper tasks still waiting.
            helpers.cancel_scope.cancel()

    # -- addresses -----------------------------------------------------------------------

    @property
    def info(self) -> ServerInfo:
        if self._info is None:
            raise BrokerNotRunning("the broker has not started")
        return self._info

    @property
    def bootstrap_servers(self) -> str:
        """The "host:port" string Kafka clients take as bootstrap.servers."""
        return self.info.bootstrap_servers

    @property
    def host(self) -> str:
        return self.info.bound[0][0]

    @property
    def port(self) -> int:
        return self.info.bound[0][1]

    @property
    def broker(self) -> Broker:
        """The broker's state. Only touch it from the broker thread: see `call`."""
        return self.info.broker

    def __repr__(self) -> str:
        where = self._info.bootstrap_servers if self._info is not None else "not running"
        return f"<kafkalite BrokerThread {where}>"

    # -- running code in the broker thread -----------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
        """Run ``fn(*args)`` in the broker's thread and return its result (or raise its error)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        self._submit(run)
        return future.result(timeout)

    def run(self, async_fn: Callable[..., Awaitable[T]], *args: Any, timeout: float = 60.0) -> T:
        """Run ``await async_fn(*args)`` as a task of the broker's trio loop; return its result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        async def task() -> None:
            try:
                result = await async_fn(*args)
            except trio.Cancelled:
                future.set_exception(BrokerNotRunning("the broker stopped while the helper ran"))
                raise
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        def spawn() -> None:
            if future.set_running_or_notify_cancel():
                assert self._nursery is not None
                self._nursery.start_soon(task)

        self._submit(spawn)
        return future.result(timeout)

    def _submit(self, fn: Callable[[], None]) -> None:
        token = self._token
        if token is None or self._info is None:
            raise BrokerNotRunning("the kafkalite broker is not running")
        try:
            token.run_sync_soon(fn)
        except trio.RunFinishedError:
            raise BrokerNotRunning("the kafkalite broker is not running") from None

    # -- topics --------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        *,
        configs: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> None:
        """Create topic *name* (*partitions* defaults to the broker's num_partitions).

        Raises:
            kafkalite.cluster.TopicError: the name is invalid, or it exists and not *exist_ok*.
        """
        def create() -> None:
            if exist_ok and self.broker.cluster.topic(name) is not None:
                return
            self.broker.create_topic(name, partitions or -1, configs=dict(configs or {}))

        self.call(create)

    def delete_topic(self, name: str) -> None:
        self.call(self.broker.delete_topic, name)

    def topics(self) -> dict[str, int]:
        """Every topic but the internal ones, with its partition count."""

        def read() -> dict[str, int]:
            return {
                t.name: len(t.partitions)
                for t in self.broker.cluster.topics.values()
                if not t.is_internal
            }

        return self.call(read)

    def end_offsets(self, topic: str) -> dict[int, int]:
        """partition -> high watermark (the offset the next record gets)."""

        def read() -> dict[int, int]:
            t = self._topic(topic)
            return {p.partition_index: self._log(topic, p.partition_index).high_watermark for p in t.partitions}

        return self.call(read)

    # -- records -------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        value: Bytesish = None,
        *,
        key: Bytesish = None,
        partition: int | None = None,
        headers: Mapping[str, Bytesish] | Sequence[tuple[str, Bytesish]] | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, int]:
        """Append one record (str is encoded as UTF-8); return its (partition, offset).

        The partition is *partition*, else murmur2 of the key (Kafka's default partitioner,
        as the Java client and kafka-python), else round robin. A missing topic is created
        when auto-creation is on, as a client's produce would.
        """
        partition_, offsets = self.produce_batch(
            topic, [(key, value)], partition=partition, headers=headers, timestamp=timestamp
        )
        return partition_, offsets[0]

    def produce_batch(
        self,
        topic: str,
        records: Iterable[tuple[Bytesish, Bytesish]] | Iterable[Bytesish],
        *,
        partition: int | None = None,
        headers: Mapping[str, Bytesish] | Sequence[tuple[str, Bytesish]] | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, list[int]]:
        """Append *records* (values, or (key, value) pairs) as one batch to one partition.

        The partition is chosen as in `produce`, from the first record's key. Returns the
        partition and the offsets of the records, in order.
        """
        from kafkalite.wire.records import NewRecord

        items = []
        header_list = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
        encoded_headers = tuple((k, _as_bytes(v)) for k, v in header_list)
        for item in records:
            if isinstance(item, tuple):
                key, value = item
            else:
                key, value = None, item
            items.append(NewRecord(_as_bytes(key), _as_bytes(value), encoded_headers, timestamp))
        if not items:
            raise ValueError("no records to produce")
        return self.call(self._append, topic, items, partition)

    def _append(self, topic: str, items: list[Any], partition: int | None) -> tuple[int, list[int]]:
        from kafkalite.tools.partitioner import partition_for_key
        from kafkalite.wire.records import build_batch

        broker = self.broker
        t = broker.cluster.topic(topic)
        if t is None:
            if not broker.config.auto_create_topics:
                raise KeyError(f"topic {topic!r} does not exist (and auto-creation is off)")
            t = broker.create_topic(topic)
        count = len(t.partitions)
        if partition is None:
            key = items[0].key
            if key is not None:
                partition = partition_for_key(key, count)
            else:
                partition = next(self._round_robin.setdefault(topic, itertools.count())) % count
        if not 0 <= partition < count:
            raise KeyError(f"topic {topic!r} has {count} partition(s), no partition {partition}")
        plog = self._log(topic, partition)
        state = t.partitions[partition]
        batch = build_batch(items)
        info = plog.append(batch, leader_epoch=state.leader_epoch)
        broker.notify(topic, partition)
        return partition, list(range(info.base_offset, info.last_offset + 1))

    def records(self, topic: str, partition: int | None = None) -> list[ConsumedRecord]:
        """Every record of *topic* (or of one partition) up to the high watermark, ordered
        by partition, then offset. Control records are left out."""
        return self.call(self._read_records, topic, partition)

    def _read_records(self, topic: str, partition: int | None) -> list[ConsumedRecord]:
        from kafkalite.wire.records import decode_records, record_timestamp

        t = self._topic(topic)
        indexes = [p.partition_index for p in t.partitions] if partition is None else [partition]
        result = []
        for index in indexes:
            plog = self._log(topic, index)
            hw = plog.high_watermark
            for header, view in plog.batches_from(plog.log_start_offset):
                if header.base_offset >= hw:
                    break
                if header.is_control:
                    continue
                for record in decode_records(view):
                    offset = header.base_offset + record.offset_delta
                    if offset < plog.log_start_offset or offset >= hw:
                        continue
                    result.append(
                        ConsumedRecord(
                            topic,
                            index,
                            offset,
                            record_timestamp(header, record),
                            record.key,
                            record.value,
                            record.headers,
                        )
                    )
        return result

    def values(self, topic: str, partition: int | None = None) -> list[bytes | None]:
        """The values of `records`, a shorthand for assertions."""
        return [r.value for r in self.records(topic, partition)]

    def _topic(self, topic: str) -> Any:
        t = self.broker.cluster.topic(topic)
        if t is None:
            raise KeyError(f"topic {topic!r} does not exist")
        return t

    def _log(self, topic: str, partition: int) -> Any:
        plog = self.broker.log_for(topic, partition)
        if plog is None:
            raise KeyError(f"topic {topic!r} has no partition {partition}")
        return plog

    # -- groups --------------------------------------------------------------------------

    def committed(self, group: str, topic: str, partition: int = 0) -> int | None:
        """The offset *group* committed for the partition, or None."""
        return self.call(self._committed, group, topic, partition)

    def _committed(self, group: str, topic: str, partition: int) -> int | None:
        g = self.broker.groups.groups.get(group)
        if g is None:
            return None
        o = g.offsets.get((topic, partition))
        return None if o is None else o.committed_offset

    def lag(self, group: str, topic: str) -> dict[int, int]:
        """partition -> high watermark minus committed offset (all of it when none)."""

        def read() -> dict[int, int]:
            t = self._topic(topic)
            result = {}
            for p in t.partitions:
                end = self._log(topic, p.partition_index).high_watermark
                committed = self._committed(group, topic, p.partition_index)
                result[p.partition_index] = end - (committed if committed is not None else 0)
            return result

        return self.call(read)

    def group(self, group_id: str) -> GroupInfo | None:
        """The group as DescribeGroups would show it, assignments decoded; None if unknown."""
        return self.call(self._group, group_id)

    def groups(self) -> list[str]:
        return self.call(lambda: sorted(g.group_id for g in self.broker.groups.list_groups()))

    def _group(self, group_id: str) -> GroupInfo | None:
        from kafkalite.groups.consumer_protocol import ConsumerProtocolError, assigned_partitions

        g = self.broker.groups.groups.get(group_id)
        if g is None:
            return None
        members = []
        for m in g.members.values():
            assignment: dict[str, tuple[int, ...]] = {}
            if m.assignment and g.protocol_type == "consumer":
                with contextlib.suppress(ConsumerProtocolError):  # not the consumer protocol after all
                    assignment = {t: tuple(ps) for t, ps in assigned_partitions(m.assignment).items()}
            members.append(MemberInfo(m.member_id, m.client_id, m.client_host, m.group_instance_id, assignment))
        return GroupInfo(
            g.group_id,
            g.state.value,
            g.generation_id,
            g.protocol_type or "",
            g.protocol_name or "",
            g.leader_id or "",
            tuple(members),
        )

    # -- waits ---------------------------------------------------------------------------

    def wait_until(
        self,
        condition: Callable[[], Any],
        *,
        expected: str = "the condition",
        timeout: float = 10.0,
        interval: float = 0.02,
    ) -> Any:
        """Call *condition* (in the calling thread, so it may use the helpers and any client)
        until it returns something truthy, and return that; raise `WaitTimeout` quoting
        *expected* and the last value after *timeout* seconds. For the common conditions,
        prefer the ``wait_for_*`` helpers: they are woken by the broker instead of polling.
        """
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"kafkalite: waited {time.monotonic() - started:.1f} s for {expected}; last seen: {value!r}"
                )
            time.sleep(interval)

    def _wait_for(
        self,
        check: Callable[[], tuple[bool, Any]],
        *,
        expected: str,
        watch: Iterable[tuple[str, int]] = (),
        timeout: float = 10.0,
    ) -> Any:
        """Return ``seen`` as soon as ``check()`` (run in the broker thread: it must not call
        the public helpers) returns ``(True, seen)``; raise `WaitTimeout` after *timeout*
        seconds, quoting *expected* and the last ``seen``. *watch* lists partitions whose
        appends trigger a re-check.
        """
        watched = list(watch)

        async def wait() -> Any:
            start = trio.current_time()
            deadline = start + timeout
            while True:
                done, seen = check()
                if done:
                    return seen
                now = trio.current_time()
                if now >= deadline:
                    raise WaitTimeout(
                        f"kafkalite: waited {now - start:.1f} s for {expected}; last seen: {seen}"
                    )
                event = self.broker.register_waiter(watched)
                try:
                    with trio.move_on_at(min(deadline, now + _RECHECK_S)):
                        await event.wait()
                finally:
                    self.broker.unregister_waiter(event, watched)

        __tracebackhide__ = True  # pytest: show the test's line, not this helper
        try:
            return self.run(wait, timeout=timeout + 30)
        except WaitTimeout as exc:
            raise WaitTimeout(str(exc)) from None  # without the broker thread's frames

    def _offsets_partition(self, group: str) -> list[tuple[str, int]]:
        return [(OFFSETS_TOPIC, self.broker.groups.partition_for(group))]

    def wait_for_group(
        self, group: str, members: int | None = None, *, state: str = "Stable", timeout: float = 10.0
    ) -> GroupInfo:
        """Wait until *group* is in *state* (Kafka's name) with *members* members (any number
        when None); return it."""
        __tracebackhide__ = True

        def check() -> tuple[bool, Any]:
            info = self._group(group)
            if info is None:
                return False, "no such group"
            ok = info.state.lower() == state.lower() and (members is None or len(info.members) == members)
            seen = f"{info.state} with {len(info.members)} member(s), generation {info.generation_id}"
            return ok, (info if ok else seen)

        want = f"group {group!r} to be {state}" + (f" with {members} member(s)" if members is not None else "")
        return self._wait_for(check, expected=want, watch=self.call(self._offsets_partition, group), timeout=timeout)

    def wait_for_committed(
        self, group: str, topic: str, partition: int = 0, offset: int = 1, *, timeout: float = 10.0
    ) -> int:
        """Wait until *group* has committed at least *offset* on the partition; return it."""
        __tracebackhide__ = True

        def check() -> tuple[bool, Any]:
            committed = self._committed(group, topic, partition)
            if committed is not None and committed >= offset:
                return True, committed
            return False, "no committed offset" if committed is None else f"committed offset {committed}"

        return self._wait_for(
            check,
            expected=f"group {group!r} to commit offset >= {offset} on {topic}-{partition}",
            watch=self.call(self._offsets_partition, group),
            timeout=timeout,
        )

    def wait_for_records(
        self, topic: str, count: int, *, partition: int | None = None, timeout: float = 10.0
    ) -> list[ConsumedRecord]:
        """Wait until *topic* (or one partition) holds at least *count* records; return them all."""
        __tracebackhide__ = True

        def check() -> tuple[bool, Any]:
            t = self.broker.cluster.topic(topic)
            if t is None:
                return False, "no such topic"
            indexes = [p.partition_index for p in t.partitions] if partition is None else [partition]
            held = 0
            for index in indexes:
                plog = self.broker.log_for(topic, index)
                if plog is not None:
                    held += plog.high_watermark - plog.log_start_offset
            if held < count:
                return False, f"{held} record(s)"
            return True, self._read_records(topic, partition)

        def watched() -> list[tuple[str, int]]:
            t = self.broker.cluster.topic(topic)
            if partition is not None:
                return [(topic, partition)]
            # Before the topic exists, watch the partitions it will get by default.
            n = len(t.partitions) if t is not None else max(self.broker.config.num_partitions, 1)
            return [(topic, i) for i in range(n)]

        where = topic if partition is None else f"{topic}-{partition}"
        return self._wait_for(
            check, expected=f"{where} to hold {count} record(s)", watch=self.call(watched), timeout=timeout
        )

    # -- reset ---------------------------------------------------------------------------

    def reset(self, **config_overrides: Any) -> None:
        """Drop every user topic, group, committed offset and producer state (see module
        docstring); then apply *config_overrides* (only ``num_partitions`` / ``partitions``
        and ``auto_create_topics``: they are read on use).

        Raises:
            ValueError: an override of a field that needs a new broker.
        """
        if "partitions" in config_overrides:
            config_overrides["num_partitions"] = config_overrides.pop("partitions")
        fixed = set(config_overrides) - RUNTIME_FIELDS
        if fixed:
            raise ValueError(
                f"{', '.join(sorted(fixed))} cannot change on a running broker; start a new one "
                f"(only {', '.join(sorted(RUNTIME_FIELDS))} can)"
            )
        config = attrs.evolve(self._base_config, **config_overrides) if config_overrides else self._base_config

        def reset() -> None:
            reset_broker(self.broker)
            self.broker.config = config
            self.config = config

        self.call(reset)
        self._round_robin.clear()


def reset_broker(broker: Broker) -> None:
    """Empty *broker*: see `BrokerThread.reset`. Call in the broker's trio thread.

    Parked JoinGroup / SyncGroup requests of members still around (a test that did not
    close its consumer) are answered UNKNOWN_MEMBER_ID, so their clients rejoin from scratch.
    Close clients before a reset all the same: librdkafka 2.x can block in ``close()`` when
    its group vanishes before it has served its first assignment (before its first poll).
    """
    from kafkalite.groups.coordinator import JoinResult, SyncResult
    from kafkalite.broker.producers import ProducerStates
    from kafkalite.wire.error_codes import ErrorCode

    started = time.perf_counter()
    coordinator = broker.groups
    for group in list(coordinator.groups.values()):
        for member in list(group.members.values()):
            if member.join_waiter is not None:
                member.join_waiter.complete(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member.member_id))
            if member.sync_waiter is not None:
                member.sync_waiter.complete(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
            coordinator._cancel_heartbeat(group, member.member_id)
        for member_id in list(group.pending_members):
            coordinator._cancel_heartbeat(group, member_id)
        coordinator.timers.cancel(("join", group.group_id))
        coordinator.timers.cancel(("sync", group.group_id))
    coordinator.groups.clear()

    deleted = 0
    for name, topic in list(broker.cluster.topics.items()):
        if not topic.is_internal:
            broker.delete_topic(name)
            deleted += 1

    offsets = broker.cluster.topic(OFFSETS_TOPIC)
    if offsets is not None:
        log_config = broker.log_config(offsets)
        for p in offsets.partitions:
            plog = broker.log_for(OFFSETS_TOPIC, p.partition_index)
            if plog is not None and plog.log_end_offset == 0:
                continue  # never written: nothing to drop
            broker.store.drop(OFFSETS_TOPIC, p.partition_index)
            broker.store.log(OFFSETS_TOPIC, p.partition_index, log_config)
            broker.notify(OFFSETS_TOPIC, p.partition_index)

    broker.producers = ProducerStates(next_producer_id=broker.producers.next_producer_id)
    log.debug("reset: %d topic(s) deleted in %.1f ms", deleted, (time.perf_counter() - started) * 1000)


def run_in_thread(config: BrokerConfig | None = None, **overrides: Any) -> BrokerThread:
    """Start a broker in a background thread; use as a context manager.

    *config* defaults to an in-memory broker on 127.0.0.1 and a free port; keyword
    *overrides* are BrokerConfig fields (``partitions`` stands for ``num_partitions``)::

        with kafkalite.run_in_thread(partitions=4) as broker:
            print(broker.bootstrap_servers)

    The broker stops (gracefully) when the ``with`` block ends.
    """
    return BrokerThread(config, **overrides).start()
