"""Classic and consumer-protocol members in one group (KIP-848 online upgrade and downgrade)
with real clients: a rolling upgrade of confluent-kafka consumers from
``group.protocol=classic`` to ``consumer`` and back, and a kafka-python (classic only) member
inside a consumer group.

Kafka 4 converts groups both ways by default (group.consumer.migration.policy=bidirectional),
so these run unchanged against the reference Kafka 4.4.0. The rolling test works in phases:
members change, the assignment settles, records are produced and consumed (each committed
right after it is consumed), so that "no record consumed twice" is a fair demand; a monitor
thread checks all along that no partition is owned by two members at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable

from confluent_kafka import Consumer, ConsumerGroupType, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer

from .conftest import wait_for_topic
from .conftest import wait_until as shared_wait_until

TIMEOUT = 90
PARTITIONS = 4


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "condition") -> None:
    shared_wait_until(condition, timeout, what, 0.05)


def create_topic(bootstrap: str, name: str) -> AdminClient:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, name, PARTITIONS)
    return admin


def produce(bootstrap: str, topic: str, tag: str, per_partition: int = 3) -> set[bytes]:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    sent = set()
    for partition in range(PARTITIONS):
        for i in range(per_partition):
            value = f"{tag}-{partition}-{i}".encode()
            producer.produce(topic, value=value, partition=partition)
            sent.add(value)
    assert producer.flush(TIMEOUT) == 0
    return sent


def group_type(admin: AdminClient, group_id: str) -> ConsumerGroupType:
    listed = admin.list_consumer_groups().result(TIMEOUT)
    (entry,) = [g for g in listed.valid if g.group_id == group_id]
    return entry.type


class Owner:
    """What a member of either kind shows the monitor: the partitions it owns right now."""

    name = ""
    owned: set[int]
    values: list[bytes]
    errors: list[str]


class ConfluentMember(threading.Thread, Owner):
    """A confluent-kafka member (``protocol`` classic or consumer) polling in its own thread;
    owned partitions follow its rebalance callbacks; every record is committed once consumed."""

    def __init__(self, name: str, bootstrap: str, group_id: str, topic: str, protocol: str) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.name = name
        self.config = {
            "bootstrap.servers": bootstrap, "group.id": group_id, "group.protocol": protocol,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
        }
        if protocol == "classic":
            self.config.update({"session.timeout.ms": 10_000, "heartbeat.interval.ms": 500})
        self.topic = topic
        self.owned = set()
        self.values = []
        self.errors = []
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        consumer = Consumer(self.config)

        def on_assign(_c: Any, partitions: list[Any]) -> None:
            self.owned |= {p.partition for p in partitions}

        def on_revoke(_c: Any, partitions: list[Any]) -> None:
            self.owned -= {p.partition for p in partitions}

        consumer.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
        try:
            while not self.stopping.is_set():
                msg = consumer.poll(0.05)
                if msg is None:
                    continue
                if msg.error():
                    self.errors.append(str(msg.error()))
                    continue
                self.values.append(msg.value())
                consumer.commit(message=msg, asynchronous=False)
        finally:
            consumer.close()  # LeaveGroup, or a heartbeat with epoch -1
            self.owned = set()

    def stop(self) -> None:
        self.stopping.set()
        self.join(TIMEOUT)


class KafkaPythonMember(threading.Thread, Owner):
    """A kafka-python member (classic protocol only) polling in its own thread."""

    def __init__(self, name: str, bootstrap: str, group_id: str, topic: str) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.name = name
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group_id, auto_offset_reset="earliest",
            enable_auto_commit=False, session_timeout_ms=10_000, heartbeat_interval_ms=500,
        )
        self.topic = topic
        self.owned = set()
        self.values = []
        self.errors = []
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        from kafka import ConsumerRebalanceListener

        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                member.owned -= {tp.partition for tp in revoked}

            def on_partitions_assigned(self, assigned: Any) -> None:
                member.owned |= {tp.partition for tp in assigned}

        self.consumer.subscribe([self.topic], listener=Listener())
        try:
            while not self.stopping.is_set():
                for _tp, records in self.consumer.poll(timeout_ms=50).items():
                    for record in records:
                        self.values.append(record.value)
                    self.consumer.commit()
        finally:
            self.consumer.close()
            self.owned = set()

    def stop(self) -> None:
        self.stopping.set()
        self.join(TIMEOUT)


class Monitor(threading.Thread):
    """Samples every member's owned partitions; records any partition owned twice."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.members: list[Owner] = []
        self.overlaps: list[str] = []
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            seen: dict[int, str] = {}
            for m in list(self.members):
                for p in set(m.owned):
                    if p in seen:
                        self.overlaps.append(f"partition {p} owned by {seen[p]} and {m.name}")
                    seen[p] = m.name
            time.sleep(0.005)

    def settled(self, members: list[Owner]) -> bool:
        owned = [m.owned for m in members]
        return all(owned) and sorted(p for o in owned for p in o) == list(range(PARTITIONS))


def consume_phase(bootstrap: str, topic: str, tag: str, monitor: Monitor, members: list[Owner]) -> None:
    wait_until(lambda: monitor.settled(members), what=f"assignment of phase {tag}")
    sent = produce(bootstrap, topic, tag)
    wait_until(lambda: sent <= {v for m in monitor.members for v in m.values}, what=f"records of phase {tag}")


def test_rolling_upgrade_from_classic_to_consumer_protocol_and_back(bootstrap: str, topic_name: str) -> None:
    admin = create_topic(bootstrap, topic_name)
    group_id = f"migrate-{uuid.uuid4().hex[:10]}"
    monitor = Monitor()
    started: list[ConfluentMember] = []

    def member(name: str, protocol: str) -> ConfluentMember:
        m = ConfluentMember(name, bootstrap, group_id, topic_name, protocol)
        started.append(m)
        monitor.members.append(m)
        return m

    try:
        a, b = member("classic-a", "classic"), member("classic-b", "classic")
        consume_phase(bootstrap, topic_name, "classic", monitor, [a, b])
        assert group_type(admin, group_id) == ConsumerGroupType.CLASSIC
        # Replace a by a consumer-protocol member: the group is upgraded, b stays in it.
        c = member("consumer-c", "consumer")
        wait_until(lambda: group_type(admin, group_id) == ConsumerGroupType.CONSUMER, what="the upgrade")
        a.stop()
        consume_phase(bootstrap, topic_name, "mixed", monitor, [b, c])
        # Replace b as well: only consumer-protocol members are left.
        d = member("consumer-d", "consumer")
        b.stop()
        consume_phase(bootstrap, topic_name, "consumer", monitor, [c, d])
        # And back: classic members replace them; the last consumer one leaving downgrades.
        e = member("classic-e", "classic")
        c.stop()
        consume_phase(bootstrap, topic_name, "down-mixed", monitor, [d, e])
        f = member("classic-f", "classic")
        d.stop()
        wait_until(lambda: group_type(admin, group_id) == ConsumerGroupType.CLASSIC, what="the downgrade")
        consume_phase(bootstrap, topic_name, "classic-again", monitor, [e, f])
    finally:
        for m in started:
            m.stop()
        monitor.stopping.set()
    assert monitor.overlaps == []
    consumed = [v for m in started for v in m.values]
    assert len(consumed) == len(set(consumed)) == 5 * PARTITIONS * 3, "a record was consumed twice"
    assert not [e for m in started for e in m.errors]


def test_kafka_python_classic_member_in_a_consumer_group(bootstrap: str, topic_name: str) -> None:
    admin = create_topic(bootstrap, topic_name)
    group_id = f"mixed-{uuid.uuid4().hex[:10]}"
    monitor = Monitor()
    modern = ConfluentMember("consumer", bootstrap, group_id, topic_name, "consumer")
    monitor.members.append(modern)
    classic: KafkaPythonMember | None = None
    try:
        wait_until(lambda: monitor.settled([modern]), what="the consumer-protocol member's assignment")
        classic = KafkaPythonMember("kafka-python", bootstrap, group_id, topic_name)
        monitor.members.append(classic)
        consume_phase(bootstrap, topic_name, "mixed", monitor, [modern, classic])
        assert group_type(admin, group_id) == ConsumerGroupType.CONSUMER
        classic.stop()
        consume_phase(bootstrap, topic_name, "alone", monitor, [modern])
    finally:
        if classic is not None:
            classic.stop()
        modern.stop()
        monitor.stopping.set()
    assert monitor.overlaps == []
    consumed = modern.values + (classic.values if classic else [])
    assert len(consumed) == len(set(consumed)) == 2 * PARTITIONS * 3
