"""Assertions on what clients sent, and the request journal from the test's thread.

`BrokerAssertions` is mixed into `BrokerThread` (so the pytest fixtures and
`kafkalite.run_in_thread`'s handle have it); `JournalProxy` is its ``journal``:

    broker.assert_produced("orders", key="alice", value=b'{"id": 1}', count=1)
    broker.assert_nothing_produced("dead-letters")
    broker.committed_history("billing")     # every commit, in order, with member and generation
    broker.group_history("billing")         # joins, syncs (with assignments), leaves
    broker.journal.produced("orders")       # each record as sent, retries included
    broker.journal.apis(client_id="app")    # {"Produce": [9], "Metadata": [12], ...}

`assert_produced` and `assert_nothing_produced` read the topic's log (what consumers will
see, a retried record once); the others read the journal (what clients sent, as far back as
its ``journal_size`` reaches).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from kafkalite.testing.helpers import read_records
from kafkalite.testing.history import (
    CommitEvent,
    GroupEvent,
    ProducedRecord,
    commit_history,
    group_events,
    produced_records,
)

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker
    from kafkalite.testing.helpers import ConsumedRecord

_SHOWN = 10  # records quoted in a failure message


class _Any:
    def __repr__(self) -> str:
        return "ANY"


#: "Any key / value": the default of `assert_produced`'s key and value (None means a null one).
ANY: Any = _Any()

Expected = Any  # bytes, str (UTF-8), None (null), ANY, or a predicate on the bytes


class JournalProxy:
    """The broker's request journal (`kafkalite.broker.journal`), from the test's thread.

    Entries come back as the JSON-able dicts of ``JournalEntry.to_dict`` (the HTTP API's
    form), rendered in the broker's thread.
    """

    def __init__(self, thread: Any) -> None:
        self._thread = thread

    def _broker(self) -> Broker:
        return self._thread.broker

    @property
    def enabled(self) -> bool:
        return self._thread.call(lambda: self._broker().journal.enabled)

    @property
    def capacity(self) -> int:
        return self._thread.call(lambda: self._broker().journal.capacity)

    def __len__(self) -> int:
        return self._thread.call(lambda: len(self._broker().journal))

    def query(self, **filters: Any) -> list[dict[str, Any]]:
        """Entries matching *filters* (``api``, ``client_id``, ``topic``, ``partition``,
        ``group_id``, ``since_ms``, ``until_ms``, ``limit``: see `Journal.query`), oldest
        first, as dicts."""
        return self._thread.call(lambda: [e.to_dict() for e in self._broker().journal.query(**filters)])

    def clear(self) -> None:
        self._thread.call(lambda: self._broker().journal.clear())

    def resize(self, capacity: int) -> None:
        """Keep at most *capacity* entries from now on; 0 turns the journal off."""
        self._thread.call(lambda: self._broker().journal.resize(capacity))

    def produced(
        self, topic: str | None = None, *, client_id: str | None = None, partition: int | None = None
    ) -> list[ProducedRecord]:
        """Every record clients sent in Produce requests (to *topic*, by *client_id*, to
        *partition*), oldest first, decoded: key, value, headers, partition, client id, and
        the offset the broker gave it (None if the partition answered an error). A retried
        record appears once per attempt. Entries whose records went past the journal's
        record byte budget are left out.

        Raises:
            kafkalite.testing.history.JournalOff: the journal is off.
        """
        return self._thread.call(lambda: produced_records(self._broker(), topic, client_id, partition))

    def apis(self, client_id: str | None = None) -> dict[str, list[int]]:
        """API name -> versions used, by *client_id* (every client when None), since the
        broker started or was last reset: what a client really speaks."""
        return self._thread.call(lambda: self._broker().journal.apis(client_id))

    def clients(self) -> list[str | None]:
        """The client ids seen since the broker started or was last reset."""
        return self._thread.call(lambda: self._broker().journal.clients())


def _as_bytes(value: Any) -> Any:
    return value.encode("utf-8") if isinstance(value, str) else value


def _matches(expected: Expected, actual: bytes | None) -> bool:
    if expected is ANY:
        return True
    if callable(expected):
        return bool(expected(actual))
    if expected is None:
        return actual is None
    return actual is not None and bytes(_as_bytes(expected)) == actual


def _header_pairs(headers: Mapping[str, Any] | Sequence[tuple[str, Any]] | None) -> list[tuple[str, Any]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(k, _as_bytes(v)) for k, v in items]


def _describe(expected: Expected) -> str:
    if callable(expected) and expected is not ANY:
        return getattr(expected, "__name__", "a predicate")
    return repr(_as_bytes(expected))


def _show(record: ConsumedRecord) -> str:
    headers = f" headers={list(record.headers)!r}" if record.headers else ""
    return f"p{record.partition}@{record.offset} key={record.key!r} value={record.value!r}{headers}"


class BrokerAssertions:
    """Assertions of `BrokerThread`, mixed into it: it provides ``broker``, ``call`` and the
    waits' ``_wait_for``."""

    journal: JournalProxy

    def assert_produced(
        self,
        topic: str,
        key: Expected = ANY,
        value: Expected = ANY,
        *,
        headers: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        count: int | None = None,
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> list[ConsumedRecord]:
        """Wait until *topic* (or one *partition*) holds records matching *key*, *value* and
        *headers*: exactly *count* of them (at least one when None); return the matches.

        *key* / *value*: bytes, str (UTF-8), None for a null one, a predicate on the bytes,
        or `ANY` (the default). *headers*: pairs every matching record must have (others may
        be there too). Read from the log up to the high watermark, so a record a producer
        retried counts once; committed and aborted transactional records alike.

        Raises:
            WaitTimeout (an AssertionError): fewer matches after *timeout* seconds, or more
                than *count*; the message says what was expected and what the topic held.
        """
        __tracebackhide__ = True
        want_headers = _header_pairs(headers)
        need = 1 if count is None else count

        def matching(records: list[ConsumedRecord]) -> list[ConsumedRecord]:
            return [
                r for r in records
                if _matches(key, r.key) and _matches(value, r.value)
                and all(pair in r.headers for pair in want_headers)
            ]

        def check() -> tuple[bool, Any]:
            if self.broker.cluster.topic(topic) is None:
                return False, "no such topic"
            records = read_records(self.broker, topic, partition)
            found = matching(records)
            if len(found) >= need:
                return True, (found, records)
            return False, self._seen(found, records)

        what = [f"key={_describe(key)}" if key is not ANY else "", f"value={_describe(value)}" if value is not ANY else "",
                f"headers={want_headers!r}" if want_headers else ""]
        where = topic if partition is None else f"{topic}-{partition}"
        expected = f"{'exactly ' if count is not None else 'at least '}{need} record(s) in {where}" + (
            " with " + " ".join(w for w in what if w) if any(what) else "")
        found, records = self._wait_for(
            check, expected=expected, watch=self.call(lambda: self._partitions(topic, partition)), timeout=timeout
        )
        if count is not None and len(found) > count:
            from kafkalite.testing.waits import WaitTimeout

            raise WaitTimeout(f"kafkalite: expected {expected}; seen: {self._seen(found, records)}")
        return found

    @staticmethod
    def _seen(found: list[ConsumedRecord], records: list[ConsumedRecord]) -> str:
        shown = ", ".join(_show(r) for r in records[-_SHOWN:])
        more = f" (the last {_SHOWN})" if len(records) > _SHOWN else ""
        return f"{len(found)} matching of {len(records)} record(s){more}: [{shown}]"

    def _partitions(self, topic: str, partition: int | None) -> list[tuple[str, int]]:
        if partition is not None:
            return [(topic, partition)]
        t = self.broker.cluster.topic(topic)
        n = len(t.partitions) if t is not None else max(self.broker.config.num_partitions, 1)
        return [(topic, i) for i in range(n)]

    def assert_nothing_produced(self, topic: str, *, partition: int | None = None) -> None:
        """Assert that *topic* (or one *partition*) holds no record now (a topic that does not
        exist holds none).

        Raises:
            AssertionError: it holds some; the message quotes them.
        """
        __tracebackhide__ = True

        def read() -> list[ConsumedRecord]:
            if self.broker.cluster.topic(topic) is None:
                return []
            return read_records(self.broker, topic, partition)

        records = self.call(read)
        if records:
            where = topic if partition is None else f"{topic}-{partition}"
            raise AssertionError(f"kafkalite: expected nothing produced to {where}; seen: {self._seen(records, records)}")

    def committed_history(self, group: str) -> list[CommitEvent]:
        """Every offset commit of *group* the journal holds, oldest first, one per partition:
        OffsetCommit and TxnOffsetCommit (with the transactional id), member id, client id,
        generation (member epoch for consumer groups), topic, partition, offset, metadata and
        the error the broker answered (0: stored).

        Raises:
            kafkalite.testing.history.JournalOff: the journal is off.
        """
        return self.call(lambda: commit_history(self.broker, group))

    def group_history(self, group: str) -> list[GroupEvent]:
        """The membership of *group* as the journal saw it, oldest first: joins (with the
        topics subscribed, the generation, leader and members the answer carried), syncs
        (with each member's decoded assignment), leaves, heartbeats answered with an error
        (REBALANCE_IN_PROGRESS: a rebalance began) and, for consumer groups (KIP-848),
        heartbeats that join, leave or carry a new assignment.

        Raises:
            kafkalite.testing.history.JournalOff: the journal is off.
        """
        return self.call(lambda: group_events(self.broker, group))

    def metrics_text(self) -> str:
        """The broker's counters in the Prometheus text format (`kafkalite.broker.metrics`)."""
        return self.call(lambda: self.broker.metrics.render_prometheus())

    if TYPE_CHECKING:  # provided by BrokerThread and BrokerWaits
        broker: Broker

        def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any: ...

        def _wait_for(self, check: Any, *, expected: str, watch: Any = (), timeout: float = 10.0) -> Any: ...


def generations(events: list[GroupEvent]) -> dict[int, dict[str, dict[str, tuple[int, ...]]]]:
    """generation -> member id -> assignment, from the sync events of `group_history`."""
    out: dict[int, dict[str, dict[str, tuple[int, ...]]]] = {}
    for event in events:
        if event.kind == "sync" and event.assignment is not None and not event.error:
            out.setdefault(event.generation_id, {})[event.member_id] = event.assignment
    return out


__all__ = ["ANY", "BrokerAssertions", "JournalProxy", "generations"]
