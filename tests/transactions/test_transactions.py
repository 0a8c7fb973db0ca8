"""AddPartitionsToTxn, AddOffsetsToTxn, the verify-only form, and EndTxn with its markers."""

from __future__ import annotations

import pytest

from kafkalite.transactions.metadata import InconsistentTransition
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode

from .fakes import begin, make, states

E = ErrorCode


# -- AddPartitionsToTxn ------------------------------------------------------------------------


def test_adding_partitions_begins_a_transaction() -> None:
    f = make()
    begin(f, partitions=[("a", 0), ("b", 2)])
    txn = f.coordinator.transactions["t"]
    assert (txn.state, txn.topic_partitions, txn.txn_start_timestamp) == (TxnState.ONGOING, {("a", 0), ("b", 2)}, f.clock.now)
    assert states(f) == ["Empty", "Ongoing"]


def test_adding_partitions_already_in_the_transaction_writes_nothing() -> None:
    f = make()
    producer_id, epoch = begin(f, partitions=[("a", 0), ("b", 2)])
    assert f.coordinator.add_partitions("t", producer_id, epoch, [("b", 2)]) == {("b", 2): E.NONE}
    assert states(f) == ["Empty", "Ongoing"]


def test_adding_more_partitions_writes_them_all() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.clock.advance(10)
    f.coordinator.add_partitions("t", producer_id, epoch, [("c", 1)])
    [*_, (_tid, value)] = f.topic.records()
    assert [(p.topic, p.partition_ids) for p in value.transaction_partitions] == [("a", [0]), ("c", [1])]
    assert value.transaction_start_timestamp_ms == f.clock.now - 10


@pytest.mark.parametrize(
    ("transactional_id", "producer_id", "epoch", "error"),
    [
        ("unknown", 1000, 0, E.INVALID_PRODUCER_ID_MAPPING),
        ("t", 999, 0, E.INVALID_PRODUCER_ID_MAPPING),
        ("t", 1000, 1, E.PRODUCER_FENCED),
        ("", 1000, 0, E.INVALID_REQUEST),
    ],
)
def test_add_partitions_checks_the_producer(transactional_id: str, producer_id: int, epoch: int, error: ErrorCode) -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.add_partitions(transactional_id, producer_id, epoch, [("a", 0), ("a", 1)]) == {
        ("a", 0): error, ("a", 1): error}


def test_older_clients_get_invalid_producer_epoch_instead_of_fenced() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.add_partitions("t", 1000, 7, [("a", 0)], producer_fenced_supported=False) == {
        ("a", 0): E.INVALID_PRODUCER_EPOCH}
    assert f.coordinator.add_offsets("t", 1000, 7, ("__consumer_offsets", 1), producer_fenced_supported=False) is (
        E.INVALID_PRODUCER_EPOCH)


def test_partitions_the_handler_rejected_leave_the_others_not_attempted() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    result = f.coordinator.add_partitions(
        "t", 1000, 0, [("a", 0), ("gone", 0), ("a", 1)], rejected={("gone", 0): E.UNKNOWN_TOPIC_OR_PARTITION}
    )
    assert result == {("a", 0): E.OPERATION_NOT_ATTEMPTED, ("gone", 0): E.UNKNOWN_TOPIC_OR_PARTITION,
                      ("a", 1): E.OPERATION_NOT_ATTEMPTED}
    assert f.coordinator.transactions["t"].state is TxnState.EMPTY and states(f) == ["Empty"]


def test_add_partitions_while_the_last_transaction_completes_is_concurrent() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.markers.errors[("a", 0)] = [E.NOT_LEADER_OR_FOLLOWER]
    f.coordinator.end_txn("t", producer_id, epoch, True)
    assert f.coordinator.add_partitions("t", producer_id, epoch, [("b", 0)]) == {("b", 0): E.CONCURRENT_TRANSACTIONS}
    assert f.coordinator.add_offsets("t", producer_id, epoch, ("__consumer_offsets", 0)) is E.CONCURRENT_TRANSACTIONS


def test_a_failed_write_leaves_the_transaction_as_it_was() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.topic.append_error = E.NOT_LEADER_OR_FOLLOWER
    assert f.coordinator.add_partitions("t", producer_id, epoch, [("b", 0)]) == {("b", 0): E.NOT_COORDINATOR}
    txn = f.coordinator.transactions["t"]
    assert (txn.topic_partitions, txn.pending_state) == ({("a", 0)}, None)


def test_add_offsets_adds_the_groups_offsets_partition() -> None:
    f = make()
    producer_id, epoch = begin(f)
    assert f.coordinator.add_offsets("t", producer_id, epoch, ("__consumer_offsets", 7)) is E.NONE
    assert f.coordinator.transactions["t"].topic_partitions == {("a", 0), ("__consumer_offsets", 7)}


def test_add_offsets_can_begin_a_transaction() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.add_offsets("t", 1000, 0, ("__consumer_offsets", 7)) is E.NONE
    assert f.coordinator.transactions["t"].state is TxnState.ONGOING


# -- verify only (KIP-890) -----------------------------------------------------------------------


def test_verify_tells_which_partitions_are_in_the_transaction() -> None:
    f = make()
    producer_id, epoch = begin(f)
    assert f.coordinator.verify_partitions("t", producer_id, epoch, [("a", 0), ("b", 0)]) == {
        ("a", 0): E.NONE, ("b", 0): E.TRANSACTION_ABORTABLE}
    assert states(f) == ["Empty", "Ongoing"]


@pytest.mark.parametrize(
    ("transactional_id", "producer_id", "epoch", "error"),
    [("x", 1000, 0, E.INVALID_PRODUCER_ID_MAPPING), ("t", 1, 0, E.INVALID_PRODUCER_ID_MAPPING),
     ("t", 1000, 3, E.PRODUCER_FENCED), ("", 1000, 0, E.INVALID_REQUEST)],
)
def test_verify_checks_the_producer(transactional_id: str, producer_id: int, epoch: int, error: ErrorCode) -> None:
    f = make()
    begin(f)
    assert f.coordinator.verify_partitions(transactional_id, producer_id, epoch, [("a", 0)]) == {("a", 0): error}


def test_verify_while_completing_is_concurrent() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.markers.errors[("a", 0)] = [E.NOT_LEADER_OR_FOLLOWER]
    f.coordinator.end_txn("t", producer_id, epoch, False)
    assert f.coordinator.verify_partitions("t", producer_id, epoch, [("a", 0)]) == {("a", 0): E.CONCURRENT_TRANSACTIONS}


# -- EndTxn ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("commit", "prepared", "completed"), [(True, "PrepareCommit", "CompleteCommit"),
                                                               (False, "PrepareAbort", "CompleteAbort")])
def test_end_writes_prepare_then_markers_then_complete(commit: bool, prepared: str, completed: str) -> None:
    f = make()
    f.topic.epochs[f.coordinator.partition_for("t")] = 4
    producer_id, epoch = begin(f, partitions=[("b", 1), ("a", 0)])
    f.coordinator.add_offsets("t", producer_id, epoch, ("__consumer_offsets", 7))
    assert f.coordinator.end_txn("t", producer_id, epoch, commit) is E.NONE
    assert states(f) == ["Empty", "Ongoing", "Ongoing", prepared, completed]
    [call] = f.markers.calls
    assert (call.producer_id, call.producer_epoch, call.coordinator_epoch, call.commit) == (producer_id, epoch, 4, commit)
    assert set(call.partitions) == {("a", 0), ("b", 1), ("__consumer_offsets", 7)}
    txn = f.coordinator.transactions["t"]
    assert (txn.state.kafka_name, txn.topic_partitions, txn.pending_state) == (completed, set(), None)


def test_a_retried_end_with_the_same_outcome_answers_none() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.coordinator.end_txn("t", producer_id, epoch, True)
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.NONE
    assert len(f.markers.calls) == 1 and states(f)[-1] == "CompleteCommit"


def test_an_end_with_the_opposite_outcome_is_an_invalid_state() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.coordinator.end_txn("t", producer_id, epoch, False)
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.INVALID_TXN_STATE


def test_an_end_without_a_transaction_is_an_invalid_state() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.end_txn("t", 1000, 0, True) is E.INVALID_TXN_STATE
    assert f.coordinator.end_txn("t", 1000, 0, False) is E.INVALID_TXN_STATE


@pytest.mark.parametrize(
    ("transactional_id", "producer_id", "epoch", "error"),
    [("x", 1000, 0, E.INVALID_PRODUCER_ID_MAPPING), ("t", 1, 0, E.INVALID_PRODUCER_ID_MAPPING),
     ("t", 1000, 1, E.PRODUCER_FENCED), ("", 1000, 0, E.INVALID_REQUEST)],
)
def test_end_checks_the_producer(transactional_id: str, producer_id: int, epoch: int, error: ErrorCode) -> None:
    f = make()
    begin(f)
    assert f.coordinator.end_txn(transactional_id, producer_id, epoch, True) is error
    assert f.coordinator.transactions["t"].state is TxnState.ONGOING


def test_a_failed_prepare_write_leaves_the_transaction_open() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.topic.append_error = E.NOT_ENOUGH_REPLICAS
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.COORDINATOR_NOT_AVAILABLE
    assert f.markers.calls == []
    f.topic.append_error = E.NONE
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.NONE
    assert f.coordinator.transactions["t"].state is TxnState.COMPLETE_COMMIT


def test_a_new_transaction_follows_a_completed_one() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.coordinator.end_txn("t", producer_id, epoch, True)
    assert f.coordinator.add_partitions("t", producer_id, epoch, [("z", 0)]) == {("z", 0): E.NONE}
    assert f.coordinator.end_txn("t", producer_id, epoch, False) is E.NONE
    assert f.markers.calls[-1].partitions == (("z", 0),) and not f.markers.calls[-1].commit


# -- markers that fail ------------------------------------------------------------------------------


def test_while_a_marker_is_missing_the_transaction_stays_prepared() -> None:
    f = make()
    producer_id, epoch = begin(f, partitions=[("a", 0), ("b", 0)])
    f.markers.errors[("b", 0)] = [E.NOT_LEADER_OR_FOLLOWER]
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.NONE
    txn = f.coordinator.transactions["t"]
    assert (txn.state, txn.pending_state, txn.topic_partitions) == (TxnState.PREPARE_COMMIT, TxnState.COMPLETE_COMMIT, {("b", 0)})
    assert states(f)[-1] == "PrepareCommit"
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.CONCURRENT_TRANSACTIONS
    assert f.coordinator.end_txn("t", producer_id, epoch, False) is E.CONCURRENT_TRANSACTIONS


def test_a_prepared_commit_without_pending_change_answers_as_kafka() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.markers.errors[("a", 0)] = [E.NOT_LEADER_OR_FOLLOWER]
    f.coordinator.end_txn("t", producer_id, epoch, True)
    f.coordinator.transactions["t"].pending_state = None  # as after a load, before completion
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.CONCURRENT_TRANSACTIONS
    assert f.coordinator.end_txn("t", producer_id, epoch, False) is E.INVALID_TXN_STATE


@pytest.mark.parametrize("error", [E.UNKNOWN_TOPIC_OR_PARTITION, E.INVALID_PRODUCER_EPOCH,
                                   E.TRANSACTION_COORDINATOR_FENCED, E.UNSUPPORTED_FOR_MESSAGE_FORMAT])
def test_a_partition_that_cannot_take_its_marker_is_dropped(error: ErrorCode) -> None:
    f = make()
    producer_id, epoch = begin(f, partitions=[("a", 0), ("gone", 0)])
    f.markers.errors[("gone", 0)] = [error]
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.NONE
    assert f.coordinator.transactions["t"].state is TxnState.COMPLETE_COMMIT


@pytest.mark.parametrize("error", [E.CORRUPT_MESSAGE, E.MESSAGE_TOO_LARGE, E.INVALID_REQUIRED_ACKS])
def test_a_broken_marker_write_is_a_bug(error: ErrorCode) -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.markers.errors[("a", 0)] = [error]
    with pytest.raises(InconsistentTransition, match=error.name):
        f.coordinator.end_txn("t", producer_id, epoch, True)


def test_a_complete_record_that_cannot_be_written_keeps_the_transaction_prepared() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.markers.after_write = lambda: setattr(f.topic, "append_error", E.NOT_ENOUGH_REPLICAS)
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.NONE
    txn = f.coordinator.transactions["t"]
    assert (txn.state, txn.pending_state, txn.topic_partitions) == (TxnState.PREPARE_COMMIT, TxnState.COMPLETE_COMMIT, set())
