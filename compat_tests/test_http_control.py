"""The HTTP control API driven with a plain HTTP client (urllib), real clients around it.

Rules created over HTTP behave as those added from Python: a retriable error injected three
times on Produce is retried away by confluent-kafka and kafka-python, every record lands
once and in order, and the rule says it fired three times. The clock advanced over HTTP is
the broker's (a LogAppendTime record written next carries it, as does the journal); a reset
over HTTP empties the broker the clients see.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Callable, Iterator

import pytest
from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from .conftest import broker_serving, wait_until

pytestmark = pytest.mark.kafkalite_only(reason="drives kafkalite's HTTP control API; Kafka has no fault injection")

TIMEOUT = 15
RECORDS = 10


@pytest.fixture(scope="module")
def broker() -> Iterator[tuple[str, str]]:
    """(bootstrap, HTTP API URL) of a kafkalite of this module's, with the HTTP API and a journal."""
    yield from broker_serving("kafkalite HTTP API on ", "--memory", "--http-port", "0", "--journal-size", "1000")


def http(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


# -- the two clients, as the application under test would use them ---------------------


def produce_confluent(bootstrap: str, topic: str, values: list[bytes], client_id: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 5,
                         "enable.idempotence": True, "retry.backoff.ms": 50, "message.timeout.ms": TIMEOUT * 1000})
    failed: list[Any] = []
    for value in values:
        producer.produce(topic, value, partition=0, on_delivery=lambda err, _msg: err and failed.append(err))
    assert producer.flush(TIMEOUT) == 0
    assert failed == []


def produce_kafka_python(bootstrap: str, topic: str, values: list[bytes], client_id: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, linger_ms=5, retries=10,
                             retry_backoff_ms=50, max_in_flight_requests_per_connection=1,
                             request_timeout_ms=TIMEOUT * 1000)
    try:
        for future in [producer.send(topic, value, partition=0) for value in values]:
            future.get(timeout=TIMEOUT)
    finally:
        producer.close(timeout=5)


def read_confluent(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "http-control-reader",
                         "enable.auto.commit": False, "enable.partition.eof": False})
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        got: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < count and time.monotonic() < deadline:
            message = consumer.poll(0.3)
            if message is not None:
                assert message.error() is None, message.error()
                got.append(message.value())
        time.sleep(0.3)  # and nothing more: a duplicate would arrive with the rest
        got.extend(m.value() for m in consumer.consume(100, 0.3) if m.error() is None)
        return got
    finally:
        consumer.close()


def read_kafka_python(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partition = KafkaTopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        got: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and len(got) < count:
            for records in consumer.poll(timeout_ms=300).values():
                got.extend(r.value for r in records)
        for records in consumer.poll(timeout_ms=300).values():  # and nothing more
            got.extend(r.value for r in records)
        return got
    finally:
        consumer.close()


CLIENTS: dict[str, tuple[Callable[..., None], Callable[..., list[bytes]]]] = {
    "confluent-kafka": (produce_confluent, read_confluent),
    "kafka-python": (produce_kafka_python, read_kafka_python),
}


@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_retriable_error_injected_over_http_is_retried_and_every_record_lands_once_in_order(
        broker: tuple[str, str], topic_name: str, client: str) -> None:
    bootstrap, url = broker
    produce, read = CLIENTS[client]
    status, rule = http(url, "POST", "/v1/faults", {"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER",
                                                     "topic": topic_name, "times": 3})
    assert status == 201 and (rule["matched"], rule["fired"]) == (0, 0)
    try:
        values = [f"record-{i}".encode() for i in range(RECORDS)]
        produce(bootstrap, topic_name, values, f"http-{client}")
        assert read(bootstrap, topic_name, RECORDS) == values
        status, listed = http(url, "GET", "/v1/faults")
        (shown,) = [r for r in listed if r["id"] == rule["id"]]
        assert shown["fired"] == 3 and shown["matched"] >= 3
    finally:
        http(url, "DELETE", f"/v1/faults/{rule['id']}")


@pytest.mark.parametrize("client", list(CLIENTS))
def test_the_clock_advanced_over_http_stamps_what_the_broker_writes_next(
        broker: tuple[str, str], topic_name: str, client: str) -> None:
    bootstrap, url = broker
    produce, _read = CLIENTS[client]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    created = admin.create_topics([NewTopic(topic_name, 1, 1, config={"message.timestamp.type": "LogAppendTime"})])
    created[topic_name].result(TIMEOUT)
    before = http(url, "GET", "/v1/clock")[1]
    status, after = http(url, "POST", "/v1/clock/advance", {"seconds": 3600})
    assert status == 200 and after["offset_s"] == pytest.approx(before["offset_s"] + 3600)
    produce(bootstrap, topic_name, [b"later"], f"clock-{client}")
    # The broker's own timestamp (LogAppendTime) and its journal both read the moved clock.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "http-clock-reader", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic_name, 0, 0)])
        message = None
        deadline = time.monotonic() + TIMEOUT
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(0.3)
        assert message is not None and message.error() is None
        kind, stamp = message.timestamp()
        assert kind == TIMESTAMP_LOG_APPEND_TIME and stamp >= before["now_ms"] + 3600 * 1000
    finally:
        consumer.close()
    entries = http(url, "GET", f"/v1/journal?api=Produce&client_id=clock-{client}")[1]
    assert entries and entries[-1]["time_ms"] >= before["now_ms"] + 3600 * 1000


def test_a_reset_over_http_empties_the_broker_the_clients_see(broker: tuple[str, str], topic_name: str) -> None:
    bootstrap, url = broker
    produce_confluent(bootstrap, topic_name, [b"gone soon"], "reset-test")
    http(url, "POST", "/v1/faults", {"api": "Fetch", "delay_ms": 10, "always": True})
    status, answer = http(url, "POST", "/v1/reset")
    assert status == 200 and answer["topics_deleted"] >= 1
    assert http(url, "GET", "/v1/faults")[1] == []
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wait_until(lambda: topic_name not in admin.list_topics(timeout=TIMEOUT).topics, TIMEOUT, "topic gone")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        assert topic_name not in consumer.topics()
    finally:
        consumer.close()
