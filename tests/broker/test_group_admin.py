"""DescribeGroups, ListGroups and DeleteGroups."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.groups.records import GroupMetadataRecord, parse_record, partition_for
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.delete_groups import DeleteGroupsRequest
from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest
from kafkalite.wire.messages.list_groups import ListGroupsRequest
from kafkalite.wire.records import decode_records

from ..groups.helpers import GroupMember, connect, fetch_offsets, simple_commit, start_broker, subscription

INT32_MIN = -(2**31)


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery)
    b.create_topic("t", 2)
    return b


@pytest.fixture
def client(broker: Broker, nursery: trio.Nursery):
    return connect(broker, nursery)


@pytest.fixture
def member(broker: Broker, nursery: trio.Nursery):
    def make(group_id: str = "g", **kwargs) -> GroupMember:
        return GroupMember(connect(broker, nursery), group_id, **kwargs)

    return make


async def test_describe_a_stable_group(member, client) -> None:
    a = member(group_instance_id="i1", join_version=5)
    await a.join_and_sync()
    response = await client.request(DescribeGroupsRequest(groups=["g"], include_authorized_operations=True), 5)
    [g] = response.groups
    assert (g.error_code, g.group_id, g.group_state, g.protocol_type, g.protocol_data) == (
        0, "g", "Stable", "consumer", "range")
    [m] = g.members
    assert (m.member_id, m.group_instance_id, m.client_id, m.client_host) == (a.member_id, "i1", "test", "/memory")
    assert (m.member_metadata, m.member_assignment) == (subscription("t"), a.member_id.encode())
    # Kafka's group operations: READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
    assert g.authorized_operations == (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11) == 3400


async def test_describe_shows_no_metadata_while_rebalancing(member, client) -> None:
    a = member()
    await a.join()  # CompletingRebalance until the leader syncs
    [g] = (await client.request(DescribeGroupsRequest(groups=["g"]), 3)).groups
    assert (g.group_state, g.protocol_data) == ("CompletingRebalance", "")
    assert [(m.member_metadata, m.member_assignment) for m in g.members] == [(b"", b"")]
    assert g.authorized_operations == INT32_MIN  # not asked for


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5])
async def test_unknown_group_is_dead_before_v6(client, version: int) -> None:
    [g] = (await client.request(DescribeGroupsRequest(groups=["nope"]), version)).groups
    assert (g.error_code, g.group_state, g.members) == (0, "Dead", [])


async def test_unknown_group_is_group_id_not_found_from_v6(client) -> None:
    [g] = (await client.request(DescribeGroupsRequest(groups=["nope"]), 6)).groups
    assert (g.error_code, g.error_message, g.group_state) == (E.GROUP_ID_NOT_FOUND, "Group nope not found.", "Dead")


async def test_list_groups(member, client) -> None:
    await member("stable").join_and_sync()
    await member("completing").join()
    await simple_commit(client, "simple", {("t", 0): 1})
    response = await client.request(ListGroupsRequest(), 0)
    assert sorted((g.group_id, g.protocol_type) for g in response.groups) == [
        ("completing", "consumer"), ("simple", ""), ("stable", "consumer"),
    ]
    response = await client.request(ListGroupsRequest(states_filter=["stable", "EMPTY"]), 4)
    assert sorted((g.group_id, g.group_state) for g in response.groups) == [("simple", "Empty"), ("stable", "Stable")]
    response = await client.request(ListGroupsRequest(types_filter=["classic"]), 5)
    assert {g.group_type for g in response.groups} == {"classic"} and len(response.groups) == 3
    response = await client.request(ListGroupsRequest(types_filter=["consumer"]), 5)
    assert response.groups == []


async def test_delete_groups(broker: Broker, member, client) -> None:
    await simple_commit(client, "empty", {("t", 0): 1, ("t", 1): 2})
    await member("busy").join_and_sync()
    response = await client.request(DeleteGroupsRequest(groups_names=["empty", "busy", "nope", "empty"]), 2)
    assert [(r.group_id, r.error_code) for r in response.results] == [
        ("empty", E.NONE), ("busy", E.NON_EMPTY_GROUP), ("nope", E.GROUP_ID_NOT_FOUND),
    ]
    assert "empty" not in broker.groups.groups
    assert await fetch_offsets(client, "empty", None) == {}
    # Tombstones for both offsets, then for the group.
    plog = broker.log_for(OFFSETS_TOPIC, partition_for("empty", 50))
    records = [parse_record(r.key, r.value) for _h, v in plog.batches_from(0) for r in decode_records(v)]
    assert [r.value is None for r in records] == [False, False, True, True, True]
    assert isinstance(records[-1], GroupMetadataRecord)


async def test_a_deleted_group_can_be_used_again(member, client) -> None:
    a = member()
    await a.join_and_sync()
    await a.leave()
    assert (await client.request(DeleteGroupsRequest(groups_names=["g"]), 0)).results[0].error_code == E.NONE
    b = member()
    joined, _ = await b.join_and_sync()
    assert joined.generation_id == 1
