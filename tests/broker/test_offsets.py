"""OffsetCommit / OffsetFetch / OffsetDelete, and the records they leave in __consumer_offsets."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.groups.records import OffsetCommitRecord, parse_record, partition_for
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.offset_delete import (
    OffsetDeleteRequest,
    OffsetDeleteRequestPartition,
    OffsetDeleteRequestTopic,
)
from kafkalite.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)
from kafkalite.wire.records import decode_records

from ..groups.helpers import GroupMember, connect, fetch_offsets, simple_commit, start_broker


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery)
    b.create_topic("t", 4)
    b.create_topic("u", 1)
    return b


@pytest.fixture
def client(broker: Broker, nursery: trio.Nursery):
    return connect(broker, nursery)


def offsets_log_records(broker: Broker, group_id: str) -> list:
    plog = broker.log_for(OFFSETS_TOPIC, partition_for(group_id, 50))
    found = []
    for _header, view in plog.batches_from(0):
        for record in decode_records(view):
            found.append(parse_record(record.key, record.value))
    return found


# -- simple (group-less) commits -----------------------------------------------------------


async def test_simple_consumer_commit_and_fetch(client) -> None:
    assert await simple_commit(client, "simple", {("t", 0): 5, ("t", 3): 9}) == {("t", 0): E.NONE, ("t", 3): E.NONE}
    found = await fetch_offsets(client, "simple", {"t": [0, 1, 3]})
    assert found == {("t", 0): (5, 0, "m5", E.NONE), ("t", 1): (-1, -1, "", E.NONE), ("t", 3): (9, 0, "m9", E.NONE)}


async def test_commit_is_a_record_of_the_groups_offsets_partition(broker: Broker, client) -> None:
    await simple_commit(client, "simple", {("t", 2): 7})
    [record] = offsets_log_records(broker, "simple")
    assert isinstance(record, OffsetCommitRecord)
    assert (record.group, record.topic, record.partition) == ("simple", "t", 2)
    assert (record.value.offset, record.value.leader_epoch, record.value.metadata) == (7, 0, "m7")
    assert record.value.commit_timestamp > 0


async def test_unknown_topics_and_partitions_are_answered_per_partition(client) -> None:
    result = await simple_commit(client, "simple", {("t", 0): 1, ("t", 4): 1, ("nope", 0): 1})
    assert result == {("t", 0): E.NONE, ("t", 4): E.UNKNOWN_TOPIC_OR_PARTITION, ("nope", 0): E.UNKNOWN_TOPIC_OR_PARTITION}


async def test_metadata_over_the_limit_is_refused(client) -> None:
    request = OffsetCommitRequest(
        group_id="g", generation_id_or_member_epoch=-1, member_id="",
        topics=[OffsetCommitRequestTopic(name="t", partitions=[
            OffsetCommitRequestPartition(partition_index=0, committed_offset=1, committed_metadata="x" * 4097),
            OffsetCommitRequestPartition(partition_index=1, committed_offset=1, committed_metadata="x" * 4096),
            OffsetCommitRequestPartition(partition_index=2, committed_offset=1, committed_metadata=None),
        ])],
    )
    response = await client.request(request, 8)
    assert [p.error_code for p in response.topics[0].partitions] == [E.OFFSET_METADATA_TOO_LARGE, E.NONE, E.NONE]
    found = await fetch_offsets(client, "g", {"t": [0, 2]})
    assert found[("t", 0)][0] == -1 and found[("t", 2)] == (1, -1, "", E.NONE)


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6, 7, 8, 9])
async def test_every_commit_version_stores_offsets(client, version: int) -> None:
    assert await simple_commit(client, f"g{version}", {("u", 0): 3}, version=version) == {("u", 0): E.NONE}
    assert (await fetch_offsets(client, f"g{version}", {"u": [0]}))[("u", 0)][0] == 3


# -- member commits ------------------------------------------------------------------------


@pytest.fixture
def member(broker: Broker, nursery: trio.Nursery):
    def make(group_id: str = "g", **kwargs) -> GroupMember:
        return GroupMember(connect(broker, nursery), group_id, **kwargs)

    return make


async def test_member_commit(member, client) -> None:
    a = member()
    await a.join_and_sync()
    assert await a.commit({("t", 1): 10}) == {("t", 1): E.NONE}
    assert (await fetch_offsets(client, "g", {"t": [1]}))[("t", 1)] == (10, 0, "m10", E.NONE)


async def test_stale_generation_is_illegal_generation(member) -> None:
    a = member()
    await a.join_and_sync()
    assert await a.commit({("t", 0): 1}, generation_id_or_member_epoch=0) == {("t", 0): E.ILLEGAL_GENERATION}


async def test_unknown_member_is_unknown_member_id(member) -> None:
    a = member()
    await a.join_and_sync()
    assert await a.commit({("t", 0): 1}, member_id="x") == {("t", 0): E.UNKNOWN_MEMBER_ID}


async def test_simple_commit_into_a_group_with_members_is_unknown_member(member, client) -> None:
    await member().join_and_sync()
    assert await simple_commit(client, "g", {("t", 0): 1}) == {("t", 0): E.UNKNOWN_MEMBER_ID}


@pytest.mark.parametrize(("version", "error"), [(8, E.ILLEGAL_GENERATION), (9, E.GROUP_ID_NOT_FOUND)])
async def test_generation_for_a_group_that_does_not_exist(member, version: int, error: E) -> None:
    a = member("ghost")
    a.generation_id, a.member_id = 3, "m"
    assert await a.commit({("t", 0): 1}, version=version) == {("t", 0): error}


async def test_commit_while_completing_rebalance_is_rebalance_in_progress(member) -> None:
    a = member()
    await a.join()
    assert await a.commit({("t", 0): 1}) == {("t", 0): E.REBALANCE_IN_PROGRESS}


async def test_commit_while_preparing_rebalance_is_accepted(member, nursery, autojump_clock) -> None:
    a = member()
    await a.join_and_sync()
    nursery.start_soon(member().join)
    await trio.sleep(1)
    assert await a.heartbeat() == E.REBALANCE_IN_PROGRESS
    assert await a.commit({("t", 0): 1}) == {("t", 0): E.NONE}  # commit before rejoining


async def test_a_commit_keeps_the_session_alive(broker: Broker, member, autojump_clock) -> None:
    a = member(session_timeout_ms=6000)
    await a.join_and_sync()
    for i in range(10):
        await trio.sleep(4)
        assert await a.commit({("t", 0): i}) == {("t", 0): E.NONE}
    assert broker.groups.groups["g"].state.value == "Stable"


async def test_static_member_commit_with_the_wrong_member_id_is_fenced(member) -> None:
    s = member(group_instance_id="i", join_version=5)
    await s.join_and_sync()
    assert await s.commit({("t", 0): 1}, member_id="zombie") == {("t", 0): E.FENCED_INSTANCE_ID}


async def test_retention_time_of_v2_to_v4_sets_an_expiry(broker: Broker, client) -> None:
    request = OffsetCommitRequest(
        group_id="r", generation_id_or_member_epoch=-1, member_id="", retention_time_ms=60_000,
        topics=[OffsetCommitRequestTopic(name="t", partitions=[
            OffsetCommitRequestPartition(partition_index=0, committed_offset=4, committed_metadata="")])],
    )
    await client.request(request, 2)
    stored = broker.groups.groups["r"].offsets[("t", 0)]
    assert stored.expire_timestamp == stored.commit_timestamp + 60_000
    [record] = offsets_log_records(broker, "r")
    assert record.value.expire_timestamp == stored.expire_timestamp


# -- fetch ---------------------------------------------------------------------------------


async def test_v1_fetch_of_an_unknown_group_answers_minus_one(client) -> None:
    found = await fetch_offsets(client, "never", {"t": [0]}, version=1)
    assert found == {("t", 0): (-1, -1, "", E.NONE)}


async def test_null_topics_fetch_every_committed_offset(client) -> None:
    await simple_commit(client, "g", {("t", 2): 3, ("u", 0): 4})
    assert await fetch_offsets(client, "g", None, version=2) == {
        ("t", 2): (3, -1, "m3", E.NONE), ("u", 0): (4, -1, "m4", E.NONE),
    }


async def test_leader_epoch_is_returned_from_v5(client) -> None:
    await simple_commit(client, "g", {("t", 0): 3})
    assert (await fetch_offsets(client, "g", {"t": [0]}, version=5))[("t", 0)][1] == 0
    assert (await fetch_offsets(client, "g", {"t": [0]}, version=4))[("t", 0)][1] == -1  # absent before v5


async def test_v8_fetches_several_groups_at_once(client) -> None:
    await simple_commit(client, "g1", {("t", 0): 1})
    await simple_commit(client, "g2", {("u", 0): 2})
    request = OffsetFetchRequest(
        groups=[
            OffsetFetchRequestGroup(group_id="g1", topics=[OffsetFetchRequestTopics(name="t", partition_indexes=[0])]),
            OffsetFetchRequestGroup(group_id="g2", topics=None),
            OffsetFetchRequestGroup(group_id="none", topics=[OffsetFetchRequestTopics(name="t", partition_indexes=[1])]),
        ],
        require_stable=True,
    )
    for version in (8, 9):
        response = await client.request(request, version)
        got = {
            g.group_id: (g.error_code, [(t.name, p.partition_index, p.committed_offset) for t in g.topics for p in t.partitions])
            for g in response.groups
        }
        assert got == {"g1": (0, [("t", 0, 1)]), "g2": (0, [("u", 0, 2)]), "none": (0, [("t", 1, -1)])}


async def test_require_stable_has_nothing_to_wait_for(client) -> None:
    await simple_commit(client, "g", {("t", 0): 8})
    request = OffsetFetchRequest(group_id="g", topics=[OffsetFetchRequestTopic(name="t", partition_indexes=[0])],
                                 require_stable=True)
    response = await client.request(request, 7)
    assert response.topics[0].partitions[0].committed_offset == 8


# -- OffsetDelete --------------------------------------------------------------------------


def offset_delete(group_id: str, partitions: dict[str, list[int]]) -> OffsetDeleteRequest:
    return OffsetDeleteRequest(group_id=group_id, topics=[
        OffsetDeleteRequestTopic(name=t, partitions=[OffsetDeleteRequestPartition(partition_index=p) for p in ps])
        for t, ps in partitions.items()
    ])


async def test_offset_delete_of_an_empty_group(broker: Broker, client) -> None:
    await simple_commit(client, "g", {("t", 0): 1, ("t", 1): 2})
    response = await client.request(offset_delete("g", {"t": [0], "nope": [0]}), 0)
    assert response.error_code == E.NONE
    assert {(t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions} == {
        ("t", 0): E.NONE, ("nope", 0): E.UNKNOWN_TOPIC_OR_PARTITION,
    }
    assert await fetch_offsets(client, "g", None) == {("t", 1): (2, 0, "m2", E.NONE)}
    assert offsets_log_records(broker, "g")[-1].value is None  # a tombstone


async def test_offset_delete_of_a_subscribed_topic_is_refused(member, client) -> None:
    a = member()  # subscribes to "t"
    await a.join_and_sync()
    await a.commit({("t", 0): 1, ("u", 0): 1})
    response = await client.request(offset_delete("g", {"t": [0], "u": [0]}), 0)
    assert {(t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions} == {
        ("t", 0): E.GROUP_SUBSCRIBED_TO_TOPIC, ("u", 0): E.NONE,
    }


async def test_offset_delete_group_errors(member, client) -> None:
    assert (await client.request(offset_delete("nope", {"t": [0]}), 0)).error_code == E.GROUP_ID_NOT_FOUND
    assert (await client.request(offset_delete("", {"t": [0]}), 0)).error_code == E.INVALID_GROUP_ID
    await member("connect-group", protocol_type="connect").join_and_sync()
    assert (await client.request(offset_delete("connect-group", {"t": [0]}), 0)).error_code == E.NON_EMPTY_GROUP


async def test_deleting_a_topic_deletes_its_committed_offsets(broker: Broker, client) -> None:
    await simple_commit(client, "g", {("t", 0): 1, ("u", 0): 2})
    broker.delete_topic("t")
    assert broker.groups.groups["g"].offsets.keys() == {("u", 0)}
    assert [r.value is None for r in offsets_log_records(broker, "g")][-1]
