"""Fault injection with kafka-python: what an application sees when the broker misbehaves on
purpose (`broker.faults`, issue #12)."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import CommitFailedError, KafkaError, TopicAuthorizationFailedError
from kafka.structs import TopicPartition

from .conftest import wait_until
from .fault_broker import REQUEST_TIMEOUT_MS, broker, fault_broker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.kafkalite_only(reason="fault injection is kafkalite's own test control API; Kafka has none")

TIMEOUT = 20


def producer(broker, **extra) -> KafkaProducer:
    config = {
        "bootstrap_servers": broker.bootstrap_servers,
        "client_id": f"faults-{uuid.uuid4().hex[:8]}",
        "linger_ms": 0,
        "retries": 10,
        "retry_backoff_ms": 20,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        "reconnect_backoff_ms": 20,
    }
    config.update(extra)
    return KafkaProducer(**config)


def send_all(p: KafkaProducer, topic: str, values: list[bytes]) -> list:
    """Each record's future result (metadata or the exception), in order."""
    futures = [p.send(topic, value, partition=0) for value in values]
    p.flush(TIMEOUT)
    out = []
    for future in futures:
        try:
            out.append(future.get(TIMEOUT))
        except KafkaError as exc:
            out.append(exc)
    return out


def test_retriable_produce_error_three_times_delivers_each_record_once_in_order(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    rule = broker.faults.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic=topic_name, times=3)
    values = [f"v{i}".encode() for i in range(5)]
    p = producer(broker, max_in_flight_requests_per_connection=1)
    try:
        results = send_all(p, topic_name, values)
    finally:
        p.close(5)
    assert [r.offset for r in results] == [0, 1, 2, 3, 4]
    assert broker.values(topic_name) == values
    assert rule.fired == 3


def test_lost_acknowledgement_with_idempotence_writes_each_record_once(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    rule = broker.faults.add(api="Produce", error="REQUEST_TIMED_OUT", topic=topic_name, apply=True, times=2)
    values = [f"v{i}".encode() for i in range(5)]
    p = producer(broker, enable_idempotence=True, acks="all")
    try:
        results = send_all(p, topic_name, values)
    finally:
        p.close(5)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert rule.fired == 2
    assert [r.value for r in broker.records(topic_name)] == values  # the retries were deduplicated


def test_non_retriable_error_reaches_the_future(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.faults.add(api="Produce", error="TOPIC_AUTHORIZATION_FAILED", topic=topic_name)
    p = producer(broker)
    try:
        (result,) = send_all(p, topic_name, [b"x"])
    finally:
        p.close(5)
    assert isinstance(result, TopicAuthorizationFailedError), result
    assert broker.values(topic_name) == []


def consumer(broker, group: str | None, **extra) -> KafkaConsumer:
    config = {
        "bootstrap_servers": broker.bootstrap_servers,
        "group_id": group,
        "client_id": f"faults-{uuid.uuid4().hex[:8]}",
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 100,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        "retry_backoff_ms": 20,
        "reconnect_backoff_ms": 20,
    }
    config.update(extra)
    return KafkaConsumer(**config)


def consume(c: KafkaConsumer, count: int, timeout: float = TIMEOUT) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=200).values():
            got.extend(records)
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
        assert [r.value for r in got] == [b"a", b"b", b"c"]

        def committed() -> bool:
            try:
                c.commit()
            except (KafkaError, CommitFailedError):
                return False
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
    c = consumer(broker, None)
    try:
        tp = TopicPartition(topic_name, 0)
        c.assign([tp])
        c.seek(tp, 2)
        got = consume(c, 3)
    finally:
        c.close()
    # Without the error it would read from offset 2 ("c" only); "earliest" starts it over.
    assert [r.value for r in got] == [b"a", b"b", b"c"]
    assert rule.fired == 1


def test_a_300_ms_delay_on_produce_shows_in_the_latency(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    p = producer(broker)
    try:
        send_all(p, topic_name, [b"warm"])
        rule = broker.faults.add(api="Produce", topic=topic_name, delay_ms=300)
        started = time.monotonic()
        send_all(p, topic_name, [b"slow"])
        elapsed = time.monotonic() - started
    finally:
        p.close(5)
    assert 0.3 <= elapsed < 3, elapsed
    assert rule.fired == 1


def test_a_dropped_metadata_answer_is_retried_after_the_timeout(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    client_id = f"drop-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, client_id=client_id,
                             request_timeout_ms=REQUEST_TIMEOUT_MS, reconnect_backoff_ms=20)
    try:
        rule = broker.faults.add(api="Metadata", drop=True, client_id=client_id, topic=topic_name)
        started = time.monotonic()
        deadline = started + TIMEOUT
        while True:
            try:
                (described,) = admin.describe_topics([topic_name])
                break
            except KafkaError:
                assert time.monotonic() < deadline
    finally:
        admin.close()
    assert described["error_code"] == 0
    assert time.monotonic() - started >= REQUEST_TIMEOUT_MS / 1000
    assert rule.fired == 1


def test_a_closed_connection_makes_the_producer_reconnect(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    p = producer(broker)
    try:
        send_all(p, topic_name, [b"first"])
        rule = broker.faults.add(api="Produce", topic=topic_name, close="before")
        (result,) = send_all(p, topic_name, [b"second"])
    finally:
        p.close(5)
    assert not isinstance(result, Exception), result
    assert broker.values(topic_name) == [b"first", b"second"]
    assert rule.fired == 1
