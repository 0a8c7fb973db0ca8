"""JoinGroup / SyncGroup / Heartbeat / LeaveGroup over the wire, under trio's mock clock."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.leave_group import LeaveGroupRequest, MemberIdentity

from ..groups.helpers import GroupMember, connect, start_broker, subscription


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    return start_broker(nursery)


@pytest.fixture
def member(broker: Broker, nursery: trio.Nursery):
    def make(group_id: str = "g", **kwargs) -> GroupMember:
        return GroupMember(connect(broker, nursery), group_id, **kwargs)

    return make


# -- the first join ------------------------------------------------------------------------


async def test_first_join_from_v4_is_member_id_required_with_a_fresh_id(member) -> None:
    a = member(join_version=4)
    response = await a.join_once()
    assert response.error_code == E.MEMBER_ID_REQUIRED
    assert response.member_id.startswith("test-")  # client id + "-" + uuid
    assert response.generation_id == -1
    response = await a.join_once()
    assert response.error_code == E.NONE
    assert (response.generation_id, response.leader, response.member_id) == (1, a.member_id, a.member_id)
    assert [(m.member_id, m.metadata) for m in response.members] == [(a.member_id, subscription("t"))]
    assert response.protocol_name == "range"


@pytest.mark.parametrize("version", [0, 1, 2, 3])
async def test_joins_before_v4_get_a_member_id_at_once(member, version: int) -> None:
    a = member(join_version=version)
    response = await a.join_once()
    assert response.error_code == E.NONE
    assert response.member_id and response.generation_id == 1 and response.leader == response.member_id


async def test_static_member_first_join_needs_no_member_id_round_trip(member) -> None:
    a = member(join_version=5, group_instance_id="instance-1")
    response = await a.join_once()
    assert response.error_code == E.NONE
    assert response.member_id.startswith("instance-1-")
    assert response.members[0].group_instance_id == "instance-1"


async def test_v7_names_the_protocol_type(member) -> None:
    a = member(join_version=7)
    response = await a.join()
    assert (response.protocol_type, response.protocol_name) == ("consumer", "range")


@pytest.mark.parametrize(("version", "expected"), [(6, ""), (7, None)])
async def test_error_response_protocol_name_is_empty_before_v7_and_null_after(member, version, expected) -> None:
    a = member(join_version=version)
    response = await a.join_once(session_timeout_ms=1)
    assert response.error_code == E.INVALID_SESSION_TIMEOUT
    assert response.protocol_name == expected


@pytest.mark.parametrize(("timeout", "error"), [(5999, E.INVALID_SESSION_TIMEOUT), (6000, E.NONE),
                                                (1_800_000, E.NONE), (1_800_001, E.INVALID_SESSION_TIMEOUT)])
async def test_session_timeout_bounds(member, timeout: int, error: E) -> None:
    response = await member(session_timeout_ms=timeout).join()
    assert response.error_code == error


async def test_empty_group_id_is_invalid(member) -> None:
    response = await member(group_id="").join()
    assert response.error_code == E.INVALID_GROUP_ID


async def test_known_member_id_for_an_unknown_group_is_unknown_member(member) -> None:
    a = member()
    a.member_id = "made-up"
    response = await a.join_once()
    assert response.error_code == E.UNKNOWN_MEMBER_ID


@pytest.mark.parametrize(("protocol_type", "protocols"), [("", (("range", b""),)), ("consumer", ())])
async def test_a_new_group_needs_a_protocol_type_and_a_protocol(member, protocol_type, protocols) -> None:
    a = member(protocol_type=protocol_type, protocols=protocols or None)
    if not protocols:
        a.protocols = ()
    response = await a.join()
    assert response.error_code == E.INCONSISTENT_GROUP_PROTOCOL


async def test_member_with_another_protocol_type_is_inconsistent(member) -> None:
    await member().join_and_sync()
    response = await member(protocol_type="connect").join()
    assert response.error_code == E.INCONSISTENT_GROUP_PROTOCOL


async def test_member_without_a_common_protocol_is_inconsistent(member) -> None:
    await member(protocols=(("range", b""),)).join_and_sync()
    response = await member(protocols=(("roundrobin", b""),)).join()
    assert response.error_code == E.INCONSISTENT_GROUP_PROTOCOL


async def test_unknown_member_of_an_existing_group_is_unknown_member(member) -> None:
    await member().join_and_sync()
    b = member()
    b.member_id = "made-up"
    assert (await b.join_once()).error_code == E.UNKNOWN_MEMBER_ID


async def test_group_max_size(broker: Broker, nursery: trio.Nursery) -> None:
    broker.groups.group_max_size = 1
    a = GroupMember(connect(broker, nursery))
    await a.join_and_sync()
    b = GroupMember(connect(broker, nursery))
    response = await b.join()
    assert response.error_code == E.GROUP_MAX_SIZE_REACHED


# -- rebalances ----------------------------------------------------------------------------


async def test_second_member_waits_for_the_first_to_rejoin(member, nursery: trio.Nursery, autojump_clock) -> None:
    a = member()
    await a.join_and_sync()
    b = member()
    results: dict[str, object] = {}

    async def b_joins() -> None:
        results["b"] = await b.join()

    nursery.start_soon(b_joins)
    await trio.sleep(1)
    assert "b" not in results  # parked until everybody rejoins
    assert await a.heartbeat() == E.REBALANCE_IN_PROGRESS
    joined = await a.join()
    await trio.sleep(0)
    assert joined.generation_id == 2 and results["b"].generation_id == 2
    # The leader gets every member's metadata; the follower none.
    assert sorted(m.member_id for m in joined.members) == sorted([a.member_id, b.member_id])
    assert results["b"].members == [] and results["b"].leader == a.member_id


async def test_follower_sync_waits_for_the_leaders_assignment(member, nursery: trio.Nursery, autojump_clock) -> None:
    a, b = member(), member()
    async with trio.open_nursery() as n:
        n.start_soon(a.join)
        n.start_soon(b.join)
        await trio.sleep(1)
        # The first to arrive completed generation 1 alone; the other rebalance needs it back.
        for m in (a, b):
            if m.generation_id == 1:
                await m.join()
    assert a.generation_id == b.generation_id == 2
    leader, follower = (a, b) if a.is_leader else (b, a)
    synced: dict[str, object] = {}

    async def follower_syncs() -> None:
        synced["f"] = await follower.sync()

    nursery.start_soon(follower_syncs)
    await trio.sleep(1)
    assert "f" not in synced
    response = await leader.sync({leader.member_id: b"L", follower.member_id: b"F"})
    await trio.sleep(0)
    assert response.assignment == b"L" and synced["f"].assignment == b"F"
    assert synced["f"].protocol_name == "range" and synced["f"].protocol_type == "consumer"


async def test_protocol_all_members_support_is_chosen(member, nursery: trio.Nursery, autojump_clock) -> None:
    a = member(protocols=(("cooperative-sticky", b"a"), ("range", b"a")))
    await a.join_and_sync()
    assert a.protocol_name == "cooperative-sticky"
    b = member(protocols=(("range", b"b"),))
    async with trio.open_nursery() as n:
        n.start_soon(b.join)
        await trio.sleep(1)
        await a.join()
    assert a.protocol_name == b.protocol_name == "range"
    assert {m.metadata for m in a.members} == {b"a", b"b"}  # each member's range metadata


async def test_follower_rejoining_with_the_same_metadata_gets_the_current_generation(member) -> None:
    a = member()
    await a.join_and_sync()
    # Only one member: it is the leader, and a leader rejoining forces a rebalance.
    response = await a.join()
    assert response.generation_id == 2


async def test_leader_leaving_hands_leadership_to_a_remaining_member(member, nursery, autojump_clock) -> None:
    a, b = member(), member()
    await a.join_and_sync()
    async with trio.open_nursery() as n:
        n.start_soon(b.join)
        await trio.sleep(1)
        await a.join()
    await trio.sleep(0)
    async with trio.open_nursery() as n:
        n.start_soon(a.sync, {a.member_id: b"", b.member_id: b""})
        n.start_soon(b.sync)
    assert a.is_leader
    assert (await a.leave()).error_code == E.NONE
    assert await b.heartbeat() == E.REBALANCE_IN_PROGRESS
    response = await b.join()
    assert response.leader == b.member_id and response.generation_id == 3


async def test_last_member_leaving_empties_the_group_in_a_new_generation(broker: Broker, member) -> None:
    a = member()
    await a.join_and_sync()
    await a.leave()
    group = broker.groups.groups["g"]
    assert (group.state.value, group.generation_id) == ("Empty", 2)


async def test_member_that_stops_heartbeating_is_removed_after_its_session(member, nursery, autojump_clock) -> None:
    a, b = member(session_timeout_ms=6000), member(session_timeout_ms=6000)
    async with trio.open_nursery() as n:
        n.start_soon(a.join)
        await trio.sleep(0.1)
        n.start_soon(b.join)
        await trio.sleep(1)
        await a.join()  # a got generation 1 alone; now rejoin with b
    async with trio.open_nursery() as n:
        for m in (a, b):
            n.start_soon(m.sync, {a.member_id: b"p0,p1", b.member_id: b"p2,p3"} if m.is_leader else None)
    start = trio.current_time()
    # a keeps heartbeating every 2 s; b has died.
    while True:
        await trio.sleep(2)
        error = await a.heartbeat()
        if error != E.NONE:
            break
    assert error == E.REBALANCE_IN_PROGRESS
    assert 6 <= trio.current_time() - start <= 8
    response = await a.join()
    assert [m.member_id for m in response.members] == [a.member_id]
    synced = await a.sync({a.member_id: b"p0,p1,p2,p3"})
    assert synced.assignment == b"p0,p1,p2,p3"


async def test_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout(member, nursery, autojump_clock) -> None:
    a = member(rebalance_timeout_ms=20_000)
    b = member(rebalance_timeout_ms=20_000)
    await a.join_and_sync()
    results: dict[str, object] = {}

    async def b_joins() -> None:
        results["b"] = await b.join()

    start = trio.current_time()
    nursery.start_soon(b_joins)
    # a keeps its session alive but ignores REBALANCE_IN_PROGRESS.
    while "b" not in results:
        await trio.sleep(3)
        await a.heartbeat()
    assert trio.current_time() - start == pytest.approx(21, abs=3)
    assert [m.member_id for m in results["b"].members] == [b.member_id]
    assert await a.heartbeat() == E.UNKNOWN_MEMBER_ID


async def test_member_that_never_syncs_is_dropped_and_the_group_rebalances(broker: Broker, member, nursery,
                                                                           autojump_clock) -> None:
    a = member(rebalance_timeout_ms=10_000)
    await a.join()
    start = trio.current_time()
    while broker.groups.groups["g"].state.value != "Empty":
        await trio.sleep(1)
        if trio.current_time() - start < 10:
            # heartbeats keep the session, but the SyncGroup never comes
            assert await a.heartbeat() == E.NONE
    assert trio.current_time() - start == pytest.approx(10, abs=1.5)


async def test_pending_member_id_blocks_the_rebalance_until_its_session_ends(member, nursery, autojump_clock) -> None:
    a = member(session_timeout_ms=6000)
    await a.join_and_sync()
    ghost = member(session_timeout_ms=6000)
    assert (await ghost.join_once()).error_code == E.MEMBER_ID_REQUIRED  # and never comes back
    b = member(session_timeout_ms=6000)
    start = trio.current_time()
    async with trio.open_nursery() as n:
        n.start_soon(b.join)
        await trio.sleep(0.5)
        assert await a.heartbeat() == E.REBALANCE_IN_PROGRESS
        await a.join()
    # the join phase could only end once the ghost's pending id expired
    assert trio.current_time() - start == pytest.approx(6, abs=0.6)
    assert a.generation_id == b.generation_id == 2


# -- heartbeat errors ----------------------------------------------------------------------


async def test_heartbeat_errors(member) -> None:
    a = member()
    await a.join_and_sync()
    assert await a.heartbeat() == E.NONE
    assert await a.heartbeat(generation_id=0) == E.ILLEGAL_GENERATION
    assert await a.heartbeat(member_id="nobody") == E.UNKNOWN_MEMBER_ID
    assert await a.heartbeat(group_id="other") == E.UNKNOWN_MEMBER_ID
    assert await a.heartbeat(group_id="") == E.INVALID_GROUP_ID
    assert await a.heartbeat(group_instance_id="not-mine") == E.UNKNOWN_MEMBER_ID


async def test_heartbeat_after_the_join_response_is_fine_while_completing(member) -> None:
    a = member()
    await a.join()
    assert await a.heartbeat() == E.NONE  # CompletingRebalance: the leader is computing


async def test_heartbeat_of_a_member_of_an_emptied_group_is_unknown_member(member) -> None:
    a = member()
    await a.join_and_sync()
    await a.leave()
    assert await a.heartbeat(generation_id=2) == E.UNKNOWN_MEMBER_ID


# -- sync errors ---------------------------------------------------------------------------


async def test_sync_errors(member, nursery, autojump_clock) -> None:
    a = member()
    await a.join_and_sync()
    assert (await a.sync(generation_id=7)).error_code == E.ILLEGAL_GENERATION
    assert (await a.sync(member_id="nobody")).error_code == E.UNKNOWN_MEMBER_ID
    assert (await a.sync(group_id="other")).error_code == E.UNKNOWN_MEMBER_ID
    assert (await a.sync(group_id="")).error_code == E.INVALID_GROUP_ID
    assert (await a.sync(protocol_name="roundrobin")).error_code == E.INCONSISTENT_GROUP_PROTOCOL
    assert (await a.sync(protocol_type="connect")).error_code == E.INCONSISTENT_GROUP_PROTOCOL
    assert (await a.sync(protocol_name=None)).error_code == E.INCONSISTENT_GROUP_PROTOCOL  # v5 requires both
    a.sync_version = 4
    assert (await a.sync(protocol_name=None)).error_code == E.NONE  # before v5 they are absent
    # Stable: a repeated sync gets the current assignment.
    assert (await a.sync()).assignment == a.member_id.encode()
    b = member()
    nursery.start_soon(b.join)
    await trio.sleep(1)
    assert (await a.sync()).error_code == E.REBALANCE_IN_PROGRESS


async def test_parked_sync_is_told_to_rejoin_when_a_new_member_arrives(member, nursery, autojump_clock) -> None:
    a, b = member(), member()
    async with trio.open_nursery() as n:
        n.start_soon(a.join)
        await trio.sleep(0.1)
        n.start_soon(b.join)
        await trio.sleep(1)
        await a.join()
    follower = b if a.is_leader else a
    synced: dict[str, object] = {}

    async def follower_syncs() -> None:
        synced["f"] = await follower.sync()

    nursery.start_soon(follower_syncs)
    await trio.sleep(1)
    nursery.start_soon(member().join)
    await trio.sleep(1)
    assert synced["f"].error_code == E.REBALANCE_IN_PROGRESS


async def test_sync_of_an_empty_group_is_unknown_member(broker: Broker, member) -> None:
    a = member()
    await a.join_and_sync()
    await a.leave()
    assert (await a.sync(generation_id=2)).error_code == E.UNKNOWN_MEMBER_ID


# -- leave ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1, 2])
async def test_leave_before_v3_answers_the_members_error(member, version: int) -> None:
    a = member()
    await a.join_and_sync()
    assert (await a.leave(version)).error_code == E.NONE
    assert (await a.leave(version)).error_code == E.UNKNOWN_MEMBER_ID


async def test_batch_leave_answers_each_member(broker: Broker, member, nursery, autojump_clock) -> None:
    a, s = member(), member(group_instance_id="static-1", join_version=5)
    async with trio.open_nursery() as n:
        n.start_soon(a.join)
        await trio.sleep(0.1)
        n.start_soon(s.join)
        await trio.sleep(1)
        await a.join()
    request = LeaveGroupRequest(
        group_id="g",
        members=[
            MemberIdentity(member_id=a.member_id),
            MemberIdentity(member_id="", group_instance_id="static-1", reason="scaling down"),
            MemberIdentity(member_id="nobody"),
            MemberIdentity(member_id="", group_instance_id="unknown-instance"),
        ],
    )
    response = await a.client.request(request, 5)
    assert response.error_code == E.NONE
    assert [(m.member_id, m.group_instance_id, m.error_code) for m in response.members] == [
        (a.member_id, None, E.NONE),
        ("", "static-1", E.NONE),
        ("nobody", None, E.UNKNOWN_MEMBER_ID),
        ("", "unknown-instance", E.UNKNOWN_MEMBER_ID),
    ]
    assert broker.groups.groups["g"].members == {}


async def test_leave_of_a_static_member_with_the_wrong_member_id_is_fenced(member) -> None:
    s = member(group_instance_id="i", join_version=5)
    await s.join_and_sync()
    request = LeaveGroupRequest(group_id="g", members=[MemberIdentity(member_id="old-id", group_instance_id="i")])
    response = await s.client.request(request, 3)
    assert response.members[0].error_code == E.FENCED_INSTANCE_ID


async def test_leave_of_an_unknown_group_is_a_top_level_unknown_member(member) -> None:
    response = await member(group_id="nope").leave()
    assert response.error_code == E.UNKNOWN_MEMBER_ID and response.members == []


async def test_pending_member_may_leave(broker: Broker, member) -> None:
    a = member()
    assert (await a.join_once()).error_code == E.MEMBER_ID_REQUIRED
    assert (await a.leave()).members[0].error_code == E.NONE
    assert broker.groups.groups["g"].pending_members == set()


async def test_a_superseded_parked_join_is_answered(broker: Broker, member, nursery, autojump_clock) -> None:
    a = member()
    await a.join_and_sync()
    b = member()
    assert (await b.join_once()).error_code == E.MEMBER_ID_REQUIRED
    first: dict[str, object] = {}

    async def park() -> None:
        first["response"] = await b.join_once()

    nursery.start_soon(park)
    await trio.sleep(1)
    # The same member joins again from another connection (its client gave up waiting).
    again = GroupMember(connect(broker, nursery))
    again.member_id = b.member_id
    nursery.start_soon(again.join_once)
    await trio.sleep(1)
    assert first["response"].error_code == E.REBALANCE_IN_PROGRESS  # no handler waits forever


async def test_reset_answers_parked_requests_and_forgets_every_group(broker: Broker, member, nursery,
                                                                    autojump_clock) -> None:
    a = member()
    await a.join_and_sync()
    b = member()
    parked: dict[str, object] = {}

    async def b_joins() -> None:
        parked["b"] = await b.join()

    nursery.start_soon(b_joins)
    await trio.sleep(1)
    broker.groups.reset()
    await trio.sleep(1)
    assert parked["b"].error_code == E.UNKNOWN_MEMBER_ID
    assert broker.groups.groups == {} and await a.heartbeat() == E.UNKNOWN_MEMBER_ID
