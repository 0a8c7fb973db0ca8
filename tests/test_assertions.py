"""Assertions and journal helpers on BrokerThread (kafkalite.testing.assertions, .history),
fed with exact requests through the project's own codec (compat_tests.wire_client)."""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from compat_tests.wire_client import WireClient
from kafkalite.groups.consumer_protocol import encode_assignment, encode_subscription
from kafkalite.testing.assertions import ANY, generations
from kafkalite.testing.history import JournalOff
from kafkalite.testing.thread import BrokerThread
from kafkalite.testing.waits import WaitTimeout
from kafkalite.wire.legacy import build_message_set
from kafkalite.wire.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from kafkalite.wire.messages.leave_group import LeaveGroupRequest
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.messages.sync_group import SyncGroupRequest, SyncGroupRequestAssignment
from kafkalite.wire.records import NewRecord, build_batch


@pytest.fixture(scope="module")
def thread() -> Iterator[BrokerThread]:
    with BrokerThread() as broker:
        yield broker


@pytest.fixture
def broker(thread: BrokerThread) -> BrokerThread:
    thread.reset()
    thread.create_topic("orders", 2)
    return thread


def send_produce(broker: BrokerThread, records: bytes, *, partition: int = 0, version: int = 9,
                 client_id: str = "app", topic: str = "orders") -> int:
    with WireClient(broker.bootstrap_servers, client_id=client_id) as client:
        response = client.request(ProduceRequest(acks=-1, timeout_ms=1000, topic_data=[
            TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=records)])]),
            version)
    return response.responses[0].partition_responses[0].error_code


def batch(*records: tuple[bytes | None, bytes | None], headers=()) -> bytes:
    now = int(time.time() * 1000)
    return build_batch([NewRecord(k, v, headers, timestamp=now) for k, v in records])


# -- journal.produced, apis ----------------------------------------------------------------


def test_produced_decodes_what_clients_sent_with_the_offsets_given(broker: BrokerThread) -> None:
    send_produce(broker, batch((b"k1", b"v1"), (None, b"v2"), headers=[("h", b"x")]), partition=1)
    send_produce(broker, batch((b"k3", b"v3")), partition=9)  # no such partition
    records = broker.journal.produced("orders")
    assert [(r.partition, r.key, r.value, r.offset, r.error, r.client_id) for r in records] == [
        (1, b"k1", b"v1", 0, 0, "app"), (1, None, b"v2", 1, 0, "app"), (9, b"k3", b"v3", None, 3, "app")]
    assert records[0].headers == (("h", b"x"),)
    assert broker.journal.produced("orders", partition=9)[0].value == b"v3"
    assert broker.journal.produced("orders", client_id="other") == []
    assert broker.journal.produced("elsewhere") == []


def test_produced_reads_old_message_sets_too(broker: BrokerThread) -> None:
    send_produce(broker, build_message_set([(0, int(time.time() * 1000), b"k", b"old")], magic=1), version=2)
    assert [(r.key, r.value, r.offset) for r in broker.journal.produced("orders")] == [(b"k", b"old", 0)]


def test_apis_lists_each_clients_apis_and_versions(broker: BrokerThread) -> None:
    send_produce(broker, batch((None, b"v")), version=7, client_id="old-app")
    send_produce(broker, batch((None, b"v")), version=9, client_id="new-app")
    assert broker.journal.apis("old-app") == {"Produce": [7]}
    assert broker.journal.apis()["Produce"] == [7, 9]
    assert {"old-app", "new-app"} <= set(broker.journal.clients())


def test_query_gives_json_able_entries(broker: BrokerThread) -> None:
    send_produce(broker, batch((None, b"v")))
    [entry] = broker.journal.query(api="Produce", topic="orders")
    assert entry["api"] == "Produce" and entry["client_id"] == "app" and entry["errors"] == []
    assert broker.journal.enabled and broker.journal.capacity == 10_000 and len(broker.journal) >= 1


# -- assert_produced, assert_nothing_produced ----------------------------------------------


def test_assert_produced_matches_key_value_headers_and_count(broker: BrokerThread) -> None:
    send_produce(broker, batch((b"alice", b"1"), (b"bob", b"2"), headers=[("type", b"order")]))
    send_produce(broker, batch((b"alice", b"3")), partition=1)
    assert len(broker.assert_produced("orders", key="alice", count=2)) == 2
    assert broker.assert_produced("orders", key=b"bob", value="2", headers={"type": "order"}, count=1)[0].offset == 1
    assert broker.assert_produced("orders", value=lambda v: v.startswith(b"3"), partition=1)
    assert len(broker.assert_produced("orders")) == 3  # at least one, any record
    with pytest.raises(WaitTimeout, match=r"exactly 1 record\(s\) in orders with key=b'alice'; "
                                          r"seen: 2 matching of 3 record\(s\)"):
        broker.assert_produced("orders", key="alice", count=1, timeout=0.2)


def test_a_failed_assert_produced_says_what_was_expected_and_seen(broker: BrokerThread) -> None:
    send_produce(broker, batch((b"bob", b"x")))
    with pytest.raises(WaitTimeout) as failure:
        broker.assert_produced("orders", key="alice", value=ANY, headers=[("h", "v")], timeout=0.2)
    message = str(failure.value)
    assert "at least 1 record(s) in orders with key=b'alice' headers=[('h', b'v')]" in message
    assert "last seen: 0 matching of 1 record(s): [p0@0 key=b'bob' value=b'x']" in message
    with pytest.raises(WaitTimeout, match="no such topic"):
        broker.assert_produced("missing", timeout=0.1)


def test_assert_produced_waits_for_a_record_produced_meanwhile(broker: BrokerThread) -> None:
    import threading

    timer = threading.Timer(0.1, lambda: broker.produce("orders", "late", key="k"))
    timer.start()
    try:
        assert broker.assert_produced("orders", value="late", timeout=5)[0].key == b"k"
    finally:
        timer.join()


def test_assert_nothing_produced(broker: BrokerThread) -> None:
    broker.assert_nothing_produced("orders")
    broker.assert_nothing_produced("never-created")
    broker.produce("orders", "oops", partition=1)
    broker.assert_nothing_produced("orders", partition=0)
    with pytest.raises(AssertionError, match=r"expected nothing produced to orders; seen: .*value=b'oops'"):
        broker.assert_nothing_produced("orders")


# -- committed_history, group_history ------------------------------------------------------


def commit(client: WireClient, group: str, offsets: dict[int, int], *, member: str = "", generation: int = -1,
           topic: str = "orders") -> None:
    client.request(OffsetCommitRequest(
        group_id=group, generation_id_or_member_epoch=generation, member_id=member,
        topics=[OffsetCommitRequestTopic(name=topic, partitions=[
            OffsetCommitRequestPartition(partition_index=p, committed_offset=o, committed_metadata=f"m{o}")
            for p, o in offsets.items()])]), 8)


def test_committed_history_lists_every_commit_in_order(broker: BrokerThread) -> None:
    with WireClient(broker.bootstrap_servers, client_id="committer") as client:
        commit(client, "billing", {0: 1, 1: 5})
        commit(client, "billing", {0: 2})
        commit(client, "other", {0: 9})
        commit(client, "billing", {0: 3}, topic="nope")
    history = broker.committed_history("billing")
    assert [(c.topic, c.partition, c.offset, c.metadata, c.error) for c in history] == [
        ("orders", 0, 1, "m1", 0), ("orders", 1, 5, "m5", 0), ("orders", 0, 2, "m2", 0), ("nope", 0, 3, "m3", 3)]
    assert {(c.api, c.client_id, c.member_id, c.generation_id) for c in history} == {
        ("OffsetCommit", "committer", "", -1)}


def test_committed_history_has_transactional_commits_with_their_id_and_answer(broker: BrokerThread) -> None:
    from kafkalite.wire.messages.txn_offset_commit import (
        TxnOffsetCommitRequest,
        TxnOffsetCommitRequestPartition,
        TxnOffsetCommitRequestTopic,
    )

    with WireClient(broker.bootstrap_servers, client_id="txn-app") as client:
        answer = client.request(TxnOffsetCommitRequest(
            transactional_id="tx", group_id="billing", producer_id=42, producer_epoch=0, generation_id=3,
            member_id="m", topics=[TxnOffsetCommitRequestTopic(name="orders", partitions=[
                TxnOffsetCommitRequestPartition(partition_index=1, committed_offset=7, committed_metadata=None)])]), 3)
    [event] = broker.committed_history("billing")
    assert (event.api, event.transactional_id, event.member_id, event.generation_id, event.offset, event.metadata) == (
        "TxnOffsetCommit", "tx", "m", 3, 7, None)
    assert event.error == answer.topics[0].partitions[0].error_code != 0  # no such producer: refused


def join(client: WireClient, member: str = "") -> object:
    return client.request(JoinGroupRequest(
        group_id="g", session_timeout_ms=10_000, member_id=member, protocol_type="consumer",
        protocols=[JoinGroupRequestProtocol(name="range", metadata=encode_subscription(["orders"]))]), 0)


def test_group_history_shows_joins_syncs_with_assignments_and_leaves(broker: BrokerThread) -> None:
    with WireClient(broker.bootstrap_servers, client_id="member-1") as client:
        joined = join(client)
        member = joined.member_id
        client.request(SyncGroupRequest(group_id="g", generation_id=joined.generation_id, member_id=member,
                                        assignments=[SyncGroupRequestAssignment(
                                            member_id=member, assignment=encode_assignment({"orders": [0, 1]}))]), 0)
        client.request(LeaveGroupRequest(group_id="g", member_id=member), 0)
    events = broker.group_history("g")
    assert [e.kind for e in events] == ["join", "sync", "leave"]
    first, synced, left = events
    assert (first.member_id, first.generation_id, first.leader, first.members, first.subscription, first.protocol) == (
        member, 1, member, (member,), ("orders",), "range")
    assert synced.assignment == {"orders": (0, 1)} and synced.generation_id == 1 and synced.client_id == "member-1"
    assert left.member_id == member and left.error == 0
    assert generations(events) == {1: {member: {"orders": (0, 1)}}}


def test_history_needs_the_journal() -> None:
    with BrokerThread(journal_size=0) as broker:
        with pytest.raises(JournalOff, match="journal_size"):
            broker.committed_history("g")
        with pytest.raises(JournalOff):
            broker.journal.produced("t")
        assert broker.journal.enabled is False


def test_metrics_text_is_the_brokers_prometheus_text(broker: BrokerThread) -> None:
    send_produce(broker, batch((None, b"v")), partition=9)
    text = broker.metrics_text()
    assert 'kafkalite_errors_total{api="Produce",code="3",error="UNKNOWN_TOPIC_OR_PARTITION"}' in text


async def test_group_history_of_a_consumer_group_shows_epochs_and_assignments(nursery) -> None:
    # KIP-848 members heartbeat; history keeps the joins, leaves and new assignments, with
    # topic ids resolved to names.
    from kafkalite.testing.history import group_events

    from .broker.consumer_group_client import CgMember
    from .groups.helpers import connect, start_broker

    broker = start_broker(nursery, journal_size=100)
    broker.create_topic("t", 2)
    a = CgMember(connect(broker, nursery))
    await a.heartbeat()
    await a.heartbeat()  # nothing new: not in the history
    await a.leave()
    events = group_events(broker, "g")
    assert [(e.kind, e.generation_id) for e in events] == [("consumer_heartbeat", 1), ("consumer_heartbeat", -1)]
    assert events[0].assignment == {"t": (0, 1)} and events[0].subscription == ("t",)
    assert events[0].member_id == a.member_id == events[1].member_id
