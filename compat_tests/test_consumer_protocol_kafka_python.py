"""Consumer groups of the KIP-848 protocol seen by kafka-python 3.0.12.

kafka-python 3.0.12 has no consumer-protocol member: ``KafkaConsumer(group_protocol=...)``
is refused as an unrecognized config, and its coordinator speaks only JoinGroup / SyncGroup.
What it can do with such a group is admin work: list it (ListGroups v5 with its type),
describe it (DescribeGroups, which describes classic groups only: the group is "Dead", as
Kafka answers) and read its committed offsets; joining it as a classic member is in
test_group_migration.py. The group's member is a confluent-kafka consumer.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Callable

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition as CKTopicPartition
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.errors import KafkaConfigurationError

from .conftest import eventually
from .conftest import wait_until as shared_wait_until

TIMEOUT = 60


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "condition") -> None:
    shared_wait_until(condition, timeout, what)


@pytest.fixture
def admin(bootstrap: str):
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield client
    client.close()


def create_topic(admin: Any, name: str, partitions: int) -> None:
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])

    def shown() -> None:  # Kafka's broker serves a new topic a moment after CreateTopics answers
        (described,) = admin.describe_topics([name])
        assert described["error_code"] == 0 and len(described["partitions"]) == partitions, described

    eventually(shown)


class ModernMember(threading.Thread):
    """A confluent-kafka member with group.protocol=consumer; commits what it is asked to."""

    def __init__(self, bootstrap: str, group_id: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "group.protocol": "consumer",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.topic = topic
        self.partitions: frozenset[int] = frozenset()
        self.to_commit: list[list[CKTopicPartition]] = []
        self.committed = threading.Event()
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        self.consumer.subscribe([self.topic])
        try:
            while not self.stopping.is_set():
                self.consumer.poll(0.05)
                self.partitions = frozenset(p.partition for p in self.consumer.assignment())
                while self.to_commit:
                    self.consumer.commit(offsets=self.to_commit.pop(0), asynchronous=False)
                    self.committed.set()
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(TIMEOUT)


def test_kafka_python_has_no_consumer_protocol_member(bootstrap: str) -> None:
    with pytest.raises(KafkaConfigurationError, match="group_protocol"):
        KafkaConsumer(bootstrap_servers=bootstrap, group_id="x", group_protocol="consumer")


def test_kafka_python_admin_sees_a_consumer_group(bootstrap: str, admin: Any, topic_name: str) -> None:
    group_id = f"cgroup-{uuid.uuid4().hex[:10]}"
    create_topic(admin, topic_name, 2)
    producer = Producer({"bootstrap.servers": bootstrap})
    for p in (0, 1):
        producer.produce(topic_name, b"x", partition=p)
    producer.flush(TIMEOUT)
    member = ModernMember(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: member.partitions == frozenset({0, 1}), what="assignment")
        member.to_commit.append([CKTopicPartition(topic_name, 0, 1), CKTopicPartition(topic_name, 1, 0)])
        assert member.committed.wait(TIMEOUT)

        listed = {g["group_id"]: g for g in admin.list_groups()}
        assert listed[group_id]["group_type"] == "consumer"
        assert listed[group_id]["protocol_type"] == "consumer"
        assert group_id in {g["group_id"] for g in admin.list_groups(types_filter=["consumer"])}
        assert group_id not in {g["group_id"] for g in admin.list_groups(types_filter=["classic"])}

        offsets = admin.list_group_offsets({group_id: None})[group_id]
        assert {tp.partition: o.offset for tp, o in offsets.items()} == {0: 1, 1: 0}

    finally:
        member.stop()
