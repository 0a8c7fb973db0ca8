"""Producer id expiration (KIP-854) with real idempotent producers: once the broker clock has
moved past producer.id.expiration.ms, the producer's state on the partition is gone, and the
producer's next batches (sequences going on) are taken, as Kafka 4 takes a producer it has no
state for: nothing lost, nothing doubled.

kafkalite only: Kafka has no way for a test to move its clock.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from kafka import KafkaProducer

from .conftest import wait_until

pytestmark = [
    pytest.mark.kafkalite_only(reason="moves the broker's clock (Kafka has no clock control)"),
    pytest.mark.kafkalite(producer_id_expiration_ms=60_000, producer_id_expiration_check_interval_ms=500),
]


def producer_ids(broker, topic: str) -> list[int]:
    return broker.call(lambda: [v.producer_id for v in broker.broker.producers.producers_on(topic, 0)])


def expire(broker, topic: str) -> None:
    assert len(producer_ids(broker, topic)) == 1
    broker.clock.advance(61)
    wait_until(lambda: producer_ids(broker, topic) == [], timeout=5, what="the producer's state to expire")


def test_confluent_idempotent_producer_goes_on_after_its_state_expired(kafkalite_broker, topic_name: str) -> None:
    broker = kafkalite_broker
    broker.create_topic(topic_name, partitions=1)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True, "linger.ms": 0})
    errors: list[object] = []

    def send(values: range) -> None:
        for i in values:
            producer.produce(topic_name, str(i).encode(), on_delivery=lambda err, _msg: err and errors.append(err))
            producer.flush(10)

    send(range(3))
    expire(broker, topic_name)
    send(range(3, 6))
    assert errors == []
    assert [r.value for r in broker.records(topic_name)] == [str(i).encode() for i in range(6)]
    assert len(producer_ids(broker, topic_name)) == 1  # its state is back


def test_kafka_python_idempotent_producer_goes_on_after_its_state_expired(kafkalite_broker, topic_name: str) -> None:
    broker = kafkalite_broker
    broker.create_topic(topic_name, partitions=1)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, enable_idempotence=True)
    try:
        for i in range(3):
            producer.send(topic_name, str(i).encode()).get(timeout=10)
        expire(broker, topic_name)
        for i in range(3, 6):
            producer.send(topic_name, str(i).encode()).get(timeout=10)
    finally:
        producer.close(timeout=5)
    assert [r.value for r in broker.records(topic_name)] == [str(i).encode() for i in range(6)]
