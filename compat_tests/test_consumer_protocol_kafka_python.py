"""Consumer groups of the KIP-848 protocol seen by kafka-python 3.0.12.

kafka-python 3.0.12 has no consumer-protocol member: ``KafkaConsumer(group_protocol=...)``
is refused as an unrecognized config, and its coordinator speaks only JoinGroup / SyncGroup.
What it can do with such a group is admin work: list it (ListGroups v5 with its type),
describe it (DescribeGroups, which describes classic groups only: the group is "Dead", as
Kafka answers), read its committed offsets, and join it as a classic member (refused: the id
belongs to a consumer group). The group's member is a confluent-kafka consumer.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition as CKTopicPartition
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.errors import GroupIdNotFoundError, KafkaConfigurationError

from .conftest import eventually

TIMEOUT = 60


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


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


@pytest.mark.kafkalite_only(reason="Kafka 3.8+ lets a classic member join a consumer group (a mixed group); "
                            "kafkalite does not implement mixed groups and refuses as Kafka 3.7 did: "
                            "GROUP_ID_NOT_FOUND, the group is not a classic group")
def test_classic_member_cannot_join_a_consumer_group(bootstrap: str, admin: Any, topic_name: str) -> None:
    group_id = f"cgroup-{uuid.uuid4().hex[:10]}"
    create_topic(admin, topic_name, 1)
    member = ModernMember(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: member.partitions == frozenset({0}), what="assignment")
        classic = KafkaConsumer(topic_name, bootstrap_servers=bootstrap, group_id=group_id)
        try:
            with pytest.raises(GroupIdNotFoundError):
                classic.poll(timeout_ms=10000, max_records=1)
            assert member.partitions == frozenset({0})
        finally:
            classic.close()
    finally:
        member.stop()


@pytest.mark.kafkalite_only(reason="Kafka 4.4 upgrades a classic group whose member switches protocol "
                            "(group.consumer.migration.policy=bidirectional); kafkalite does not convert groups "
                            "and refuses as Kafka with the policy disabled: GROUP_ID_NOT_FOUND")
def test_consumer_protocol_member_cannot_join_a_live_classic_group(bootstrap: str, admin: Any,
                                                                  topic_name: str) -> None:
    group_id = f"cgroup-{uuid.uuid4().hex[:10]}"
    create_topic(admin, topic_name, 1)
    classic = KafkaConsumer(topic_name, bootstrap_servers=bootstrap, group_id=group_id)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not classic.assignment():
            assert time.monotonic() < deadline, "the classic member got no assignment"
            classic.poll(timeout_ms=100)
        modern = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "group.protocol": "consumer"})
        try:
            modern.subscribe([topic_name])
            error = None
            while error is None:
                assert time.monotonic() < deadline, "the consumer-protocol member was not refused"
                msg = modern.poll(0.1)
                if msg is not None and msg.error():
                    error = msg.error()
            assert error.code() == KafkaError._FATAL and "group id does not exist" in error.str()
            assert modern.assignment() == []
        finally:
            modern.close()
    finally:
        classic.close()
