"""OffsetCommit / OffsetFetch / DeleteGroups / JoinGroup against a consumer group (KIP-848):
member ids and member epochs are checked as Kafka's ConsumerGroup does."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.delete_groups import DeleteGroupsRequest
from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopics

from ..groups.helpers import GroupMember, connect, start_broker
from .consumer_group_client import CgMember


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery)
    b.create_topic("t", 2)
    return b


async def member(broker: Broker, nursery) -> CgMember:
    m = CgMember(connect(broker, nursery))
    await m.heartbeat()
    return m


def committer(m: CgMember, epoch: int, member_id: str | None = None) -> GroupMember:
    c = GroupMember(m.client, "g")
    c.member_id, c.generation_id = (m.member_id if member_id is None else member_id), epoch
    return c


async def test_commit_with_the_current_member_epoch_succeeds_and_is_fetched(broker: Broker, nursery) -> None:
    m = await member(broker, nursery)
    assert await committer(m, m.epoch).commit({("t", 0): 5}) == {("t", 0): 0}
    request = OffsetFetchRequest(groups=[OffsetFetchRequestGroup(
        group_id="g", member_id=m.member_id, member_epoch=m.epoch,
        topics=[OffsetFetchRequestTopics(name="t", partition_indexes=[0])])])
    response = await m.client.request(request, 9)
    (group,) = response.groups
    assert group.error_code == 0 and group.topics[0].partitions[0].committed_offset == 5


async def test_commit_with_another_epoch_is_stale(broker: Broker, nursery) -> None:
    m = await member(broker, nursery)
    assert await committer(m, m.epoch + 1).commit({("t", 0): 5}) == {("t", 0): E.STALE_MEMBER_EPOCH}
    assert await committer(m, m.epoch - 1).commit({("t", 0): 5}) == {("t", 0): E.STALE_MEMBER_EPOCH}


async def test_commit_of_an_unknown_member_and_before_v9(broker: Broker, nursery) -> None:
    m = await member(broker, nursery)
    assert await committer(m, 1, "nobody").commit({("t", 0): 5}) == {("t", 0): E.UNKNOWN_MEMBER_ID}
    assert await committer(m, m.epoch).commit({("t", 0): 5}, version=8) == {("t", 0): E.UNSUPPORTED_VERSION}


async def test_admin_commit_needs_an_empty_group(broker: Broker, nursery) -> None:
    m = await member(broker, nursery)
    assert await committer(m, -1, "").commit({("t", 0): 5}) == {("t", 0): E.UNKNOWN_MEMBER_ID}
    await m.leave()
    assert await committer(m, -1, "").commit({("t", 0): 5}) == {("t", 0): 0}


async def test_fetch_with_a_stale_epoch_or_unknown_member(broker: Broker, nursery) -> None:
    m = await member(broker, nursery)

    async def fetch(member_id: str | None, epoch: int) -> int:
        request = OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="g", member_id=member_id, member_epoch=epoch, topics=None)])
        return (await m.client.request(request, 9)).groups[0].error_code

    assert await fetch(m.member_id, m.epoch + 3) == E.STALE_MEMBER_EPOCH
    assert await fetch("nobody", m.epoch) == E.UNKNOWN_MEMBER_ID
    assert await fetch(None, -1) == 0  # admin tools


async def test_delete_groups_refuses_a_consumer_group_with_members(broker: Broker, nursery) -> None:
    m = await member(broker, nursery)
    await committer(m, m.epoch).commit({("t", 0): 5})
    response = await m.client.request(DeleteGroupsRequest(groups_names=["g"]), 2)
    assert response.results[0].error_code == E.NON_EMPTY_GROUP
    await m.leave()
    response = await m.client.request(DeleteGroupsRequest(groups_names=["g"]), 2)
    assert response.results[0].error_code == 0
    assert broker.groups.consumer_group("g") is None and broker.groups.group("g") is None


async def test_classic_join_to_a_consumer_group_with_members_joins_it(broker: Broker, nursery) -> None:
    m = await member(broker, nursery)
    classic = GroupMember(connect(broker, nursery), "g")
    response = await classic.join()
    assert response.error_code == 0 and classic.member_id in broker.groups.consumer_group("g").members
    assert (await classic.leave()).error_code == 0
    await m.leave()
    classic = GroupMember(connect(broker, nursery), "g")
    assert (await classic.join()).error_code == 0  # an empty consumer group gives way


async def test_consumer_member_takes_over_an_empty_classic_group_with_its_offsets(broker: Broker, nursery) -> None:
    classic = GroupMember(connect(broker, nursery), "g")
    await classic.join()
    await classic.sync({classic.member_id: b""})
    await classic.commit({("t", 1): 7})
    m = CgMember(connect(broker, nursery))
    broker.groups.consumer_migration_policy = "disabled"
    assert (await m.heartbeat()).error_code == E.GROUP_ID_NOT_FOUND  # classic group has a member
    await classic.leave()
    assert (await m.heartbeat()).error_code == 0
    request = OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="g", member_id=m.member_id, member_epoch=m.epoch, topics=None)])
    (group,) = (await m.client.request(request, 9)).groups
    assert group.topics[0].partitions[0].committed_offset == 7


async def test_offsets_of_subscribed_topics_do_not_expire_while_the_group_has_members(nursery) -> None:
    broker = start_broker(nursery, offsets_retention_minutes=1)
    broker.create_topic("t", 1)
    broker.create_topic("other", 1)
    m = await member(broker, nursery)
    assert await committer(m, m.epoch).commit({("t", 0): 5, ("other", 0): 1}) == {("t", 0): 0, ("other", 0): 0}
    coordinator = broker.groups
    coordinator.wall_ms = lambda: 10**13  # long past the retention
    coordinator.cleanup_group_metadata()
    assert set(coordinator.group("g").offsets) == {("t", 0)}  # "other" is not subscribed
    await m.leave()
    coordinator.cleanup_group_metadata()
    assert coordinator.group("g") is None and coordinator.consumer_group("g") is None
