"""Partition reassignments (KIP-455), racks and fetch from follower (KIP-392) with real clients.

kafka-python's KafkaAdminClient alters and lists reassignments (confluent-kafka 2.16 has no
reassignment API, so its half is raw requests through kafkalite's codec, as kafka-reassign-
partitions' admin client sends them); a confluent-kafka consumer with ``client.rack`` reads
from a cluster whose brokers have racks. What one broker shows runs against the reference
Kafka too; what needs three brokers is kafkalite's own in-process cluster.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest
from confluent_kafka import Consumer, Producer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    InvalidReplicationAssignmentError,
    NoReassignmentInProgressError,
    UnknownTopicOrPartitionError,
)

from kafkalite.wire.messages.alter_partition_reassignments import (
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)
from kafkalite.wire.messages.list_partition_reassignments import ListPartitionReassignmentsRequest

from .conftest import eventually
from .wire_client import WireClient

RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_REPLICATION_FACTOR = 38
NO_REASSIGNMENT_IN_PROGRESS = 85


@pytest.fixture
def admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        yield client
    finally:
        client.close()


def _create(admin: KafkaAdminClient, topic: str, **spec) -> None:
    admin.create_topics({topic: {"num_partitions": 1, **spec}})
    eventually(lambda: _assert(topic in admin.list_topics()))


def _assert(condition: bool) -> None:
    assert condition


def _alter(topic: str, index: int, replicas: list[int] | None, **kw) -> AlterPartitionReassignmentsRequest:
    return AlterPartitionReassignmentsRequest(
        topics=[ReassignableTopic(name=topic, partitions=[ReassignablePartition(partition_index=index, replicas=replicas)])],
        **kw,
    )


# -- one broker: kafkalite and the reference Kafka answer alike ------------------------------


def test_an_idle_cluster_lists_no_reassignment(admin: KafkaAdminClient, bootstrap: str) -> None:
    assert admin.list_partition_reassignments() == {}
    with WireClient(bootstrap) as wire:
        response = wire.request(ListPartitionReassignmentsRequest(topics=None), 0)
    assert (response.error_code, response.topics) == (0, [])


def test_reassignment_errors_per_partition(admin: KafkaAdminClient, topic_name: str) -> None:
    _create(admin, topic_name, replication_factor=1)
    (node,) = [b["broker_id"] for b in admin.describe_cluster()["brokers"]][:1]
    tp = TopicPartition(topic_name, 0)
    result = admin.alter_partition_reassignments({
        tp: [node],  # its own replicas: nothing to do
        TopicPartition(topic_name, 7): [node],
        TopicPartition(topic_name + "-missing", 0): [node],
    })
    assert result == {
        tp: None,
        TopicPartition(topic_name, 7): UnknownTopicOrPartitionError,
        TopicPartition(topic_name + "-missing", 0): UnknownTopicOrPartitionError,
    }
    assert admin.alter_partition_reassignments({tp: [node, 98765]}) == {tp: InvalidReplicationAssignmentError}
    assert admin.alter_partition_reassignments({tp: None}) == {tp: NoReassignmentInProgressError}
    assert admin.list_partition_reassignments({topic_name: [0]}) == {}


def test_reassignment_errors_over_the_wire(admin: KafkaAdminClient, bootstrap: str, topic_name: str) -> None:
    _create(admin, topic_name, replication_factor=1)
    with WireClient(bootstrap) as wire:
        for version in (0, 1):
            response = wire.request(_alter(topic_name, 0, [98765]), version)
            part = response.responses[0].partitions[0]
            assert (response.error_code, part.error_code) == (0, INVALID_REPLICA_ASSIGNMENT)
            assert "98765" in part.error_message
            response = wire.request(_alter(topic_name, 0, None), version)
            assert response.responses[0].partitions[0].error_code == NO_REASSIGNMENT_IN_PROGRESS


# -- three brokers: kafkalite's in-process cluster ---------------------------------------------

cluster = pytest.mark.kafkalite(
    brokers=3, broker_racks="a,b,c", replica_selector_class=RACK_AWARE, journal_size=10_000
)
only_kafkalite = pytest.mark.kafkalite_only(
    reason="needs three brokers with racks; the reference harness runs one Kafka broker"
)


@only_kafkalite
@cluster
def test_moving_a_partition_off_its_leader_moves_the_leader(kafkalite_broker) -> None:
    broker = kafkalite_broker
    topic = f"moved-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=10000)
    try:
        admin.create_topics({topic: {"assignments": {0: [0, 1, 2]}}})
        eventually(lambda: _assert(topic in admin.list_topics()))
        tp = TopicPartition(topic, 0)
        # Every replica stays in the ISR: the reassignment completes at once.
        assert admin.alter_partition_reassignments({tp: [1, 2]}) == {tp: None}
        assert admin.list_partition_reassignments() == {}
        (described,) = admin.describe_topics([topic])
        (partition,) = described["partitions"]
        assert (partition["leader_id"], partition["replica_nodes"], sorted(partition["isr_nodes"])) == (1, [1, 2], [1, 2])
        assert partition["leader_epoch"] == 1
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    producer.send(topic, b"after the move").get(timeout=10)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000)
    try:
        assert [m.value for m in consumer] == [b"after the move"]
    finally:
        consumer.close()


@only_kafkalite
@cluster
def test_replication_factor_guard_and_racks_over_the_wire(kafkalite_broker) -> None:
    broker = kafkalite_broker
    topic = f"guarded-{uuid.uuid4().hex[:8]}"
    broker.create_topic(topic, 1, replication_factor=1)
    with WireClient(broker.bootstrap_servers.split(",")[0]) as wire:
        response = wire.request(_alter(topic, 0, [0, 1], allow_replication_factor_change=False), 1)
        part = response.responses[0].partitions[0]
        assert (part.error_code, part.error_message) == (
            INVALID_REPLICATION_FACTOR, "The replication factor is changed from 1 to 2"
        )
        assert response.allow_replication_factor_change is False
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=10000)
    try:
        racks = {b["broker_id"]: b["rack"] for b in admin.describe_cluster()["brokers"]}
    finally:
        admin.close()
    assert racks == {0: "a", 1: "b", 2: "c"}


@only_kafkalite
@cluster
def test_each_broker_describes_its_own_log_dir(kafkalite_broker) -> None:
    broker = kafkalite_broker
    topic = f"dirs-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=10000)
    try:
        admin.create_topics({topic: {"assignments": {0: [0, 1], 1: [2, 0]}}})
        eventually(lambda: _assert(topic in admin.list_topics()))
        answers = {a["broker"]: a["log_dirs"] for a in admin.describe_log_dirs({topic: [0, 1]})}
    finally:
        admin.close()
    hosted = {}
    for node_id, (log_dir,) in answers.items():
        assert log_dir["log_dir"].endswith(f"node-{node_id}")
        hosted[node_id] = sorted(p["partition_index"] for t in log_dir["topics"] if t["name"] == topic
                                 for p in t["partitions"])
    assert hosted == {0: [0, 1], 1: [0], 2: [1]}


def _rack_consumer(broker, topic: str, rack: str) -> list[bytes]:
    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap_servers, "group.id": f"g-{uuid.uuid4().hex[:8]}",
        "client.rack": rack, "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + 15
    try:
        while len(values) < 3 and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                values.append(message.value())
    finally:
        consumer.close()
    return values


def _produce_three(broker, topic: str) -> int:
    """Create *topic* on replicas 0, 1, 2 (leader 0), produce three records; return the leader."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=10000)
    try:
        admin.create_topics({topic: {"assignments": {0: [0, 1, 2]}}})
        eventually(lambda: _assert(topic in admin.list_topics()))
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": "all"})
    for value in (b"1", b"2", b"3"):
        producer.produce(topic, value)
    assert producer.flush(10) == 0
    return described["partitions"][0]["leader_id"]


@only_kafkalite
@cluster
def test_a_consumer_with_client_rack_reads_everything(kafkalite_broker) -> None:
    topic = f"racked-{uuid.uuid4().hex[:8]}"
    _produce_three(kafkalite_broker, topic)
    assert _rack_consumer(kafkalite_broker, topic, "c") == [b"1", b"2", b"3"]


@only_kafkalite
@cluster
def test_a_consumer_with_client_rack_fetches_from_its_racks_follower(kafkalite_broker) -> None:
    topic = f"follower-{uuid.uuid4().hex[:8]}"
    assert _produce_three(kafkalite_broker, topic) == 0
    # Node 2 (rack "c") is a follower; the leader names it to a consumer in rack "c".
    assert _rack_consumer(kafkalite_broker, topic, "c") == [b"1", b"2", b"3"]
    fetches = kafkalite_broker.journal.query(api="Fetch", topic=topic)
    assert any(entry["node_id"] == 2 for entry in fetches), fetches


# -- kafkalite topics describe's replica reports, against either broker --------------------


def test_topics_describe_replica_reports_of_a_healthy_topic(admin: KafkaAdminClient, bootstrap: str,
                                                            topic_name: str) -> None:
    import subprocess
    import sys

    _create(admin, topic_name, replication_factor=1)

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kafkalite", "topics", "describe", topic_name, *flags, "--bootstrap-server", bootstrap],
            capture_output=True, text=True, timeout=60,
        )

    # A healthy partition is neither under-replicated nor unavailable: nothing is printed,
    # not even the topic line (kafka-topics' replica reports print partitions only).
    for flag in ("--under-replicated-partitions", "--unavailable-partitions"):
        result = run(flag)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
    full = run()
    assert full.returncode == 0 and full.stdout.startswith(f"Topic: {topic_name}\t"), full.stderr
