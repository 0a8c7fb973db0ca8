"""The request journal and the assertions of the fixtures, after real confluent-kafka
clients: assert_produced, committed_history, group_history, journal.apis."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from kafkalite.testing.assertions import generations

pytestmark = pytest.mark.kafkalite_only(
    reason="the request journal and its assertions are kafkalite's own (Kafka has no such API)"
)

TIMEOUT = 10
FAST = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 100, "socket.timeout.ms": 5000}


def producer(broker, client_id: str) -> Producer:
    return Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0, "client.id": client_id,
                     "message.timeout.ms": 5000})


def consumer(broker, group: str, client_id: str) -> Consumer:
    return Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group, "client.id": client_id,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False, **FAST})


def test_assert_produced_after_a_real_producer(kafkalite_broker) -> None:
    broker = kafkalite_broker
    broker.create_topic("orders", 2)
    p = producer(broker, "orders-app")
    p.produce("orders", key=b"alice", value=b"1", headers=[("type", b"order")])
    p.produce("orders", key=b"alice", value=b"2", headers=[("type", b"order")])
    p.produce("orders", key=b"bob", value=b"3")
    assert p.flush(TIMEOUT) == 0

    assert [r.value for r in broker.assert_produced("orders", key="alice", headers={"type": "order"}, count=2)] == [
        b"1", b"2"]
    broker.assert_produced("orders", key="bob", value="3", count=1)
    broker.assert_nothing_produced("dead-letters")
    with pytest.raises(AssertionError) as failure:
        broker.assert_produced("orders", key="carol", timeout=0.3)
    message = str(failure.value)
    assert "at least 1 record(s) in orders with key=b'carol'" in message
    assert "last seen: 0 matching of 3 record(s)" in message and "key=b'bob' value=b'3'" in message
    with pytest.raises(AssertionError, match="exactly 1 record"):
        broker.assert_produced("orders", key="alice", count=1)

    sent = broker.journal.produced("orders", client_id="orders-app")
    assert sorted((r.key, r.value) for r in sent) == [(b"alice", b"1"), (b"alice", b"2"), (b"bob", b"3")]
    assert all(r.error == 0 and r.offset is not None for r in sent)
    assert [h for r in sent if r.key == b"alice" for h in r.headers] == [("type", b"order")] * 2


def test_committed_history_after_a_real_consumer_commits(kafkalite_broker) -> None:
    broker = kafkalite_broker
    broker.create_topic("payments", 1)
    for i in range(3):
        broker.produce("payments", f"p{i}", partition=0)
    c = consumer(broker, "billing", "billing-app")
    try:
        c.subscribe(["payments"])
        seen = 0
        deadline = time.monotonic() + TIMEOUT
        while seen < 3 and time.monotonic() < deadline:
            message = c.poll(0.2)
            if message is not None and message.error() is None:
                seen += 1
                c.commit(message=message, asynchronous=False)
        assert seen == 3
        member = broker.group("billing").members[0].member_id
    finally:
        c.close()
    history = broker.committed_history("billing")
    assert [(h.topic, h.partition, h.offset, h.error) for h in history] == [
        ("payments", 0, 1, 0), ("payments", 0, 2, 0), ("payments", 0, 3, 0)]
    generation = [e.generation_id for e in broker.group_history("billing") if e.kind == "sync"][-1]
    assert {(h.api, h.client_id, h.member_id, h.generation_id) for h in history} == {
        ("OffsetCommit", "billing-app", member, generation)}


def test_group_history_shows_the_rebalance_when_a_second_consumer_joins(kafkalite_broker) -> None:
    broker = kafkalite_broker
    broker.create_topic("events", 2)
    first, second = consumer(broker, "readers", "reader-1"), consumer(broker, "readers", "reader-2")
    try:
        first.subscribe(["events"])
        deadline = time.monotonic() + 3 * TIMEOUT
        while len(first.assignment()) < 2 and time.monotonic() < deadline:
            first.poll(0.05)
        assert len(first.assignment()) == 2
        second.subscribe(["events"])
        while time.monotonic() < deadline:
            first.poll(0.05)
            second.poll(0.05)
            if len(first.assignment()) == 1 and len(second.assignment()) == 1:
                break
        assert {tp.partition for c in (first, second) for tp in c.assignment()} == {0, 1}
    finally:
        first.close()
        second.close()

    events = broker.group_history("readers")
    kinds = [e.kind for e in events]
    assert kinds.index("join") < kinds.index("sync")
    by_generation = generations(events)
    gens = sorted(by_generation)
    # The first alone had both partitions (after a generation with none, when the client
    # assigned before it knew the topic's partitions), then one each.
    alone = [g for g in gens if list(by_generation[g].values()) == [{"events": (0, 1)}]]
    assert alone and alone[0] < gens[-1], by_generation
    split = by_generation[gens[-1]]
    assert sorted(a["events"] for a in split.values()) == [(0,), (1,)]  # then one each
    clients = {e.member_id: e.client_id for e in events if e.kind == "sync"}
    assert sorted(clients[m] for m in split) == ["reader-1", "reader-2"]
    assert "leave" in kinds  # close() leaves the group
    assert events[-1].time_ms >= events[0].time_ms


def test_journal_apis_list_what_the_client_used(kafkalite_broker) -> None:
    broker = kafkalite_broker
    p = producer(broker, "report-app")
    p.produce("auto-created", value=b"v")
    assert p.flush(TIMEOUT) == 0
    used = broker.journal.apis("report-app")
    assert {"ApiVersions", "Metadata", "Produce"} <= set(used)
    assert all(versions and all(isinstance(v, int) for v in versions) for versions in used.values())
    produce_versions = {e["api_version"] for e in broker.journal.query(api="Produce", client_id="report-app")}
    assert used["Produce"] == sorted(produce_versions)
    assert "report-app" in broker.journal.clients()
