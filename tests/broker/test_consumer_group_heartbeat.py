"""ConsumerGroupHeartbeat (KIP-848) through the codec: joins, epochs, reconciliation that
never gives a partition two owners, leaving, static members, deadlines and every error."""

from __future__ import annotations

import uuid

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.consumer_group_describe import ConsumerGroupDescribeRequest

from ..groups.helpers import connect, start_broker
from .consumer_group_client import CgMember


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery, group_consumer_session_timeout_ms=3000)
    b.create_topic("t", 4)
    return b


def topic_id(broker: Broker, name: str = "t") -> uuid.UUID:
    return broker.cluster.topics[name].topic_id


async def settle(*members: CgMember, rounds: int = 6) -> None:
    for _ in range(rounds):
        for m in members:
            await m.heartbeat()


def assert_no_two_owners(*members: CgMember) -> None:
    seen: set[tuple[uuid.UUID, int]] = set()
    for m in members:
        assert not (m.partitions() & seen), "a partition has two owners"
        seen |= m.partitions()


async def test_first_member_gets_every_partition_with_epoch_and_interval(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery))
    r = await a.heartbeat()
    assert r.error_code == 0
    assert r.member_id == a.member_id  # v1: the client's own id
    assert r.member_epoch == 1
    assert r.heartbeat_interval_ms == 200
    assert a.partitions() == {(topic_id(broker), p) for p in range(4)}
    group = broker.groups.consumer_group("g")
    assert (group.group_epoch, group.assignment_epoch, group.state.value) == (1, 1, "Stable")


async def test_v0_member_id_is_generated_by_the_broker(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery), version=0)
    r = await a.heartbeat()
    assert r.error_code == 0 and len(r.member_id) == 22


async def test_v1_join_without_member_id_is_invalid(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery))
    a.member_id = ""
    r = await a.heartbeat()
    assert (r.error_code, r.error_message) == (E.INVALID_REQUEST, "MemberId can't be empty.")


async def test_second_member_gets_partitions_only_after_the_first_revokes(broker: Broker, nursery) -> None:
    a, b = CgMember(connect(broker, nursery)), CgMember(connect(broker, nursery))
    await a.heartbeat()
    rb = await b.heartbeat()
    assert rb.member_epoch == 2 and b.partitions() == set()  # unreleased: a still owns them
    ra = await a.heartbeat(keep=True)  # a is told to revoke two, but has not yet
    assert ra.member_epoch == 1 and len(ra.assignment.topic_partitions[0].partitions) == 2
    assert (await b.heartbeat()).assignment is None  # still nothing to take
    a.owned = {tp.topic_id: list(tp.partitions) for tp in ra.assignment.topic_partitions}
    ra = await a.heartbeat()  # acknowledges: moves to epoch 2
    assert ra.member_epoch == 2
    await b.heartbeat()
    assert len(a.partitions()) == len(b.partitions()) == 2
    assert_no_two_owners(a, b)
    assert broker.groups.consumer_group("g").state.value == "Stable"


async def test_four_members_share_four_partitions(broker: Broker, nursery) -> None:
    members = [CgMember(connect(broker, nursery)) for _ in range(4)]
    for m in members:
        await m.heartbeat()
        assert_no_two_owners(*members)
    await settle(*members)
    assert [len(m.partitions()) for m in members] == [1, 1, 1, 1]
    assert_no_two_owners(*members)


async def test_leaving_member_gives_its_partitions_to_the_others(broker: Broker, nursery) -> None:
    a, b = CgMember(connect(broker, nursery)), CgMember(connect(broker, nursery))
    await a.heartbeat()
    await settle(a, b)
    r = await b.leave()
    assert (r.error_code, r.member_epoch) == (0, -1)
    epoch = broker.groups.consumer_group("g").group_epoch
    await a.heartbeat()
    assert len(a.partitions()) == 4 and a.epoch == epoch


async def test_session_timeout_removes_a_silent_member(broker: Broker, nursery, autojump_clock) -> None:
    a, b = CgMember(connect(broker, nursery)), CgMember(connect(broker, nursery))
    await a.heartbeat()
    await settle(a, b)
    for _ in range(4):  # a keeps heartbeating, b is silent
        await trio.sleep(1)
        await a.heartbeat()
    assert b.member_id not in broker.groups.consumer_group("g").members
    assert len(a.partitions()) == 4
    r = await b.heartbeat()
    assert r.error_code == E.UNKNOWN_MEMBER_ID


async def test_member_not_revoking_in_its_rebalance_timeout_is_fenced(broker: Broker, nursery, autojump_clock) -> None:
    a = CgMember(connect(broker, nursery), rebalance_timeout_ms=1000)
    b = CgMember(connect(broker, nursery))
    await a.heartbeat()
    await b.heartbeat()
    await a.heartbeat(keep=True)  # told to revoke
    await trio.sleep(1.5)
    assert a.member_id not in broker.groups.consumer_group("g").members
    await b.heartbeat()
    assert len(b.partitions()) == 4


async def test_stale_epoch_is_fenced_and_previous_epoch_with_a_subset_is_accepted(broker: Broker, nursery) -> None:
    a, b = CgMember(connect(broker, nursery)), CgMember(connect(broker, nursery))
    await a.heartbeat()
    await settle(a, b)
    assert a.epoch == 2
    r = await a.send(member_epoch=3)
    assert r.error_code == E.FENCED_MEMBER_EPOCH
    r = await a.send(member_epoch=1, topic_partitions=a.owned_list())  # lost response: accepted
    assert r.error_code == 0 and r.member_epoch == 2
    r = await a.send(member_epoch=1, topic_partitions=b.owned_list())  # not its partitions
    assert r.error_code == E.FENCED_MEMBER_EPOCH


async def test_static_member_leaving_with_minus_two_gets_its_partitions_back(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery), instance_id="i-a")
    b = CgMember(connect(broker, nursery), instance_id="i-b")
    await a.heartbeat()
    await settle(a, b)
    mine = b.partitions()
    epoch = broker.groups.consumer_group("g").group_epoch
    r = await b.leave(-2)
    assert (r.error_code, r.member_epoch) == (0, -2)
    # Its place is kept: the instance id cannot be taken by another live member meanwhile ...
    b2 = CgMember(connect(broker, nursery), instance_id="i-b")
    r = await b2.heartbeat()
    assert r.error_code == 0 and b2.partitions() == mine
    assert broker.groups.consumer_group("g").group_epoch == epoch  # no rebalance
    # ... and a third instance with the same id while b2 is live is refused.
    b3 = CgMember(connect(broker, nursery), instance_id="i-b")
    assert (await b3.heartbeat()).error_code == E.UNRELEASED_INSTANCE_ID


async def test_static_member_heartbeat_with_another_member_id_is_fenced(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery), instance_id="i-a")
    await a.heartbeat()
    r = await CgMember(connect(broker, nursery), instance_id="i-a").send(member_epoch=1, instance_id="i-a")
    assert r.error_code == E.FENCED_INSTANCE_ID


async def test_regex_subscription_picks_up_a_topic_created_later(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery), topics=None, regex="rx-.*")
    broker.create_topic("rx-1", 1)
    await a.heartbeat()
    assert a.partitions() == {(topic_id(broker, "rx-1"), 0)}
    broker.create_topic("rx-2", 2)
    broker.create_topic("other", 1)
    await a.heartbeat()
    assert {t for t, _ in a.partitions()} == {topic_id(broker, "rx-1"), topic_id(broker, "rx-2")}
    assert len(a.partitions()) == 3


async def test_invalid_regex_is_refused(broker: Broker, nursery) -> None:
    r = await CgMember(connect(broker, nursery), topics=None, regex="(?=x)").heartbeat()
    assert r.error_code == E.INVALID_REGULAR_EXPRESSION


async def test_range_assignor_on_request_and_unknown_assignor(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery), assignor="range")
    await a.heartbeat()
    assert broker.groups.group_assignor(broker.groups.consumer_group("g")) == "range"
    r = await CgMember(connect(broker, nursery), group_id="g2", assignor="sticky").heartbeat()
    assert r.error_code == E.UNSUPPORTED_ASSIGNOR


async def test_group_max_size(nursery) -> None:
    broker = start_broker(nursery, group_consumer_max_size=1)
    broker.create_topic("t", 1)
    assert (await CgMember(connect(broker, nursery)).heartbeat()).error_code == 0
    assert (await CgMember(connect(broker, nursery)).heartbeat()).error_code == E.GROUP_MAX_SIZE_REACHED


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"member_epoch": 0, "rebalance_timeout_ms": -1, "subscribed_topic_names": ["t"], "topic_partitions": []},
         "RebalanceTimeoutMs must be provided in first request."),
        ({"member_epoch": 0, "rebalance_timeout_ms": 1, "subscribed_topic_names": ["t"]},
         "TopicPartitions must be empty when (re-)joining."),
        ({"member_epoch": 0, "rebalance_timeout_ms": 1, "topic_partitions": []},
         "SubscribedTopicNames or SubscribedTopicRegex must be set in first request."),
        ({"member_epoch": -3}, "MemberEpoch is invalid."),
        ({"member_epoch": -2}, "InstanceId can't be null."),
        ({"member_epoch": 1, "instance_id": " "}, "InstanceId can't be empty."),
        ({"member_epoch": 1, "rack_id": ""}, "RackId can't be empty."),
    ],
)
async def test_invalid_fields_answer_invalid_request(broker: Broker, nursery, fields, message) -> None:
    r = await CgMember(connect(broker, nursery)).send(**fields)
    assert (r.error_code, r.error_message, r.member_epoch, r.member_id) == (E.INVALID_REQUEST, message, 0, None)


async def test_unknown_group_and_unknown_member(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery))
    assert (await a.send(member_epoch=1)).error_code == E.GROUP_ID_NOT_FOUND
    await a.heartbeat()
    assert (await CgMember(connect(broker, nursery)).send(member_epoch=1)).error_code == E.UNKNOWN_MEMBER_ID


async def test_partitions_added_to_a_topic_bump_the_group_epoch(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery))
    await a.heartbeat()
    broker.add_partitions("t", 6)
    await a.heartbeat()
    assert a.epoch == 2 and len(a.partitions()) == 6


async def test_describe_shows_epochs_and_assignments(broker: Broker, nursery) -> None:
    client = connect(broker, nursery)
    a = CgMember(client, instance_id="i-a")
    await a.heartbeat()
    r = await client.request(ConsumerGroupDescribeRequest(group_ids=["g", "nope", ""]), 1)
    g, nope, empty = r.groups
    assert (g.error_code, g.group_state, g.group_epoch, g.assignment_epoch, g.assignor_name) == (0, "Stable", 1, 1, "uniform")
    (m,) = g.members
    assert (m.member_id, m.instance_id, m.member_epoch, m.member_type) == (a.member_id, "i-a", 1, 1)
    assert m.subscribed_topic_names == ["t"]
    assert m.assignment.topic_partitions[0].topic_name == "t"
    assert m.assignment.topic_partitions[0].partitions == [0, 1, 2, 3] == m.target_assignment.topic_partitions[0].partitions
    assert nope.error_code == E.GROUP_ID_NOT_FOUND
    assert empty.error_code == E.INVALID_GROUP_ID


async def test_a_deleted_topic_leaves_the_assignment(broker: Broker, nursery) -> None:
    broker.create_topic("u", 2)
    a = CgMember(connect(broker, nursery), topics=("t", "u"))
    await a.heartbeat()
    await a.heartbeat()
    assert len(a.partitions()) == 6
    gone = topic_id(broker, "u")
    broker.delete_topic("u")
    await a.heartbeat()  # told to give up the deleted topic's partitions
    await a.heartbeat()  # acknowledges
    assert {t for t, _ in a.partitions()} == {topic_id(broker)}
    assert gone not in broker.groups.consumer_group("g").target[a.member_id]
    assert broker.groups.consumer_group("g").state.value == "Stable"


async def test_configured_assignors_give_the_default_and_what_members_may_ask_for(nursery) -> None:
    broker = start_broker(nursery, group_consumer_assignors=["range"])
    broker.create_topic("t", 2)
    a = CgMember(connect(broker, nursery))
    await a.heartbeat()
    assert broker.groups.group_assignor(broker.groups.consumer_group("g")) == "range"
    r = await CgMember(connect(broker, nursery), assignor="uniform").heartbeat()
    assert (r.error_code, r.error_message) == (
        E.UNSUPPORTED_ASSIGNOR, "ServerAssignor uniform is not supported. Supported assignors: range.")
