"""The coordinator's periodic work, as Kafka's ``TransactionStateManager`` schedules it:

* every ``abort_timed_out_transaction_cleanup_interval_ms``, an Ongoing transaction open for
  longer than its transaction timeout is aborted, with its producer's epoch bumped first so
  that the producer learns it was fenced (its next request answers PRODUCER_FENCED);
* every ``remove_expired_transactional_ids_cleanup_interval_ms``, a transactional id with no
  open transaction (Empty, CompleteCommit, CompleteAbort) and no change for
  ``transactional_id_expiration_ms`` is removed: a tombstone per id, one batch per partition.

Both run as keyed deadlines of `kafkalite.timers.Timers` on the broker's clock, and their ages
are measured on the coordinator's wall clock (``wall_ms``), as Kafka measures them.
"""

from __future__ import annotations

import logging

from kafkalite.transactions.core import CoordinatorCore
from kafkalite.transactions.metadata import TransactionMetadata
from kafkalite.transactions.records import transaction_log_key
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.transactions")

_ABORT_TIMER = "abort-timed-out-transactions"
_EXPIRE_TIMER = "remove-expired-transactional-ids"


class Maintenance(CoordinatorCore):
    """The timed half of `kafkalite.transactions.coordinator.TransactionCoordinator`."""

    def _schedule_maintenance(self) -> None:
        self.timers.schedule(_ABORT_TIMER, self.abort_timed_out_transaction_cleanup_interval_ms, self._abort_tick)
        self.timers.schedule(_EXPIRE_TIMER, self.remove_expired_transactional_ids_cleanup_interval_ms, self._expire_tick)

    def _abort_tick(self) -> None:
        self.abort_timed_out_transactions()
        self.timers.schedule(_ABORT_TIMER, self.abort_timed_out_transaction_cleanup_interval_ms, self._abort_tick)

    def _expire_tick(self) -> None:
        self.remove_expired_transactional_ids()
        self.timers.schedule(_EXPIRE_TIMER, self.remove_expired_transactional_ids_cleanup_interval_ms, self._expire_tick)

    def abort_timed_out_transactions(self) -> list[str]:
        """Fence and abort every Ongoing transaction past its timeout; the ids aborted."""
        now = self.wall_ms()
        timed_out = [
            txn for txn in self.transactions.values()
            if txn.pending_state is None
            and txn.state is TxnState.ONGOING
            and txn.txn_start_timestamp + txn.txn_timeout_ms < now
        ]
        aborted = []
        for txn in timed_out:
            error = self._fence_and_abort(txn)
            if error is ErrorCode.NONE:
                log.info("transactional id %s: transaction open for more than %d ms aborted (producer epoch now %d)",
                         txn.transactional_id, txn.txn_timeout_ms, txn.producer_epoch)
                aborted.append(txn.transactional_id)
            else:
                log.warning("transactional id %s: aborting the timed-out transaction failed: %s",
                            txn.transactional_id, error.name)
        return aborted

    def _fence_and_abort(self, txn: TransactionMetadata) -> ErrorCode:
        """Bump the epoch of *txn*'s producer and abort its open transaction (Kafka: a fence
        followed by an abort that is not from the client)."""
        transit = txn.prepare_fence_producer_epoch()
        error = self._end_transaction(
            txn.transactional_id, transit.producer_id, transit.producer_epoch, False, from_client=False
        )
        if txn.pending_state is TxnState.PREPARE_EPOCH_FENCE:
            txn.pending_state = None  # the abort never got as far as replacing the fence
        return error

    def remove_expired_transactional_ids(self) -> list[str]:
        """Remove the ids idle for longer than transactional.id.expiration.ms; the ids removed."""
        cutoff = self.wall_ms() - self.transactional_id_expiration_ms
        by_partition: dict[int, list[TransactionMetadata]] = {}
        for txn in self.transactions.values():
            if txn.pending_state is None and txn.state.is_expiration_allowed and txn.txn_last_update_timestamp <= cutoff:
                txn.prepare_dead()
                by_partition.setdefault(self.partition_for(txn.transactional_id), []).append(txn)
        removed = []
        for partition, txns in by_partition.items():
            error = self._append(partition, [(transaction_log_key(t.transactional_id), None) for t in txns])
            for txn in txns:
                if error is ErrorCode.NONE and txn.pending_state is TxnState.DEAD:
                    del self.transactions[txn.transactional_id]
                    removed.append(txn.transactional_id)
                else:
                    txn.pending_state = None
        if removed:
            log.info("expired %d transactional id(s): %s", len(removed), ", ".join(sorted(removed)))
        return removed
