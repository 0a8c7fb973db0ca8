"""The pure group model: protocol choice, membership, and which error a request gets."""

from __future__ import annotations

import pytest

from kafkalite.groups.consumer_protocol import encode_subscription
from kafkalite.groups.group import Group, Member, OffsetAndMetadata
from kafkalite.groups.state import GroupEvent, GroupState, IllegalTransition
from kafkalite.wire.error_codes import ErrorCode

WAITING = object()  # stands for a parked request


def member(member_id: str, *protocols: str, instance: str | None = None, topics: list[str] | None = None,
           protocol_type: str = "consumer") -> Member:
    metadata = encode_subscription(topics or ["t"])
    return Member(
        member_id=member_id,
        group_instance_id=instance,
        client_id="c",
        client_host="/127.0.0.1",
        rebalance_timeout_ms=1000,
        session_timeout_ms=10000,
        protocol_type=protocol_type,
        protocols=tuple((p, metadata) for p in (protocols or ("range",))),
    )


def stable_group(*members: Member, generation: int = 3) -> Group:
    group = Group("g")
    for m in members:
        group.add(m)
    group.transition(GroupEvent.REBALANCE, 1)
    group.generation_id = generation - 1
    group.init_next_generation(2)
    group.transition(GroupEvent.ASSIGNMENT_STORED, 3)
    return group


# -- protocols -----------------------------------------------------------------------------


def test_empty_group_takes_any_protocol_type_with_a_protocol() -> None:
    group = Group("g")
    assert group.supports_protocols("consumer", ["range"])
    assert not group.supports_protocols("", ["range"])
    assert not group.supports_protocols("consumer", [])


def test_joined_group_requires_the_same_type_and_a_common_protocol() -> None:
    group = stable_group(member("a", "range", "roundrobin"), member("b", "roundrobin"))
    assert group.supports_protocols("consumer", ["roundrobin"])
    assert not group.supports_protocols("consumer", ["range"])  # b lacks it
    assert not group.supports_protocols("connect", ["roundrobin"])


def test_protocol_with_most_first_choice_votes_among_common_ones_wins() -> None:
    group = Group("g")
    group.add(member("a", "sticky", "range"))
    group.add(member("b", "range", "sticky"))
    group.add(member("c", "range", "sticky", "roundrobin"))
    assert group.select_protocol() == "range"


def test_a_protocol_not_everyone_supports_gets_no_votes() -> None:
    group = Group("g")
    group.add(member("a", "cooperative-sticky", "range"))
    group.add(member("b", "range"))
    assert group.candidate_protocols() == {"range"}
    assert group.select_protocol() == "range"


def test_removing_a_member_frees_its_protocols() -> None:
    group = stable_group(member("a", "range", "sticky"), member("b", "range"))
    group.remove("b")
    assert group.candidate_protocols() == {"range", "sticky"}


# -- membership ----------------------------------------------------------------------------


def test_first_member_leads_and_a_new_leader_follows_when_it_leaves() -> None:
    group = Group("g")
    group.add(member("a"))
    group.add(member("b"))
    assert group.leader_id == "a"
    group.remove("a")
    assert group.leader_id == "b"
    group.remove("b")
    assert group.leader_id is None


def test_pending_member_ids_block_the_join_phase() -> None:
    group = Group("g")
    group.add(member("a"), join_waiter=WAITING)
    group.pending_members.add("pending")
    assert not group.has_all_members_joined()
    group.remove("pending")
    assert group.has_all_members_joined()


def test_leader_that_did_not_rejoin_is_replaced_by_one_that_did() -> None:
    group = stable_group(member("a"), member("b"))
    assert not group.maybe_elect_new_joined_leader()
    group.members["b"].join_waiter = WAITING
    assert group.maybe_elect_new_joined_leader()
    assert group.leader_id == "b"


def test_static_member_replacement_keeps_assignment_and_leadership() -> None:
    group = stable_group(member("old", instance="i1"), member("b"))
    group.members["old"].assignment = b"mine"
    new = group.replace_static_member("i1", "old", "new")
    assert new.assignment == b"mine" and new.group_instance_id == "i1"
    assert "old" not in group.members and group.static_members == {"i1": "new"}
    assert group.leader_id == "new"


def test_new_members_can_expire_while_parked_others_cannot() -> None:
    m = member("a")
    m.join_waiter = WAITING
    assert m.has_satisfied_heartbeat()
    m.is_new = True
    assert not m.has_satisfied_heartbeat()
    m.is_new, m.join_waiter = False, None
    assert not m.has_satisfied_heartbeat()
    m.sync_waiter = WAITING
    assert m.has_satisfied_heartbeat()


def test_a_generation_without_members_is_empty() -> None:
    group = stable_group(member("a"), generation=4)
    group.remove("a")
    group.transition(GroupEvent.REBALANCE, 10)
    group.init_next_generation(11)
    assert (group.state, group.generation_id, group.protocol_name) == (GroupState.EMPTY, 5, None)
    assert group.subscribed_topics == frozenset()
    assert group.state_timestamp == 11


def test_transition_refuses_moves_the_table_lacks() -> None:
    with pytest.raises(IllegalTransition):
        Group("g").transition(GroupEvent.ASSIGNMENT_STORED, 0)


def test_subscribed_topics_are_the_union_of_the_members() -> None:
    group = stable_group(member("a", topics=["x", "y"]), member("b", topics=["y", "z"]))
    assert group.subscribed_topics == {"x", "y", "z"}
    assert group.is_subscribed_to_topic("x") and not group.is_subscribed_to_topic("w")


def test_unparsable_subscriptions_mean_unknown_topics() -> None:
    m = member("a")
    m.protocols = (("range", b"\x00"),)
    group = stable_group(m)
    assert group.subscribed_topics is None
    assert group.is_subscribed_to_topic("anything")  # a consumer group: assume it is


# -- validation ----------------------------------------------------------------------------


def test_validate_member() -> None:
    group = stable_group(member("a"), member("s", instance="i"))
    assert group.validate_member("a", None) is None
    assert group.validate_member("s", "i") is None
    assert group.validate_member("x", None) is ErrorCode.UNKNOWN_MEMBER_ID
    assert group.validate_member("a", "i") is ErrorCode.FENCED_INSTANCE_ID
    assert group.validate_member("a", "unknown-instance") is ErrorCode.UNKNOWN_MEMBER_ID


def test_simple_commit_is_accepted_by_an_empty_group() -> None:
    assert Group("g").validate_offset_commit("", None, -1) is None
    assert Group("g").validate_offset_commit("whoever", None, -1) is None


def test_simple_commit_is_refused_by_a_group_with_members() -> None:
    group = stable_group(member("a"))
    assert group.validate_offset_commit("", None, -1) is ErrorCode.UNKNOWN_MEMBER_ID


@pytest.mark.parametrize(
    ("member_id", "instance", "generation", "expected"),
    [
        ("a", None, 3, None),
        ("a", None, 2, ErrorCode.ILLEGAL_GENERATION),
        ("a", None, -1, ErrorCode.ILLEGAL_GENERATION),
        ("x", None, 3, ErrorCode.UNKNOWN_MEMBER_ID),
        ("a", "i", 3, ErrorCode.FENCED_INSTANCE_ID),
        ("", None, 3, ErrorCode.UNKNOWN_MEMBER_ID),
    ],
)
def test_member_commit_validation(member_id: str, instance: str | None, generation: int,
                                  expected: ErrorCode | None) -> None:
    group = stable_group(member("a"), member("s", instance="i"), generation=3)
    assert group.validate_offset_commit(member_id, instance, generation) is expected


def test_commit_while_completing_rebalance_is_rebalance_in_progress() -> None:
    group = stable_group(member("a"), generation=3)
    group.transition(GroupEvent.REBALANCE, 5)
    group.init_next_generation(6)
    assert group.validate_offset_commit("a", None, 4) is ErrorCode.REBALANCE_IN_PROGRESS


def test_commit_while_preparing_rebalance_is_accepted() -> None:
    group = stable_group(member("a"), generation=3)
    group.transition(GroupEvent.REBALANCE, 5)
    assert group.validate_offset_commit("a", None, 3) is None


def test_commit_to_a_dead_group_is_coordinator_not_available() -> None:
    group = Group("g")
    group.transition(GroupEvent.DELETE, 0)
    assert group.validate_offset_commit("", None, -1) is ErrorCode.COORDINATOR_NOT_AVAILABLE


# -- expiry (KIP-211) ----------------------------------------------------------------------

DAY = 24 * 3600 * 1000


def test_empty_group_offsets_expire_retention_after_it_became_empty() -> None:
    group = stable_group(member("a"))
    group.offsets[("t", 0)] = OffsetAndMetadata(5, commit_timestamp=0)
    group.remove("a")
    group.transition(GroupEvent.REBALANCE, 10 * DAY)
    group.init_next_generation(10 * DAY)
    assert group.expired_offsets(10 * DAY + 6 * DAY, 7 * DAY) == []
    assert group.expired_offsets(10 * DAY + 7 * DAY, 7 * DAY) == [("t", 0)]


def test_stable_consumer_group_expires_only_unsubscribed_topics() -> None:
    group = stable_group(member("a", topics=["t"]))
    group.offsets[("t", 0)] = OffsetAndMetadata(5, commit_timestamp=0)
    group.offsets[("old", 0)] = OffsetAndMetadata(5, commit_timestamp=0)
    assert group.expired_offsets(8 * DAY, 7 * DAY) == [("old", 0)]


def test_non_consumer_group_with_members_keeps_its_offsets() -> None:
    group = stable_group(member("a", protocol_type="connect"))
    group.offsets[("t", 0)] = OffsetAndMetadata(5, commit_timestamp=0)
    assert group.expired_offsets(100 * DAY, 7 * DAY) == []


def test_simple_group_offsets_expire_by_commit_time() -> None:
    group = Group("g")
    group.offsets[("t", 0)] = OffsetAndMetadata(5, commit_timestamp=DAY)
    group.offsets[("t", 1)] = OffsetAndMetadata(5, commit_timestamp=3 * DAY)
    assert group.expired_offsets(9 * DAY, 7 * DAY) == [("t", 0)]


def test_explicit_expire_timestamp_wins() -> None:
    group = Group("g")
    group.offsets[("t", 0)] = OffsetAndMetadata(5, commit_timestamp=0, expire_timestamp=1000)
    assert group.expired_offsets(999, 7 * DAY) == []
    assert group.expired_offsets(1000, 7 * DAY) == [("t", 0)]
