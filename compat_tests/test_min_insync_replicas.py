"""min.insync.replicas above a topic's replication factor. Kafka 4 holds a partition to the
effective min ISR, min(min.insync.replicas, replication factor) (Partition.effectiveMinIsr,
with eligible leader replicas, KIP-966): a topic of one replica with min.insync.replicas=2
takes acks=all produce. One broker shows it, so this runs against kafkalite and the
reference Kafka alike; NOT_ENOUGH_REPLICAS itself needs a replica out of the ISR (the cluster
scenario of test_failover.py)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer

from .conftest import wait_for_topic

TIMEOUT = 15


@pytest.fixture
def guarded(bootstrap: str, topic_name: str) -> Iterator[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = NewTopic(topic_name, num_partitions=1, replication_factor=1, config={"min.insync.replicas": "2"})
    for future in admin.create_topics([topic]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, topic_name)
    yield topic_name


def test_confluent_acks_all_is_held_to_the_replication_factor(bootstrap: str, guarded: str) -> None:
    results: list[Any] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0, "enable.idempotence": False})
    producer.produce(guarded, b"kept", on_delivery=lambda err, msg: results.append((err, msg.offset())))
    producer.flush(TIMEOUT)
    assert results == [(None, 0)]


def test_kafka_python_acks_all_is_held_to_the_replication_factor(bootstrap: str, guarded: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0)
    try:
        assert producer.send(guarded, b"kept").get(TIMEOUT).offset == 0
    finally:
        producer.close(timeout=5)
