"""Consumer groups (KIP-848) in the admin APIs: ListGroups lists them with type "consumer",
DescribeGroups does not describe them (Kafka's DescribeGroups is for classic groups)."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest
from kafkalite.wire.messages.list_groups import ListGroupsRequest

from ..groups.helpers import GroupMember, connect, start_broker
from .consumer_group_client import CgMember


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery)
    b.create_topic("t", 2)
    return b


async def two_groups(broker: Broker, nursery) -> CgMember:
    m = CgMember(connect(broker, nursery), "modern")
    await m.heartbeat()
    classic = GroupMember(connect(broker, nursery), "old")
    await classic.join()
    return m


async def test_list_groups_shows_each_group_with_its_type(broker: Broker, nursery) -> None:
    m = await two_groups(broker, nursery)
    response = await m.client.request(ListGroupsRequest(), 5)
    listed = {g.group_id: (g.protocol_type, g.group_state, g.group_type) for g in response.groups}
    assert listed["modern"] == ("consumer", "Stable", "consumer")
    assert listed["old"][2] == "classic"


@pytest.mark.parametrize(("types", "states", "expected"), [
    (["Consumer"], [], {"modern"}),
    (["classic"], [], {"old"}),
    ([], ["stable"], {"modern"}),
    ([], ["empty"], set()),
])
async def test_list_groups_filters_consumer_groups_by_type_and_state(broker: Broker, nursery, types, states, expected) -> None:
    m = await two_groups(broker, nursery)
    response = await m.client.request(ListGroupsRequest(types_filter=types, states_filter=states), 5)
    assert {g.group_id for g in response.groups} - {"old"} == expected - {"old"}
    assert ("old" in {g.group_id for g in response.groups}) == ("old" in expected)


async def test_consumer_group_is_empty_once_its_members_leave(broker: Broker, nursery) -> None:
    m = await two_groups(broker, nursery)
    await m.leave()
    response = await m.client.request(ListGroupsRequest(types_filter=["consumer"]), 5)
    assert [(g.group_id, g.group_state) for g in response.groups] == [("modern", "Empty")]


async def test_describe_groups_does_not_describe_a_consumer_group(broker: Broker, nursery) -> None:
    m = await two_groups(broker, nursery)
    (v6,) = (await m.client.request(DescribeGroupsRequest(groups=["modern"]), 6)).groups
    assert (v6.error_code, v6.error_message, v6.group_state) == (
        E.GROUP_ID_NOT_FOUND, "Group modern is not a classic group.", "Dead")
    (v5,) = (await m.client.request(DescribeGroupsRequest(groups=["modern"]), 5)).groups
    assert (v5.error_code, v5.group_state, v5.members) == (0, "Dead", [])
