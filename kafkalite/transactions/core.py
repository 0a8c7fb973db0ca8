"""What every part of the transaction coordinator shares: settings, the transactional ids,
the lookup of an id's coordinator, writes to ``__transaction_state``, and ending a
transaction (its Prepare* record, its markers, its Complete* record).

Every method is synchronous: trio runs one task at a time, so a change and its storage
write are atomic with respect to other requests, and the ports are synchronous too.

Strategy for ending a transaction, following Kafka's coordinator and marker channel:

1. PrepareCommit / PrepareAbort is written; from then on the outcome is decided (the client
   is answered NONE even if what follows must be retried).
2. The Complete* change is prepared at once, so the id has a pending change and concurrent
   requests answer CONCURRENT_TRANSACTIONS until it is written.
3. Markers are written through the `TransactionMarkers` port; each partition that has its
   marker leaves the transaction. Partitions that failed with a retriable error are retried
   after a backoff (Kafka re-enqueues them to the partitions' new leaders).
4. With no partition left, CompleteCommit / CompleteAbort is written; a failed write is
   retried after a backoff as well (Kafka retries on COORDINATOR_NOT_AVAILABLE and leaves
   the rest to the next leader of the partition, which finishes it when loading; kafkalite
   has one coordinator for every node, so it retries whatever the error).
"""

from __future__ import annotations

import logging
from typing import Callable

import attrs

from kafkalite.clock import BrokerClock
from kafkalite.storage import KafkaStorageError
from kafkalite.timers import Timers
from kafkalite.transactions.metadata import InconsistentTransition, TransactionMetadata, TxnTransit
from kafkalite.transactions.port import (
    TRANSACTION_STATE_TOPIC,
    ProducerIds,
    TransactionMarkers,
    TransactionStateTopic,
    store_error,
)
from kafkalite.transactions.records import partition_for, transaction_log_key, transaction_log_value
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.records import NewRecord, build_batch

log = logging.getLogger("kafkalite.transactions")

#: Marker errors after which the partition needs no marker: written, or it cannot take one
#: (Kafka: the producer could not have written there either). UNKNOWN_TOPIC_OR_PARTITION
#: means the partition is gone, which Kafka finds as a partition without a leader endpoint.
_MARKER_DONE = frozenset({
    ErrorCode.NONE,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
    ErrorCode.UNSUPPORTED_VERSION,
})
#: The partition has seen a newer producer or coordinator epoch: Kafka stops sending this
#: transaction's markers and leaves it to the next coordinator; kafkalite's coordinator is
#: never replaced, so it skips the partition (its marker is obsolete) and finishes the rest.
_MARKER_OBSOLETE = frozenset({ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTION_COORDINATOR_FENCED})
#: Errors that only a broken marker write can produce (Kafka treats them as fatal).
_MARKER_FATAL = frozenset({
    ErrorCode.CORRUPT_MESSAGE,
    ErrorCode.MESSAGE_TOO_LARGE,
    ErrorCode.RECORD_LIST_TOO_LARGE,
    ErrorCode.INVALID_REQUIRED_ACKS,
})
_MAX_RETRY_BACKOFF_MS = 5_000


@attrs.define(eq=False)
class CoordinatorCore:
    """Settings (plain values, from the broker's configuration), transactional ids, timers."""

    state_topic: TransactionStateTopic
    markers: TransactionMarkers
    producer_ids: ProducerIds
    #: transaction.max.timeout.ms: the largest transaction timeout a producer may ask for.
    transaction_max_timeout_ms: int = 900_000
    #: transactional.id.expiration.ms: an id unused this long (and with no open transaction)
    #: is removed.
    transactional_id_expiration_ms: int = 604_800_000
    #: transaction.abort.timed.out.transaction.cleanup.interval.ms
    abort_timed_out_transaction_cleanup_interval_ms: int = 10_000
    #: transaction.remove.expired.transaction.cleanup.interval.ms
    remove_expired_transactional_ids_cleanup_interval_ms: int = 3_600_000
    #: First delay before retrying markers or a Complete* write (doubles up to 5 s).
    marker_retry_backoff_ms: int = 100
    #: The broker's clock: deadlines (`timers`) and wall-clock times (`wall_ms`) read it.
    clock: BrokerClock = attrs.field(factory=BrokerClock, kw_only=True)
    #: Wall clock in ms, for the timestamps of the log and the timeouts: the clock's,
    #: unless a test gives its own.
    wall_ms: Callable[[], int] = attrs.field(
        default=attrs.Factory(lambda self: self.clock.wall_ms, takes_self=True), kw_only=True
    )
    transactions: dict[str, TransactionMetadata] = attrs.Factory(dict)
    timers: Timers = attrs.field(
        default=attrs.Factory(lambda self: Timers(self.clock), takes_self=True), kw_only=True
    )
    _num_partitions: int | None = attrs.field(default=None, kw_only=True)
    #: Complete* changes waiting for markers (or for their own write), by transactional id.
    _completions: dict[str, TxnTransit] = attrs.field(init=False, factory=dict)
    _retry_backoff: dict[str, int] = attrs.field(init=False, factory=dict)
    _running: bool = attrs.field(init=False, default=False)

    # -- coordinator lookup --------------------------------------------------------------

    @property
    def num_partitions(self) -> int:
        """Partitions of __transaction_state; asking creates the topic if it does not exist.

        Raises:
            KafkaStorageError: the topic could not be created.
        """
        if self._num_partitions is None:
            self._num_partitions = self.state_topic.partition_count()
        return self._num_partitions

    def partition_for(self, transactional_id: str) -> int:
        return partition_for(transactional_id, self.num_partitions)

    def coordinator_node(self, transactional_id: str) -> int | None:
        """The node leading the id's __transaction_state partition (created on first use),
        or None if there is none (FindCoordinator then answers COORDINATOR_NOT_AVAILABLE)."""
        try:
            partition = self.partition_for(transactional_id)
        except KafkaStorageError as exc:
            log.error("cannot create %s: %s", TRANSACTION_STATE_TOPIC, exc)
            return None
        return self.state_topic.leader(partition)

    def check_coordinator(self, transactional_id: str, node_id: int) -> ErrorCode | None:
        """NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE when *node_id* cannot serve the id."""
        leader = self.coordinator_node(transactional_id)
        if leader is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if leader != node_id:
            return ErrorCode.NOT_COORDINATOR
        return None

    def _topic_ready(self) -> ErrorCode | None:
        """COORDINATOR_NOT_AVAILABLE while __transaction_state cannot be created."""
        try:
            _ = self.num_partitions
        except KafkaStorageError as exc:
            log.error("cannot create %s: %s", TRANSACTION_STATE_TOPIC, exc)
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        return None

    # -- storage -------------------------------------------------------------------------

    def _append(self, partition: int, records: list[tuple[bytes, bytes | None]]) -> ErrorCode:
        """Write *records* (key, value) as one batch to *partition*; NONE or the error a
        request answers (`kafkalite.transactions.port.store_error`)."""
        now = self.wall_ms()
        batch = build_batch([NewRecord(key, value, timestamp=now) for key, value in records], base_timestamp=now)
        try:
            error, _base_offset = self.state_topic.append(partition, batch)
        except KafkaStorageError as exc:
            log.error("cannot append to %s-%d: %s", TRANSACTION_STATE_TOPIC, partition, exc)
            error = ErrorCode.KAFKA_STORAGE_ERROR
        if error is not ErrorCode.NONE:
            log.error("cannot write to %s-%d: %s", TRANSACTION_STATE_TOPIC, partition, error.name)
        return store_error(error)

    def _write(self, txn: TransactionMetadata, transit: TxnTransit, *, keep_pending: bool = False) -> ErrorCode:
        """Write *transit* and apply it; on failure forget the pending change (unless
        *keep_pending*: the caller retries) and return the error."""
        key = transaction_log_key(txn.transactional_id)
        error = self._append(self.partition_for(txn.transactional_id), [(key, transaction_log_value(transit.log_value()))])
        if error is ErrorCode.NONE:
            txn.complete_transition(transit)
        elif not keep_pending:
            txn.pending_state = None
        return error

    def _new_producer_id(self) -> int | ErrorCode:
        try:
            return self.producer_ids.new_producer_id()
        except KafkaStorageError as exc:
            # Kafka answers with the error of its producer id manager, which is retriable
            # (COORDINATOR_LOAD_IN_PROGRESS) while no block of ids is available.
            log.error("cannot allocate a producer id: %s", exc)
            return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS

    # -- ending a transaction ------------------------------------------------------------

    def _producer_transaction(
        self, transactional_id: str, producer_id: int
    ) -> tuple[ErrorCode, TransactionMetadata | None]:
        """The id's transaction if *producer_id* owns it, else why not: INVALID_REQUEST for no
        id, the topic's unavailability, INVALID_PRODUCER_ID_MAPPING for an unknown id or
        another producer's (Kafka's checks before any transaction request)."""
        if not transactional_id:
            return ErrorCode.INVALID_REQUEST, None
        not_ready = self._topic_ready()
        if not_ready is not None:
            return not_ready, None
        txn = self.transactions.get(transactional_id)
        if txn is None or txn.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING, None
        return ErrorCode.NONE, txn

    def _end_transaction(
        self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool, *, from_client: bool
    ) -> ErrorCode:
        """EndTxn, or the coordinator aborting a transaction (*from_client* False: after an
        epoch fence, with the bumped epoch). Kafka's ``endTransaction``."""
        error, txn = self._producer_transaction(transactional_id, producer_id)
        if txn is None:
            return error
        # A client must use the current epoch; the coordinator's own abort uses the epoch it
        # has just bumped. (Transactions v2, where EndTxn bumps the epoch, is not served.)
        if (from_client and producer_epoch != txn.producer_epoch) or producer_epoch < txn.producer_epoch:
            return ErrorCode.PRODUCER_FENCED
        fencing = txn.pending_state is TxnState.PREPARE_EPOCH_FENCE
        if txn.pending_state is not None and not fencing:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        state = txn.state
        if state is TxnState.ONGOING:
            if fencing:
                if commit:
                    raise InconsistentTransition(f"{transactional_id}: commit requested during an epoch fence")
                # The fence's bumped epoch goes into the PrepareAbort record, so the markers
                # carry it and every partition fences the old producer.
                txn.pending_state = None
                txn.producer_epoch = producer_epoch
                txn.last_producer_epoch = -1
            error = self._write(txn, txn.prepare_abort_or_commit(commit, self.wall_ms()))
            if error is not ErrorCode.NONE:
                if fencing:
                    txn.has_failed_epoch_fence = True
                    log.warning("transactional id %s: epoch fence to %d not written (%s); not given out",
                                transactional_id, producer_epoch, error.name)
                return error
            self._start_completion(txn)
            return ErrorCode.NONE
        if state is TxnState.COMPLETE_COMMIT:
            return ErrorCode.NONE if commit else ErrorCode.INVALID_TXN_STATE
        if state is TxnState.COMPLETE_ABORT:
            return ErrorCode.INVALID_TXN_STATE if commit else ErrorCode.NONE
        if state is TxnState.PREPARE_COMMIT:
            return ErrorCode.CONCURRENT_TRANSACTIONS if commit else ErrorCode.INVALID_TXN_STATE
        if state is TxnState.PREPARE_ABORT:
            return ErrorCode.INVALID_TXN_STATE if commit else ErrorCode.CONCURRENT_TRANSACTIONS
        if state is TxnState.EMPTY:
            return ErrorCode.INVALID_TXN_STATE
        raise InconsistentTransition(f"{transactional_id}: found in state {state.kafka_name}, which is never at rest")

    def _start_completion(self, txn: TransactionMetadata) -> None:
        """The Prepare* record is written: prepare Complete*, write markers, then Complete*."""
        self._completions[txn.transactional_id] = txn.prepare_complete(self.wall_ms())
        self._drive_completion(txn.transactional_id)

    def complete_loaded(self) -> None:
        """Finish every transaction that was left in PrepareCommit / PrepareAbort (after
        loading, as Kafka does when it becomes a partition's coordinator)."""
        for txn in list(self.transactions.values()):
            if txn.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT) and txn.pending_state is None:
                log.info("transactional id %s: finishing %s left by the last run", txn.transactional_id, txn.state.kafka_name)
                self._start_completion(txn)

    def _drive_completion(self, transactional_id: str) -> None:
        """Write the markers still missing, then the Complete* record; retry what failed."""
        transit = self._completions.get(transactional_id)
        txn = self.transactions.get(transactional_id)
        if transit is None or txn is None:
            return
        self.timers.cancel(("complete", transactional_id))
        if txn.topic_partitions:
            self._write_markers(txn, commit=transit.state is TxnState.COMPLETE_COMMIT)
        if not txn.topic_partitions:
            error = self._write(txn, transit, keep_pending=True)
            if error is ErrorCode.NONE:
                del self._completions[transactional_id]
                self._retry_backoff.pop(transactional_id, None)
                log.debug("transactional id %s: %s", transactional_id, txn.state.kafka_name)
                return
        self._schedule_retry(transactional_id)

    def _write_markers(self, txn: TransactionMetadata, *, commit: bool) -> None:
        partitions = sorted(txn.topic_partitions)
        coordinator_epoch = self.state_topic.leader_epoch(self.partition_for(txn.transactional_id))
        try:
            results = self.markers.write_markers(txn.producer_id, txn.producer_epoch, coordinator_epoch, commit, partitions)
        except KafkaStorageError as exc:
            log.warning("transactional id %s: markers not written: %s", txn.transactional_id, exc)
            return
        for tp in partitions:
            error = results.get(tp, ErrorCode.REQUEST_TIMED_OUT)
            if error in _MARKER_DONE:
                txn.remove_partition(tp)
            elif error in _MARKER_OBSOLETE:
                log.warning("transactional id %s: marker for %s-%d refused (%s): skipped as obsolete",
                            txn.transactional_id, tp[0], tp[1], error.name)
                txn.remove_partition(tp)
            elif error in _MARKER_FATAL:
                raise InconsistentTransition(f"{txn.transactional_id}: marker for {tp} failed with {error.name}")
            else:
                log.info("transactional id %s: marker for %s-%d failed (%s), retrying",
                         txn.transactional_id, tp[0], tp[1], error.name)

    def _schedule_retry(self, transactional_id: str) -> None:
        if not self._running:
            return  # `run` drives every waiting completion when it starts
        delay = self._retry_backoff.get(transactional_id, self.marker_retry_backoff_ms)
        self._retry_backoff[transactional_id] = min(delay * 2, _MAX_RETRY_BACKOFF_MS)
        self.timers.schedule(("complete", transactional_id), delay, lambda: self._drive_completion(transactional_id))
