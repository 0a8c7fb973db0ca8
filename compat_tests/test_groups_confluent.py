"""Consumer groups with confluent-kafka (librdkafka): the seed's pictures.

Each consumer runs in its own thread, polling; tests wait on conditions (short polls of
shared state), never on fixed sleeps. Heartbeats are every 100 ms so that rebalances spread
quickly; the killed-consumer test uses the smallest session timeout the broker allows (6 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from .conftest import wait_for_topic
from .conftest import wait_until

TIMEOUT = 30
FAST = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 100}


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def group_id() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


def create_topic(admin: AdminClient, name: str, partitions: int) -> None:
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, name, partitions)


def produce(bootstrap: str, topic: str, per_partition: dict[int, int], tag: str = "m") -> list[tuple[int, bytes]]:
    """Produce ``per_partition[p]`` messages to each partition; return (partition, value)."""
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
    """A group consumer polling in its own thread, recording assignments and messages."""

    def __init__(self, bootstrap: str, group_id: str, topic: str, **conf: Any) -> None:
        super().__init__(daemon=True)
        self.config = {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **FAST,
            **conf,
        }
        self.topic = topic
        self.assignment: frozenset[int] = frozenset()
        self.messages: list[tuple[int, int, bytes]] = []
        self.events: list[tuple[str, frozenset[int]]] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.commit_requests: list[list[TopicPartition]] = []
        self.committed = threading.Event()
        self.leave = True
        self.start()

    def run(self) -> None:
        consumer = Consumer(self.config)

        def on_assign(_c: Any, partitions: list[TopicPartition]) -> None:
            self.events.append(("assign", frozenset(p.partition for p in partitions)))

        def on_revoke(_c: Any, partitions: list[TopicPartition]) -> None:
            self.events.append(("revoke", frozenset(p.partition for p in partitions)))

        consumer.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
        try:
            while not self.stopping.is_set():
                msg = consumer.poll(0.05)
                if msg is not None:
                    if msg.error():
                        self.errors.append(str(msg.error()))
                    else:
                        self.messages.append((msg.partition(), msg.offset(), msg.value()))
                self.assignment = frozenset(p.partition for p in consumer.assignment())
                while self.commit_requests:
                    consumer.commit(offsets=self.commit_requests.pop(0), asynchronous=False)
                    self.committed.set()
        finally:
            if self.leave:
                consumer.close()

    def commit(self, offsets: list[TopicPartition]) -> None:
        self.committed.clear()
        self.commit_requests.append(offsets)
        assert self.committed.wait(TIMEOUT)

    def stop(self, leave: bool = True) -> None:
        self.leave = leave
        self.stopping.set()
        self.join(TIMEOUT)

    def values(self) -> set[bytes]:
        return {v for _p, _o, v in self.messages}


def wait_for_assignments(members: list[Member], partitions: int, sizes: list[int]) -> None:
    """Until every partition is owned exactly once, with these per-member counts (sorted)."""

    def settled() -> bool:
        owned = [m.assignment for m in members]
        union = frozenset().union(*owned)
        return sorted(len(o) for o in owned) == sorted(sizes) and union == frozenset(range(partitions)) and sum(
            map(len, owned)) == partitions

    wait_until(settled, what=f"assignments {sizes}")


def check_each_consumes_its_own(bootstrap: str, topic: str, members: list[Member], partitions: int) -> None:
    before = [len(m.messages) for m in members]
    sent = produce(bootstrap, topic, {p: 5 for p in range(partitions)}, tag=uuid.uuid4().hex[:6])
    expected = {v for _p, v in sent}
    wait_until(lambda: set().union(*(m.values() for m in members)) >= expected, what="all messages")
    for member, start in zip(members, before):
        new = member.messages[start:]
        assert {p for p, _o, v in new if v in expected} <= member.assignment
    total = sum(1 for m in members for _p, _o, v in m.messages if v in expected)
    assert total == len(expected)  # nobody got a message twice


# -- the pictures ----------------------------------------------------------------------------


@pytest.mark.parametrize(("consumers", "sizes"), [(4, [1, 1, 1, 1]), (2, [2, 2]), (5, [0, 1, 1, 1, 1])])
def test_members_split_four_partitions(bootstrap: str, admin: AdminClient, topic_name: str, group_id: str,
                                       consumers: int, sizes: list[int]) -> None:
    create_topic(admin, topic_name, 4)
    members = [Member(bootstrap, group_id, topic_name) for _ in range(consumers)]
    try:
        wait_for_assignments(members, 4, sizes)
        check_each_consumes_its_own(bootstrap, topic_name, members, 4)
        if consumers == 5:
            idle = [m for m in members if not m.assignment]
            assert len(idle) == 1 and idle[0].messages == []
    finally:
        for m in members:
            m.stop()


def test_two_groups_read_the_same_topic_independently(bootstrap: str, admin: AdminClient, topic_name: str) -> None:
    create_topic(admin, topic_name, 2)
    sent = produce(bootstrap, topic_name, {0: 10, 1: 10})
    first = Member(bootstrap, f"first-{topic_name}", topic_name)
    try:
        wait_until(lambda: len(first.messages) == 20, what="first group")
        first.commit([TopicPartition(topic_name, 0, 10), TopicPartition(topic_name, 1, 10)])
    finally:
        first.stop()
    # The second group starts at the beginning, whatever the first committed.
    second = Member(bootstrap, f"second-{topic_name}", topic_name)
    try:
        wait_until(lambda: len(second.messages) == 20, what="second group")
        assert second.values() == {v for _p, v in sent}
        second.commit([TopicPartition(topic_name, 0, 3), TopicPartition(topic_name, 1, 4)])
    finally:
        second.stop()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"first-{topic_name}"})
    try:
        tps = [TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)]
        assert [tp.offset for tp in consumer.committed(tps, timeout=TIMEOUT)] == [10, 10]
        consumer2 = Consumer({"bootstrap.servers": bootstrap, "group.id": f"second-{topic_name}"})
        assert [tp.offset for tp in consumer2.committed(tps, timeout=TIMEOUT)] == [3, 4]
        consumer2.close()
    finally:
        consumer.close()


def test_new_member_resumes_exactly_after_the_commit(bootstrap: str, admin: AdminClient, topic_name: str,
                                                    group_id: str) -> None:
    create_topic(admin, topic_name, 2)
    sent = produce(bootstrap, topic_name, {0: 10, 1: 10})
    first = Member(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: len(first.messages) == 20)
        # Commit half of each partition: the position after the 5th message.
        first.commit([TopicPartition(topic_name, 0, 5), TopicPartition(topic_name, 1, 5)])
    finally:
        first.stop()
    second = Member(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: len(second.messages) >= 10)
        time.sleep(0.3)  # would reveal duplicates, if any arrived late
        got = sorted((p, o) for p, o, _v in second.messages)
        assert got == [(p, o) for p in (0, 1) for o in range(5, 10)]  # no loss, no duplicates
        assert second.values() == {v for p, v in sent if int(v.split(b"-")[-1]) >= 5}
    finally:
        second.stop()


KILLED_MEMBER = r"""
import sys
from confluent_kafka import Consumer
consumer = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 6000,
                     "heartbeat.interval.ms": 100, "auto.offset.reset": "earliest"})
consumer.subscribe([sys.argv[3]])
while True:
    consumer.poll(0.05)
    print("assigned", ",".join(str(p.partition) for p in consumer.assignment()), flush=True)
"""


def test_killed_member_is_removed_after_its_session_and_the_survivor_takes_over(
    bootstrap: str, admin: AdminClient, topic_name: str, group_id: str
) -> None:
    create_topic(admin, topic_name, 4)
    survivor = Member(bootstrap, group_id, topic_name)
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
        wait_until(lambda: len(survivor.assignment) == 2 and len(victim_assignment[0].split(",")) == 2,
                   what="two members with two partitions each")
        os.kill(victim.pid, signal.SIGKILL)  # no LeaveGroup: only its session can tell
        killed_at = time.monotonic()
        wait_until(lambda: survivor.assignment == frozenset(range(4)), what="survivor owns everything")
        took = time.monotonic() - killed_at
        assert took >= 5, "the member was removed before its session timeout"
        assert took < 6 + 5
        sent = produce(bootstrap, topic_name, {p: 3 for p in range(4)}, tag="after")
        wait_until(lambda: survivor.values() >= {v for _p, v in sent}, what="messages produced after the kill")
    finally:
        victim.kill()
        victim.wait()
        reader.join(TIMEOUT)
        victim.stdout.close()  # type: ignore[union-attr]
        survivor.stop()


def test_cooperative_sticky_moves_only_some_partitions(bootstrap: str, admin: AdminClient, topic_name: str,
                                                      group_id: str) -> None:
    create_topic(admin, topic_name, 4)
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    a = Member(bootstrap, group_id, topic_name, **conf)
    try:
        wait_until(lambda: a.assignment == frozenset(range(4)))
        b = Member(bootstrap, group_id, topic_name, **conf)
        try:
            wait_for_assignments([a, b], 4, [2, 2])
            revoked = [parts for kind, parts in a.events if kind == "revoke"]
            # Incremental: a gave up exactly the two partitions b took, never everything.
            assert revoked and all(len(r) < 4 for r in revoked)
            assert frozenset().union(*revoked) == b.assignment
            assert a.assignment <= frozenset(range(4)) - b.assignment
            check_each_consumes_its_own(bootstrap, topic_name, [a, b], 4)
        finally:
            b.stop()
        wait_until(lambda: a.assignment == frozenset(range(4)), what="a takes everything back")
    finally:
        a.stop()


def test_static_member_restart_causes_no_rebalance(bootstrap: str, admin: AdminClient, topic_name: str,
                                                  group_id: str) -> None:
    create_topic(admin, topic_name, 4)
    a = Member(bootstrap, group_id, topic_name, **{"group.instance.id": "static-a"})
    b = Member(bootstrap, group_id, topic_name, **{"group.instance.id": "static-b"})
    try:
        wait_for_assignments([a, b], 4, [2, 2])
        time.sleep(0.5)  # let the last rebalance's callbacks land
        b_events = list(b.events)
        a_partitions = a.assignment
        a.stop(leave=True)  # a static member sends no LeaveGroup on close
        restarted = Member(bootstrap, group_id, topic_name, **{"group.instance.id": "static-a"})
        try:
            wait_until(lambda: restarted.assignment == a_partitions, what="restarted member gets its partitions")
            time.sleep(1)  # several heartbeats of b: none may say "rebalance"
            assert b.events == b_events  # b saw no revocation and no new assignment
            assert restarted.events == [("assign", a_partitions)]
            check_each_consumes_its_own(bootstrap, topic_name, [restarted, b], 4)
        finally:
            restarted.stop()
    finally:
        b.stop()


def test_lag_per_partition_through_the_admin_api(bootstrap: str, admin: AdminClient, topic_name: str,
                                                 group_id: str) -> None:
    create_topic(admin, topic_name, 3)
    produce(bootstrap, topic_name, {0: 10, 1: 20, 2: 30})
    # A simple (assign()) consumer commits: generation -1, no member id.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False})
    try:
        committed = {0: 4, 1: 20, 2: 0}
        consumer.commit(offsets=[TopicPartition(topic_name, p, o) for p, o in committed.items()], asynchronous=False)
    finally:
        consumer.close()
    [future] = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id)]).values()
    current = {tp.partition: tp.offset for tp in future.result(TIMEOUT).topic_partitions}
    assert current == committed
    ends = {
        tp.partition: info.offset
        for tp, f in admin.list_offsets({TopicPartition(topic_name, p): OffsetSpec.latest() for p in range(3)}).items()
        for info in [f.result(TIMEOUT)]
    }
    assert ends == {0: 10, 1: 20, 2: 30}
    assert {p: ends[p] - current[p] for p in range(3)} == {0: 6, 1: 0, 2: 30}


def test_describe_list_and_delete_the_group(bootstrap: str, admin: AdminClient, topic_name: str,
                                            group_id: str) -> None:
    create_topic(admin, topic_name, 2)
    member = Member(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: member.assignment == frozenset({0, 1}))
        [future] = admin.describe_consumer_groups([group_id]).values()
        described = future.result(TIMEOUT)
        assert described.state.name == "STABLE" and len(described.members) == 1
        assert {tp.partition for tp in described.members[0].assignment.topic_partitions} == {0, 1}
        listed = admin.list_consumer_groups().result(TIMEOUT)
        assert group_id in {g.group_id for g in listed.valid}
        [future] = admin.delete_consumer_groups([group_id]).values()
        with pytest.raises(KafkaException, match="NON_EMPTY_GROUP|not empty"):
            future.result(TIMEOUT)
    finally:
        member.stop()
    [future] = admin.delete_consumer_groups([group_id]).values()
    future.result(TIMEOUT)
    listed = admin.list_consumer_groups().result(TIMEOUT)
    assert group_id not in {g.group_id for g in listed.valid}


@pytest.mark.kafkalite_only(reason="restarts a kafkalite broker of its own")
def test_committed_offsets_and_groups_survive_a_broker_restart(tmp_path, topic_name: str, group_id: str) -> None:
    from .conftest import start_broker, stop_broker

    proc, bootstrap = start_broker("--data-dir", str(tmp_path), "--offsets-topic-partitions", "5", "--log-level", "WARNING")
    try:
        create_topic(AdminClient({"bootstrap.servers": bootstrap}), topic_name, 2)
        produce(bootstrap, topic_name, {0: 6, 1: 6})
        first = Member(bootstrap, group_id, topic_name)
        try:
            wait_until(lambda: len(first.messages) == 12)
            first.commit([TopicPartition(topic_name, 0, 2), TopicPartition(topic_name, 1, 4)])
        finally:
            first.stop()
    finally:
        assert stop_broker(proc) == 0
    proc, bootstrap = start_broker("--data-dir", str(tmp_path), "--offsets-topic-partitions", "5", "--log-level", "WARNING")
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        [future] = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id)]).values()
        assert {tp.partition: tp.offset for tp in future.result(TIMEOUT).topic_partitions} == {0: 2, 1: 4}
        assert group_id in {g.group_id for g in admin.list_consumer_groups().result(TIMEOUT).valid}
        second = Member(bootstrap, group_id, topic_name)
        try:
            wait_until(lambda: len(second.messages) >= 6)
            time.sleep(0.3)
            assert sorted((p, o) for p, o, _v in second.messages) == [(0, o) for o in range(2, 6)] + [(1, 4), (1, 5)]
        finally:
            second.stop()
    finally:
        stop_broker(proc)
