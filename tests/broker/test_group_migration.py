"""Classic and consumer protocols in one group (KIP-848 online upgrade / downgrade), as
Kafka's GroupMetadataManager: a consumer-protocol member converts a live classic group, classic
members live inside a consumer group through JoinGroup / SyncGroup / Heartbeat / LeaveGroup,
and the group turns classic again when its last consumer-protocol member leaves."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from kafkalite.broker.state import Broker
from kafkalite.groups.consumer_protocol import assigned_partitions, encode_assignment
from kafkalite.groups.consumer_records import MEMBER_METADATA
from kafkalite.groups.records import GROUP_METADATA_KEY_VERSION
from kafkalite.groups.state import GroupState
from kafkalite.wire.error_codes import ErrorCode as E

from ..groups.helpers import GroupMember, connect, start_broker
from .consumer_group_client import CgMember
from .test_consumer_group_restart import record_types
from .test_group_restart import open_broker


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery)
    b.create_topic("t", 4)
    return b


async def stable_classic_group(broker: Broker, nursery) -> list[GroupMember]:
    """Two classic members of "g", Stable, the leader giving partitions 0, 2 to one and
    1, 3 to the other."""
    a, b = GroupMember(connect(broker, nursery)), GroupMember(connect(broker, nursery))
    await a.join()
    await a.sync({a.member_id: b""})
    async with trio.open_nursery() as joins:
        joins.start_soon(b.join)
        await trio.testing.wait_all_tasks_blocked()
        joins.start_soon(a.join)
    ids = sorted((a.member_id, b.member_id))
    plan = {mid: encode_assignment({"t": [p for p in range(4) if p % 2 == i]}) for i, mid in enumerate(ids)}
    async with trio.open_nursery() as syncs:
        for m in (a, b):
            syncs.start_soon(m.sync, plan if m.is_leader else None)
    assert broker.groups.group("g").is_in(GroupState.STABLE)
    assert owned(a) and owned(b)
    return [a, b]


def owned(m: GroupMember) -> set[int]:
    return set(assigned_partitions(m.assignment).get("t", [])) if m.assignment else set()


async def rejoin_and_sync(m: GroupMember) -> None:
    """What an eager classic client does on REBALANCE_IN_PROGRESS: give up all, rejoin, sync."""
    m.assignment = b""
    joined = await m.join()
    assert joined.error_code == 0, joined
    synced = await m.sync()
    assert synced.error_code in (0, E.REBALANCE_IN_PROGRESS), synced


async def settle(classic: list[GroupMember], modern: list[CgMember], rounds: int = 8) -> None:
    """Heartbeat everyone until nobody is told to rebalance; check no partition ever has two
    owners on the way."""
    for _ in range(rounds):
        busy = False
        for m in classic:
            if await m.heartbeat() == E.REBALANCE_IN_PROGRESS:
                busy = True
                await rejoin_and_sync(m)
            assert_exclusive(classic, modern)
        for c in modern:
            await c.heartbeat()
            assert_exclusive(classic, modern)
        if not busy and all(c.epoch == c.last.member_epoch for c in modern):
            continue
    assert_exclusive(classic, modern)


def assert_exclusive(classic: list[GroupMember], modern: list[CgMember]) -> None:
    seen: list[int] = []
    for m in classic:
        seen += sorted(owned(m))
    for c in modern:
        seen += [p for _t, p in c.partitions()]
    assert len(seen) == len(set(seen)), seen


async def test_consumer_member_upgrades_a_stable_classic_group_keeping_members_and_assignments(broker, nursery) -> None:
    a, b = await stable_classic_group(broker, nursery)
    generation = a.generation_id
    c = CgMember(connect(broker, nursery))
    response = await c.heartbeat()
    assert response.error_code == 0, response
    group = broker.groups.consumer_group("g")
    assert group is not None and broker.groups.group("g") is None
    converted = {m.member_id: m for m in group.members.values()}
    assert converted[a.member_id].uses_classic_protocol and converted[a.member_id].classic.session_timeout_ms == 10_000
    assert converted[a.member_id].member_epoch == generation
    assert {p for ps in converted[a.member_id].assigned.values() for p in ps} == owned(a)
    assert group.group_epoch == generation + 1  # the new member bumped it
    assert c.partitions() == set()  # every partition is still held by the classic members
    # The classic members are told to rejoin; the partitions then move without overlap.
    assert await a.heartbeat() == E.REBALANCE_IN_PROGRESS
    await settle([a, b], [c])
    assert sorted(owned(a) | owned(b) | {p for _t, p in c.partitions()}) == [0, 1, 2, 3]
    assert all(owned(m) for m in (a, b)) and c.partitions()
    assert a.generation_id == group.members[a.member_id].member_epoch == group.group_epoch


async def test_upgrade_writes_a_classic_tombstone_then_the_consumer_group_records(broker, nursery) -> None:
    await stable_classic_group(broker, nursery)
    await CgMember(connect(broker, nursery)).heartbeat()
    types = record_types(broker, "g")
    tombstone = types.index((GROUP_METADATA_KEY_VERSION, True))
    assert types.index((MEMBER_METADATA, False)) > tombstone


@pytest.mark.parametrize(("policy", "upgrades"), [
    ("disabled", False), ("downgrade", False), ("upgrade", True), ("bidirectional", True),
])
async def test_upgrade_follows_the_migration_policy(nursery, policy: str, upgrades: bool) -> None:
    broker = start_broker(nursery, group_consumer_migration_policy=policy)
    broker.create_topic("t", 4)
    await stable_classic_group(broker, nursery)
    c = CgMember(connect(broker, nursery))
    response = await c.heartbeat()
    if upgrades:
        assert response.error_code == 0
    else:
        assert (response.error_code, response.error_message) == (
            E.GROUP_ID_NOT_FOUND, "Cannot upgrade classic group g to consumer group because online upgrade is disabled.")
        assert broker.groups.group("g").is_in(GroupState.STABLE)


async def test_a_classic_group_of_another_protocol_type_is_not_upgraded(broker, nursery) -> None:
    m = GroupMember(connect(broker, nursery), protocol_type="connect")
    await m.join()
    await m.sync({m.member_id: b""})
    response = await CgMember(connect(broker, nursery)).heartbeat()
    assert (response.error_code, response.error_message) == (
        E.GROUP_ID_NOT_FOUND,
        "Cannot upgrade classic group g to consumer group because the group does not use the consumer embedded protocol.")


async def test_a_classic_group_larger_than_the_consumer_maximum_is_not_upgraded(nursery) -> None:
    broker = start_broker(nursery, group_consumer_max_size=1)
    broker.create_topic("t", 4)
    await stable_classic_group(broker, nursery)
    response = await CgMember(connect(broker, nursery)).heartbeat()
    assert response.error_code == E.GROUP_ID_NOT_FOUND
    assert "exceeds the consumer group maximum size" in response.error_message


async def test_a_parked_join_is_told_to_rebalance_by_the_upgrade(broker, nursery) -> None:
    a, b = await stable_classic_group(broker, nursery)
    results = []

    async def rejoin() -> None:
        results.append(await a.join_once())

    nursery.start_soon(rejoin)  # the leader rejoining starts a rebalance; it waits for b
    await trio.testing.wait_all_tasks_blocked()
    assert (await CgMember(connect(broker, nursery)).heartbeat()).error_code == 0
    await trio.testing.wait_all_tasks_blocked()
    assert results[0].error_code == E.REBALANCE_IN_PROGRESS


async def test_classic_member_joins_a_consumer_group(broker, nursery) -> None:
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    m = GroupMember(connect(broker, nursery))
    first = await m.join_once()
    assert (first.error_code, first.generation_id) == (E.MEMBER_ID_REQUIRED, -1) and first.member_id
    joined = await m.join_once()
    group = broker.groups.consumer_group("g")
    assert joined.error_code == 0
    assert joined.generation_id == group.members[m.member_id].member_epoch == group.group_epoch
    assert (joined.leader, joined.protocol_name, list(joined.members)) == ("", "range", [])
    synced = await m.sync()
    assert synced.error_code == 0
    # The consumer member still holds everything: the classic member waits for its share.
    assert owned(m) == set()
    await c.heartbeat()  # revokes
    await c.heartbeat()
    assert await m.heartbeat() == E.REBALANCE_IN_PROGRESS  # its partitions are free now
    await rejoin_and_sync(m)
    assert len(owned(m)) == 2 and {p for _t, p in c.partitions()} == {0, 1, 2, 3} - owned(m)
    assert await m.heartbeat() == E.NONE


async def test_classic_requests_in_a_consumer_group_are_validated_as_kafka(broker, nursery) -> None:
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    m = GroupMember(connect(broker, nursery))
    await m.join()
    assert await m.heartbeat(generation_id=m.generation_id + 5) == E.ILLEGAL_GENERATION
    assert (await m.sync(generation_id=m.generation_id + 5)).error_code == E.ILLEGAL_GENERATION
    assert (await m.sync(protocol_name="roundrobin")).error_code == E.INCONSISTENT_GROUP_PROTOCOL
    assert await m.heartbeat(member_id="nobody") == E.UNKNOWN_MEMBER_ID
    # A consumer-protocol member cannot use the classic APIs.
    assert await m.heartbeat(member_id=c.member_id, generation_id=c.epoch) == E.UNKNOWN_MEMBER_ID
    other = GroupMember(connect(broker, nursery), protocols=(("roundrobin", b"\x00\x00\x00\x00\x00\x01\x00\x01t\xff\xff\xff\xff"),))
    assert (await other.join()).error_code == E.INCONSISTENT_GROUP_PROTOCOL
    wrong_type = GroupMember(connect(broker, nursery), protocol_type="connect")
    assert (await wrong_type.join()).error_code == E.INCONSISTENT_GROUP_PROTOCOL


async def test_classic_join_to_a_consumer_group_is_refused_when_migration_is_disabled(nursery) -> None:
    broker = start_broker(nursery, group_consumer_migration_policy="disabled")
    broker.create_topic("t", 4)
    await CgMember(connect(broker, nursery)).heartbeat()
    assert (await GroupMember(connect(broker, nursery)).join()).error_code == E.INCONSISTENT_GROUP_PROTOCOL


async def test_classic_member_leaves_a_consumer_group(broker, nursery) -> None:
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    m = GroupMember(connect(broker, nursery))
    await m.join()
    group = broker.groups.consumer_group("g")
    epoch = group.group_epoch
    response = await m.leave()
    assert response.error_code == 0 and response.members[0].error_code == 0
    assert m.member_id not in group.members and group.group_epoch == epoch + 1
    assert broker.groups.consumer_group("g") is group  # still a consumer group


async def test_classic_member_commits_offsets_with_its_member_epoch(broker, nursery) -> None:
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    m = GroupMember(connect(broker, nursery))
    await m.join()
    assert set((await m.commit({("t", 0): 5}, version=7)).values()) == {0}
    stale = await m.commit({("t", 0): 6}, version=7, generation_id_or_member_epoch=m.generation_id - 1)
    assert set(stale.values()) == {E.ILLEGAL_GENERATION}


async def test_classic_member_missing_its_session_is_fenced(broker, nursery, autojump_clock) -> None:
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    m = GroupMember(connect(broker, nursery), session_timeout_ms=6000)
    await m.join()
    await m.sync()
    group = broker.groups.consumer_group("g")
    await trio.sleep(3)
    await c.heartbeat()
    assert m.member_id in group.members
    await trio.sleep(4)
    assert m.member_id not in group.members


async def test_last_consumer_member_leaving_downgrades_to_a_classic_group(broker, nursery) -> None:
    a, b = await stable_classic_group(broker, nursery)
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    await settle([a, b], [c])
    epoch = broker.groups.consumer_group("g").group_epoch
    await c.leave()
    assert broker.groups.consumer_group("g") is None
    classic = broker.groups.group("g")
    assert classic.is_in(GroupState.PREPARING_REBALANCE) and classic.generation_id == epoch
    assert set(classic.members) == {a.member_id, b.member_id}
    assert await a.heartbeat() == E.REBALANCE_IN_PROGRESS
    async with trio.open_nursery() as joins:
        joins.start_soon(a.join)
        joins.start_soon(b.join)
    assert a.generation_id == epoch + 1 and classic.protocol_name == "range"
    leader = a if a.is_leader else b
    assert len(leader.members) == 2


@pytest.mark.parametrize("policy", ["upgrade", "disabled"])
async def test_no_downgrade_unless_the_policy_allows_it(nursery, policy: str) -> None:
    broker = start_broker(nursery, group_consumer_migration_policy="bidirectional")
    broker.create_topic("t", 4)
    a, b = await stable_classic_group(broker, nursery)
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    broker.groups.consumer_migration_policy = policy
    await c.leave()
    assert broker.groups.consumer_group("g") is not None and broker.groups.group("g") is None
    assert set(broker.groups.consumer_group("g").members) == {a.member_id, b.member_id}


async def test_classic_members_of_a_consumer_group_survive_a_restart(tmp_path: Path, nursery) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first, group_initial_rebalance_delay_ms=0)
        broker.create_topic("t", 4)
        c = CgMember(connect(broker, first))
        await c.heartbeat()
        m = GroupMember(connect(broker, first), session_timeout_ms=7000)
        await m.join()
        group = broker.groups.consumer_group("g")
        before = {k: (v.classic, v.member_epoch, v.state, v.assigned, v.subscribed_topic_names) for k, v in group.members.items()}
        first.cancel_scope.cancel()
    broker.close()
    restarted = open_broker(tmp_path, nursery)
    group = restarted.groups.consumer_group("g")
    after = {k: (v.classic, v.member_epoch, v.state, v.assigned, v.subscribed_topic_names) for k, v in group.members.items()}
    assert after == before and after[m.member_id][0].session_timeout_ms == 7000


async def test_a_downgrade_survives_a_restart(tmp_path: Path, nursery) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first, group_initial_rebalance_delay_ms=0)
        broker.create_topic("t", 4)
        a, b = await stable_classic_group(broker, first)
        c = CgMember(connect(broker, first))
        await c.heartbeat()
        await c.leave()
        members = set(broker.groups.group("g").members)
        first.cancel_scope.cancel()
    broker.close()
    restarted = open_broker(tmp_path, nursery)
    assert restarted.groups.consumer_group("g") is None
    assert set(restarted.groups.group("g").members) == members


async def test_a_consumer_member_missing_its_session_downgrades_the_group(nursery, autojump_clock) -> None:
    broker = start_broker(nursery, group_consumer_session_timeout_ms=5000, group_consumer_heartbeat_interval_ms=1000)
    broker.create_topic("t", 4)
    a = GroupMember(connect(broker, nursery), session_timeout_ms=30_000)
    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    await a.join()
    await trio.sleep(6)  # c is silent: fenced, and a alone is left
    assert broker.groups.consumer_group("g") is None
    assert broker.groups.group("g") is not None and set(broker.groups.group("g").members) == {a.member_id}


async def test_a_classic_static_member_replacing_the_last_consumer_member_downgrades_without_rebalance(
    broker, nursery
) -> None:
    c = CgMember(connect(broker, nursery), instance_id="i-1")
    await c.heartbeat()
    other = GroupMember(connect(broker, nursery))
    await other.join()
    await c.heartbeat()
    await c.leave(-2)  # a static member that will come back
    back = GroupMember(connect(broker, nursery), group_instance_id="i-1", join_version=7)
    joined = await back.join()
    assert joined.error_code == 0
    classic = broker.groups.group("g")
    assert broker.groups.consumer_group("g") is None
    assert classic.is_in(GroupState.STABLE) and set(classic.members) == {back.member_id, other.member_id}
    assert joined.generation_id == classic.generation_id
    synced = await back.sync()
    assert synced.error_code == 0 and owned(back) == {p for _t, p in c.partitions()}


def test_the_migration_policy_setting_takes_kafkas_values() -> None:
    from kafkalite.broker.settings import BrokerConfig

    assert BrokerConfig(memory=True).group_consumer_migration_policy == "bidirectional"
    for policy in ("disabled", "upgrade", "downgrade", "bidirectional"):
        assert BrokerConfig(memory=True, group_consumer_migration_policy=policy).group_consumer_migration_policy == policy
    with pytest.raises(ValueError):
        BrokerConfig(memory=True, group_consumer_migration_policy="sideways")


async def test_consumer_group_describe_tells_classic_members_apart(broker, nursery) -> None:
    from kafkalite.wire.messages.consumer_group_describe import ConsumerGroupDescribeRequest

    c = CgMember(connect(broker, nursery))
    await c.heartbeat()
    m = GroupMember(connect(broker, nursery))
    await m.join()
    response = await c.client.request(ConsumerGroupDescribeRequest(group_ids=["g"], include_authorized_operations=False), 1)
    (group,) = response.groups
    assert {x.member_id: x.member_type for x in group.members} == {c.member_id: 1, m.member_id: 0}


async def test_an_assignment_with_user_data_refuses_the_upgrade(broker, nursery) -> None:
    a = GroupMember(connect(broker, nursery))
    await a.join()
    with_user_data = encode_assignment({"t": [0, 1, 2, 3]})[:-4] + b"\x00\x00\x00\x02ok"
    await a.sync({a.member_id: with_user_data})
    response = await CgMember(connect(broker, nursery)).heartbeat()
    assert response.error_code == E.GROUP_ID_NOT_FOUND
    assert response.error_message.startswith(
        "Cannot upgrade classic group g to consumer group because an unsupported custom assignor is in use.")
    assert broker.groups.group("g").is_in(GroupState.STABLE)


def test_assignment_user_data_is_read_after_the_partitions() -> None:
    from kafkalite.groups.consumer_protocol import assignment_user_data

    plain = encode_assignment({"t": [0, 2], "u": [1]})
    assert assignment_user_data(plain) is None
    assert assignment_user_data(plain[:-4] + b"\x00\x00\x00\x03abc") == b"abc"
    assert assignment_user_data(plain[:-4] + b"\x00\x00\x00\x00") == b""
