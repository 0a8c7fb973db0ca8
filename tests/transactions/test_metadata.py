"""One transactional id's changes, prepared and completed as Kafka's TransactionMetadata does."""

from __future__ import annotations

import attrs
import pytest

from kafkalite.transactions.metadata import (
    MAX_PRODUCER_EPOCH,
    InconsistentTransition,
    TransactionMetadata,
    is_epoch_exhausted,
)
from kafkalite.transactions.state import IllegalTransition, TxnState
from kafkalite.wire.error_codes import ErrorCode

NOW = 1_700_000_000_000
S = TxnState


def fresh(**overrides: object) -> TransactionMetadata:
    return TransactionMetadata("t", 1000, **overrides)  # type: ignore[arg-type]


def initialised(epoch: int = 0) -> TransactionMetadata:
    return fresh(producer_epoch=epoch, txn_last_update_timestamp=NOW)


def ongoing(partitions: set[tuple[str, int]] | None = None) -> TransactionMetadata:
    txn = initialised()
    txn.complete_transition(txn.prepare_add_partitions(frozenset(partitions or {("a", 0)}), NOW))
    return txn


# -- InitProducerId ----------------------------------------------------------------------------


def test_a_new_id_gets_epoch_0() -> None:
    txn = fresh()
    transit = txn.prepare_increment_producer_epoch(30_000, None, NOW)
    assert not isinstance(transit, ErrorCode)
    assert (transit.state, transit.producer_id, transit.producer_epoch, transit.last_producer_epoch) == (S.EMPTY, 1000, 0, -1)
    assert txn.pending_state is S.EMPTY
    txn.complete_transition(transit)
    assert (txn.producer_epoch, txn.txn_timeout_ms, txn.pending_state, txn.txn_last_update_timestamp) == (0, 30_000, None, NOW)


def test_bump_without_expected_epoch_forgets_the_last_epoch() -> None:
    txn = initialised(4)
    transit = txn.prepare_increment_producer_epoch(30_000, None, NOW)
    assert not isinstance(transit, ErrorCode)
    assert (transit.producer_epoch, transit.last_producer_epoch) == (5, -1)


def test_bump_with_the_current_epoch_remembers_it() -> None:
    txn = initialised(4)
    transit = txn.prepare_increment_producer_epoch(30_000, 4, NOW)
    assert not isinstance(transit, ErrorCode)
    assert (transit.producer_epoch, transit.last_producer_epoch) == (5, 4)


def test_retry_with_the_last_epoch_keeps_the_current_epoch() -> None:
    txn = initialised(4)
    first = txn.prepare_increment_producer_epoch(30_000, 4, NOW)
    assert not isinstance(first, ErrorCode)
    txn.complete_transition(first)
    retry = txn.prepare_increment_producer_epoch(30_000, 4, NOW)
    assert not isinstance(retry, ErrorCode)
    assert (retry.producer_epoch, retry.last_producer_epoch) == (5, 4)


def test_an_expected_epoch_that_is_neither_current_nor_last_is_fenced() -> None:
    txn = initialised(4)
    assert txn.prepare_increment_producer_epoch(30_000, 2, NOW) is ErrorCode.PRODUCER_FENCED
    assert txn.pending_state is None


def test_an_exhausted_epoch_cannot_be_bumped_and_rotates_the_producer_id() -> None:
    txn = initialised(MAX_PRODUCER_EPOCH - 1)
    assert txn.is_producer_epoch_exhausted
    with pytest.raises(InconsistentTransition):
        txn.prepare_increment_producer_epoch(30_000, None, NOW)
    transit = txn.prepare_producer_id_rotation(2000, 30_000, NOW, record_last_epoch=True)
    assert (transit.producer_id, transit.producer_epoch, transit.last_producer_epoch) == (2000, 0, MAX_PRODUCER_EPOCH - 1)
    txn.complete_transition(transit)
    assert (txn.producer_id, txn.producer_epoch, txn.previous_producer_id) == (2000, 0, 1000)


def test_rotation_without_expected_epoch_forgets_the_last_epoch() -> None:
    txn = initialised(MAX_PRODUCER_EPOCH - 1)
    assert txn.prepare_producer_id_rotation(2000, 30_000, NOW, record_last_epoch=False).last_producer_epoch == -1


def test_epoch_exhaustion_starts_at_short_max_minus_one() -> None:
    assert not is_epoch_exhausted(MAX_PRODUCER_EPOCH - 2)
    assert is_epoch_exhausted(MAX_PRODUCER_EPOCH - 1) and is_epoch_exhausted(MAX_PRODUCER_EPOCH)


# -- transactions --------------------------------------------------------------------------------


def test_adding_partitions_begins_a_transaction_at_now() -> None:
    txn = initialised()
    txn.complete_transition(txn.prepare_add_partitions(frozenset({("a", 0)}), NOW + 5))
    assert (txn.state, txn.topic_partitions, txn.txn_start_timestamp) == (S.ONGOING, {("a", 0)}, NOW + 5)


def test_adding_more_partitions_keeps_the_start_time() -> None:
    txn = ongoing()
    txn.complete_transition(txn.prepare_add_partitions(frozenset({("b", 1)}), NOW + 99))
    assert txn.topic_partitions == {("a", 0), ("b", 1)}
    assert (txn.txn_start_timestamp, txn.txn_last_update_timestamp) == (NOW, NOW + 99)


@pytest.mark.parametrize(("commit", "prepared", "completed"), [(True, S.PREPARE_COMMIT, S.COMPLETE_COMMIT),
                                                               (False, S.PREPARE_ABORT, S.COMPLETE_ABORT)])
def test_end_prepares_then_completes_and_clears_the_partitions(commit: bool, prepared: TxnState, completed: TxnState) -> None:
    txn = ongoing({("a", 0), ("b", 1)})
    transit = txn.prepare_abort_or_commit(commit, NOW + 1)
    assert transit.topic_partitions == {("a", 0), ("b", 1)}
    txn.complete_transition(transit)
    assert txn.state is prepared
    done = txn.prepare_complete(NOW + 2)
    assert done.state is completed and done.topic_partitions == frozenset()
    txn.complete_transition(done)
    assert (txn.state, txn.topic_partitions, txn.txn_start_timestamp) == (completed, set(), NOW)


def test_partitions_leave_a_preparing_transaction_as_their_markers_are_written() -> None:
    txn = ongoing({("a", 0), ("b", 1)})
    with pytest.raises(InconsistentTransition):
        txn.remove_partition(("a", 0))
    txn.complete_transition(txn.prepare_abort_or_commit(True, NOW))
    txn.prepare_complete(NOW)
    txn.remove_partition(("a", 0))
    assert txn.topic_partitions == {("b", 1)}


def test_a_new_transaction_after_a_completed_one_starts_again() -> None:
    txn = ongoing()
    txn.complete_transition(txn.prepare_abort_or_commit(False, NOW))
    txn.complete_transition(txn.prepare_complete(NOW))
    txn.complete_transition(txn.prepare_add_partitions(frozenset({("c", 0)}), NOW + 50))
    assert (txn.state, txn.topic_partitions, txn.txn_start_timestamp) == (S.ONGOING, {("c", 0)}, NOW + 50)


def test_init_producer_id_after_a_transaction_forgets_its_start_time() -> None:
    # Kafka's completeTransitionTo copies every field of the written change: in Empty, the
    # start time is -1 (DescribeTransactions answers -1), as a restart would rebuild it.
    txn = ongoing()
    txn.complete_transition(txn.prepare_abort_or_commit(True, NOW + 1))
    txn.complete_transition(txn.prepare_complete(NOW + 2))
    transit = txn.prepare_increment_producer_epoch(30_000, None, NOW + 3)
    assert not isinstance(transit, ErrorCode) and transit.txn_start_timestamp == -1
    txn.complete_transition(transit)
    assert (txn.state, txn.topic_partitions, txn.txn_start_timestamp) == (S.EMPTY, set(), -1)


# -- fencing ---------------------------------------------------------------------------------------


def test_fencing_bumps_the_epoch_and_forgets_the_last() -> None:
    txn = ongoing()
    transit = txn.prepare_fence_producer_epoch()
    assert (transit.state, transit.producer_epoch, transit.last_producer_epoch) == (S.PREPARE_EPOCH_FENCE, 1, -1)
    assert txn.pending_state is S.PREPARE_EPOCH_FENCE


def test_fencing_after_a_failed_fence_does_not_bump_again() -> None:
    txn = ongoing()
    txn.producer_epoch = 1
    txn.has_failed_epoch_fence = True
    assert txn.prepare_fence_producer_epoch().producer_epoch == 1


def test_the_fence_cannot_overflow_the_epoch() -> None:
    txn = ongoing()
    txn.producer_epoch = MAX_PRODUCER_EPOCH
    with pytest.raises(InconsistentTransition):
        txn.prepare_fence_producer_epoch()


def test_completing_clears_a_failed_fence() -> None:
    txn = ongoing()
    txn.has_failed_epoch_fence = True
    txn.complete_transition(txn.prepare_abort_or_commit(False, NOW))
    txn.prepare_complete(NOW)
    assert not txn.has_failed_epoch_fence


def test_a_fence_is_never_completed_itself() -> None:
    txn = ongoing()
    transit = txn.prepare_fence_producer_epoch()
    with pytest.raises(InconsistentTransition):
        txn.complete_transition(transit)


# -- expiry ---------------------------------------------------------------------------------------


def test_an_idle_id_can_die_but_not_with_an_open_transaction() -> None:
    txn = initialised()
    assert txn.prepare_dead().state is S.DEAD
    with pytest.raises(IllegalTransition):
        ongoing().prepare_dead()


def test_death_is_never_completed() -> None:
    txn = initialised()
    transit = txn.prepare_dead()
    with pytest.raises(InconsistentTransition):
        txn.complete_transition(transit)


# -- the guards -------------------------------------------------------------------------------------


def test_one_change_at_a_time() -> None:
    txn = initialised()
    txn.prepare_add_partitions(frozenset({("a", 0)}), NOW)
    with pytest.raises(InconsistentTransition, match="pending"):
        txn.prepare_add_partitions(frozenset({("b", 0)}), NOW)


def test_illegal_moves_come_from_the_table() -> None:
    with pytest.raises(IllegalTransition, match="Empty.*commit"):
        initialised().prepare_abort_or_commit(True, NOW)
    with pytest.raises(IllegalTransition, match="Ongoing.*init producer id"):
        ongoing().prepare_increment_producer_epoch(1000, None, NOW)


def test_completing_without_that_pending_change_is_a_bug() -> None:
    txn = initialised()
    transit = txn.prepare_add_partitions(frozenset({("a", 0)}), NOW)
    txn.pending_state = None
    with pytest.raises(InconsistentTransition):
        txn.complete_transition(transit)


def test_completing_a_change_made_for_another_epoch_is_a_bug() -> None:
    txn = initialised()
    transit = txn.prepare_add_partitions(frozenset({("a", 0)}), NOW)
    with pytest.raises(InconsistentTransition):
        txn.complete_transition(attrs.evolve(transit, producer_epoch=7))


def test_the_log_value_of_an_empty_id_has_null_partitions() -> None:
    txn = fresh()
    transit = txn.prepare_increment_producer_epoch(30_000, None, NOW)
    assert not isinstance(transit, ErrorCode)
    value = transit.log_value()
    assert value.transaction_partitions is None and value.transaction_status == 0  # type: ignore[attr-defined]
    with pytest.raises(InconsistentTransition):
        attrs.evolve(transit, topic_partitions=frozenset({("a", 0)})).log_value()


def test_the_log_value_of_an_open_transaction_lists_its_partitions() -> None:
    txn = ongoing({("b", 1), ("a", 0), ("a", 3)})
    value = txn.prepare_abort_or_commit(True, NOW).log_value()
    assert [(p.topic, p.partition_ids) for p in value.transaction_partitions] == [("a", [0, 3]), ("b", [1])]  # type: ignore[attr-defined]
    assert value.transaction_status == int(S.PREPARE_COMMIT)  # type: ignore[attr-defined]
