"""Which error the classic coordinator answers to OffsetCommit, Heartbeat, SyncGroup and
LeaveGroup in each group state: a table derived from Kafka's group coordinator, one test per
(state, API, variant).

The rows follow (by method name, in Kafka's group-coordinator module):

* OffsetCommit: ``OffsetMetadataManager.validateOffsetCommit`` (unknown group) and
  ``ClassicGroup.validateOffsetCommit`` (Dead first; generation -1 accepted only when Empty;
  else the member must be known and of the current generation; a member-less generation -1
  commit to a non-empty group is UNKNOWN_MEMBER_ID; CompletingRebalance answers
  REBALANCE_IN_PROGRESS; PreparingRebalance and Stable accept).
* Heartbeat: ``GroupMetadataManager.classicGroupHeartbeat`` /
  ``classicGroupHeartbeatToClassicGroup`` / ``validateClassicGroupHeartbeat`` (Dead, then
  ``ClassicGroup.validateMember``, then the generation; then Empty -> UNKNOWN_MEMBER_ID,
  PreparingRebalance -> REBALANCE_IN_PROGRESS, CompletingRebalance and Stable -> NONE).
* SyncGroup: ``GroupMetadataManager.classicGroupSync`` (unknown or Empty group ->
  UNKNOWN_MEMBER_ID), ``classicGroupSyncToClassicGroup`` and ``validateSyncGroup`` (Dead,
  member, generation, protocol; then PreparingRebalance -> REBALANCE_IN_PROGRESS).
* LeaveGroup: ``GroupMetadataManager.classicGroupLeave`` (unknown group -> top-level
  UNKNOWN_MEMBER_ID) and ``classicGroupLeaveToClassicGroup`` (Dead -> top-level
  COORDINATOR_NOT_AVAILABLE; else ``validateMember`` per member).

The group is driven into each state through the coordinator itself (its timers are not run,
so no deadline moves it on). Dead is set directly, as Kafka's own tests do: kafkalite (like
Kafka) drops a group from its map when it dies, so a request can meet a Dead group only while
it is being removed.
"""

from __future__ import annotations

from typing import Callable

import attrs
import pytest

from kafkalite.groups.consumer_protocol import encode_subscription
from kafkalite.groups.coordinator import GroupCoordinator
from kafkalite.groups.requests import CommitRequest, JoinRequest, JoinResult, SyncRequest, Waiter
from kafkalite.groups.state import GroupState
from kafkalite.wire.error_codes import ErrorCode as E

from .test_coordinator_port import FakeOffsetsTopic

S = GroupState
UNKNOWN = "unknown-member-0000"


@attrs.define
class Ctx:
    coordinator: GroupCoordinator
    #: A member of the current generation (for Empty: the member that left).
    member_id: str
    #: The group's generation.
    generation: int
    group_instance_id: str | None = None


def _join(c: GroupCoordinator, member_id: str = "", instance: str | None = None) -> Waiter:
    waiter = Waiter()
    c._join(JoinRequest(
        group_id="g", member_id=member_id, group_instance_id=instance, session_timeout_ms=10_000,
        rebalance_timeout_ms=10_000, protocol_type="consumer", protocols=(("range", encode_subscription(["t"])),),
        client_id="c", client_host="/127.0.0.1", require_known_member_id=False, supports_skip_assignment=False,
    ), waiter)
    return waiter


def _sync(c: GroupCoordinator, member_id: str, generation: int, instance: str | None = None) -> Waiter:
    waiter = Waiter()
    c._sync(SyncRequest(
        group_id="g", member_id=member_id, group_instance_id=instance, generation_id=generation,
        protocol_type=None, protocol_name=None, assignments=((member_id, b"a"),),
    ), waiter)
    return waiter


def drive(state: GroupState | None, instance: str | None = None) -> Ctx:
    """A coordinator whose group "g" is in *state* (None: no such group)."""
    c = GroupCoordinator.open(FakeOffsetsTopic())
    if state is None:
        return Ctx(c, UNKNOWN, 1)
    # A lone member joins (no initial delay): the join phase completes at once.
    joined = _join(c, instance=instance)
    assert joined.done
    result: JoinResult = joined.result
    assert result.error is E.NONE
    m, gen = result.member_id, result.generation_id
    ctx = Ctx(c, m, gen, instance)
    group = c.group("g")
    assert group is not None
    if state is S.COMPLETING_REBALANCE:
        assert group.state is S.COMPLETING_REBALANCE
        return ctx
    synced = _sync(c, m, gen, instance)
    assert synced.done and synced.result.error is E.NONE
    assert group.state is S.STABLE
    if state is S.STABLE:
        return ctx
    if state is S.PREPARING_REBALANCE:
        # A second member joins and is parked; m (generation gen) has not rejoined yet.
        parked = _join(c)
        assert not parked.done and group.state is S.PREPARING_REBALANCE
        return ctx
    if state is S.EMPTY:
        assert c.leave_group("g", [(m, instance, None)]) == (E.NONE, [E.NONE])
        assert group.state is S.EMPTY
        return attrs.evolve(ctx, generation=group.generation_id)
    if state is S.DEAD:
        group.state = S.DEAD
        return ctx
    raise AssertionError(state)


def _commit(ctx: Ctx, member_id: str, generation: int, instance: str | None = None) -> E:
    [error] = ctx.coordinator.commit_offsets("g", member_id, instance, generation, [CommitRequest("t", 0, 5, -1, "")])
    if error is E.NONE:
        [(_t, [fetched])] = ctx.coordinator.fetch_offsets("g", [("t", [0])])
        assert fetched.offset == 5
    return error


def _heartbeat(ctx: Ctx, member_id: str, generation: int, instance: str | None = None) -> E:
    return ctx.coordinator.heartbeat("g", member_id, instance, generation)


def _sync_error(ctx: Ctx, member_id: str, generation: int, instance: str | None = None) -> E:
    waiter = _sync(ctx.coordinator, member_id, generation, instance)
    assert waiter.done, "a lone leader's SyncGroup is never parked"
    return waiter.result.error


def _leave(ctx: Ctx, member_id: str, _generation: int, instance: str | None = None) -> E:
    top, per_member = ctx.coordinator.leave_group("g", [(member_id, instance, None)])
    if top is not E.NONE:
        assert per_member == []
        return top
    [error] = per_member
    return error


#: variant -> (member id, generation) relative to the driven group.
VARIANTS: dict[str, Callable[[Ctx], tuple[str, int]]] = {
    "current": lambda ctx: (ctx.member_id, ctx.generation),
    "admin": lambda ctx: ("", -1),  # assign() consumers and admin tools: no member, generation -1
    "minus1_member": lambda ctx: (ctx.member_id, -1),
    "stale": lambda ctx: (ctx.member_id, ctx.generation - 1),
    "unknown": lambda ctx: (UNKNOWN, ctx.generation),
}

APIS = {"OffsetCommit": _commit, "Heartbeat": _heartbeat, "SyncGroup": _sync_error, "LeaveGroup": _leave}

NO_GROUP = None
CNA = E.COORDINATOR_NOT_AVAILABLE
UMI = E.UNKNOWN_MEMBER_ID
IG = E.ILLEGAL_GENERATION
RIP = E.REBALANCE_IN_PROGRESS
OK = E.NONE

#: (state, api) -> {variant: error}
TABLE: dict[tuple[GroupState | None, str], dict[str, E]] = {
    # -- no such group ---------------------------------------------------------------------
    # OffsetMetadataManager.validateOffsetCommit: GROUP_ID_NOT_FOUND from v9 (the coordinator
    # answers it by default), a simple group is created for generation -1.
    (NO_GROUP, "OffsetCommit"): {"current": E.GROUP_ID_NOT_FOUND, "admin": OK, "unknown": E.GROUP_ID_NOT_FOUND},
    (NO_GROUP, "Heartbeat"): {"current": UMI},  # classicGroupHeartbeat
    (NO_GROUP, "SyncGroup"): {"current": UMI},  # classicGroupSync
    (NO_GROUP, "LeaveGroup"): {"current": UMI},  # classicGroupLeave (top level)
    # -- Empty (the member left; the generation moved on) ----------------------------------
    # ClassicGroup.validateOffsetCommit: generation -1 commits while Empty, whoever sends it.
    (S.EMPTY, "OffsetCommit"): {"current": UMI, "admin": OK, "minus1_member": OK, "stale": UMI, "unknown": UMI},
    # validateClassicGroupHeartbeat -> validateMember: nobody is a member of an Empty group.
    (S.EMPTY, "Heartbeat"): {"current": UMI, "stale": UMI, "unknown": UMI},
    (S.EMPTY, "SyncGroup"): {"current": UMI, "stale": UMI, "unknown": UMI},  # classicGroupSync: group.isEmpty()
    (S.EMPTY, "LeaveGroup"): {"current": UMI, "unknown": UMI},  # classicGroupLeaveToClassicGroup
    # -- PreparingRebalance ----------------------------------------------------------------
    # ClassicGroup.validateOffsetCommit: a current-generation commit is accepted while rejoining.
    (S.PREPARING_REBALANCE, "OffsetCommit"): {
        "current": OK, "admin": UMI, "minus1_member": IG, "stale": IG, "unknown": UMI,
    },
    (S.PREPARING_REBALANCE, "Heartbeat"): {"current": RIP, "stale": IG, "unknown": UMI},  # classicGroupHeartbeatToClassicGroup
    (S.PREPARING_REBALANCE, "SyncGroup"): {"current": RIP, "stale": IG, "unknown": UMI},  # classicGroupSyncToClassicGroup
    (S.PREPARING_REBALANCE, "LeaveGroup"): {"current": OK, "unknown": UMI},  # classicGroupLeaveToClassicGroup
    # -- CompletingRebalance ---------------------------------------------------------------
    # ClassicGroup.validateOffsetCommit: known and current, but no assignment yet.
    (S.COMPLETING_REBALANCE, "OffsetCommit"): {
        "current": RIP, "admin": UMI, "minus1_member": IG, "stale": IG, "unknown": UMI,
    },
    (S.COMPLETING_REBALANCE, "Heartbeat"): {"current": OK, "stale": IG, "unknown": UMI},  # classicGroupHeartbeatToClassicGroup
    (S.COMPLETING_REBALANCE, "SyncGroup"): {"current": OK, "stale": IG, "unknown": UMI},  # validateSyncGroup (leader)
    (S.COMPLETING_REBALANCE, "LeaveGroup"): {"current": OK, "unknown": UMI},  # classicGroupLeaveToClassicGroup
    # -- Stable ----------------------------------------------------------------------------
    (S.STABLE, "OffsetCommit"): {  # ClassicGroup.validateOffsetCommit
        "current": OK, "admin": UMI, "minus1_member": IG, "stale": IG, "unknown": UMI,
    },
    (S.STABLE, "Heartbeat"): {"current": OK, "stale": IG, "unknown": UMI},  # classicGroupHeartbeatToClassicGroup
    (S.STABLE, "SyncGroup"): {"current": OK, "stale": IG, "unknown": UMI},  # classicGroupSyncToClassicGroup
    (S.STABLE, "LeaveGroup"): {"current": OK, "unknown": UMI},  # classicGroupLeaveToClassicGroup
    # -- Dead: Dead is checked before anything else ----------------------------------------
    (S.DEAD, "OffsetCommit"): {  # ClassicGroup.validateOffsetCommit
        "current": CNA, "admin": CNA, "minus1_member": CNA, "stale": CNA, "unknown": CNA,
    },
    (S.DEAD, "Heartbeat"): {"current": CNA, "stale": CNA, "unknown": CNA},  # validateClassicGroupHeartbeat
    (S.DEAD, "SyncGroup"): {"current": CNA, "stale": CNA, "unknown": CNA},  # validateSyncGroup
    (S.DEAD, "LeaveGroup"): {"current": CNA, "unknown": CNA},  # classicGroupLeaveToClassicGroup (top level)
}

CASES = [
    pytest.param(state, api, variant, expected, id=f"{state.value if state else 'NoGroup'}-{api}-{variant}")
    for (state, api), row in TABLE.items()
    for variant, expected in row.items()
]


@pytest.mark.parametrize(("state", "api", "variant", "expected"), CASES)
async def test_classic_group_validation(state: GroupState | None, api: str, variant: str, expected: E) -> None:
    ctx = drive(state)
    member_id, generation = VARIANTS[variant](ctx)
    assert APIS[api](ctx, member_id, generation) is expected


# -- static members: a known instance id with another member id is fenced ------------------
# ClassicGroup.validateMember (used by validateOffsetCommit, validateClassicGroupHeartbeat,
# validateSyncGroup and classicGroupLeaveToClassicGroup); an unknown instance id is
# UNKNOWN_MEMBER_ID.

STATIC_CASES = [
    pytest.param(state, api, instance, expected, id=f"{state.value}-{api}-{label}")
    for state in (S.COMPLETING_REBALANCE, S.STABLE, S.PREPARING_REBALANCE)
    for api in APIS
    for label, instance, expected in (("fenced", "i1", E.FENCED_INSTANCE_ID), ("unknown_instance", "i2", UMI))
]


@pytest.mark.parametrize(("state", "api", "instance", "expected"), STATIC_CASES)
async def test_static_member_validation(state: GroupState, api: str, instance: str, expected: E) -> None:
    ctx = drive(state, instance="i1")
    assert APIS[api](ctx, "other-member-id", ctx.generation, instance) is expected


@pytest.mark.parametrize("state", [S.COMPLETING_REBALANCE, S.STABLE, S.PREPARING_REBALANCE])
async def test_static_member_current_request_is_accepted(state: GroupState) -> None:
    ctx = drive(state, instance="i1")
    expected = {S.COMPLETING_REBALANCE: (RIP, OK), S.STABLE: (OK, OK), S.PREPARING_REBALANCE: (OK, RIP)}[state]
    assert (_commit(ctx, ctx.member_id, ctx.generation, "i1"),
            _heartbeat(ctx, ctx.member_id, ctx.generation, "i1")) == expected


async def test_old_offset_commit_to_an_unknown_group_answers_illegal_generation() -> None:
    # OffsetMetadataManager.validateOffsetCommit: before v9, ILLEGAL_GENERATION.
    c = GroupCoordinator.open(FakeOffsetsTopic())
    assert c.commit_offsets("g", "m", None, 1, [CommitRequest("t", 0, 5, -1, "")],
                            reports_group_id_not_found=False) == [E.ILLEGAL_GENERATION]
