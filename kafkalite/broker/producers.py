"""Producer state per partition: idempotence (sequences, epochs) and open transactions.

Kafka's idempotence (KIP-98) lets a producer retry a batch without creating a duplicate:
every batch carries (producer_id, producer_epoch, base_sequence), sequences grow by the
record count per partition, and the broker remembers the last five batches of each
producer on each partition. A retried batch that matches one of them is acknowledged with
its original offsets and not written again; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER; an older
epoch is INVALID_PRODUCER_EPOCH. A newer epoch (the client bumped it, KIP-360) starts over
at sequence 0.

Transactions, the partition's side of them (Kafka's ProducerStateManager): a producer's
first transactional batch on a partition opens its transaction there, at that batch's base
offset; the COMMIT or ABORT marker the coordinator writes closes it. The first offset of the
earliest open transaction is the partition's first unstable offset, and the last stable
offset (LSO) is that, or the high watermark when nothing is open: read_committed consumers
read up to it, retention and DeleteRecords stop at it. Each ABORT of a transaction that
wrote data yields the `AbortedTxn` entry of the partition's ``.txnindex``.

Pure bookkeeping: no trio, no I/O; rebuilt from the logs at start-up with `replay`.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from typing import Any

import attrs

from kafkalite.storage.txn_index import AbortedTxn
from kafkalite.wire.batch import BatchHeader
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.records import ControlRecordType, decode_records, parse_control_record

__all__ = [
    "MAX_CACHED_BATCHES",
    "CachedBatch",
    "Check",
    "PartitionProducerEntry",
    "ProducerStates",
    "ProducerView",
    "SequenceVerdict",
    "next_sequence",
]

logger = logging.getLogger("kafkalite.broker")

MAX_CACHED_BATCHES = 5
INT32_MAX = 2**31 - 1


class SequenceVerdict(enum.Enum):
    APPEND = "append"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order_sequence"
    STALE_EPOCH = "invalid_producer_epoch"
    UNKNOWN_PRODUCER = "unknown_producer_id"
    #: A non-transactional batch from a producer with an open transaction on the partition.
    INVALID_TXN_STATE = "invalid_txn_state"
    #: A transaction marker from an older coordinator epoch than one already seen (a zombie
    #: coordinator): TRANSACTION_COORDINATOR_FENCED.
    COORDINATOR_FENCED = "transaction_coordinator_fenced"


@attrs.frozen
class CachedBatch:
    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int
    timestamp: int


@attrs.define(eq=False)
class PartitionProducerEntry:
    """One producer's state on one partition (Kafka's ProducerStateEntry)."""

    epoch: int
    batches: deque[CachedBatch] = attrs.field(factory=lambda: deque(maxlen=MAX_CACHED_BATCHES))
    #: First offset of the producer's open transaction on the partition; -1 when none.
    current_txn_first_offset: int = -1
    #: Coordinator epoch of the last transaction marker; -1 before any.
    coordinator_epoch: int = -1
    #: Timestamp of the last batch or marker (max timestamp, or the log append time).
    last_timestamp: int = -1

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    def set_epoch(self, epoch: int) -> None:
        """A new epoch forgets the cached batches (sequences start over), as Kafka's
        maybeUpdateProducerEpoch; an open transaction and the coordinator epoch stay."""
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches.clear()


@attrs.frozen
class ProducerView:
    """A producer's state on a partition as DescribeProducers (KIP-664) shows it; field
    names are the response's. -1 means none / unknown."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int
    current_txn_start_offset: int


@attrs.frozen
class Check:
    verdict: SequenceVerdict
    duplicate_of: CachedBatch | None = None
    message: str = ""


_APPEND = Check(SequenceVerdict.APPEND)


def _txn_open(entry: PartitionProducerEntry, producer_id: int) -> Check:
    return Check(
        SequenceVerdict.INVALID_TXN_STATE,
        message=f"producer {producer_id} sent a non-transactional batch while its transaction "
        f"is open on this partition since offset {entry.current_txn_first_offset}",
    )


def next_sequence(seq: int, count: int) -> int:
    """The sequence after *count* records from *seq*; sequences wrap at INT32_MAX."""
    nxt = seq + count
    return nxt - INT32_MAX - 1 if nxt > INT32_MAX else nxt


@attrs.define(eq=False)
class ProducerStates:
    """Sequence state for every (producer id, topic, partition), the open transactions of
    every partition, and the producer-id counter."""

    next_producer_id: int = 1000
    _entries: dict[tuple[int, str, int], PartitionProducerEntry] = attrs.field(init=False, factory=dict)
    _issued_epochs: dict[int, int] = attrs.field(init=False, factory=dict)
    #: (topic, partition) -> {producer id: first offset of its open transaction}. Insertion
    #: order is first offset order (a transaction opens at the log end offset, which only
    #: grows), so the first value is the first unstable offset.
    _open_txns: dict[tuple[str, int], dict[int, int]] = attrs.field(init=False, factory=dict)
    #: (producer id, topic, partition) whose state `remove_expired` removed: their next batch
    #: is taken at any sequence, as Kafka takes a producer with no current epoch.
    _expired: set[tuple[int, str, int]] = attrs.field(init=False, factory=set)

    def new_producer_id(self) -> int:
        """Issue a fresh producer id (epoch 0)."""
        pid = self.next_producer_id
        self.next_producer_id += 1
        self._issued_epochs[pid] = 0
        return pid

    def is_known(self, producer_id: int) -> bool:
        return producer_id in self._issued_epochs or any(
            key[0] == producer_id for key in self._entries
        )

    def check(
        self,
        topic: str,
        partition: int,
        producer_id: int,
        epoch: int,
        first_seq: int,
        last_seq: int,
        *,
        transactional: bool = False,
    ) -> Check:
        """Decide what to do with a batch, changing nothing.

        Mirrors Kafka's ProducerAppendInfo.checkSequence. A non-transactional batch that
        would be appended while its producer's transaction is open on the partition is
        INVALID_TXN_STATE, as Kafka's appendDataBatch refuses it (after the epoch and
        sequence checks; a duplicate is still a duplicate).
        """
        entry = self._entries.get((producer_id, topic, partition))
        if entry is None:
            if first_seq == 0 or (producer_id, topic, partition) in self._expired:
                return _APPEND
            if not self.is_known(producer_id):
                return Check(
                    SequenceVerdict.UNKNOWN_PRODUCER,
                    message=f"producer {producer_id} has no state on this partition and sent sequence {first_seq}",
                )
            return Check(
                SequenceVerdict.OUT_OF_ORDER,
                message=f"first batch of producer {producer_id} on this partition must start at sequence 0, "
                f"got {first_seq}",
            )
        if epoch < entry.epoch:
            return Check(
                SequenceVerdict.STALE_EPOCH,
                message=f"producer {producer_id} epoch {epoch} is older than the current epoch {entry.epoch}",
            )
        if epoch > entry.epoch:
            if first_seq != 0:
                return Check(
                    SequenceVerdict.OUT_OF_ORDER,
                    message=f"new epoch {epoch} of producer {producer_id} must start at sequence 0, got {first_seq}",
                )
            return _APPEND if transactional or entry.current_txn_first_offset < 0 else _txn_open(entry, producer_id)
        for cached in entry.batches:
            if cached.first_seq == first_seq and cached.last_seq == last_seq:
                return Check(SequenceVerdict.DUPLICATE, duplicate_of=cached)
        expected = next_sequence(entry.last_seq, 1)
        if first_seq != expected:
            return Check(
                SequenceVerdict.OUT_OF_ORDER,
                message=f"out of order sequence for producer {producer_id}: expected {expected}, got {first_seq}",
            )
        return _APPEND if transactional or entry.current_txn_first_offset < 0 else _txn_open(entry, producer_id)

    def record(
        self,
        topic: str,
        partition: int,
        producer_id: int,
        epoch: int,
        first_seq: int,
        last_seq: int,
        base_offset: int,
        last_offset: int,
        timestamp: int,
        *,
        transactional: bool = False,
    ) -> None:
        """Remember an appended batch (also used to rebuild state from the log).

        A *transactional* batch opens the producer's transaction on the partition at
        *base_offset*, unless one is open already.
        """
        key = (producer_id, topic, partition)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = PartitionProducerEntry(epoch)
            self._expired.discard(key)
        elif epoch != entry.epoch:
            entry.set_epoch(epoch)
        entry.batches.append(CachedBatch(first_seq, last_seq, base_offset, last_offset, timestamp))
        entry.last_timestamp = timestamp
        if transactional and entry.current_txn_first_offset < 0:
            self._open_txn(topic, partition, producer_id, entry, base_offset)
        if producer_id >= self.next_producer_id:
            self.next_producer_id = producer_id + 1

    def _open_txn(
        self, topic: str, partition: int, producer_id: int, entry: PartitionProducerEntry, offset: int
    ) -> None:
        entry.current_txn_first_offset = offset
        self._open_txns.setdefault((topic, partition), {})[producer_id] = offset

    # -- transaction markers --

    def check_marker(
        self, topic: str, partition: int, producer_id: int, epoch: int, coordinator_epoch: int
    ) -> Check:
        """Decide whether a COMMIT / ABORT marker may be written, changing nothing.

        As Kafka's appendEndTxnMarker: an epoch older than the producer's on the partition
        is STALE_EPOCH (INVALID_PRODUCER_EPOCH), a coordinator epoch older than the last
        marker's is COORDINATOR_FENCED (TRANSACTION_COORDINATOR_FENCED).
        """
        entry = self._entries.get((producer_id, topic, partition))
        if entry is None:
            return _APPEND
        if epoch < entry.epoch:
            return Check(
                SequenceVerdict.STALE_EPOCH,
                message=f"marker epoch {epoch} of producer {producer_id} is older than its current epoch {entry.epoch}",
            )
        if coordinator_epoch < entry.coordinator_epoch:
            return Check(
                SequenceVerdict.COORDINATOR_FENCED,
                message=f"marker for producer {producer_id} from coordinator epoch {coordinator_epoch}, "
                f"older than the last seen {entry.coordinator_epoch}",
            )
        return _APPEND

    def record_marker(
        self,
        topic: str,
        partition: int,
        producer_id: int,
        epoch: int,
        control_type: ControlRecordType,
        offset: int,
        *,
        coordinator_epoch: int = -1,
        timestamp: int = -1,
    ) -> AbortedTxn | None:
        """Remember a COMMIT or ABORT marker appended at *offset*: it closes the producer's
        open transaction on the partition (also used to rebuild state from the log).

        Returns, for an ABORT of a transaction that wrote to the partition, the entry for
        the partition's aborted transaction index (`PartitionLog.append_aborted_txn`): the
        transaction's first offset, *offset* as its last offset, and as last stable offset
        the first offset of the earliest transaction of another producer still open, else
        *offset* + 1 (Kafka's ProducerStateManager.lastStableOffset). None otherwise: a
        COMMIT, or a marker of a transaction that wrote nothing here (it changes no offset
        a reader cares about, as in Kafka). The producer's epoch becomes *epoch* (a bumped
        epoch, KIP-890, starts its sequences over), its coordinator epoch
        *coordinator_epoch*.
        """
        key = (producer_id, topic, partition)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = PartitionProducerEntry(epoch)
        else:
            entry.set_epoch(epoch)
        entry.coordinator_epoch = coordinator_epoch
        entry.last_timestamp = timestamp
        if producer_id >= self.next_producer_id:
            self.next_producer_id = producer_id + 1
        first_offset = entry.current_txn_first_offset
        if first_offset < 0:
            return None
        entry.current_txn_first_offset = -1
        tp = (topic, partition)
        open_txns = self._open_txns[tp]
        del open_txns[producer_id]
        if not open_txns:
            del self._open_txns[tp]
        if control_type != ControlRecordType.ABORT:
            return None
        # The earliest transaction still open, now that this producer's is not.
        last_stable_offset = next(iter(open_txns.values()), offset + 1)
        return AbortedTxn(producer_id, first_offset, offset, last_stable_offset)

    # -- rebuilding from the log --

    def replay(
        self, topic: str, partition: int, header: BatchHeader, batch: Any
    ) -> AbortedTxn | None:
        """Take in one batch of the log at start-up, in offset order from the log start
        offset: `PartitionLog.batches_from` yields (*header*, *batch*); *batch* is read only
        for a control batch (its one record says COMMIT or ABORT).

        Idempotent batches (a producer id and a sequence) go to `record`, transactional
        ones opening their transaction; transaction markers go to `record_marker`, whose
        aborted transaction entry, if any, is returned: collected over the whole log, the
        entries are what `PartitionLog.reconcile_txn_indexes` takes. Other control records
        (not markers) and batches without a producer id change nothing.
        """
        producer_id = header.producer_id
        if producer_id < 0:
            return None
        if header.is_control:
            marker = _marker_of(batch)
            if marker is None:
                return None
            control_type, coordinator_epoch = marker
            return self.record_marker(
                topic, partition, producer_id, header.producer_epoch, control_type,
                header.base_offset, coordinator_epoch=coordinator_epoch,
                timestamp=header.max_timestamp,
            )
        if header.base_sequence >= 0:
            self.record(
                topic,
                partition,
                producer_id,
                header.producer_epoch,
                header.base_sequence,
                header.base_sequence + header.last_offset_delta,
                header.base_offset,
                header.last_offset,
                header.max_timestamp,
                transactional=header.is_transactional,
            )
        elif header.is_transactional:
            # Not written by kafkalite (transactional batches carry sequences), but a
            # transaction is open all the same.
            key = (producer_id, topic, partition)
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = PartitionProducerEntry(header.producer_epoch)
            if entry.current_txn_first_offset < 0:
                self._open_txn(topic, partition, producer_id, entry, header.base_offset)
        return None

    # -- open transactions --

    def first_unstable_offset(self, topic: str, partition: int) -> int | None:
        """The first offset of the partition's earliest open transaction; None when no
        transaction is open there. What retention and DeleteRecords must keep."""
        open_txns = self._open_txns.get((topic, partition))
        return next(iter(open_txns.values())) if open_txns else None

    def last_stable_offset(self, topic: str, partition: int, high_watermark: int) -> int:
        """The partition's LSO: its first unstable offset when a transaction is open (never
        above *high_watermark*), else *high_watermark*. read_committed fetches read up to
        it; ListOffsets latest with read_committed answers it."""
        open_txns = self._open_txns.get((topic, partition))
        if not open_txns:
            return high_watermark
        return min(next(iter(open_txns.values())), high_watermark)

    def ongoing(self, topic: str, partition: int) -> list[ProducerView]:
        """The producers with a transaction open on the partition, earliest first."""
        open_txns = self._open_txns.get((topic, partition), {})
        return [self._view(self._entries[(pid, topic, partition)], pid) for pid in open_txns]

    def producers_on(self, topic: str, partition: int) -> list[ProducerView]:
        """Every producer with state on the partition (DescribeProducers), by producer id."""
        return sorted(
            (
                self._view(entry, pid)
                for (pid, t, p), entry in self._entries.items()
                if t == topic and p == partition
            ),
            key=lambda view: view.producer_id,
        )

    @staticmethod
    def _view(entry: PartitionProducerEntry, producer_id: int) -> ProducerView:
        return ProducerView(
            producer_id=producer_id,
            producer_epoch=entry.epoch,
            last_sequence=entry.last_seq,
            last_timestamp=entry.last_timestamp,
            coordinator_epoch=entry.coordinator_epoch,
            current_txn_start_offset=entry.current_txn_first_offset,
        )

    def last_records(self, topic: str, partition: int) -> dict[int, tuple[int | None, int]]:
        """producer id -> (last offset of its last data batch or None, epoch) of every
        producer with state on the partition: the batches the log cleaner keeps (Kafka's
        lastRecordsOfActiveProducers)."""
        return {
            pid: (entry.batches[-1].last_offset if entry.batches else None, entry.epoch)
            for (pid, t, p), entry in self._entries.items()
            if t == topic and p == partition
        }

    def remove_expired(self, now_ms: int, expiration_ms: int) -> int:
        """Remove the state of producers idle on a partition for *expiration_ms* (their last
        batch or marker timestamped that long before *now_ms*), those with a transaction open
        there excepted: Kafka's ProducerStateManager.removeExpiredProducers (KIP-854,
        ``producer.id.expiration.ms``). Returns how many entries went."""
        expired = [
            key
            for key, entry in self._entries.items()
            if entry.current_txn_first_offset < 0 and now_ms - entry.last_timestamp >= expiration_ms
        ]
        for key in expired:
            del self._entries[key]
            self._expired.add(key)
        return len(expired)

    def drop_partition(self, topic: str, partition: int | None = None) -> None:
        """Forget a deleted topic's (or one partition's) producer state, open transactions
        included."""
        for key in [k for k in self._entries if k[1] == topic and (partition is None or k[2] == partition)]:
            del self._entries[key]
        self._expired = {k for k in self._expired if not (k[1] == topic and (partition is None or k[2] == partition))}
        for tp in [tp for tp in self._open_txns if tp[0] == topic and (partition is None or tp[1] == partition)]:
            del self._open_txns[tp]


def _marker_of(batch: Any) -> tuple[ControlRecordType, int] | None:
    """(type, coordinator epoch) of a control batch's marker; None for an empty control
    batch (Kafka's cleaner leaves those) or a control record that is not a marker."""
    try:
        records = decode_records(batch)
        if not records:
            return None
        return parse_control_record(records[0])
    except DecodeError as exc:
        logger.debug("control batch that is not a transaction marker: %s", exc)
        return None
