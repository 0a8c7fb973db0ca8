"""Coordinator lookup, ListTransactions and DescribeTransactions (KIP-664), and reset."""

from __future__ import annotations

from kafkalite.transactions.records import partition_for
from kafkalite.transactions.requests import TransactionList, TransactionListing
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode

from .fakes import Fixture, begin, make

E = ErrorCode


# -- coordinator lookup -------------------------------------------------------------------------


def test_the_coordinator_is_the_leader_of_the_ids_partition_and_the_topic_is_created_on_first_use() -> None:
    f = make()
    f.topic.leaders[partition_for("t", 50)] = 2
    assert not f.topic.created
    assert f.coordinator.coordinator_node("t") == 2
    assert f.topic.created and f.coordinator.partition_for("t") == partition_for("t", 50)


def test_check_coordinator_names_the_right_error() -> None:
    f = make()
    p = partition_for("t", 50)
    f.topic.leaders[p] = 1
    assert f.coordinator.check_coordinator("t", 1) is None
    assert f.coordinator.check_coordinator("t", 0) is E.NOT_COORDINATOR
    f.topic.leaders[p] = None
    assert f.coordinator.check_coordinator("t", 1) is E.COORDINATOR_NOT_AVAILABLE


def test_the_partition_count_is_the_topics() -> None:
    f = make()
    f.topic.num_partitions = 3
    assert f.coordinator.num_partitions == 3
    assert f.coordinator.partition_for("hello") == 99162322 % 3


# -- ListTransactions ------------------------------------------------------------------------------


def three_ids() -> Fixture:
    f = make()
    f.coordinator.init_producer_id("idle", 60_000)
    begin(f, "open")
    producer_id, epoch = begin(f, "done")
    f.coordinator.end_txn("done", producer_id, epoch, True)
    return f


def listed(result: TransactionList) -> set[tuple[str, int, str]]:
    return {(t.transactional_id, t.producer_id, t.state.kafka_name) for t in result.transactions}


def test_list_shows_every_id_with_its_state() -> None:
    f = three_ids()
    result = f.coordinator.list_transactions()
    assert result.error is E.NONE and result.unknown_state_filters == ()
    assert listed(result) == {("idle", 1000, "Empty"), ("open", 1001, "Ongoing"), ("done", 1002, "CompleteCommit")}


def test_list_filters_by_state_name_and_reports_unknown_names() -> None:
    f = three_ids()
    result = f.coordinator.list_transactions(["Ongoing", "Bogus", "CompleteCommit"])
    assert listed(result) == {("open", 1001, "Ongoing"), ("done", 1002, "CompleteCommit")}
    assert result.unknown_state_filters == ("Bogus",)


def test_a_filter_of_only_unknown_states_matches_nothing() -> None:
    f = three_ids()
    assert f.coordinator.list_transactions(["ongoing"]).transactions == ()


def test_list_filters_by_producer_id() -> None:
    f = three_ids()
    assert listed(f.coordinator.list_transactions(producer_ids=[1001, 5])) == {("open", 1001, "Ongoing")}


def test_list_filters_by_how_long_a_transaction_has_been_open() -> None:
    f = make()
    begin(f, "old")
    f.clock.advance(5_000)
    begin(f, "new")
    f.clock.advance(1_000)
    result = f.coordinator.list_transactions(["Ongoing"], duration_filter_ms=2_000)
    assert result.transactions == (TransactionListing("old", 1000, TxnState.ONGOING),)


def test_list_for_a_node_shows_only_the_ids_it_coordinates() -> None:
    f = three_ids()
    f.topic.leaders[f.coordinator.partition_for("open")] = 7
    assert listed(f.coordinator.list_transactions(node_id=7)) == {("open", 1001, "Ongoing")}
    assert "open" not in {t.transactional_id for t in f.coordinator.list_transactions(node_id=0).transactions}


# -- DescribeTransactions ---------------------------------------------------------------------------


def test_describe_an_open_transaction() -> None:
    f = make()
    producer_id, epoch = begin(f, partitions=[("b", 2), ("a", 1), ("a", 0)], timeout_ms=45_000)
    d = f.coordinator.describe("t")
    assert (d.error, d.state_name, d.producer_id, d.producer_epoch, d.transaction_timeout_ms) == (
        E.NONE, "Ongoing", producer_id, epoch, 45_000)
    assert d.transaction_start_time_ms == f.clock.now
    assert d.topics == (("a", (0, 1)), ("b", (2,)))


def test_describe_an_idle_id() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    d = f.coordinator.describe("t")
    assert (d.state_name, d.transaction_start_time_ms, d.topics) == ("Empty", -1, ())


def test_describe_an_unknown_or_empty_id() -> None:
    f = make()
    assert f.coordinator.describe("nope").error is E.TRANSACTIONAL_ID_NOT_FOUND
    assert f.coordinator.describe("nope").state_name == ""
    assert f.coordinator.describe("").error is E.INVALID_REQUEST


# -- reset ----------------------------------------------------------------------------------------------


def test_reset_forgets_every_id_and_keeps_the_topic() -> None:
    f = three_ids()
    f.coordinator.reset()
    assert f.coordinator.transactions == {} and f.coordinator.list_transactions().transactions == ()
    assert f.coordinator.init_producer_id("open", 60_000) == (E.NONE, 1003, 0)
