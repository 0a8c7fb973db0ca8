"""In-memory ports for the transaction coordinator: a state topic, a marker recorder and a
producer id counter, with switches to make them fail."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import attrs

from kafkalite.storage import KafkaStorageError
from kafkalite.transactions.coordinator import TransactionCoordinator
from kafkalite.transactions.records import parse_record
from kafkalite.wire.batch import BatchHeader, parse_batch_header, patch_base_offset
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.records import decode_records

TopicPartition = tuple[str, int]


@attrs.define(eq=False)
class MemoryStateTopic:
    """`TransactionStateTopic` over lists of batches."""

    num_partitions: int = 50
    created: bool = False
    leaders: dict[int, int | None] = attrs.Factory(dict)
    epochs: dict[int, int] = attrs.Factory(dict)
    #: Error every append answers (NONE: appends succeed).
    append_error: ErrorCode = ErrorCode.NONE
    #: partition_count() / append() raise KafkaStorageError.
    broken: bool = False
    logs: dict[int, list[bytearray]] = attrs.Factory(dict)
    #: Partitions whose batches() raises KafkaStorageError.
    unreadable: set[int] = attrs.Factory(set)
    create_calls: int = 0

    def exists(self) -> bool:
        return self.created

    def partition_count(self) -> int:
        if self.broken:
            raise KafkaStorageError("disk full")
        if not self.created:
            self.created = True
            self.create_calls += 1
        return self.num_partitions

    def leader(self, partition: int) -> int | None:
        return self.leaders.get(partition, 0)

    def leader_epoch(self, partition: int) -> int:
        return self.epochs.get(partition, 0)

    def append(self, partition: int, batch: bytes) -> tuple[ErrorCode, int]:
        if self.broken:
            raise KafkaStorageError("disk full")
        if self.append_error is not ErrorCode.NONE:
            return self.append_error, -1
        log = self.logs.setdefault(partition, [])
        base = sum(parse_batch_header(b).records_count for b in log)
        copy = bytearray(batch)
        patch_base_offset(copy, 0, base)
        log.append(copy)
        return ErrorCode.NONE, base

    def batches(self, partition: int) -> Iterable[tuple[BatchHeader, memoryview]]:
        if partition in self.unreadable:
            raise KafkaStorageError("bad sector")
        return [(parse_batch_header(b), memoryview(b)) for b in self.logs.get(partition, [])]

    def records(self, partition: int | None = None) -> list[tuple[str, Any]]:
        """(transactional id, decoded value or None) of every record, in log order."""
        found = []
        parts = sorted(self.logs) if partition is None else [partition]
        for p in parts:
            for batch in self.logs.get(p, []):
                for record in decode_records(memoryview(batch)):
                    parsed = parse_record(record.key, record.value)
                    assert parsed is not None
                    found.append((parsed.transactional_id, parsed.value))
        return found

    def truncate_last(self, transactional_id: str) -> None:
        """Drop the last batch holding *transactional_id*: a crash before that write."""
        for p, log in self.logs.items():
            for i in range(len(log) - 1, -1, -1):
                ids = {parse_record(r.key, r.value).transactional_id for r in decode_records(memoryview(log[i]))}  # type: ignore[union-attr]
                if transactional_id in ids:
                    del log[i]
                    return


@attrs.frozen
class MarkerCall:
    producer_id: int
    producer_epoch: int
    coordinator_epoch: int
    commit: bool
    partitions: tuple[TopicPartition, ...]


@attrs.define(eq=False)
class MarkerRecorder:
    """`TransactionMarkers` that records every call; ``errors[tp]`` is a list of errors the
    next writes to *tp* answer (then NONE)."""

    calls: list[MarkerCall] = attrs.Factory(list)
    errors: dict[TopicPartition, list[ErrorCode]] = attrs.Factory(dict)
    written: list[tuple[TopicPartition, bool, int, int]] = attrs.Factory(list)
    #: Called after each write (a test's way to break something in between).
    after_write: Callable[[], None] | None = None

    def write_markers(
        self, producer_id: int, producer_epoch: int, coordinator_epoch: int, commit: bool, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, ErrorCode]:
        self.calls.append(MarkerCall(producer_id, producer_epoch, coordinator_epoch, commit, tuple(partitions)))
        result = {}
        for tp in partitions:
            queue = self.errors.get(tp)
            error = queue.pop(0) if queue else ErrorCode.NONE
            result[tp] = error
            if error is ErrorCode.NONE:
                self.written.append((tp, commit, producer_id, producer_epoch))
        if self.after_write is not None:
            self.after_write()
        return result


@attrs.define(eq=False)
class Counter:
    """`ProducerIds` counting up from *next_id*."""

    next_id: int = 1000
    broken: bool = False

    def new_producer_id(self) -> int:
        if self.broken:
            raise KafkaStorageError("cannot persist the producer id counter")
        self.next_id += 1
        return self.next_id - 1


@attrs.define(eq=False)
class Clock:
    """A wall clock in ms that tests move by hand."""

    now: int = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@attrs.define(eq=False)
class Fixture:
    topic: MemoryStateTopic
    markers: MarkerRecorder
    ids: Counter
    clock: Clock | Any
    coordinator: TransactionCoordinator

    def reopen(self, **settings: Any) -> TransactionCoordinator:
        """A new coordinator over the same topic: a restart."""
        settings.setdefault("wall_ms", self.clock)
        self.coordinator = TransactionCoordinator.open(self.topic, self.markers, self.ids, **settings)
        return self.coordinator


def make(clock: Any = None, **settings: Any) -> Fixture:
    topic, markers, ids = MemoryStateTopic(), MarkerRecorder(), Counter()
    clock = Clock() if clock is None else clock
    coordinator = TransactionCoordinator.open(topic, markers, ids, wall_ms=clock, **settings)
    return Fixture(topic, markers, ids, clock, coordinator)


def begin(fixture: Fixture, transactional_id: str = "t", partitions: Iterable[TopicPartition] = (("a", 0),),
          timeout_ms: int = 60_000) -> tuple[int, int]:
    """InitProducerId and AddPartitionsToTxn: an Ongoing transaction; (producer id, epoch)."""
    error, producer_id, epoch = fixture.coordinator.init_producer_id(transactional_id, timeout_ms)
    assert error is ErrorCode.NONE, error
    added = fixture.coordinator.add_partitions(transactional_id, producer_id, epoch, list(partitions))
    assert set(added.values()) == {ErrorCode.NONE}, added
    return producer_id, epoch


def states(fixture: Fixture, transactional_id: str = "t") -> list[str]:
    """The state names of the id's records, in log order (None for a tombstone)."""
    from kafkalite.transactions.state import TxnState

    return [
        "<tombstone>" if value is None else TxnState(value.transaction_status).kafka_name
        for tid, value in fixture.topic.records()
        if tid == transactional_id
    ]
