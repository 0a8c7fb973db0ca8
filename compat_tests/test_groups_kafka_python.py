"""Consumer groups with kafka-python: the seed's pictures.

Each consumer runs in its own thread (a KafkaConsumer is not thread-safe, so only that
thread touches it); tests wait on conditions, never on fixed sleeps. Heartbeats every 100 ms
spread rebalances quickly; the killed-consumer test uses the smallest session timeout the
broker allows (6 s).
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
from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic, OffsetSpec
from kafka.structs import OffsetAndMetadata, TopicPartition

from .conftest import eventually
from .conftest import wait_until

TIMEOUT = 30
FAST = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 100}


@pytest.fixture
def admin(bootstrap: str):
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield client
    client.close()


@pytest.fixture
def group_id() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


def create_topic(admin: KafkaAdminClient, name: str, partitions: int) -> None:
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])

    def shown() -> None:  # Kafka's broker serves a new topic a moment after CreateTopics answers
        (described,) = admin.describe_topics([name])
        assert described["error_code"] == 0 and len(described["partitions"]) == partitions, described

    eventually(shown)


def produce(bootstrap: str, topic: str, per_partition: dict[int, int], tag: str = "m") -> list[tuple[int, bytes]]:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    sent = []
    try:
        for partition, count in per_partition.items():
            for i in range(count):
                value = f"{tag}-{partition}-{i}".encode()
                producer.send(topic, value=value, partition=partition)
                sent.append((partition, value))
        producer.flush(TIMEOUT)
    finally:
        producer.close()
    return sent


class Member(threading.Thread):
    """A group consumer polling in its own thread, recording assignments and messages."""

    def __init__(self, bootstrap: str, group_id: str, topic: str, **conf: Any) -> None:
        super().__init__(daemon=True)
        self.config = dict(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **FAST,
            **conf,
        )
        self.topic = topic
        self.assignment: frozenset[int] = frozenset()
        self.generation = -1
        self.messages: list[tuple[int, int, bytes]] = []
        self.events: list[tuple[str, frozenset[int]]] = []
        self.stopping = threading.Event()
        self.commit_requests: list[dict] = []
        self.committed = threading.Event()
        self.failure: BaseException | None = None
        self.start()

    def run(self) -> None:
        consumer = KafkaConsumer(**self.config)
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                member.events.append(("revoke", frozenset(tp.partition for tp in revoked)))

            def on_partitions_assigned(self, assigned: Any) -> None:
                member.events.append(("assign", frozenset(tp.partition for tp in assigned)))

        # Learn the topic's partitions before joining. kafka-python drops the result of a
        # join that is still in flight when need_rejoin() turns false, which happens when a
        # leader's first assignment was computed without the topic's metadata (it rejoins on
        # the metadata update, then forgets that join): with Kafka's 3 s initial rebalance
        # delay the metadata is always there first; with kafkalite's 0 it may not be.
        consumer.partitions_for_topic(self.topic)
        consumer.subscribe([self.topic], listener=Listener())
        try:
            while not self.stopping.is_set():
                # A long poll: kafka-python forgets a JoinGroup/SyncGroup that completes
                # between two polls and joins again (its join task is replaced once done),
                # which a leader turns into an extra rebalance; fewer, longer polls make
                # that window rare. poll() returns as soon as records arrive anyway.
                for records in consumer.poll(timeout_ms=500).values():
                    for record in records:
                        self.messages.append((record.partition, record.offset, record.value))
                self.assignment = frozenset(tp.partition for tp in consumer.assignment())
                self.generation = consumer.group_metadata().generation_id
                while self.commit_requests:
                    consumer.commit(self.commit_requests.pop(0))
                    self.committed.set()
        except BaseException as exc:  # surfaced by the tests' waits
            self.failure = exc
            raise
        finally:
            consumer.close()

    def commit(self, offsets: dict[int, int]) -> None:
        self.committed.clear()
        self.commit_requests.append(
            {TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}
        )
        assert self.committed.wait(TIMEOUT)

    def stop(self) -> None:
        self.stopping.set()
        self.join(TIMEOUT)

    def values(self) -> set[bytes]:
        return {v for _p, _o, v in self.messages}


def wait_for_assignments(members: list[Member], partitions: int, sizes: list[int]) -> None:
    def settled() -> bool:
        for m in members:
            assert m.failure is None, m.failure
        owned = [m.assignment for m in members]
        return (
            sorted(len(o) for o in owned) == sorted(sizes)
            and frozenset().union(*owned) == frozenset(range(partitions))
            and sum(map(len, owned)) == partitions
        )

    wait_until(settled, what=f"assignments {sizes}")


def wait_for_quiet_generation(members: list[Member], quiet: float = 1.5) -> int:
    """The members' common generation once it has not changed for *quiet* seconds."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        generations = {m.generation for m in members}
        if len(generations) == 1 and -1 not in generations:
            time.sleep(quiet)
            if {m.generation for m in members} == generations:
                return generations.pop()
        if time.monotonic() > deadline:
            raise AssertionError(f"generations never settled: {[m.generation for m in members]}")
        time.sleep(0.05)


def check_each_consumes_its_own(bootstrap: str, topic: str, members: list[Member], partitions: int) -> None:
    before = [len(m.messages) for m in members]
    sent = produce(bootstrap, topic, {p: 5 for p in range(partitions)}, tag=uuid.uuid4().hex[:6])
    expected = {v for _p, v in sent}
    wait_until(lambda: set().union(*(m.values() for m in members)) >= expected, what="all messages")
    for member, start in zip(members, before):
        assert {p for p, _o, v in member.messages[start:] if v in expected} <= member.assignment
    assert sum(1 for m in members for _p, _o, v in m.messages if v in expected) == len(expected)


@pytest.mark.parametrize(("consumers", "sizes"), [(4, [1, 1, 1, 1]), (2, [2, 2]), (5, [0, 1, 1, 1, 1])])
def test_members_split_four_partitions(bootstrap: str, admin, topic_name: str, group_id: str,
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


def test_two_groups_read_the_same_topic_independently(bootstrap: str, admin, topic_name: str) -> None:
    create_topic(admin, topic_name, 2)
    sent = produce(bootstrap, topic_name, {0: 10, 1: 10})
    first = Member(bootstrap, f"first-{topic_name}", topic_name)
    try:
        wait_until(lambda: len(first.messages) == 20, what="first group")
        first.commit({0: 10, 1: 10})
    finally:
        first.stop()
    second = Member(bootstrap, f"second-{topic_name}", topic_name)
    try:
        wait_until(lambda: len(second.messages) == 20, what="second group")
        assert second.values() == {v for _p, v in sent}
        second.commit({0: 3, 1: 4})
    finally:
        second.stop()
    offsets = admin.list_group_offsets([f"first-{topic_name}", f"second-{topic_name}"])
    assert {tp.partition: o.offset for tp, o in offsets[f"first-{topic_name}"].items()} == {0: 10, 1: 10}
    assert {tp.partition: o.offset for tp, o in offsets[f"second-{topic_name}"].items()} == {0: 3, 1: 4}


def test_new_member_resumes_exactly_after_the_commit(bootstrap: str, admin, topic_name: str, group_id: str) -> None:
    create_topic(admin, topic_name, 2)
    produce(bootstrap, topic_name, {0: 10, 1: 10})
    first = Member(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: len(first.messages) == 20)
        first.commit({0: 5, 1: 5})
    finally:
        first.stop()
    second = Member(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: len(second.messages) >= 10)
        time.sleep(0.3)  # would reveal duplicates, if any arrived late
        assert sorted((p, o) for p, o, _v in second.messages) == [(p, o) for p in (0, 1) for o in range(5, 10)]
    finally:
        second.stop()


KILLED_MEMBER = r"""
import sys
from kafka import KafkaConsumer
consumer = KafkaConsumer(sys.argv[3], bootstrap_servers=sys.argv[1], group_id=sys.argv[2],
                         session_timeout_ms=6000, heartbeat_interval_ms=100, auto_offset_reset="earliest")
while True:
    consumer.poll(timeout_ms=50)
    print("assigned", ",".join(str(tp.partition) for tp in consumer.assignment()), flush=True)
"""


def test_killed_member_is_removed_after_its_session_and_the_survivor_takes_over(
    bootstrap: str, admin, topic_name: str, group_id: str
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
        assert 5 <= took < 6 + 5
        sent = produce(bootstrap, topic_name, {p: 3 for p in range(4)}, tag="after")
        wait_until(lambda: survivor.values() >= {v for _p, v in sent}, what="messages produced after the kill")
    finally:
        victim.kill()
        victim.wait()
        reader.join(TIMEOUT)
        victim.stdout.close()
        survivor.stop()


def test_static_member_restart_causes_no_rebalance(bootstrap: str, admin, topic_name: str, group_id: str) -> None:
    create_topic(admin, topic_name, 4)
    a = Member(bootstrap, group_id, topic_name, group_instance_id="static-a")
    b = Member(bootstrap, group_id, topic_name, group_instance_id="static-b")
    try:
        wait_for_assignments([a, b], 4, [2, 2])
        # kafka-python's leader rejoins once more when its first metadata refresh after
        # subscribing lands (its metadata snapshot was empty when it assigned): wait until
        # the generation stays put for a while.
        generation = wait_for_quiet_generation([a, b])
        a_partitions = a.assignment
        a.stop()  # a static member sends no LeaveGroup on close
        restarted = Member(bootstrap, group_id, topic_name, group_instance_id="static-a")
        try:
            wait_until(lambda: restarted.assignment == a_partitions, what="restarted member gets its partitions")
            time.sleep(1)  # several heartbeats of b: none may say "rebalance"
            # No rebalance: the restarted member joined the current generation, b stayed in it.
            assert restarted.generation == b.generation == generation
            check_each_consumes_its_own(bootstrap, topic_name, [restarted, b], 4)
        finally:
            restarted.stop()
    finally:
        b.stop()


def test_lag_per_partition_through_the_admin_api(bootstrap: str, admin, topic_name: str, group_id: str) -> None:
    create_topic(admin, topic_name, 3)
    produce(bootstrap, topic_name, {0: 10, 1: 20, 2: 30})
    # A simple (assign()) consumer commits: generation -1, no member id.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    try:
        committed = {0: 4, 1: 20, 2: 0}
        consumer.assign([TopicPartition(topic_name, p) for p in committed])
        consumer.commit({TopicPartition(topic_name, p): OffsetAndMetadata(o, "", -1) for p, o in committed.items()})
    finally:
        consumer.close()
    current = {tp.partition: o.offset for tp, o in admin.list_group_offsets(group_id)[group_id].items()}
    assert current == committed
    ends = admin.list_partition_offsets({TopicPartition(topic_name, p): OffsetSpec.LATEST for p in range(3)})
    end_offsets = {tp.partition: info.offset for tp, info in ends.items()}
    assert end_offsets == {0: 10, 1: 20, 2: 30}
    assert {p: end_offsets[p] - current[p] for p in range(3)} == {0: 6, 1: 0, 2: 30}


def test_describe_list_and_delete_the_group(bootstrap: str, admin, topic_name: str, group_id: str) -> None:
    create_topic(admin, topic_name, 2)
    member = Member(bootstrap, group_id, topic_name)
    try:
        wait_until(lambda: member.assignment == frozenset({0, 1}))
        described = admin.describe_groups([group_id])[group_id]
        assert described["group_state"] == "Stable" and len(described["members"]) == 1
        assert group_id in {g["group_id"] for g in admin.list_groups()}
        assert admin.delete_groups([group_id]) == {group_id: "NonEmptyGroupError"}
    finally:
        member.stop()
    assert admin.delete_groups([group_id]) == {group_id: "OK"}
    assert group_id not in {g["group_id"] for g in admin.list_groups()}


@pytest.mark.kafkalite_only(reason="restarts a kafkalite broker of its own")
def test_committed_offsets_survive_a_broker_restart(tmp_path, topic_name: str, group_id: str) -> None:
    from .conftest import start_broker, stop_broker

    proc, bootstrap = start_broker("--data-dir", str(tmp_path), "--log-level", "WARNING")
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            create_topic(admin, topic_name, 1)
        finally:
            admin.close()
        produce(bootstrap, topic_name, {0: 8})
        first = Member(bootstrap, group_id, topic_name)
        try:
            wait_until(lambda: len(first.messages) == 8)
            first.commit({0: 3})
        finally:
            first.stop()
    finally:
        assert stop_broker(proc) == 0
    proc, bootstrap = start_broker("--data-dir", str(tmp_path), "--log-level", "WARNING")
    try:
        second = Member(bootstrap, group_id, topic_name)
        try:
            wait_until(lambda: len(second.messages) >= 5)
            time.sleep(0.3)
            assert [o for _p, o, _v in second.messages] == [3, 4, 5, 6, 7]
        finally:
            second.stop()
    finally:
        stop_broker(proc)
