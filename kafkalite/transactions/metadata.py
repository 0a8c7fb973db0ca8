"""One transactional id's bookkeeping, and the changes the coordinator prepares on it.

As in Kafka's ``TransactionMetadata``, a change happens in two steps:

1. a ``prepare_*`` method checks the move against the state table
   (`kafkalite.transactions.state`), marks the metadata with a *pending state* (which makes
   concurrent requests answer CONCURRENT_TRANSACTIONS) and returns the target as a frozen
   `TxnTransit`, which is what gets written to ``__transaction_state``;
2. once that record is written, `TransactionMetadata.complete_transition` applies the target
   (after re-checking it is consistent) and clears the pending state. If the write fails the
   coordinator clears the pending state instead, and memory never holds what a restart would
   not find.

Epochs: an epoch is an int16. Kafka never hands out 32767 (Short.MaxValue), so that the
coordinator can always fence a producer by bumping its epoch once more; a producer id whose
epoch reached 32766 is *exhausted*, and the next InitProducerId issues a new producer id at
epoch 0. Pure: no trio, no storage.
"""

from __future__ import annotations

from typing import NoReturn

import attrs

from kafkalite.transactions.records import TransactionLogValue, partitions_schema
from kafkalite.transactions.state import TxnEvent, TxnState, next_state
from kafkalite.wire.error_codes import ErrorCode

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
MAX_PRODUCER_EPOCH = 32767  # Short.MaxValue

TopicPartition = tuple[str, int]


def is_epoch_exhausted(producer_epoch: int) -> bool:
    """Whether *producer_epoch* leaves no room for a fencing bump (Kafka: >= Short.MaxValue - 1)."""
    return producer_epoch >= MAX_PRODUCER_EPOCH - 1


class InconsistentTransition(Exception):
    """A prepared change that no longer fits the metadata (Kafka's IllegalStateException):
    a coordinator bug, never a client error."""


@attrs.frozen
class TxnTransit:
    """The target of a prepared change: what the record written to __transaction_state says.

    ``prev_producer_id`` is the producer id before the change (Kafka keeps it so that a
    producer that missed the reply to an InitProducerId which rotated its id can retry).
    """

    producer_id: int
    prev_producer_id: int
    next_producer_id: int
    producer_epoch: int
    last_producer_epoch: int
    txn_timeout_ms: int
    state: TxnState
    topic_partitions: frozenset[TopicPartition]
    txn_start_timestamp: int
    txn_last_update_timestamp: int
    client_transaction_version: int = 0

    def log_value(self) -> object:
        """This target as a ``TransactionLogValue`` (partitions null for Empty, as Kafka)."""
        if self.state is TxnState.EMPTY and self.topic_partitions:
            raise InconsistentTransition(f"an Empty transaction cannot have partitions: {self}")
        return TransactionLogValue(
            producer_id=self.producer_id,
            previous_producer_id=self.prev_producer_id,
            next_producer_id=self.next_producer_id,
            producer_epoch=self.producer_epoch,
            transaction_timeout_ms=self.txn_timeout_ms,
            transaction_status=int(self.state),
            transaction_partitions=None if self.state is TxnState.EMPTY else partitions_schema(self.topic_partitions),
            transaction_last_update_timestamp_ms=self.txn_last_update_timestamp,
            transaction_start_timestamp_ms=self.txn_start_timestamp,
            client_transaction_version=self.client_transaction_version,
        )


@attrs.define(eq=False)
class TransactionMetadata:
    """A transactional id: its producer id and epoch, and the transaction it has open."""

    transactional_id: str
    producer_id: int
    producer_epoch: int = NO_PRODUCER_EPOCH
    txn_timeout_ms: int = 60_000
    state: TxnState = TxnState.EMPTY
    previous_producer_id: int = NO_PRODUCER_ID
    next_producer_id: int = NO_PRODUCER_ID
    #: The epoch before the last bump, so that a retried InitProducerId (KIP-360) that
    #: carries it gets the current epoch back instead of PRODUCER_FENCED. Not persisted.
    last_producer_epoch: int = NO_PRODUCER_EPOCH
    topic_partitions: set[TopicPartition] = attrs.Factory(set)
    #: When the first partition of the open transaction was added; -1 with none open.
    txn_start_timestamp: int = -1
    #: When any change was last written; transactional id expiration counts from it.
    txn_last_update_timestamp: int = -1
    client_transaction_version: int = 0
    #: The state a prepared change is moving to, until its record is written.
    pending_state: TxnState | None = None
    #: An epoch fence was prepared (and the epoch bumped in memory) but its record could not
    #: be written: the next fence must not bump again (the bumped epoch was never given out).
    has_failed_epoch_fence: bool = False

    @property
    def pending_transition_in_progress(self) -> bool:
        return self.pending_state is not None

    @property
    def is_producer_epoch_exhausted(self) -> bool:
        return is_epoch_exhausted(self.producer_epoch)

    @property
    def has_pending_transaction(self) -> bool:
        return self.state in (TxnState.ONGOING, TxnState.PREPARE_ABORT, TxnState.PREPARE_COMMIT)

    # -- prepared changes ----------------------------------------------------------------

    def prepare_fence_producer_epoch(self) -> TxnTransit:
        """Bump the epoch of an open transaction's producer before aborting it, so that the
        producer (a zombie, or one that let its transaction time out) is fenced."""
        if self.producer_epoch == MAX_PRODUCER_EPOCH:
            raise InconsistentTransition(f"{self.transactional_id}: cannot fence epoch {MAX_PRODUCER_EPOCH}")
        # A failed fence already bumped the epoch in memory; it was never handed out.
        bumped = self.producer_epoch if self.has_failed_epoch_fence else self.producer_epoch + 1
        return self._prepare(
            TxnEvent.FENCE_EPOCH,
            producer_epoch=bumped,
            last_producer_epoch=NO_PRODUCER_EPOCH,
        )

    def prepare_increment_producer_epoch(
        self, new_txn_timeout_ms: int, expected_producer_epoch: int | None, now_ms: int
    ) -> TxnTransit | ErrorCode:
        """InitProducerId on an existing producer id: bump the epoch (KIP-360 rules).

        Without an expected epoch, bump and forget the last epoch. With one: it matches the
        current epoch (or there is none yet), so bump and remember it; it matches the last
        epoch, so this is a retry of a bump that succeeded: keep the current epoch; else the
        caller is a fenced producer: PRODUCER_FENCED (returned, nothing prepared).
        """
        if self.is_producer_epoch_exhausted:
            raise InconsistentTransition(f"{self.transactional_id}: producer id {self.producer_id} has no epochs left")
        bumped = self.producer_epoch + 1
        if expected_producer_epoch is None:
            epoch, last_epoch = bumped, NO_PRODUCER_EPOCH
        elif self.producer_epoch == NO_PRODUCER_EPOCH or expected_producer_epoch == self.producer_epoch:
            epoch, last_epoch = bumped, self.producer_epoch
        elif expected_producer_epoch == self.last_producer_epoch:
            epoch, last_epoch = self.producer_epoch, self.last_producer_epoch
        else:
            return ErrorCode.PRODUCER_FENCED
        return self._prepare(
            TxnEvent.INIT_PRODUCER_ID,
            producer_epoch=epoch,
            last_producer_epoch=last_epoch,
            txn_timeout_ms=new_txn_timeout_ms,
            topic_partitions=frozenset(),
            txn_start_timestamp=-1,
            now_ms=now_ms,
        )

    def prepare_producer_id_rotation(
        self, new_producer_id: int, new_txn_timeout_ms: int, now_ms: int, record_last_epoch: bool
    ) -> TxnTransit:
        """InitProducerId when the epochs of the producer id are exhausted: a new id, epoch 0."""
        if self.has_pending_transaction:
            raise InconsistentTransition(f"{self.transactional_id}: cannot rotate the producer id of an open transaction")
        return self._prepare(
            TxnEvent.INIT_PRODUCER_ID,
            producer_id=new_producer_id,
            producer_epoch=0,
            last_producer_epoch=self.producer_epoch if record_last_epoch else NO_PRODUCER_EPOCH,
            txn_timeout_ms=new_txn_timeout_ms,
            topic_partitions=frozenset(),
            txn_start_timestamp=-1,
            now_ms=now_ms,
        )

    def prepare_add_partitions(self, added: frozenset[TopicPartition], now_ms: int) -> TxnTransit:
        """Begin a transaction (its start time is now) or add to the open one."""
        starts = self.state in (TxnState.EMPTY, TxnState.COMPLETE_ABORT, TxnState.COMPLETE_COMMIT)
        return self._prepare(
            TxnEvent.ADD_PARTITIONS,
            topic_partitions=frozenset(self.topic_partitions) | added,
            txn_start_timestamp=now_ms if starts else self.txn_start_timestamp,
            now_ms=now_ms,
        )

    def prepare_abort_or_commit(self, commit: bool, now_ms: int) -> TxnTransit:
        """EndTxn: PrepareCommit or PrepareAbort, with the open transaction's partitions."""
        return self._prepare(TxnEvent.COMMIT if commit else TxnEvent.ABORT, now_ms=now_ms)

    def prepare_complete(self, now_ms: int) -> TxnTransit:
        """Every marker is written: CompleteCommit or CompleteAbort, with no partitions."""
        self.has_failed_epoch_fence = False  # the fence (if any) reached the log
        return self._prepare(
            TxnEvent.MARKERS_WRITTEN,
            last_producer_epoch=self.producer_epoch,
            topic_partitions=frozenset(),
            now_ms=now_ms,
        )

    def prepare_dead(self) -> TxnTransit:
        """transactional.id.expiration.ms passed: the id goes (a tombstone is written)."""
        return self._prepare(TxnEvent.EXPIRE, topic_partitions=frozenset())

    def _prepare(
        self,
        event: TxnEvent,
        *,
        producer_id: int | None = None,
        producer_epoch: int | None = None,
        last_producer_epoch: int | None = None,
        txn_timeout_ms: int | None = None,
        topic_partitions: frozenset[TopicPartition] | None = None,
        txn_start_timestamp: int | None = None,
        now_ms: int | None = None,
    ) -> TxnTransit:
        if self.pending_state is not None:
            raise InconsistentTransition(
                f"{self.transactional_id}: preparing {event.value!r} while {self.pending_state.kafka_name} is pending"
            )
        target = next_state(self.state, event, self.transactional_id)
        transit = TxnTransit(
            producer_id=self.producer_id if producer_id is None else producer_id,
            prev_producer_id=self.producer_id,
            next_producer_id=NO_PRODUCER_ID,
            producer_epoch=self.producer_epoch if producer_epoch is None else producer_epoch,
            last_producer_epoch=self.last_producer_epoch if last_producer_epoch is None else last_producer_epoch,
            txn_timeout_ms=self.txn_timeout_ms if txn_timeout_ms is None else txn_timeout_ms,
            state=target,
            topic_partitions=frozenset(self.topic_partitions) if topic_partitions is None else topic_partitions,
            txn_start_timestamp=self.txn_start_timestamp if txn_start_timestamp is None else txn_start_timestamp,
            txn_last_update_timestamp=self.txn_last_update_timestamp if now_ms is None else now_ms,
            client_transaction_version=self.client_transaction_version,
        )
        if transit.producer_id < 0:
            raise InconsistentTransition(f"{self.transactional_id}: illegal producer id {transit.producer_id}")
        if target is not TxnState.DEAD and transit.producer_epoch < 0:
            raise InconsistentTransition(f"{self.transactional_id}: illegal producer epoch {transit.producer_epoch}")
        self.pending_state = target
        return transit

    # -- applying a written change -------------------------------------------------------

    def complete_transition(self, transit: TxnTransit) -> None:
        """Apply *transit*, whose record has been written.

        Raises:
            InconsistentTransition: it is not the pending change, or no longer fits (Kafka's
                checks: same producer, an epoch kept or bumped by one, partitions only added).
        """
        if self.pending_state is None or self.pending_state is not transit.state:
            self._fail(transit)
        same_producer = transit.producer_id == self.producer_id and transit.producer_epoch == self.producer_epoch
        target = transit.state
        if target is TxnState.EMPTY:
            bumped = transit.producer_epoch == self.producer_epoch + 1 or (
                transit.producer_epoch == 0 and transit.producer_id != self.producer_id
            )
            if (transit.producer_epoch != self.producer_epoch and not bumped) or transit.topic_partitions or transit.txn_start_timestamp != -1:
                self._fail(transit)
            self.txn_timeout_ms = transit.txn_timeout_ms
            self.producer_epoch = transit.producer_epoch
            self.last_producer_epoch = transit.last_producer_epoch
            self.producer_id = transit.producer_id
            self.previous_producer_id = transit.prev_producer_id
            # No transaction is open: its start time goes (-1), as in the record just written.
            self.txn_start_timestamp = transit.txn_start_timestamp
        elif target is TxnState.ONGOING:
            if not same_producer or not self.topic_partitions <= transit.topic_partitions or self.txn_timeout_ms != transit.txn_timeout_ms:
                self._fail(transit)
            self.txn_start_timestamp = transit.txn_start_timestamp
            self.topic_partitions |= transit.topic_partitions
        elif target in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            if (
                not same_producer
                or self.topic_partitions != transit.topic_partitions
                or self.txn_timeout_ms != transit.txn_timeout_ms
                or self.txn_start_timestamp != transit.txn_start_timestamp
            ):
                self._fail(transit)
        elif target in (TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT):
            if not same_producer or self.txn_timeout_ms != transit.txn_timeout_ms or transit.txn_start_timestamp == -1:
                self._fail(transit)
            self.txn_start_timestamp = transit.txn_start_timestamp
            self.topic_partitions.clear()
        else:
            # PrepareEpochFence is only ever pending (the abort replaces it) and Dead ends in
            # removal from the cache: neither is ever completed.
            self._fail(transit)
        self.client_transaction_version = transit.client_transaction_version
        self.txn_last_update_timestamp = transit.txn_last_update_timestamp
        self.pending_state = None
        self.state = target

    def remove_partition(self, tp: TopicPartition) -> None:
        """*tp* has its marker: it no longer waits for one."""
        if self.state not in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            raise InconsistentTransition(
                f"{self.transactional_id}: removing {tp} with a marker in state {self.state.kafka_name}"
            )
        self.topic_partitions.discard(tp)

    def _fail(self, transit: TxnTransit) -> NoReturn:
        pending = None if self.pending_state is None else self.pending_state.kafka_name
        raise InconsistentTransition(
            f"{self.transactional_id}: cannot complete the move to {transit} from state "
            f"{self.state.kafka_name} (pending {pending}): {self}"
        )
