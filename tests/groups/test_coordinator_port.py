"""The group coordinator over a fake ``__consumer_offsets`` port: failed writes, and
transactional offset commits (pending until their marker, replayed after a restart)."""

from __future__ import annotations

from typing import Iterable

import pytest
import trio

from kafkalite.groups.consumer_protocol import encode_subscription
from kafkalite.groups.coordinator import GroupCoordinator
from kafkalite.groups.records import partition_for
from kafkalite.groups.requests import CommitRequest, JoinRequest, SyncRequest
from kafkalite.wire.batch import BatchHeader, iter_batches, parse_batch_header
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.records import ControlRecordType, build_control_batch

PARTITIONS = 5


class FakeOffsetsTopic:
    """`OffsetsTopic` in memory; ``failing`` makes every append fail as a full disk does."""

    def __init__(self) -> None:
        self.logs: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
        self.next_offset: dict[int, int] = {p: 0 for p in range(PARTITIONS)}
        self.failing = False

    def exists(self) -> bool:
        return True

    def partition_count(self) -> int:
        return PARTITIONS

    def leader(self, partition: int) -> int | None:
        return 0

    def append(self, partition: int, batch: bytes) -> tuple[E, int]:
        if self.failing:
            return E.KAFKA_STORAGE_ERROR, -1
        data = bytearray(batch)
        base = self.next_offset[partition]
        data[0:8] = base.to_bytes(8, "big")
        header = parse_batch_header(data, 0)
        self.next_offset[partition] = base + header.last_offset_delta + 1
        self.logs[partition].append(bytes(data))
        return E.NONE, base

    def batches(self, partition: int) -> Iterable[tuple[BatchHeader, memoryview]]:
        for data in self.logs[partition]:
            view = memoryview(data)
            for position, header in iter_batches(view):
                yield header, view[position : position + header.size]

    def write_marker(self, group_id: str, producer_id: int, commit: bool) -> int:
        partition = partition_for(group_id, PARTITIONS)
        kind = ControlRecordType.COMMIT if commit else ControlRecordType.ABORT
        self.append(partition, build_control_batch(kind, producer_id=producer_id, producer_epoch=0))
        return partition


def commit(offset: int, partition: int = 0) -> CommitRequest:
    return CommitRequest("t", partition, offset, -1, "")


@pytest.fixture
def topic() -> FakeOffsetsTopic:
    return FakeOffsetsTopic()


@pytest.fixture
def coordinator(topic: FakeOffsetsTopic) -> GroupCoordinator:
    return GroupCoordinator.open(topic)


def committed(coordinator: GroupCoordinator, group: str = "g", partition: int = 0, *, stable: bool = False) -> tuple:
    [(_topic, [fetched])] = coordinator.fetch_offsets(group, [("t", [partition])], require_stable=stable)
    return fetched.offset, fetched.error


# -- failed writes -----------------------------------------------------------------------


def test_a_failed_offset_commit_answers_not_coordinator_and_keeps_the_old_offset(
    coordinator: GroupCoordinator, topic: FakeOffsetsTopic
) -> None:
    assert coordinator.commit_offsets("g", "", None, -1, [commit(5)]) == [E.NONE]
    topic.failing = True
    assert coordinator.commit_offsets("g", "", None, -1, [commit(9)]) == [E.NOT_COORDINATOR]
    assert committed(coordinator) == (5, E.NONE)


def test_a_failed_group_deletion_keeps_the_group(coordinator: GroupCoordinator, topic: FakeOffsetsTopic) -> None:
    coordinator.commit_offsets("g", "", None, -1, [commit(5)])
    topic.failing = True
    assert coordinator.delete_groups(["g"]) == [("g", E.NOT_COORDINATOR)]
    assert coordinator.group("g") is not None and committed(coordinator) == (5, E.NONE)


def test_a_failed_offset_deletion_keeps_the_offsets(coordinator: GroupCoordinator, topic: FakeOffsetsTopic) -> None:
    coordinator.commit_offsets("g", "", None, -1, [commit(5)])
    topic.failing = True
    assert coordinator.delete_offsets("g", [("t", [0])]) == (E.NOT_COORDINATOR, [])
    assert committed(coordinator) == (5, E.NONE)


async def test_a_failed_assignment_write_fails_the_sync_and_rebalances(
    coordinator: GroupCoordinator, topic: FakeOffsetsTopic, nursery: trio.Nursery
) -> None:
    nursery.start_soon(coordinator.run)
    join = JoinRequest(
        group_id="g", member_id="", group_instance_id=None, session_timeout_ms=10_000, rebalance_timeout_ms=10_000,
        protocol_type="consumer", protocols=(("range", encode_subscription(["t"])),), client_id="c",
        client_host="/127.0.0.1", require_known_member_id=False, supports_skip_assignment=False,
    )
    joined = await coordinator.join_group(join)
    assert joined.error is E.NONE
    topic.failing = True
    synced = await coordinator.sync_group(SyncRequest(
        group_id="g", member_id=joined.member_id, group_instance_id=None, generation_id=joined.generation_id,
        protocol_type="consumer", protocol_name="range", assignments=((joined.member_id, b"a"),),
    ))
    assert synced.error is E.NOT_COORDINATOR


# -- transactional offset commits --------------------------------------------------------


def test_a_transactional_commit_is_pending_until_its_transaction_commits(
    coordinator: GroupCoordinator, topic: FakeOffsetsTopic
) -> None:
    assert coordinator.commit_transactional_offsets("g", 7, 0, "", None, -1, [commit(10)]) == [E.NONE]
    assert committed(coordinator) == (-1, E.NONE)
    assert committed(coordinator, stable=True) == (-1, E.UNSTABLE_OFFSET_COMMIT)
    coordinator.complete_transaction(topic.write_marker("g", 7, commit=True), 7, commit=True)
    assert committed(coordinator, stable=True) == (10, E.NONE)


def test_an_aborted_transaction_discards_its_offsets(coordinator: GroupCoordinator, topic: FakeOffsetsTopic) -> None:
    coordinator.commit_offsets("g", "", None, -1, [commit(3)])
    coordinator.commit_transactional_offsets("g", 7, 0, "", None, -1, [commit(10)])
    coordinator.complete_transaction(topic.write_marker("g", 7, commit=False), 7, commit=False)
    assert committed(coordinator, stable=True) == (3, E.NONE)


def test_a_later_regular_commit_wins_over_an_earlier_transactional_one(
    coordinator: GroupCoordinator, topic: FakeOffsetsTopic
) -> None:
    coordinator.commit_transactional_offsets("g", 7, 0, "", None, -1, [commit(10)])
    coordinator.commit_offsets("g", "", None, -1, [commit(20)])
    coordinator.complete_transaction(topic.write_marker("g", 7, commit=True), 7, commit=True)
    assert committed(coordinator) == (20, E.NONE)


def test_a_marker_of_another_partition_leaves_the_group_pending(coordinator: GroupCoordinator) -> None:
    coordinator.commit_transactional_offsets("g", 7, 0, "", None, -1, [commit(10)])
    other = (partition_for("g", PARTITIONS) + 1) % PARTITIONS
    coordinator.complete_transaction(other, 7, commit=True)
    assert committed(coordinator, stable=True) == (-1, E.UNSTABLE_OFFSET_COMMIT)


def test_a_transactional_commit_with_a_stale_generation_is_refused(coordinator: GroupCoordinator) -> None:
    assert coordinator.commit_transactional_offsets("nobody", 7, 0, "m", None, 3, [commit(1)]) == [E.ILLEGAL_GENERATION]


def test_a_restart_replays_pending_committed_and_aborted_transactions(topic: FakeOffsetsTopic) -> None:
    before = GroupCoordinator.open(topic)
    before.commit_transactional_offsets("a", 1, 0, "", None, -1, [commit(11)])
    before.commit_transactional_offsets("b", 2, 0, "", None, -1, [commit(22)])
    before.commit_transactional_offsets("c", 3, 0, "", None, -1, [commit(33)])
    before.commit_offsets("b", "", None, -1, [commit(5, partition=1)])
    topic.write_marker("a", 1, commit=True)
    topic.write_marker("b", 2, commit=False)
    after = GroupCoordinator.open(topic)
    assert committed(after, "a", stable=True) == (11, E.NONE)
    assert committed(after, "b", stable=True) == (-1, E.NONE)
    assert committed(after, "b", 1) == (5, E.NONE)
    assert committed(after, "c", stable=True) == (-1, E.UNSTABLE_OFFSET_COMMIT)
    after.complete_transaction(topic.write_marker("c", 3, commit=True), 3, commit=True)
    assert committed(after, "c") == (33, E.NONE)
