"""Idempotent-producer state: producer ids, epochs and the last five batches per partition.

Kafka's idempotence (KIP-98) lets a producer retry a batch without creating a duplicate:
every batch carries (producer_id, producer_epoch, base_sequence), sequences grow by the
record count per partition, and the broker remembers the last five batches of each
producer on each partition. A retried batch that matches one of them is acknowledged with
its original offsets and not written again; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER; an older
epoch is INVALID_PRODUCER_EPOCH. A newer epoch (the client bumped it, KIP-360) starts over
at sequence 0. Pure bookkeeping: no trio, no storage; rebuilt from the logs at start-up.
"""

from __future__ import annotations

import enum
from collections import deque

import attrs

MAX_CACHED_BATCHES = 5
INT32_MAX = 2**31 - 1


class SequenceVerdict(enum.Enum):
    APPEND = "append"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order_sequence"
    STALE_EPOCH = "invalid_producer_epoch"
    UNKNOWN_PRODUCER = "unknown_producer_id"


@attrs.frozen
class CachedBatch:
    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int
    timestamp: int


@attrs.define(eq=False)
class PartitionProducerEntry:
    epoch: int
    batches: deque[CachedBatch] = attrs.field(factory=lambda: deque(maxlen=MAX_CACHED_BATCHES))

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1


@attrs.frozen
class Check:
    verdict: SequenceVerdict
    duplicate_of: CachedBatch | None = None
    message: str = ""


def next_sequence(seq: int, count: int) -> int:
    """The sequence after *count* records from *seq*; sequences wrap at INT32_MAX."""
    nxt = seq + count
    return nxt - INT32_MAX - 1 if nxt > INT32_MAX else nxt


@attrs.define(eq=False)
class ProducerStates:
    """Sequence state for every (producer id, topic, partition) and the producer-id counter."""

    next_producer_id: int = 1000
    _entries: dict[tuple[int, str, int], PartitionProducerEntry] = attrs.field(init=False, factory=dict)
    _issued_epochs: dict[int, int] = attrs.field(init=False, factory=dict)

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
        self, topic: str, partition: int, producer_id: int, epoch: int, first_seq: int, last_seq: int
    ) -> Check:
        """Decide what to do with a batch, changing nothing.

        Mirrors Kafka's ProducerAppendInfo.checkSequence for non-transactional batches.
        """
        entry = self._entries.get((producer_id, topic, partition))
        if entry is None:
            if first_seq == 0:
                return Check(SequenceVerdict.APPEND)
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
            return Check(SequenceVerdict.APPEND)
        for cached in entry.batches:
            if cached.first_seq == first_seq and cached.last_seq == last_seq:
                return Check(SequenceVerdict.DUPLICATE, duplicate_of=cached)
        expected = next_sequence(entry.last_seq, 1)
        if first_seq != expected:
            return Check(
                SequenceVerdict.OUT_OF_ORDER,
                message=f"out of order sequence for producer {producer_id}: expected {expected}, got {first_seq}",
            )
        return Check(SequenceVerdict.APPEND)

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
    ) -> None:
        """Remember an appended batch (also used to rebuild state from the log)."""
        key = (producer_id, topic, partition)
        entry = self._entries.get(key)
        if entry is None or epoch != entry.epoch:
            entry = self._entries[key] = PartitionProducerEntry(epoch)
        entry.batches.append(CachedBatch(first_seq, last_seq, base_offset, last_offset, timestamp))
        if producer_id >= self.next_producer_id:
            self.next_producer_id = producer_id + 1

    def drop_partition(self, topic: str, partition: int | None = None) -> None:
        """Forget a deleted topic's (or one partition's) producer state."""
        for key in [k for k in self._entries if k[1] == topic and (partition is None or k[2] == partition)]:
            del self._entries[key]
