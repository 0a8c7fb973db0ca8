"""The server-side assignors and the per-member reconciliation of KIP-848, as pure functions."""

from __future__ import annotations

import uuid

import pytest

from kafkalite.groups.assignors import range_, uniform
from kafkalite.groups.consumer_group import ConsumerGroup, ConsumerMember, MemberState, reconcile
from kafkalite.groups.topic_regex import InvalidRegex, compile_topic_regex

T1, T2 = uuid.UUID(int=1), uuid.UUID(int=2)


def counts(assignment: dict[str, dict[uuid.UUID, frozenset[int]]]) -> dict[str, int]:
    return {m: sum(len(ps) for ps in a.values()) for m, a in assignment.items()}


def owners(assignment: dict[str, dict[uuid.UUID, frozenset[int]]]) -> dict[tuple[uuid.UUID, int], str]:
    result: dict[tuple[uuid.UUID, int], str] = {}
    for member, a in assignment.items():
        for t, ps in a.items():
            for p in ps:
                assert (t, p) not in result, f"{(t, p)} assigned twice"
                result[(t, p)] = member
    return result


def test_uniform_spreads_every_partition_evenly() -> None:
    subs = {m: frozenset({T1}) for m in ("a", "b", "c")}
    result = uniform(subs, {T1: 7}, {})
    assert sorted(counts(result).values()) == [2, 2, 3]
    assert len(owners(result)) == 7


def test_uniform_is_sticky_when_a_member_joins() -> None:
    subs = {"a": frozenset({T1}), "b": frozenset({T1})}
    before = uniform(subs, {T1: 4}, {})
    after = uniform({**subs, "c": frozenset({T1})}, {T1: 4}, before)
    moved = [tp for tp, m in owners(after).items() if owners(before)[tp] != m]
    assert len(moved) == 1 and owners(after)[moved[0]] == "c"
    assert sorted(counts(after).values()) == [1, 1, 2]


def test_uniform_gives_a_topic_only_to_its_subscribers() -> None:
    subs = {"a": frozenset({T1}), "b": frozenset({T1, T2})}
    result = uniform(subs, {T1: 2, T2: 2}, {})
    assert T2 not in result["a"]
    assert counts(result) == {"a": 2, "b": 2}


def test_uniform_drops_partitions_of_topics_no_longer_subscribed() -> None:
    current = {"a": {T1: frozenset({0, 1}), T2: frozenset({0})}}
    result = uniform({"a": frozenset({T1})}, {T1: 2, T2: 1}, current)
    assert result == {"a": {T1: frozenset({0, 1})}}


def test_range_gives_contiguous_ranges_by_member_id_and_copartitions() -> None:
    subs = {"b": frozenset({T1, T2}), "a": frozenset({T1, T2})}
    result = range_(subs, {T1: 5, T2: 5}, {})
    assert result["a"] == {T1: frozenset({0, 1, 2}), T2: frozenset({0, 1, 2})}
    assert result["b"] == {T1: frozenset({3, 4}), T2: frozenset({3, 4})}


def test_range_member_without_partitions_gets_none() -> None:
    subs = {m: frozenset({T1}) for m in ("a", "b", "c")}
    result = range_(subs, {T1: 2}, {})
    assert result["c"] == {}


def group_with(*members: ConsumerMember, epoch: int, target: dict) -> ConsumerGroup:
    group = ConsumerGroup("g", group_epoch=epoch, assignment_epoch=epoch, target=target)
    for m in members:
        group.members[m.member_id] = m
    return group


def test_member_revokes_before_the_target_epoch() -> None:
    a = ConsumerMember("a", member_epoch=1, assigned={T1: frozenset({0, 1})})
    b = ConsumerMember("b", member_epoch=0)
    group = group_with(a, b, epoch=2, target={"a": {T1: frozenset({0})}, "b": {T1: frozenset({1})}})
    reconcile(group, a, [(T1, [0, 1])])
    assert (a.state, a.member_epoch) == (MemberState.UNREVOKED_PARTITIONS, 1)
    assert a.assigned == {T1: frozenset({0})} and a.pending_revocation == {T1: frozenset({1})}
    # b may not take partition 1 while a has not given it up.
    reconcile(group, b, [])
    assert (b.state, b.member_epoch, b.assigned) == (MemberState.UNRELEASED_PARTITIONS, 2, {})
    # a still lists partition 1: nothing moves.
    reconcile(group, a, [(T1, [0, 1])])
    assert a.state is MemberState.UNREVOKED_PARTITIONS
    # a acknowledges the revocation: it reaches the target epoch, then b gets partition 1.
    reconcile(group, a, [(T1, [0])])
    assert (a.state, a.member_epoch, a.pending_revocation) == (MemberState.STABLE, 2, {})
    reconcile(group, b, [])
    assert (b.state, b.assigned) == (MemberState.STABLE, {T1: frozenset({1})})


def test_member_with_nothing_to_revoke_moves_straight_to_the_target() -> None:
    a = ConsumerMember("a", member_epoch=1, assigned={T1: frozenset({0})})
    group = group_with(a, epoch=3, target={"a": {T1: frozenset({0, 1})}})
    reconcile(group, a, None)
    assert (a.state, a.member_epoch, a.previous_member_epoch) == (MemberState.STABLE, 3, 1)
    assert a.assigned == {T1: frozenset({0, 1})}


def test_omitted_owned_partitions_do_not_acknowledge_a_revocation() -> None:
    a = ConsumerMember("a", member_epoch=1, assigned={T1: frozenset({0})})
    group = group_with(a, epoch=2, target={"a": {}})
    reconcile(group, a, [(T1, [0])])
    assert a.state is MemberState.UNREVOKED_PARTITIONS
    reconcile(group, a, None)
    assert a.state is MemberState.UNREVOKED_PARTITIONS


@pytest.mark.parametrize("pattern", ["(a)\\1", "a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b", "(?>ab)", "a*+", "(?(1)a|b)", "(", "a{2,1}"])
def test_regexes_re2j_refuses_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidRegex):
        compile_topic_regex(pattern)


@pytest.mark.parametrize("pattern", ["orders-.*", "[a-z]+\\.events", "(?i)ORDERS", "a|b", "x{1,3}", "[(?=]"])
def test_regexes_re2j_accepts_are_accepted(pattern: str) -> None:
    compile_topic_regex(pattern)


def test_uniform_moves_only_the_surplus_when_many_members_join() -> None:
    subs = {f"m{i}": frozenset({T1}) for i in range(10)}
    result = uniform(subs, {T1: 1000}, {"m0": {T1: frozenset(range(1000))}})
    assert sorted(counts(result).values()) == [100] * 10
    assert result["m0"][T1] <= frozenset(range(1000)) and len(owners(result)) == 1000


def test_range_puts_static_members_first_by_instance_id() -> None:
    # Kafka's member order for range: instance ids of static members, then member ids.
    subs = {m: frozenset({T1}) for m in ("a", "b", "c")}
    result = range_(subs, {T1: 5}, {}, {"c": "instance-1", "b": "instance-2"})
    assert result == {"c": {T1: frozenset({0, 1})}, "b": {T1: frozenset({2, 3})}, "a": {T1: frozenset({4})}}
    # Without instance ids: member ids alone.
    assert range_(subs, {T1: 5}, {})["a"] == {T1: frozenset({0, 1})}


def test_range_gives_a_static_member_rejoining_under_a_new_id_its_ranges_back() -> None:
    # As Kafka's RangeAssignorTest.testMixedStaticMembership.
    subs = {m: frozenset({T1}) for m in ("memberA", "memberB", "memberC")}
    instances = {"memberA": "instanceA", "memberC": "instanceC"}
    before = range_(subs, {T1: 5}, {}, instances)
    # The new member id sorts last: by member id alone it would get the last range.
    rejoined = {m: t for m, t in subs.items() if m != "memberA"} | {"memberZ": frozenset({T1})}
    after = range_(rejoined, {T1: 5}, before, {"memberZ": "instanceA", "memberC": "instanceC"})
    assert after["memberZ"] == before["memberA"] == {T1: frozenset({0, 1})}
    assert (after["memberB"], after["memberC"]) == (before["memberB"], before["memberC"])


def test_uniform_ignores_instance_ids() -> None:
    subs = {m: frozenset({T1}) for m in ("a", "b")}
    assert uniform(subs, {T1: 4}, {}, {"b": "instance-0"}) == uniform(subs, {T1: 4}, {})
