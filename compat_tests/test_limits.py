"""Connection limits with real clients: an oversized frame is refused on both brokers, and
clients ride over connections the broker closed for idleness (connections.max.idle.ms)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Any, Iterator

import pytest
from confluent_kafka import Consumer, Producer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from .conftest import start_broker, stop_broker

TIMEOUT = 20


def test_frame_above_socket_request_max_bytes_closes_the_connection(bootstrap: str) -> None:
    # Both brokers run socket.request.max.bytes's default, 104857600: one byte more is refused
    # from the size alone (nothing of the body is sent).
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(struct.pack(">i", 104857601))
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass


class IdleBroker:
    def __init__(self) -> None:
        self.proc, self.address = start_broker("--memory", "--connections-max-idle-ms", "500")
        self.lines: list[str] = []
        self.drain = threading.Thread(target=self._read, daemon=True)  # never block on a full pipe
        self.drain.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def idle_closes(self) -> int:
        return sum("(connections.max.idle.ms)" in line for line in list(self.lines))


@pytest.fixture(scope="module")
def idle_broker() -> Iterator[IdleBroker]:
    broker = IdleBroker()
    try:
        yield broker
    finally:
        stop_broker(broker.proc)
        broker.drain.join(timeout=5)


def _consume_confluent(bootstrap: str, topic: str, count: int) -> list[bytes]:
    from confluent_kafka import TopicPartition as ConfluentTopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}", "enable.auto.commit": False})
    try:
        consumer.assign([ConfluentTopicPartition(topic, 0, 0)])
        values: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
        return values
    finally:
        consumer.close()


@pytest.mark.kafkalite_only(reason="starts a broker with connections.max.idle.ms=500; the reference runs Kafka's default (10 min)")
def test_confluent_producer_reconnects_after_an_idle_close(idle_broker: IdleBroker, topic_name: str) -> None:
    closed_before = idle_broker.idle_closes()
    producer = Producer({"bootstrap.servers": idle_broker.address, "linger.ms": 0, "message.timeout.ms": TIMEOUT * 1000})
    failed: list[Any] = []
    for value in (b"before", b"after"):
        producer.produce(topic_name, value, partition=0, on_delivery=lambda err, _msg: err and failed.append(err))
        assert producer.flush(TIMEOUT) == 0
        time.sleep(1.5)  # three idle periods: the broker closes the producer's connections
    assert failed == []
    assert idle_broker.idle_closes() > closed_before  # the broker did close them
    assert _consume_confluent(idle_broker.address, topic_name, 2) == [b"before", b"after"]


@pytest.mark.kafkalite_only(reason="starts a broker with connections.max.idle.ms=500; the reference runs Kafka's default (10 min)")
def test_kafka_python_producer_reconnects_after_an_idle_close(idle_broker: IdleBroker, topic_name: str) -> None:
    closed_before = idle_broker.idle_closes()
    producer = KafkaProducer(bootstrap_servers=idle_broker.address, retries=5, retry_backoff_ms=100,
                             request_timeout_ms=TIMEOUT * 1000)
    try:
        for value in (b"before", b"after"):
            producer.send(topic_name, value, partition=0).get(timeout=TIMEOUT)
            time.sleep(1.5)
    finally:
        producer.close(timeout=5)
    assert idle_broker.idle_closes() > closed_before
    consumer = KafkaConsumer(bootstrap_servers=idle_broker.address, consumer_timeout_ms=5000, auto_offset_reset="earliest")
    try:
        consumer.assign([TopicPartition(topic_name, 0)])
        assert [m.value for m in consumer][:2] == [b"before", b"after"]
    finally:
        consumer.close()
