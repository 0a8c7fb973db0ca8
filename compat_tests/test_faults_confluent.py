"""Fault injection with confluent-kafka (librdkafka): what an application sees when the broker
misbehaves on purpose (`broker.faults`, issue #12)."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from .conftest import wait_until
from .fault_broker import REQUEST_TIMEOUT_MS, broker, fault_broker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.kafkalite_only(reason="fault injection is kafkalite's own test control API; Kafka has none")

TIMEOUT = 20


def producer(broker, **extra) -> Producer:
    config = {
        "bootstrap.servers": broker.bootstrap_servers,
        "client.id": f"faults-{uuid.uuid4().hex[:8]}",
        "linger.ms": 0,
        "retry.backoff.ms": 20,
        "retry.backoff.max.ms": 100,
        "socket.timeout.ms": REQUEST_TIMEOUT_MS,
        "request.timeout.ms": REQUEST_TIMEOUT_MS,
        "message.timeout.ms": 15000,
    }
    config.update(extra)
    return Producer(config)


def produce_all(p: Producer, topic: str, values: list[bytes]) -> list[tuple[KafkaError | None, int | None]]:
    reports: list[tuple[KafkaError | None, int | None]] = []
    for value in values:
        p.produce(topic, value, partition=0, on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    assert p.flush(TIMEOUT) == 0
    return reports


def test_retriable_produce_error_three_times_delivers_each_record_once_in_order(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    rule = broker.faults.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic=topic_name, times=3)
    values = [f"v{i}".encode() for i in range(5)]
    reports = produce_all(producer(broker, **{"max.in.flight.requests.per.connection": 1}), topic_name, values)
    assert [err for err, _ in reports] == [None] * 5
    assert broker.values(topic_name) == values
    assert rule.fired == 3


def test_lost_acknowledgement_with_idempotence_writes_each_record_once(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    rule = broker.faults.add(api="Produce", error="REQUEST_TIMED_OUT", topic=topic_name, apply=True, times=2)
    values = [f"v{i}".encode() for i in range(5)]
    reports = produce_all(producer(broker, **{"enable.idempotence": True}), topic_name, values)
    assert [err for err, _ in reports] == [None] * 5
    assert rule.fired == 2
    assert [r.value for r in broker.records(topic_name)] == values  # the retries were deduplicated


def test_non_retriable_error_reaches_the_delivery_callback(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.faults.add(api="Produce", error="TOPIC_AUTHORIZATION_FAILED", topic=topic_name)
    reports = produce_all(producer(broker), topic_name, [b"x"])
    assert [err.code() for err, _ in reports] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    assert broker.values(topic_name) == []


def consumer(broker, group: str, **extra) -> Consumer:
    config = {
        "bootstrap.servers": broker.bootstrap_servers,
        "group.id": group,
        "client.id": f"faults-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 100,
        "socket.timeout.ms": REQUEST_TIMEOUT_MS,
        "retry.backoff.ms": 20,
        "reconnect.backoff.ms": 20,
    }
    config.update(extra)
    return Consumer(config)


def consume(c: Consumer, count: int, timeout: float = TIMEOUT) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        msg = c.poll(0.2)
        if msg is not None and msg.error() is None:
            got.append(msg)
    return got


def test_coordinator_errors_on_group_apis_the_consumer_rediscovers_and_commits(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.produce_batch(topic_name, [b"a", b"b", b"c"], partition=0)
    group = f"g-{uuid.uuid4().hex[:8]}"
    rules = [
        broker.faults.add(api="FindCoordinator", error="COORDINATOR_NOT_AVAILABLE", group_id=group, times=2),
        broker.faults.add(api="JoinGroup", error="NOT_COORDINATOR", group_id=group),
        broker.faults.add(api="OffsetCommit", error="NOT_COORDINATOR", group_id=group),
    ]
    c = consumer(broker, group)
    try:
        c.subscribe([topic_name])
        got = consume(c, 3)
        assert [m.value() for m in got] == [b"a", b"b", b"c"]

        def committed() -> bool:
            try:
                c.commit(asynchronous=False)
            except KafkaException:
                return False  # NOT_COORDINATOR: librdkafka looks the coordinator up again
            return True

        wait_until(committed, timeout=TIMEOUT, what="a commit after NOT_COORDINATOR", interval=0.1)
    finally:
        c.close()
    assert broker.committed(group, topic_name, 0) == 3
    assert [r.fired for r in rules] == [2, 1, 1]


def test_offset_out_of_range_on_fetch_applies_auto_offset_reset(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.produce_batch(topic_name, [b"a", b"b", b"c"], partition=0)
    rule = broker.faults.add(api="Fetch", error="OFFSET_OUT_OF_RANGE", topic=topic_name)
    c = consumer(broker, f"g-{uuid.uuid4().hex[:8]}", **{"auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic_name, 0, 2)])
        got = consume(c, 3)
    finally:
        c.close()
    # Without the error it would read from offset 2 ("c" only); "earliest" starts it over.
    assert [m.value() for m in got] == [b"a", b"b", b"c"]
    assert rule.fired == 1


def test_a_300_ms_delay_on_produce_shows_in_the_latency(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    p = producer(broker)
    produce_all(p, topic_name, [b"warm"])
    rule = broker.faults.add(api="Produce", topic=topic_name, delay_ms=300)
    started = time.monotonic()
    produce_all(p, topic_name, [b"slow"])
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 3, elapsed
    assert rule.fired == 1


def test_a_dropped_metadata_answer_is_retried_after_the_timeout(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    client_id = f"drop-{uuid.uuid4().hex[:8]}"
    rule = broker.faults.add(api="Metadata", drop=True, client_id=client_id, topic=topic_name)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers, "client.id": client_id,
                         "socket.timeout.ms": REQUEST_TIMEOUT_MS, "reconnect.backoff.ms": 20})
    started = time.monotonic()
    deadline = started + TIMEOUT
    while True:
        try:
            found = admin.list_topics(topic_name, timeout=REQUEST_TIMEOUT_MS / 1000 * 3)
            break
        except KafkaException:
            assert time.monotonic() < deadline
    assert topic_name in found.topics
    assert time.monotonic() - started >= REQUEST_TIMEOUT_MS / 1000
    assert rule.fired == 1


def test_a_closed_connection_makes_the_producer_reconnect(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    p = producer(broker, **{"reconnect.backoff.ms": 20})
    produce_all(p, topic_name, [b"first"])
    rule = broker.faults.add(api="Produce", topic=topic_name, close="before")
    reports = produce_all(p, topic_name, [b"second"])
    assert [err for err, _ in reports] == [None]
    assert broker.values(topic_name) == [b"first", b"second"]
    assert rule.fired == 1
