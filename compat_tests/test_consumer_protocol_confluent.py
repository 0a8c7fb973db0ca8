"""Consumer groups of the KIP-848 protocol with confluent-kafka (librdkafka,
``group.protocol=consumer``): ConsumerGroupHeartbeat instead of JoinGroup / SyncGroup, the
broker computes assignments, members reconcile by revoking before others take over.

Each consumer polls in its own thread (or its own process, to be killed); tests wait on
conditions, never on fixed sleeps. The heartbeat interval and session timeout are the
broker's in this protocol (a client cannot ask for them): kafkalite's default interval is
200 ms, Kafka's 5 s, so waits are generous; the killed-member test runs against a kafkalite of
its own with a 3 s session timeout (Kafka: 45 s, its lowest allowed value).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
from confluent_kafka import Consumer, ConsumerGroupType, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from .conftest import EXTERNAL, start_broker, stop_broker, wait_for_topic
from .conftest import wait_until as shared_wait_until

TIMEOUT = 60
PROTOCOL = {"group.protocol": "consumer"}


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "condition") -> None:
    shared_wait_until(condition, timeout, what)


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def group_id() -> str:
    return f"cgroup-{uuid.uuid4().hex[:10]}"


def create_topic(admin: AdminClient, name: str, partitions: int) -> None:
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, name, partitions)


def produce(bootstrap: str, topic: str, per_partition: dict[int, int], tag: str = "m") -> list[tuple[int, bytes]]:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    sent = []
    for partition, count in per_partition.items():
        for i in range(count):
            value = f"{tag}-{partition}-{i}".encode()
            producer.produce(topic, value=value, partition=partition)
            sent.append((partition, value))
    assert producer.flush(TIMEOUT) == 0
    return sent


class Member(threading.Thread):
    """A consumer-protocol group member polling in its own thread, recording its
    assignments (as (topic, partition)), rebalance events and messages."""

    def __init__(self, bootstrap: str, group_id: str, topics: list[str], **conf: Any) -> None:
        super().__init__(daemon=True)
        self.config = {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **PROTOCOL,
            **conf,
        }
        self.topics = topics
        self.assignment: frozenset[tuple[str, int]] = frozenset()
        self.messages: list[tuple[str, int, int, bytes]] = []
        self.events: list[tuple[str, frozenset[tuple[str, int]]]] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.commit_requests: list[list[TopicPartition]] = []
        self.committed = threading.Event()
        self.start()

    def run(self) -> None:
        consumer = Consumer(self.config)

        def on_assign(_c: Any, partitions: list[TopicPartition]) -> None:
            self.events.append(("assign", frozenset((p.topic, p.partition) for p in partitions)))

        def on_revoke(_c: Any, partitions: list[TopicPartition]) -> None:
            self.events.append(("revoke", frozenset((p.topic, p.partition) for p in partitions)))

        consumer.subscribe(self.topics, on_assign=on_assign, on_revoke=on_revoke)
        try:
            while not self.stopping.is_set():
                msg = consumer.poll(0.05)
                if msg is not None:
                    if msg.error():
                        self.errors.append(str(msg.error()))
                    else:
                        self.messages.append((msg.topic(), msg.partition(), msg.offset(), msg.value()))
                self.assignment = frozenset((p.topic, p.partition) for p in consumer.assignment())
                while self.commit_requests:
                    consumer.commit(offsets=self.commit_requests.pop(0), asynchronous=False)
                    self.committed.set()
        finally:
            consumer.close()

    def commit(self, offsets: list[TopicPartition]) -> None:
        self.committed.clear()
        self.commit_requests.append(offsets)
        assert self.committed.wait(TIMEOUT)

    def stop(self) -> None:
        self.stopping.set()
        self.join(TIMEOUT)

    def partitions(self) -> frozenset[int]:
        return frozenset(p for _t, p in self.assignment)

    def values(self) -> set[bytes]:
        return {v for _t, _p, _o, v in self.messages}


def wait_for_assignments(members: list[Member], partitions: int, sizes: list[int]) -> None:
    """Until every partition is owned exactly once, with these per-member counts (sorted)."""

    def settled() -> bool:
        owned = [m.partitions() for m in members]
        union = frozenset().union(*owned)
        return (sorted(len(o) for o in owned) == sorted(sizes) and union == frozenset(range(partitions))
                and sum(map(len, owned)) == partitions)

    wait_until(settled, what=f"assignments {sizes}")


def test_four_members_share_four_partitions_and_each_consumes_its_own(
    bootstrap: str, admin: AdminClient, topic_name: str, group_id: str
) -> None:
    create_topic(admin, topic_name, 4)
    members = [Member(bootstrap, group_id, [topic_name]) for _ in range(4)]
    try:
        wait_for_assignments(members, 4, [1, 1, 1, 1])
        sent = produce(bootstrap, topic_name, {p: 5 for p in range(4)})
        wait_until(lambda: set().union(*(m.values() for m in members)) >= {v for _p, v in sent}, what="all messages")
        for m in members:
            assert {p for _t, p, _o, _v in m.messages} <= m.partitions()
        assert sum(len(m.messages) for m in members) == len(sent)  # nobody got a message twice
        assert not any(m.errors for m in members)
    finally:
        for m in members:
            m.stop()


def test_leaving_member_gives_its_partitions_to_the_others(
    bootstrap: str, admin: AdminClient, topic_name: str, group_id: str
) -> None:
    create_topic(admin, topic_name, 4)
    members = [Member(bootstrap, group_id, [topic_name]) for _ in range(2)]
    try:
        wait_for_assignments(members, 4, [2, 2])
        leaving, staying = members
        leaving.stop()  # close(): a heartbeat with epoch -1
        wait_until(lambda: staying.partitions() == frozenset(range(4)), what="the staying member owns everything")
        sent = produce(bootstrap, topic_name, {p: 2 for p in range(4)}, tag="after")
        wait_until(lambda: staying.values() >= {v for _p, v in sent}, what="messages after the leave")
    finally:
        for m in members:
            m.stop()


def test_describe_consumer_groups_shows_a_consumer_group(
    bootstrap: str, admin: AdminClient, topic_name: str, group_id: str
) -> None:
    create_topic(admin, topic_name, 2)
    member = Member(bootstrap, group_id, [topic_name], **{"group.instance.id": "described"})
    try:
        wait_until(lambda: member.partitions() == frozenset({0, 1}), what="assignment")
        described = admin.describe_consumer_groups([group_id])[group_id].result(TIMEOUT)
        assert described.type == ConsumerGroupType.CONSUMER
        assert str(described.state).endswith("STABLE")
        (m,) = described.members
        assert m.group_instance_id == "described"
        assert sorted(tp.partition for tp in m.assignment.topic_partitions) == [0, 1]
        listed = admin.list_consumer_groups().result(TIMEOUT)
        (entry,) = [g for g in listed.valid if g.group_id == group_id]
        assert entry.type == ConsumerGroupType.CONSUMER
    finally:
        member.stop()


def test_regex_subscription_picks_up_a_topic_created_later(
    bootstrap: str, admin: AdminClient, topic_name: str, group_id: str
) -> None:
    prefix = f"rx{uuid.uuid4().hex[:8]}"
    create_topic(admin, f"{prefix}-a", 1)
    member = Member(bootstrap, group_id, [f"^{prefix}-.*"])
    try:
        wait_until(lambda: member.assignment == frozenset({(f"{prefix}-a", 0)}), what="the first topic")
        create_topic(admin, f"{prefix}-b", 2)
        create_topic(admin, f"other{prefix}", 1)
        wanted = frozenset({(f"{prefix}-a", 0), (f"{prefix}-b", 0), (f"{prefix}-b", 1)})
        wait_until(lambda: member.assignment == wanted, what="the topic created later")
        sent = produce(bootstrap, f"{prefix}-b", {0: 2, 1: 2})
        wait_until(lambda: member.values() >= {v for _p, v in sent}, what="messages of the new topic")
    finally:
        member.stop()


def test_new_member_resumes_exactly_after_the_commit(
    bootstrap: str, admin: AdminClient, topic_name: str, group_id: str
) -> None:
    create_topic(admin, topic_name, 2)
    sent = produce(bootstrap, topic_name, {0: 10, 1: 10})
    first = Member(bootstrap, group_id, [topic_name])
    try:
        wait_until(lambda: len(first.messages) == 20, what="all 20 messages")
        first.commit([TopicPartition(topic_name, 0, 5), TopicPartition(topic_name, 1, 5)])
    finally:
        first.stop()
    second = Member(bootstrap, group_id, [topic_name])
    try:
        wait_until(lambda: len(second.messages) >= 10, what="the uncommitted half")
        time.sleep(0.3)  # would reveal duplicates, if any arrived late
        got = sorted((p, o) for _t, p, o, _v in second.messages)
        assert got == [(p, o) for p in (0, 1) for o in range(5, 10)]  # no loss, no duplicates
        assert second.values() == {v for _p, v in sent if int(v.split(b"-")[-1]) >= 5}
    finally:
        second.stop()


def test_static_member_restart_gets_its_partitions_back_without_a_rebalance(
    bootstrap: str, admin: AdminClient, topic_name: str, group_id: str
) -> None:
    create_topic(admin, topic_name, 4)
    a = Member(bootstrap, group_id, [topic_name], **{"group.instance.id": "static-a"})
    b = Member(bootstrap, group_id, [topic_name], **{"group.instance.id": "static-b"})
    restarted = None
    try:
        wait_for_assignments([a, b], 4, [2, 2])
        mine = b.assignment
        events_of_a = list(a.events)
        b.stop()  # a static member's close(): a heartbeat with epoch -2, its partitions wait for it
        restarted = Member(bootstrap, group_id, [topic_name], **{"group.instance.id": "static-b"})
        wait_until(lambda: restarted.assignment == mine, what="the restarted member's old partitions")
        time.sleep(1)  # a rebalance of the other member would show by now
        assert a.events == events_of_a, "the other member was rebalanced"
        assert restarted.assignment == mine
    finally:
        a.stop()
        b.stop()
        if restarted is not None:
            restarted.stop()


KILLED_MEMBER = r"""
import sys
from confluent_kafka import Consumer
consumer = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "group.protocol": "consumer",
                     "auto.offset.reset": "earliest"})
consumer.subscribe([sys.argv[3]])
while True:
    consumer.poll(0.05)
    print("assigned", ",".join(str(p.partition) for p in consumer.assignment()), flush=True)
"""


@pytest.fixture
def session_broker() -> Iterator[tuple[str, float]]:
    """A broker and its consumer session timeout (s): kafkalite of the test's own with 3 s,
    or the external Kafka with its default (45 s)."""
    if EXTERNAL:
        yield EXTERNAL, 45.0
        return
    proc, bootstrap = start_broker("--memory", "--group-consumer-session-timeout-ms", "3000")
    try:
        yield bootstrap, 3.0
    finally:
        stop_broker(proc)


def test_killed_member_is_removed_after_its_session_and_the_survivor_takes_over(
    session_broker: tuple[str, float], topic_name: str, group_id: str
) -> None:
    bootstrap, session = session_broker
    create_topic(AdminClient({"bootstrap.servers": bootstrap}), topic_name, 4)
    survivor = Member(bootstrap, group_id, [topic_name])
    victim = subprocess.Popen(
        [sys.executable, "-c", KILLED_MEMBER, bootstrap, group_id, topic_name],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert victim.stdout is not None
    victim_assignment: list[str] = [""]

    def read_victim() -> None:
        for line in victim.stdout:  # type: ignore[union-attr]
            victim_assignment[0] = line.split(" ", 1)[1].strip()

    reader = threading.Thread(target=read_victim, daemon=True)
    reader.start()
    try:
        wait_until(lambda: len(survivor.partitions()) == 2 and len(victim_assignment[0].split(",")) == 2,
                   what="two members with two partitions each")
        os.kill(victim.pid, signal.SIGKILL)  # no leave heartbeat: only its session can tell
        killed_at = time.monotonic()
        wait_until(lambda: survivor.partitions() == frozenset(range(4)), timeout=session + 30,
                   what="survivor owns everything")
        took = time.monotonic() - killed_at
        assert took >= session - 1, "the member was removed before its session timeout"
        sent = produce(bootstrap, topic_name, {p: 3 for p in range(4)}, tag="after")
        wait_until(lambda: survivor.values() >= {v for _p, v in sent}, what="messages produced after the kill")
    finally:
        victim.kill()
        victim.wait()
        reader.join(TIMEOUT)
        victim.stdout.close()  # type: ignore[union-attr]
        survivor.stop()


