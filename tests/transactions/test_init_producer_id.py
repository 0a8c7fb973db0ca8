"""InitProducerId: ids and epochs, fencing an earlier incarnation, KIP-360 retries, epoch
exhaustion, and the errors Kafka answers."""

from __future__ import annotations

import pytest

from kafkalite.transactions.metadata import MAX_PRODUCER_EPOCH
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode

from .fakes import begin, make, states

E = ErrorCode
FAILED = (-1, -1)


def test_an_idempotent_producer_gets_a_new_id_at_epoch_0_and_nothing_is_written() -> None:
    f = make()
    assert f.coordinator.init_producer_id(None, 0) == (E.NONE, 1000, 0)
    assert f.coordinator.init_producer_id(None, 0, 1000, 0) == (E.NONE, 1001, 0)
    assert not f.topic.created and f.topic.logs == {}


def test_the_first_init_issues_a_producer_id_at_epoch_0_and_writes_empty() -> None:
    f = make()
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NONE, 1000, 0)
    assert f.topic.create_calls == 1
    assert states(f) == ["Empty"]
    [(_tid, value)] = f.topic.records()
    assert (value.producer_id, value.producer_epoch, value.transaction_timeout_ms) == (1000, 0, 60_000)


def test_each_init_bumps_the_epoch_of_the_same_producer_id() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.init_producer_id("t", 30_000) == (E.NONE, 1000, 1)
    assert f.coordinator.transactions["t"].txn_timeout_ms == 30_000


def test_an_empty_transactional_id_is_an_invalid_request() -> None:
    assert make().coordinator.init_producer_id("", 60_000) == (E.INVALID_REQUEST, *FAILED)


@pytest.mark.parametrize(("producer_id", "epoch"), [(5, -1), (-1, 5)])
def test_half_an_expected_producer_is_an_invalid_request(producer_id: int, epoch: int) -> None:
    assert make().coordinator.init_producer_id("t", 60_000, producer_id, epoch) == (E.INVALID_REQUEST, *FAILED)


@pytest.mark.parametrize("timeout_ms", [0, -1, 900_001])
def test_a_timeout_outside_1_to_the_maximum_is_invalid(timeout_ms: int) -> None:
    f = make()
    assert f.coordinator.init_producer_id("t", timeout_ms) == (E.INVALID_TRANSACTION_TIMEOUT, *FAILED)
    assert f.topic.logs == {}


def test_the_maximum_timeout_is_a_setting() -> None:
    f = make(transaction_max_timeout_ms=1000)
    assert f.coordinator.init_producer_id("t", 1001)[0] is E.INVALID_TRANSACTION_TIMEOUT
    assert f.coordinator.init_producer_id("t", 1000)[0] is E.NONE


# -- fencing an earlier incarnation -------------------------------------------------------------


def test_an_open_transaction_of_the_previous_incarnation_is_aborted_and_the_caller_retries() -> None:
    f = make()
    producer_id, epoch = begin(f, partitions=[("a", 0), ("b", 1)])
    assert f.coordinator.init_producer_id("t", 60_000) == (E.CONCURRENT_TRANSACTIONS, *FAILED)
    [call] = f.markers.calls
    assert (call.producer_id, call.producer_epoch, call.commit, call.partitions) == (producer_id, epoch + 1, False, (("a", 0), ("b", 1)))
    assert states(f) == ["Empty", "Ongoing", "PrepareAbort", "CompleteAbort"]
    assert f.coordinator.transactions["t"].state is TxnState.COMPLETE_ABORT
    # The retry bumps once more: the fencing epoch is never handed out.
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NONE, producer_id, epoch + 2)


def test_the_fenced_producer_can_no_longer_add_or_end() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.add_partitions("t", producer_id, epoch, [("c", 0)]) == {("c", 0): E.PRODUCER_FENCED}
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.PRODUCER_FENCED
    assert f.coordinator.end_txn("t", producer_id, epoch, True, producer_fenced_supported=False) is E.INVALID_PRODUCER_EPOCH


def test_init_while_a_transaction_completes_is_concurrent() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.markers.errors[("a", 0)] = [E.NOT_LEADER_OR_FOLLOWER]
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.NONE
    assert f.coordinator.transactions["t"].state is TxnState.PREPARE_COMMIT
    assert f.coordinator.init_producer_id("t", 60_000) == (E.CONCURRENT_TRANSACTIONS, *FAILED)


def test_a_fence_that_exhausts_the_epochs_leads_to_a_new_producer_id() -> None:
    f = make()
    producer_id, _ = begin(f)
    f.coordinator.transactions["t"].producer_epoch = MAX_PRODUCER_EPOCH - 2
    assert f.coordinator.init_producer_id("t", 60_000)[0] is E.CONCURRENT_TRANSACTIONS
    assert f.markers.calls[-1].producer_epoch == MAX_PRODUCER_EPOCH - 1
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NONE, 1001, 0)
    assert f.coordinator.transactions["t"].previous_producer_id == producer_id


# -- KIP-360: the producer bumps its own epoch ------------------------------------------------


def test_a_producer_with_its_current_epoch_gets_a_bump() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.init_producer_id("t", 60_000, 1000, 0) == (E.NONE, 1000, 1)
    assert f.coordinator.transactions["t"].last_producer_epoch == 0


def test_a_retry_with_the_previous_epoch_gets_the_same_epoch_again() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    f.coordinator.init_producer_id("t", 60_000, 1000, 0)
    assert f.coordinator.init_producer_id("t", 60_000, 1000, 0) == (E.NONE, 1000, 1)


def test_a_stale_epoch_is_fenced() -> None:
    f = make()
    for _ in range(3):
        f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.init_producer_id("t", 60_000, 1000, 0) == (E.PRODUCER_FENCED, *FAILED)
    assert f.coordinator.init_producer_id("t", 60_000, 1000, 0, producer_fenced_supported=False) == (
        E.INVALID_PRODUCER_EPOCH, *FAILED)


def test_another_producer_id_is_fenced() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    assert f.coordinator.init_producer_id("t", 60_000, 555, 0) == (E.PRODUCER_FENCED, *FAILED)


def test_an_expected_producer_on_a_new_id_gets_the_new_producer_id() -> None:
    # A producer recovering from UNKNOWN_PRODUCER_ID after its id expired.
    assert make().coordinator.init_producer_id("t", 60_000, 555, 3) == (E.NONE, 1000, 0)


def test_an_exhausted_epoch_with_the_expected_epoch_rotates_the_producer_id() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    f.coordinator.transactions["t"].producer_epoch = MAX_PRODUCER_EPOCH - 1
    assert f.coordinator.init_producer_id("t", 60_000, 1000, MAX_PRODUCER_EPOCH - 1) == (E.NONE, 1001, 0)
    # The producer missed that answer and retries with its old id and exhausted epoch.
    assert f.coordinator.init_producer_id("t", 60_000, 1000, MAX_PRODUCER_EPOCH - 1) == (E.NONE, 1001, 0)


# -- failures ----------------------------------------------------------------------------------------


def test_a_failing_producer_id_counter_is_retriable() -> None:
    f = make()
    f.ids.broken = True
    assert f.coordinator.init_producer_id("t", 60_000) == (E.COORDINATOR_LOAD_IN_PROGRESS, *FAILED)
    assert f.coordinator.init_producer_id(None, 60_000) == (E.COORDINATOR_LOAD_IN_PROGRESS, *FAILED)


@pytest.mark.parametrize(
    ("append_error", "answered"),
    [
        (E.NOT_LEADER_OR_FOLLOWER, E.NOT_COORDINATOR),
        (E.KAFKA_STORAGE_ERROR, E.NOT_COORDINATOR),
        (E.NOT_ENOUGH_REPLICAS, E.COORDINATOR_NOT_AVAILABLE),
        (E.NOT_ENOUGH_REPLICAS_AFTER_APPEND, E.COORDINATOR_NOT_AVAILABLE),
        (E.UNKNOWN_TOPIC_OR_PARTITION, E.COORDINATOR_NOT_AVAILABLE),
        (E.REQUEST_TIMED_OUT, E.COORDINATOR_NOT_AVAILABLE),
        (E.MESSAGE_TOO_LARGE, E.UNKNOWN_SERVER_ERROR),
        (E.RECORD_LIST_TOO_LARGE, E.UNKNOWN_SERVER_ERROR),
    ],
)
def test_a_failed_write_answers_kafkas_coordinator_error(append_error: ErrorCode, answered: ErrorCode) -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    f.topic.append_error = append_error
    assert f.coordinator.init_producer_id("t", 60_000) == (answered, *FAILED)
    txn = f.coordinator.transactions["t"]
    assert (txn.producer_epoch, txn.pending_state) == (0, None)
    f.topic.append_error = E.NONE
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NONE, 1000, 1)


def test_a_storage_error_raised_by_the_append_is_not_coordinator() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    f.topic.broken = True
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NOT_COORDINATOR, *FAILED)


def test_a_topic_that_cannot_be_created_makes_the_coordinator_unavailable() -> None:
    f = make()
    f.topic.broken = True
    assert f.coordinator.init_producer_id("t", 60_000) == (E.COORDINATOR_NOT_AVAILABLE, *FAILED)
    assert f.coordinator.coordinator_node("t") is None
    assert f.coordinator.check_coordinator("t", 0) is E.COORDINATOR_NOT_AVAILABLE
