"""The waits of `BrokerThread`: block until the broker's state says what a test expects.

Waits return as soon as their condition holds: they re-check whenever a partition they
watch gets an append (commits and group generations are appends to ``__consumer_offsets``)
and at least every 50 ms otherwise. On timeout they raise `WaitTimeout`, an
``AssertionError`` that says what was expected and what was last seen.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

import trio

from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.testing.helpers import TransactionInfo, committed_offset, group_info, read_records, transaction_infos
from kafkalite.transactions.port import TRANSACTION_STATE_TOPIC

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker
    from kafkalite.testing.helpers import ConsumedRecord, GroupInfo

_RECHECK_S = 0.05


class WaitTimeout(AssertionError):
    """A ``wait_for_*`` helper ran out of time; the message says expected vs seen."""


class BrokerWaits:
    """The ``wait_*`` methods of `BrokerThread`, mixed into it: it provides ``broker``,
    ``call`` and ``run``."""

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

    def wait_for_group(
        self, group: str, members: int | None = None, *, state: str = "Stable", timeout: float = 10.0
    ) -> GroupInfo:
        """Wait until *group* is in *state* (Kafka's name) with *members* members (any number
        when None); return it."""
        __tracebackhide__ = True

        def check() -> tuple[bool, Any]:
            info = group_info(self.broker, group)
            if info is None:
                return False, "no such group"
            ok = info.state.lower() == state.lower() and (members is None or len(info.members) == members)
            seen = f"{info.state} with {len(info.members)} member(s), generation {info.generation_id}"
            return ok, (info if ok else seen)

        want = f"group {group!r} to be {state}" + (f" with {members} member(s)" if members is not None else "")
        watch = self.call(lambda: offsets_partitions(self.broker, group))
        return self._wait_for(check, expected=want, watch=watch, timeout=timeout)

    def wait_for_committed(
        self, group: str, topic: str, partition: int = 0, offset: int = 1, *, timeout: float = 10.0
    ) -> int:
        """Wait until *group* has committed at least *offset* on the partition; return it."""
        __tracebackhide__ = True

        def check() -> tuple[bool, Any]:
            committed = committed_offset(self.broker, group, topic, partition)
            if committed is not None and committed >= offset:
                return True, committed
            return False, "no committed offset" if committed is None else f"committed offset {committed}"

        return self._wait_for(
            check,
            expected=f"group {group!r} to commit offset >= {offset} on {topic}-{partition}",
            watch=self.call(lambda: offsets_partitions(self.broker, group)),
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
            return True, read_records(self.broker, topic, partition)

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


    def wait_for_transaction(
        self, transactional_id: str, *, state: str | None = None, timeout: float = 10.0
    ) -> TransactionInfo:
        """Wait until *transactional_id*'s transaction is complete (committed, aborted, or
        none open), or in *state* (Kafka's name, e.g. "Ongoing", "CompleteAbort"); return it."""
        __tracebackhide__ = True
        done_states = {"Empty", "CompleteCommit", "CompleteAbort"} if state is None else {state}

        def check() -> tuple[bool, Any]:
            found = [t for t in transaction_infos(self.broker) if t.transactional_id == transactional_id]
            if not found:
                return False, "no such transactional id"
            info = found[0]
            return info.state in done_states, (info if info.state in done_states else info.state)

        want = f"transactional id {transactional_id!r} to be " + (state or "complete")
        watch = self.call(lambda: transaction_partitions(self.broker, transactional_id))
        return self._wait_for(check, expected=want, watch=watch, timeout=timeout)


def transaction_partitions(broker: Broker, transactional_id: str) -> list[tuple[str, int]]:
    """The partition of ``__transaction_state`` that holds *transactional_id*, to watch."""
    return [(TRANSACTION_STATE_TOPIC, broker.transactions.partition_for(transactional_id))]


def offsets_partitions(broker: Broker, group: str) -> list[tuple[str, int]]:
    """The partition of ``__consumer_offsets`` that holds *group*, as a list to watch."""
    return [(OFFSETS_TOPIC, broker.groups.partition_for(group))]
