"""The transaction coordinator: every transactional id of the broker and its transactions.

What happens, and when, follows Kafka's ``TransactionCoordinator`` (transactions v1: the
epoch is bumped by InitProducerId and by fencing, not by every EndTxn). The parts:

* `kafkalite.transactions.state`: the state table; `kafkalite.transactions.metadata`: one
  id's bookkeeping and the changes prepared on it;
* `kafkalite.transactions.records`: the layouts of ``__transaction_state``;
* `kafkalite.transactions.core`: settings, coordinator lookup, writes through the
  `kafkalite.transactions.port` ports, ending a transaction (Prepare*, markers, Complete*);
* `kafkalite.transactions.maintenance`: aborting timed-out transactions, expiring ids;
* `kafkalite.transactions.replay`: rebuilding all of it from ``__transaction_state``;
* this module: the requests, the admin views, `TransactionCoordinator.open`, its deadline
  task and `TransactionCoordinator.reset`.

Requests take plain values and capability flags, never an API version: the handler says
what its version can express (``producer_fenced_supported``: PRODUCER_FENCED exists from
InitProducerId v4, AddPartitionsToTxn / AddOffsetsToTxn / EndTxn v2; older versions get
INVALID_PRODUCER_EPOCH instead, as Kafka answers them). The handler checks that its node is
the id's coordinator first (`check_coordinator`).
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping

from kafkalite.transactions.maintenance import Maintenance
from kafkalite.transactions.metadata import (
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    InconsistentTransition,
    TopicPartition,
    TransactionMetadata,
    TxnTransit,
    is_epoch_exhausted,
)
from kafkalite.transactions.port import ProducerIds, TransactionMarkers, TransactionStateTopic
from kafkalite.transactions.replay import replay_transactions
from kafkalite.transactions.requests import TransactionDescription, TransactionList, TransactionListing
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.transactions")

InitResult = tuple[ErrorCode, int, int]


def _fenced(error: ErrorCode, producer_fenced_supported: bool) -> ErrorCode:
    if error is ErrorCode.PRODUCER_FENCED and not producer_fenced_supported:
        return ErrorCode.INVALID_PRODUCER_EPOCH
    return error


class TransactionCoordinator(Maintenance):
    """All transactional ids of the broker. Create with `open`; run `run` in the server's nursery."""

    @classmethod
    def open(
        cls,
        state_topic: TransactionStateTopic,
        markers: TransactionMarkers,
        producer_ids: ProducerIds,
        **settings: Any,
    ) -> TransactionCoordinator:
        """A coordinator over *state_topic*, with the transactional ids its records hold.

        *settings* are the plain values of `kafkalite.transactions.core.CoordinatorCore`
        (transaction_max_timeout_ms, transactional_id_expiration_ms,
        abort_timed_out_transaction_cleanup_interval_ms,
        remove_expired_transactional_ids_cleanup_interval_ms, marker_retry_backoff_ms,
        wall_ms). Transactions left in PrepareCommit / PrepareAbort are finished now (markers,
        then the Complete* record); what cannot be finished yet is retried once `run` runs.
        A broker without the topic starts empty; the topic is created when first needed.
        """
        coordinator = cls(state_topic, markers, producer_ids, **settings)
        if state_topic.exists():
            coordinator.transactions.update(replay_transactions(state_topic, coordinator.num_partitions))
            coordinator.complete_loaded()
        return coordinator

    async def run(self) -> None:
        """Fire the coordinator's deadlines until cancelled. Start it in the server's nursery."""
        self._running = True
        try:
            for transactional_id in list(self._completions):
                self._drive_completion(transactional_id)
            self._schedule_maintenance()
            await self.timers.run()
        finally:
            self._running = False

    # -- InitProducerId ------------------------------------------------------------------

    def init_producer_id(
        self,
        transactional_id: str | None,
        transaction_timeout_ms: int,
        expected_producer_id: int = NO_PRODUCER_ID,
        expected_producer_epoch: int = NO_PRODUCER_EPOCH,
        *,
        producer_fenced_supported: bool = True,
    ) -> InitResult:
        """InitProducerId: ``(error, producer_id, producer_epoch)``, -1 and -1 with an error.

        No transactional id: an idempotent producer, which always gets a new producer id at
        epoch 0. Otherwise the id's producer id is issued (a new one the first time, or when
        its epochs are exhausted) with its epoch bumped, fencing earlier incarnations. An
        open transaction of an earlier incarnation is aborted first (its epoch bumped, its
        ABORT markers written) and the caller is told CONCURRENT_TRANSACTIONS, so that it
        retries and gets a second bump. KIP-360: with the producer id and epoch it had, a
        producer may bump its own epoch; a stale one gets PRODUCER_FENCED.
        """
        error, producer_id, producer_epoch = self._init_producer_id(
            transactional_id, transaction_timeout_ms, expected_producer_id, expected_producer_epoch
        )
        return _fenced(error, producer_fenced_supported), producer_id, producer_epoch

    def _init_producer_id(
        self, transactional_id: str | None, timeout_ms: int, expected_id: int, expected_epoch: int
    ) -> InitResult:
        failed = NO_PRODUCER_ID, NO_PRODUCER_EPOCH
        if transactional_id is None:
            producer_id = self._new_producer_id()
            if isinstance(producer_id, ErrorCode):
                return (producer_id, *failed)
            return ErrorCode.NONE, producer_id, 0
        if transactional_id == "" or (expected_id == NO_PRODUCER_ID) != (expected_epoch == NO_PRODUCER_EPOCH):
            return (ErrorCode.INVALID_REQUEST, *failed)
        if not 0 < timeout_ms <= self.transaction_max_timeout_ms:
            return (ErrorCode.INVALID_TRANSACTION_TIMEOUT, *failed)
        not_ready = self._topic_ready()
        if not_ready is not None:
            return (not_ready, *failed)
        txn = self.transactions.get(transactional_id)
        if txn is None:
            producer_id = self._new_producer_id()
            if isinstance(producer_id, ErrorCode):
                return (producer_id, *failed)
            txn = TransactionMetadata(
                transactional_id, producer_id, txn_timeout_ms=timeout_ms, txn_last_update_timestamp=self.wall_ms()
            )
            self.transactions[transactional_id] = txn
        expected = None if expected_id == NO_PRODUCER_ID else (expected_id, expected_epoch)
        if txn.pending_state is not None:
            return (ErrorCode.CONCURRENT_TRANSACTIONS, *failed)
        if expected is not None and not (
            # A new id (no epoch yet: the producer recovers from UNKNOWN_PRODUCER_ID), its own
            # producer id (the epoch is checked when bumping), or the previous one of a
            # rotation whose answer the producer missed.
            txn.producer_epoch == NO_PRODUCER_EPOCH
            or expected_id == txn.producer_id
            or (expected_id == txn.previous_producer_id and is_epoch_exhausted(expected_epoch))
        ):
            return (ErrorCode.PRODUCER_FENCED, *failed)
        state = txn.state
        if state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            return (ErrorCode.CONCURRENT_TRANSACTIONS, *failed)
        if state is TxnState.ONGOING:
            # The bumped epoch is never given out: the retry bumps it once more (and rotates
            # the producer id if the fence exhausted its epochs).
            error = self._fence_and_abort(txn)
            return (ErrorCode.CONCURRENT_TRANSACTIONS if error is ErrorCode.NONE else error, *failed)
        if state not in (TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT):
            raise InconsistentTransition(f"{transactional_id}: found in state {state.kafka_name}, which is never at rest")
        transit: TxnTransit | ErrorCode
        if txn.is_producer_epoch_exhausted and (expected is None or expected[1] == txn.producer_epoch):
            new_id = self._new_producer_id()
            if isinstance(new_id, ErrorCode):
                return (new_id, *failed)
            transit = txn.prepare_producer_id_rotation(new_id, timeout_ms, self.wall_ms(), expected is not None)
        else:
            transit = txn.prepare_increment_producer_epoch(
                timeout_ms, None if expected is None else expected[1], self.wall_ms()
            )
            if isinstance(transit, ErrorCode):
                return (transit, *failed)
        error = self._write(txn, transit)
        if error is not ErrorCode.NONE:
            return (error, *failed)
        log.info("transactional id %s: producer id %d, epoch %d",
                 transactional_id, transit.producer_id, transit.producer_epoch)
        return ErrorCode.NONE, transit.producer_id, transit.producer_epoch

    # -- AddPartitionsToTxn, AddOffsetsToTxn ---------------------------------------------

    def add_partitions(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[TopicPartition],
        *,
        rejected: Mapping[TopicPartition, ErrorCode] | None = None,
        producer_fenced_supported: bool = True,
    ) -> dict[TopicPartition, ErrorCode]:
        """AddPartitionsToTxn: an error per partition (the same for all, as Kafka answers).

        *rejected* are partitions the handler refused itself (unknown topic, not authorized):
        then nothing is added, they keep their error and the others of the request get
        OPERATION_NOT_ATTEMPTED. Otherwise: INVALID_PRODUCER_ID_MAPPING (unknown id or
        another producer id), PRODUCER_FENCED (another epoch), CONCURRENT_TRANSACTIONS
        (a change in progress, or the last transaction still completing), or NONE once the
        partitions are in the transaction (which begins if none was open).
        """
        wanted = list(dict.fromkeys(partitions))
        refused = {tp: e for tp, e in (rejected or {}).items() if e is not ErrorCode.NONE}
        if refused:
            result = {tp: ErrorCode.OPERATION_NOT_ATTEMPTED for tp in wanted if tp not in refused}
            result.update(refused)
            return result
        error = _fenced(self._add(transactional_id, producer_id, producer_epoch, frozenset(wanted)), producer_fenced_supported)
        return {tp: error for tp in wanted}

    def add_offsets(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        group_offsets_partition: TopicPartition,
        *,
        producer_fenced_supported: bool = True,
    ) -> ErrorCode:
        """AddOffsetsToTxn: add the group's ``__consumer_offsets`` partition (the handler
        finds it) to the transaction, so that it gets a marker too."""
        error = self._add(transactional_id, producer_id, producer_epoch, frozenset({group_offsets_partition}))
        return _fenced(error, producer_fenced_supported)

    def _add(self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: frozenset[TopicPartition]) -> ErrorCode:
        error, txn = self._producer_transaction(transactional_id, producer_id)
        if txn is None:
            return error
        if txn.producer_epoch != producer_epoch:
            return ErrorCode.PRODUCER_FENCED
        if txn.pending_state is not None or txn.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            return ErrorCode.CONCURRENT_TRANSACTIONS
        if txn.state is TxnState.ONGOING and partitions <= txn.topic_partitions:
            return ErrorCode.NONE  # already there: nothing to write
        return self._write(txn, txn.prepare_add_partitions(partitions, self.wall_ms()))

    def verify_partitions(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: Iterable[TopicPartition]
    ) -> dict[TopicPartition, ErrorCode]:
        """The verify-only form of AddPartitionsToTxn (v4+, KIP-890), which a partition
        leader sends before accepting a transactional batch: NONE for partitions in the
        open transaction, TRANSACTION_ABORTABLE for the others; or one error for all
        (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS while the
        transaction is completing). Nothing is written."""
        wanted = list(dict.fromkeys(partitions))
        error: ErrorCode | None = None
        txn = self.transactions.get(transactional_id) if transactional_id else None
        if not transactional_id:
            error = ErrorCode.INVALID_REQUEST
        elif (not_ready := self._topic_ready()) is not None:
            error = not_ready
        elif txn is None or txn.producer_id != producer_id:
            error = ErrorCode.INVALID_PRODUCER_ID_MAPPING
        elif txn.producer_epoch != producer_epoch:
            error = ErrorCode.PRODUCER_FENCED
        elif txn.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            error = ErrorCode.CONCURRENT_TRANSACTIONS
        if error is not None:
            return {tp: error for tp in wanted}
        assert txn is not None
        return {
            tp: ErrorCode.NONE if tp in txn.topic_partitions else ErrorCode.TRANSACTION_ABORTABLE for tp in wanted
        }

    # -- EndTxn --------------------------------------------------------------------------

    def end_txn(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        commit: bool,
        *,
        producer_fenced_supported: bool = True,
    ) -> ErrorCode:
        """EndTxn: commit or abort the open transaction.

        NONE once PrepareCommit / PrepareAbort is written (the markers and the Complete*
        record follow at once, retried in the background if a partition cannot take its
        marker yet). A retry of an EndTxn whose transaction already completed the same way
        answers NONE; the opposite outcome, or no open transaction, INVALID_TXN_STATE; one
        still completing, CONCURRENT_TRANSACTIONS (or INVALID_TXN_STATE if the other
        outcome). INVALID_PRODUCER_ID_MAPPING and PRODUCER_FENCED as for AddPartitionsToTxn.
        """
        error = self._end_transaction(transactional_id, producer_id, producer_epoch, commit, from_client=True)
        return _fenced(error, producer_fenced_supported)

    # -- admin (KIP-664) -----------------------------------------------------------------

    def list_transactions(
        self,
        states: Iterable[str] = (),
        producer_ids: Iterable[int] = (),
        duration_filter_ms: int = -1,
        *,
        node_id: int | None = None,
    ) -> TransactionList:
        """ListTransactions: the ids in one of *states* (Kafka's names, exact) with one of
        *producer_ids*, open longer than *duration_filter_ms* (when >= 0); empty filters
        match all. With *node_id*, only the ids that node coordinates (every broker answers
        for its own partitions; the admin client merges the answers)."""
        wanted_states: set[TxnState] = set()
        unknown: list[str] = []
        for name in states:
            state = TxnState.from_name(name)
            if state is None:
                unknown.append(name)
            else:
                wanted_states.add(state)
        state_filter = bool(wanted_states or unknown)
        wanted_ids = set(producer_ids)
        now = self.wall_ms()
        listed = []
        for txn in self.transactions.values():
            if txn.state is TxnState.DEAD:
                continue  # being expired
            if wanted_ids and txn.producer_id not in wanted_ids:
                continue
            if state_filter and txn.state not in wanted_states:
                continue
            if duration_filter_ms >= 0 and now - txn.txn_start_timestamp <= duration_filter_ms:
                continue
            if node_id is not None and self.coordinator_node(txn.transactional_id) != node_id:
                continue
            listed.append(TransactionListing(txn.transactional_id, txn.producer_id, txn.state))
        return TransactionList(ErrorCode.NONE, tuple(listed), tuple(unknown))

    def describe(self, transactional_id: str) -> TransactionDescription:
        """DescribeTransactions for one id: INVALID_REQUEST for "", TRANSACTIONAL_ID_NOT_FOUND
        for an unknown (or expiring) id."""
        if not transactional_id:
            return TransactionDescription(transactional_id, ErrorCode.INVALID_REQUEST)
        txn = self.transactions.get(transactional_id)
        if txn is None or txn.state is TxnState.DEAD:
            return TransactionDescription(transactional_id, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
        by_topic: dict[str, list[int]] = {}
        for topic, partition in sorted(txn.topic_partitions):
            by_topic.setdefault(topic, []).append(partition)
        return TransactionDescription(
            transactional_id,
            ErrorCode.NONE,
            state=txn.state,
            producer_id=txn.producer_id,
            producer_epoch=txn.producer_epoch,
            transaction_timeout_ms=txn.txn_timeout_ms,
            transaction_start_time_ms=txn.txn_start_timestamp,
            topics=tuple((topic, tuple(ps)) for topic, ps in by_topic.items()),
        )

    def reset(self) -> None:
        """Forget every transactional id and cancel their retries. Writes nothing: the
        broker empties __transaction_state itself (used to reset an in-process broker
        between tests). The periodic checks keep running."""
        for transactional_id in self._completions:
            self.timers.cancel(("complete", transactional_id))
        self._completions.clear()
        self._retry_backoff.clear()
        self.transactions.clear()
