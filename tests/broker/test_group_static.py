"""Static membership (KIP-345): a restarted member with the same group.instance.id rejoins
without a rebalance; a stale member id is fenced."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode as E

from ..groups.helpers import GroupMember, connect, start_broker, subscription


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    return start_broker(nursery)


async def stable_pair(broker: Broker, nursery: trio.Nursery, join_version: int = 5) -> tuple[GroupMember, GroupMember]:
    """A static leader "s1" and a static follower "s2" in a stable group, generation 2."""
    s1 = GroupMember(connect(broker, nursery), group_instance_id="s1", join_version=join_version)
    s2 = GroupMember(connect(broker, nursery), group_instance_id="s2", join_version=join_version)
    async with trio.open_nursery() as n:
        n.start_soon(s1.join)
        await trio.sleep(0.1)
        n.start_soon(s2.join)
        await trio.sleep(1)
        await s1.join()
    async with trio.open_nursery() as n:
        n.start_soon(s1.sync, {s1.member_id: b"A1", s2.member_id: b"A2"})
        n.start_soon(s2.sync)
    assert s1.is_leader and s1.generation_id == s2.generation_id == 2
    return s1, s2


async def test_restarted_static_follower_rejoins_without_a_rebalance(broker: Broker, nursery, autojump_clock) -> None:
    s1, s2 = await stable_pair(broker, nursery)
    old_id = s2.member_id
    restarted = GroupMember(connect(broker, nursery), group_instance_id="s2", join_version=5)
    response = await restarted.join()
    assert response.error_code == E.NONE
    assert response.generation_id == 2  # same generation: no rebalance
    assert restarted.member_id != old_id and restarted.member_id.startswith("s2-")
    assert response.leader == s1.member_id and response.members == []
    synced = await restarted.sync()
    assert synced.assignment == b"A2"  # the old member's assignment
    assert await s1.heartbeat() == E.NONE  # the other member saw nothing
    assert broker.groups.groups["g"].state.value == "Stable"
    # The old member id is fenced.
    assert await s2.heartbeat() == E.FENCED_INSTANCE_ID
    assert (await s2.sync()).error_code == E.FENCED_INSTANCE_ID
    assert (await s2.commit({("t", 0): 1})) == {("t", 0): E.UNKNOWN_TOPIC_OR_PARTITION}


async def test_duplicate_instance_with_the_old_member_id_is_fenced_on_join(broker: Broker, nursery,
                                                                           autojump_clock) -> None:
    s1, s2 = await stable_pair(broker, nursery)
    restarted = GroupMember(connect(broker, nursery), group_instance_id="s2", join_version=5)
    await restarted.join()
    response = await s2.join_once()  # the zombie still uses its old member id
    assert response.error_code == E.FENCED_INSTANCE_ID


@pytest.mark.parametrize("version", [5, 8])
async def test_restarted_static_leader_before_v9_is_told_another_leader(broker: Broker, nursery, autojump_clock,
                                                                        version: int) -> None:
    s1, s2 = await stable_pair(broker, nursery)
    restarted = GroupMember(connect(broker, nursery), group_instance_id="s1", join_version=version)
    response = await restarted.join()
    # The old leader id, which is not its own, so it computes no assignment nobody would get.
    assert response.generation_id == 2 and response.leader == s1.member_id != restarted.member_id
    assert (await restarted.sync()).assignment == b"A1"


async def test_restarted_static_leader_from_v9_skips_the_assignment(broker: Broker, nursery, autojump_clock) -> None:
    s1, s2 = await stable_pair(broker, nursery)
    restarted = GroupMember(connect(broker, nursery), group_instance_id="s1", join_version=9)
    response = await restarted.join()
    assert response.skip_assignment is True
    assert response.leader == restarted.member_id
    assert sorted(m.group_instance_id for m in response.members) == ["s1", "s2"]
    assert response.generation_id == 2


async def test_static_member_rejoining_with_another_protocol_triggers_a_rebalance(broker: Broker, nursery,
                                                                                 autojump_clock) -> None:
    s1 = GroupMember(connect(broker, nursery), group_instance_id="s1", join_version=5,
                     protocols=(("range", subscription("t")), ("roundrobin", subscription("t"))))
    await s1.join_and_sync()
    restarted = GroupMember(connect(broker, nursery), group_instance_id="s1", join_version=5,
                            protocols=(("roundrobin", subscription("t")),))
    response = await restarted.join()
    assert response.error_code == E.NONE
    assert response.generation_id == 2 and response.protocol_name == "roundrobin"


async def test_static_member_that_is_gone_is_removed_after_its_session(broker: Broker, nursery, autojump_clock) -> None:
    s1, s2 = await stable_pair(broker, nursery)
    for _ in range(6):
        await trio.sleep(2)
        await s1.heartbeat()
    assert await s1.heartbeat() == E.REBALANCE_IN_PROGRESS  # s2's 10 s session expired
    response = await s1.join()
    assert [m.group_instance_id for m in response.members] == ["s1"]


async def test_static_member_not_rejoining_stays_in_the_group(broker: Broker, nursery, autojump_clock) -> None:
    # At the rebalance timeout a dynamic member that has not rejoined is dropped; a static one
    # that is still alive (heartbeating) stays: it may be restarting (KIP-345).
    s1, s2 = await stable_pair(broker, nursery)
    dynamic = GroupMember(connect(broker, nursery))

    async def s2_only_heartbeats() -> None:
        while True:
            await trio.sleep(2)
            await s2.heartbeat()

    nursery.start_soon(s2_only_heartbeats)
    start = trio.current_time()
    async with trio.open_nursery() as n:
        n.start_soon(dynamic.join)
        await trio.sleep(0.5)
        response = await s1.join()
    assert trio.current_time() - start == pytest.approx(30, abs=1)  # the rebalance timeout
    assert sorted(m.group_instance_id or "dynamic" for m in response.members) == ["dynamic", "s1", "s2"]
    assert broker.groups.groups["g"].static_members.keys() == {"s1", "s2"}
