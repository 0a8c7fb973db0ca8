"""Replication with real clients: a three-broker kafkalite (in this process, so the test can
make followers lag and move the broker clock), confluent-kafka and kafka-python.

The reference harness runs one Kafka broker, so the cluster tests are kafkalite_only; the
min.insync.replicas rule one broker shows (on one replica, min.insync.replicas=2 counts as
1: acks=all succeeds) runs against both.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition
from kafka.admin import NewTopic as KpNewTopic
from kafka.errors import NotEnoughReplicasError

import kafkalite

from .conftest import eventually

CLUSTER = pytest.mark.kafkalite_only(reason="needs a three-broker cluster, followers made to lag and the broker clock")
LAG_S = 30  # replica.lag.time.max.ms, default


@pytest.fixture(scope="module")
def cluster() -> Iterator[kafkalite.BrokerThread]:
    with kafkalite.run_in_thread(brokers=3) as broker:
        yield broker


@pytest.fixture
def brokers(cluster: kafkalite.BrokerThread) -> Iterator[kafkalite.BrokerThread]:
    yield cluster
    cluster.set_replication_delay(delay_ms=0)


def create(bootstrap: str, name: str, *, replication_factor: int, configs: dict | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, 1, replication_factor, config=configs or {})])
    futures[name].result(15)

    def shown() -> None:
        partitions = admin.list_topics(name, timeout=5).topics[name].partitions
        assert partitions and partitions[0].leader >= 0, partitions

    eventually(shown)


def isr(bootstrap: str, name: str) -> list[int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return sorted(admin.list_topics(name, timeout=5).topics[name].partitions[0].isrs)


def confluent_produce(bootstrap: str, name: str, values: list[bytes], acks: str) -> list:
    """Delivery results (None or the KafkaError) of *values*, sent without retries."""
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": acks, "retries": 0, "enable.idempotence": False,
        "message.timeout.ms": 10_000, "linger.ms": 5,
    })
    results: list = []
    for value in values:
        producer.produce(name, value, on_delivery=lambda err, msg: results.append(err))
    assert producer.flush(15) == 0
    return results


def confluent_read(bootstrap: str, name: str, count: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "r1", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(name, 0, 0)])
        got: list[bytes] = []
        deadline = time.monotonic() + 15
        while len(got) < count and time.monotonic() < deadline:
            message = consumer.poll(0.3)
            if message is not None and message.error() is None:
                got.append(message.value())
        return got
    finally:
        consumer.close()


def kafka_python_read(bootstrap: str, name: str, count: int) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tp = KpTopicPartition(name, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got: list[bytes] = []
        deadline = time.monotonic() + 15
        while len(got) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                got.extend(r.value for r in records)
        return got
    finally:
        consumer.close()


def copies(brokers: kafkalite.BrokerThread, name: str) -> dict[int, bytes]:
    """Every node's copy of partition 0, as the bytes of its batches."""
    def dump() -> dict[int, bytes]:
        state = brokers.broker.cluster.partition(name, 0)
        return {
            n: b"".join(bytes(c) for c in brokers.broker.replicas.log(n, name, 0).read(0, 1 << 30))
            for n in state.replicas
        }

    return brokers.call(dump)


@CLUSTER
def test_rf3_acks_all_with_confluent_kafka(brokers: kafkalite.BrokerThread, topic_name: str) -> None:
    create(brokers.bootstrap_servers, topic_name, replication_factor=3)
    assert isr(brokers.bootstrap_servers, topic_name) == [0, 1, 2]
    values = [b"v%d" % i for i in range(20)]
    assert confluent_produce(brokers.bootstrap_servers, topic_name, values, "all") == [None] * 20
    assert confluent_read(brokers.bootstrap_servers, topic_name, 20) == values
    assert kafka_python_read(brokers.bootstrap_servers, topic_name, 20) == values
    eventually(lambda: _same(copies(brokers, topic_name)))


def _same(by_node: dict[int, bytes]) -> None:
    assert len(by_node) == 3 and len(set(by_node.values())) == 1 and next(iter(by_node.values()))


@CLUSTER
def test_rf3_acks_all_with_kafka_python(brokers: kafkalite.BrokerThread, topic_name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=brokers.bootstrap_servers)
    try:
        admin.create_topics([KpNewTopic(topic_name, 1, 3)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=brokers.bootstrap_servers, acks="all")
    try:
        for i in range(10):
            producer.send(topic_name, b"k%d" % i).get(timeout=15)
    finally:
        producer.close()
    assert kafka_python_read(brokers.bootstrap_servers, topic_name, 10) == [b"k%d" % i for i in range(10)]
    eventually(lambda: _same(copies(brokers, topic_name)))


@CLUSTER
def test_consumer_groups_on_the_cluster(brokers: kafkalite.BrokerThread, topic_name: str) -> None:
    # The group coordinator is the leader of the group's __consumer_offsets partition (RF 3),
    # on whichever node that is.
    bootstrap = brokers.bootstrap_servers
    create(bootstrap, topic_name, replication_factor=3)
    assert confluent_produce(bootstrap, topic_name, [b"a", b"b"], "all") == [None, None]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name, "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic_name])
        got: list[bytes] = []
        deadline = time.monotonic() + 15
        while len(got) < 2 and time.monotonic() < deadline:
            message = consumer.poll(0.3)
            if message is not None and message.error() is None:
                got.append(message.value())
        assert got == [b"a", b"b"]
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    kp = KafkaConsumer(topic_name, bootstrap_servers=bootstrap, group_id=topic_name + "-kp",
                       auto_offset_reset="earliest", consumer_timeout_ms=15_000)
    try:
        assert [r.value for _, r in zip(range(2), kp)] == [b"a", b"b"]
    finally:
        kp.close()


@CLUSTER
def test_a_lagging_follower_leaves_the_isr_and_min_insync_replicas_refuses_acks_all(
    brokers: kafkalite.BrokerThread, topic_name: str
) -> None:
    bootstrap = brokers.bootstrap_servers
    create(bootstrap, topic_name, replication_factor=3, configs={"min.insync.replicas": "2"})
    leader = brokers.call(lambda: brokers.broker.cluster.partition(topic_name, 0).leader_id)
    # Both followers lag: once replica.lag.time.max.ms passed, the ISR is the leader alone.
    brokers.set_replication_delay(topic=topic_name, delay_ms=3_600_000)
    assert confluent_produce(bootstrap, topic_name, [b"a"], "1") == [None]
    brokers.clock.advance(LAG_S + 1)
    eventually(lambda: _assert_equal(isr(bootstrap, topic_name), [leader]))

    (error,) = confluent_produce(bootstrap, topic_name, [b"b"], "all")
    assert error is not None and error.code() == KafkaError.NOT_ENOUGH_REPLICAS
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0)
    try:
        with pytest.raises(NotEnoughReplicasError):
            producer.send(topic_name, b"c").get(timeout=15)
    finally:
        producer.close()
    assert confluent_produce(bootstrap, topic_name, [b"d"], "1") == [None]

    # The delay lifted, the followers catch up and rejoin; acks=all works again.
    brokers.set_replication_delay(topic=topic_name, delay_ms=0)
    eventually(lambda: _assert_equal(isr(bootstrap, topic_name), [0, 1, 2]))
    assert confluent_produce(bootstrap, topic_name, [b"e"], "all") == [None]
    assert confluent_read(bootstrap, topic_name, 3) == [b"a", b"d", b"e"]
    eventually(lambda: _same(copies(brokers, topic_name)))


def _assert_equal(actual, expected) -> None:
    assert actual == expected


def test_min_insync_replicas_above_the_replication_factor_counts_as_the_replication_factor(
    bootstrap: str, topic_name: str
) -> None:
    # Kafka 4 takes min(min.insync.replicas, replication factor): one replica in the ISR is
    # enough for acks=all on a topic of one replica, whatever min.insync.replicas says.
    create(bootstrap, topic_name, replication_factor=1, configs={"min.insync.replicas": "2"})
    assert confluent_produce(bootstrap, topic_name, [b"x"], "all") == [None]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0)
    try:
        producer.send(topic_name, b"y").get(timeout=15)
    finally:
        producer.close()
    assert confluent_read(bootstrap, topic_name, 2) == [b"x", b"y"]
