"""The oldest and newest versions of ListOffsets, OffsetCommit, OffsetFetch and
OffsetForLeaderEpoch: Kafka 3.9's v0-1 (removed in Kafka 4, KIP-896) and Kafka 4.1's newest."""

from __future__ import annotations

import time
import uuid

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.groups.records import OffsetCommitRecord, parse_record, partition_for
from kafkalite.handlers.list_offsets import old_style_offsets
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)
from kafkalite.wire.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)
from kafkalite.wire.records import NewRecord, build_batch, decode_records

from ..groups.helpers import GroupMember, connect, fetch_offsets, start_broker

DAY_MS = 24 * 3600 * 1000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery)
    b.create_topic("t", 2)
    return b


@pytest.fixture
def client(broker: Broker, nursery: trio.Nursery):
    return connect(broker, nursery)


def append(broker: Broker, count: int, topic: str = "t", timestamp: int | None = None) -> None:
    ts = now_ms() if timestamp is None else timestamp
    plog = broker.log_for(topic, 0)
    assert plog is not None
    plog.append(build_batch([NewRecord(None, b"v", timestamp=ts) for _ in range(count)]))


# -- ListOffsets v0: old style offsets ------------------------------------------------------


def test_old_style_latest_is_the_log_end_offset_then_segment_bases_newest_first() -> None:
    segments = [(0, 100, 1000), (10, 100, 2000), (25, 50, 3000)]
    assert old_style_offsets(segments, 0, 30, 30, -1, 1, 9000, True) == [30]
    assert old_style_offsets(segments, 0, 30, 30, -1, 10, 9000, True) == [30, 25, 10, 0]
    assert old_style_offsets(segments, 0, 30, 30, -1, 3, 9000, True) == [30, 25, 10]


def test_old_style_earliest_is_the_first_segment_base_not_below_the_log_start() -> None:
    segments = [(0, 100, 1000), (10, 100, 2000)]
    assert old_style_offsets(segments, 0, 20, 20, -2, 5, 9000, True) == [0]
    assert old_style_offsets(segments, 4, 20, 20, -2, 5, 9000, True) == [4]


def test_old_style_timestamp_picks_the_newest_segment_modified_at_or_before_it() -> None:
    segments = [(0, 100, 1000), (10, 100, 2000), (25, 50, 3000)]
    assert old_style_offsets(segments, 0, 30, 30, 2500, 10, 9000, True) == [10, 0]
    assert old_style_offsets(segments, 0, 30, 30, 2000, 1, 9000, True) == [10]
    assert old_style_offsets(segments, 0, 30, 30, 999, 10, 9000, True) == []
    # The log end offset counts as a segment modified now.
    assert old_style_offsets(segments, 0, 30, 30, 9000, 1, 9000, True) == [30]
    assert old_style_offsets(segments, 0, 30, 30, 8999, 1, 9000, True) == [25]


def test_old_style_empty_last_segment_adds_no_log_end_entry() -> None:
    assert old_style_offsets([(0, 0, 1000)], 0, 0, 0, -1, 5, 9000, True) == [0]
    assert old_style_offsets([(0, 80, 1000), (7, 0, 2000)], 0, 7, 7, -1, 5, 9000, True) == [7, 0]


def test_old_style_zero_offsets_asked_is_an_empty_list() -> None:
    assert old_style_offsets([(0, 80, 1000)], 0, 5, 5, -1, 0, 9000, True) == []


def test_old_style_consumer_never_sees_past_the_high_watermark() -> None:
    segments = [(0, 100, 1000), (10, 100, 2000)]
    assert old_style_offsets(segments, 0, 20, 15, -1, 3, 9000, True) == [15, 10, 0]
    # A replica (or a debugging client) sees the log end offset.
    assert old_style_offsets(segments, 0, 20, 15, -1, 3, 9000, False) == [20, 10, 0]


def list_offsets_v0(topic: str, timestamp: int, max_num_offsets: int = 1, partition: int = 0) -> ListOffsetsRequest:
    return ListOffsetsRequest(replica_id=-1, topics=[ListOffsetsTopic(name=topic, partitions=[
        ListOffsetsPartition(partition_index=partition, timestamp=timestamp, max_num_offsets=max_num_offsets)])])


async def test_v0_latest_and_earliest_over_rolled_segments(broker: Broker, client) -> None:
    append(broker, 3)
    broker.log_for("t", 0).roll()
    append(broker, 4)

    async def ask(ts: int, n: int) -> tuple[int, list[int]]:
        p = (await client.request(list_offsets_v0("t", ts, n), 0)).topics[0].partitions[0]
        return p.error_code, p.old_style_offsets

    assert await ask(-1, 1) == (E.NONE, [7])
    assert await ask(-1, 10) == (E.NONE, [7, 3, 0])
    assert await ask(-2, 10) == (E.NONE, [0])
    assert await ask(now_ms() + DAY_MS, 10) == (E.NONE, [7, 3, 0])
    assert await ask(0, 10) == (E.NONE, [])  # every segment was modified after 1970


async def test_v0_of_an_empty_partition_is_offset_zero(client) -> None:
    p = (await client.request(list_offsets_v0("t", -1, 5, partition=1), 0)).topics[0].partitions[0]
    assert (p.error_code, p.old_style_offsets) == (E.NONE, [0])


async def test_v0_refuses_newer_special_timestamps(broker: Broker, client) -> None:
    append(broker, 2)
    for ts in (-3, -4, -5, -6):
        p = (await client.request(list_offsets_v0("t", ts), 0)).topics[0].partitions[0]
        assert (p.error_code, p.old_style_offsets) == (E.UNSUPPORTED_VERSION, [])


async def test_v0_unknown_topic_and_partition(client) -> None:
    p = (await client.request(list_offsets_v0("nope", -1), 0)).topics[0].partitions[0]
    assert p.error_code == E.UNKNOWN_TOPIC_OR_PARTITION
    p = (await client.request(list_offsets_v0("t", -1, partition=9), 0)).topics[0].partitions[0]
    assert p.error_code == E.UNKNOWN_TOPIC_OR_PARTITION


async def test_v0_earliest_follows_delete_records(broker: Broker, client) -> None:
    append(broker, 5)
    broker.log_for("t", 0).delete_records(3)
    p = (await client.request(list_offsets_v0("t", -2, 3), 0)).topics[0].partitions[0]
    assert p.old_style_offsets == [3]


# -- ListOffsets: special timestamps per version ----------------------------------------------


def list_offsets(timestamp: int) -> ListOffsetsRequest:
    return ListOffsetsRequest(replica_id=-1, topics=[ListOffsetsTopic(name="t", partitions=[
        ListOffsetsPartition(partition_index=0, timestamp=timestamp)])])


@pytest.mark.parametrize(
    ("version", "timestamp", "answer"),
    [
        (11, -6, (E.NONE, -1, -1, -1)),  # KIP-1023: nothing pending upload without remote storage
        (11, -5, (E.NONE, -1, -1, -1)),
        (11, -1, (E.NONE, 2, -1, 0)),
        (10, -6, (E.UNSUPPORTED_VERSION, -1, -1, -1)),
        (9, -6, (E.UNSUPPORTED_VERSION, -1, -1, -1)),
        (11, -7, (E.UNSUPPORTED_VERSION, -1, -1, -1)),
        (10, -100, (E.UNSUPPORTED_VERSION, -1, -1, -1)),
        (7, -4, (E.UNSUPPORTED_VERSION, -1, -1, -1)),
        (8, -4, (E.NONE, 0, -1, 0)),
        (1, -3, (E.UNSUPPORTED_VERSION, -1, -1, -1)),
    ],
)
async def test_special_timestamps_known_by_each_version(broker: Broker, client, version, timestamp, answer) -> None:
    append(broker, 2)
    p = (await client.request(list_offsets(timestamp), version)).topics[0].partitions[0]
    assert (p.error_code, p.offset, p.timestamp, p.leader_epoch) == answer  # v1-3: no epoch, decoded as -1


# -- OffsetCommit v0 / v1 ------------------------------------------------------------------


def commit_request(topics: dict[str, list[int]], offset: int = 5, **fields) -> OffsetCommitRequest:
    fields.setdefault("group_id", "g")
    commit_timestamp = fields.pop("commit_timestamp", -1)
    return OffsetCommitRequest(
        topics=[
            OffsetCommitRequestTopic(name=name, partitions=[
                OffsetCommitRequestPartition(partition_index=p, committed_offset=offset, committed_metadata="m",
                                             commit_timestamp=commit_timestamp)
                for p in partitions
            ])
            for name, partitions in topics.items()
        ],
        **fields,
    )


def errors_of(response) -> dict:
    return {(t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions}


async def test_commit_v0_is_unsupported_on_every_partition_as_kraft_kafka(broker: Broker, client) -> None:
    response = await client.request(commit_request({"t": [0, 1], "nope": [0]}), 0)
    assert errors_of(response) == {("t", 0): E.UNSUPPORTED_VERSION, ("t", 1): E.UNSUPPORTED_VERSION,
                                   ("nope", 0): E.UNSUPPORTED_VERSION}
    assert "g" not in broker.groups.groups


async def test_commit_v0_of_unknown_partitions_only_answers_unknown(client) -> None:
    response = await client.request(commit_request({"nope": [0], "t": [7]}), 0)
    assert errors_of(response) == {("nope", 0): E.UNKNOWN_TOPIC_OR_PARTITION, ("t", 7): E.UNKNOWN_TOPIC_OR_PARTITION}


async def test_commit_v1_keeps_the_clients_commit_timestamp(broker: Broker, client) -> None:
    response = await client.request(commit_request({"t": [0]}, commit_timestamp=12345), 1)
    assert errors_of(response) == {("t", 0): E.NONE}
    stored = broker.groups.groups["g"].offsets[("t", 0)]
    assert (stored.committed_offset, stored.commit_timestamp, stored.expire_timestamp) == (5, 12345, None)
    plog = broker.log_for(OFFSETS_TOPIC, partition_for("g", 50))
    records = [parse_record(r.key, r.value) for _, view in plog.batches_from(0) for r in decode_records(view)]
    [commit] = [r for r in records if isinstance(r, OffsetCommitRecord)]
    assert commit.value.commit_timestamp == 12345
    assert (await fetch_offsets(client, "g", {"t": [0]}, version=1))[("t", 0)] == (5, -1, "m", E.NONE)


async def test_commit_v1_without_a_timestamp_is_dated_by_the_broker(broker: Broker, client) -> None:
    before = now_ms()
    await client.request(commit_request({"t": [0]}, commit_timestamp=-1), 1)
    assert before <= broker.groups.groups["g"].offsets[("t", 0)].commit_timestamp <= now_ms()


async def test_commit_v1_offsets_expire_from_the_clients_timestamp(broker: Broker, client) -> None:
    old = now_ms() - 8 * DAY_MS  # older than offsets.retention.minutes (7 days)
    await client.request(commit_request({"t": [0]}, commit_timestamp=old, group_id="old"), 1)
    await client.request(commit_request({"t": [0]}, commit_timestamp=-1, group_id="new"), 1)
    broker.groups.cleanup_group_metadata()
    assert (await fetch_offsets(client, "old", {"t": [0]}))[("t", 0)][0] == -1
    assert (await fetch_offsets(client, "new", {"t": [0]}))[("t", 0)][0] == 5


async def test_retention_time_of_v2_expires_the_offset_then_and_v5_has_none(broker: Broker, client) -> None:
    await client.request(commit_request({"t": [0]}, group_id="short", retention_time_ms=60_000), 2)
    await client.request(commit_request({"t": [0]}, group_id="default", retention_time_ms=-1), 4)
    await client.request(commit_request({"t": [0]}, group_id="v5", retention_time_ms=60_000), 5)  # not on the wire
    broker.groups.cleanup_group_metadata()
    assert (await fetch_offsets(client, "short", {"t": [0]}))[("t", 0)][0] == 5
    later = now_ms() + 61_000
    broker.groups.wall_ms = lambda: later
    broker.groups.cleanup_group_metadata()
    assert (await fetch_offsets(client, "short", {"t": [0]}))[("t", 0)][0] == -1
    assert (await fetch_offsets(client, "default", {"t": [0]}))[("t", 0)][0] == 5
    assert (await fetch_offsets(client, "v5", {"t": [0]}))[("t", 0)][0] == 5


async def test_commit_v1_checks_the_generation(broker: Broker, nursery: trio.Nursery, client) -> None:
    member = GroupMember(connect(broker, nursery), "grp")
    await member.join_and_sync()
    stale = commit_request({"t": [0]}, group_id="grp", generation_id_or_member_epoch=member.generation_id + 1,
                           member_id=member.member_id)
    assert errors_of(await client.request(stale, 1)) == {("t", 0): E.ILLEGAL_GENERATION}
    current = commit_request({"t": [0]}, group_id="grp", generation_id_or_member_epoch=member.generation_id,
                             member_id=member.member_id)
    assert errors_of(await client.request(current, 1)) == {("t", 0): E.NONE}


# -- OffsetFetch v0 ------------------------------------------------------------------------


async def test_fetch_v0_is_unsupported_on_every_partition_as_kraft_kafka(client) -> None:
    await client.request(commit_request({"t": [0]}), 2)
    request = OffsetFetchRequest(group_id="g", topics=[
        OffsetFetchRequestTopic(name="t", partition_indexes=[0, 1]),
        OffsetFetchRequestTopic(name="nope", partition_indexes=[3])])
    response = await client.request(request, 0)
    assert [(t.name, p.partition_index, p.committed_offset, p.metadata, p.error_code)
            for t in response.topics for p in t.partitions] == [
        ("t", 0, -1, "", E.UNSUPPORTED_VERSION), ("t", 1, -1, "", E.UNSUPPORTED_VERSION),
        ("nope", 3, -1, "", E.UNSUPPORTED_VERSION),
    ]


# -- OffsetCommit / OffsetFetch v10: topic ids -----------------------------------------------


def by_id_commit(topics: list[tuple[uuid.UUID, list[int]]], group_id: str = "g") -> OffsetCommitRequest:
    return OffsetCommitRequest(group_id=group_id, topics=[
        OffsetCommitRequestTopic(topic_id=tid, partitions=[
            OffsetCommitRequestPartition(partition_index=p, committed_offset=7, committed_metadata="x")
            for p in partitions])
        for tid, partitions in topics
    ])


async def test_commit_v10_names_topics_by_id(broker: Broker, client) -> None:
    tid = broker.cluster.topic("t").topic_id
    unknown = uuid.uuid4()
    response = await client.request(
        by_id_commit([(unknown, [0]), (tid, [1, 9]), (uuid.UUID(int=0), [0])]), 10)
    assert [(t.topic_id, [(p.partition_index, p.error_code) for p in t.partitions]) for t in response.topics] == [
        (unknown, [(0, E.UNKNOWN_TOPIC_ID)]),
        (tid, [(1, E.NONE), (9, E.UNKNOWN_TOPIC_OR_PARTITION)]),
        (uuid.UUID(int=0), [(0, E.UNKNOWN_TOPIC_ID)]),
    ]
    assert (await fetch_offsets(client, "g", {"t": [1]}))[("t", 1)] == (7, -1, "x", E.NONE)


def by_id_fetch(group_id: str, topics: list[tuple[uuid.UUID, list[int]]] | None) -> OffsetFetchRequest:
    wanted = None if topics is None else [
        OffsetFetchRequestTopics(topic_id=tid, partition_indexes=ps) for tid, ps in topics]
    return OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id=group_id, topics=wanted)])


async def test_fetch_v10_names_topics_by_id(broker: Broker, client) -> None:
    broker.create_topic("u", 1)
    t_id, u_id = broker.cluster.topic("t").topic_id, broker.cluster.topic("u").topic_id
    await client.request(by_id_commit([(tid, [0]) for tid in (t_id, u_id)]), 10)
    unknown = uuid.uuid4()
    response = await client.request(by_id_fetch("g", [(u_id, [0]), (unknown, [2]), (t_id, [0, 1])]), 10)
    [group] = response.groups
    assert group.error_code == E.NONE
    assert [(t.topic_id, [(p.partition_index, p.committed_offset, p.metadata, p.error_code) for p in t.partitions])
            for t in group.topics] == [
        (u_id, [(0, 7, "x", E.NONE)]),
        (unknown, [(2, -1, "", E.UNKNOWN_TOPIC_ID)]),
        (t_id, [(0, 7, "x", E.NONE), (1, -1, "", E.NONE)]),
    ]


async def test_fetch_v10_of_every_topic_names_each_by_id(broker: Broker, client) -> None:
    broker.create_topic("u", 1)
    t_id, u_id = broker.cluster.topic("t").topic_id, broker.cluster.topic("u").topic_id
    await client.request(commit_request({"t": [1], "u": [0]}), 9)
    [group] = (await client.request(by_id_fetch("g", None), 10)).groups
    assert {t.topic_id: [(p.partition_index, p.committed_offset) for p in t.partitions] for t in group.topics} == {
        t_id: [(1, 5)], u_id: [(0, 5)],
    }
    # A group without offsets, and an unknown id of a group without offsets.
    [empty] = (await client.request(by_id_fetch("none", None), 10)).groups
    assert (empty.error_code, empty.topics) == (E.NONE, [])


# -- OffsetForLeaderEpoch v0 / v1 --------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
async def test_offset_for_leader_epoch_v0_and_v1(broker: Broker, client, version: int) -> None:
    append(broker, 3)
    request = OffsetForLeaderEpochRequest(topics=[
        OffsetForLeaderTopic(topic="t", partitions=[OffsetForLeaderPartition(partition=0, leader_epoch=0)]),
        OffsetForLeaderTopic(topic="nope", partitions=[OffsetForLeaderPartition(partition=0, leader_epoch=0)]),
    ])
    response = await client.request(request, version)
    ours, unknown = (t.partitions[0] for t in response.topics)
    # v0 carries no leader epoch: it decodes as the default -1.
    assert (ours.error_code, ours.end_offset, ours.leader_epoch) == (E.NONE, 3, 0 if version == 1 else -1)
    assert (unknown.error_code, unknown.end_offset) == (E.UNKNOWN_TOPIC_OR_PARTITION, -1)
