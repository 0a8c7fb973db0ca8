"""ConsumerGroupHeartbeat, ConsumerGroupDescribe and offsets of consumer groups, request by
request through kafkalite's own codec (compat_tests/wire_client.py), to kafkalite and to
Kafka alike: every error and field that no client exercises on purpose (validation,
fencing, stale epochs, static members), with Kafka's answers as the expectation.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.consumer_group_describe import ConsumerGroupDescribeRequest
from kafkalite.wire.messages.consumer_group_heartbeat import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatTopicPartitions,
)
from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)

from .conftest import eventually, per_broker, wait_for_topic
from .wire_client import WireClient


@pytest.fixture
def topic(bootstrap: str, topic_name: str) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(timeout=30)
    wait_for_topic(admin, topic_name, 2)
    return topic_name


@pytest.fixture
def client(bootstrap: str) -> Iterator[WireClient]:
    # One broker: it coordinates every group.
    with WireClient(bootstrap) as c:
        yield c


@pytest.fixture
def group_id(client: WireClient) -> str:
    """A new group id whose coordinator is ready: Kafka answers NOT_COORDINATOR while it
    creates and loads __consumer_offsets, which the first FindCoordinator starts."""
    group = f"wire-cg-{uuid.uuid4().hex[:10]}"

    def ready() -> None:
        [found] = client.request(FindCoordinatorRequest(key_type=0, coordinator_keys=[group]), 4).coordinators
        assert found.error_code == 0, found
        probe = heartbeat(client, group, str(uuid.uuid4()), 1)
        assert probe.error_code not in COORDINATOR_ERRORS, probe

    eventually(ready, timeout=60)
    return group


COORDINATOR_ERRORS = (E.COORDINATOR_LOAD_IN_PROGRESS, E.COORDINATOR_NOT_AVAILABLE, E.NOT_COORDINATOR)


def join(client: WireClient, group_id: str, topic: str, **fields: Any) -> Any:
    request = dict(group_id=group_id, member_id=str(uuid.uuid4()), member_epoch=0, rebalance_timeout_ms=30000,
                   subscribed_topic_names=[topic], topic_partitions=[])
    request.update(fields)
    return client.request(ConsumerGroupHeartbeatRequest(**request), 1)


def heartbeat(client: WireClient, group_id: str, member_id: str, epoch: int, **fields: Any) -> Any:
    return client.request(ConsumerGroupHeartbeatRequest(group_id=group_id, member_id=member_id,
                                                        member_epoch=epoch, **fields), 1)


def owned(response: Any) -> list[Any]:
    return [ConsumerGroupHeartbeatTopicPartitions(topic_id=tp.topic_id, partitions=tp.partitions)
            for tp in response.assignment.topic_partitions]


def joined(client: WireClient, group_id: str, topic: str, **fields: Any) -> Any:
    """Join and heartbeat until the member holds its assignment (Kafka may answer the
    assignment a heartbeat later than the join)."""
    r = join(client, group_id, topic, **fields)
    assert r.error_code == 0, r
    deadline = time.monotonic() + 30
    while not (r.assignment is not None and r.assignment.topic_partitions):
        assert time.monotonic() < deadline, "no assignment"
        time.sleep(0.05)
        r = heartbeat(client, group_id, r.member_id, r.member_epoch, topic_partitions=[])
        assert r.error_code == 0, r
    return r


def test_join_gets_every_partition_and_the_broker_heartbeat_interval(client: WireClient, topic: str,
                                                                     group_id: str) -> None:
    member_id = str(uuid.uuid4())
    r = joined(client, group_id, topic, member_id=member_id)
    assert r.member_id == member_id  # v1: the client's id
    assert r.member_epoch >= 1
    assert r.heartbeat_interval_ms == per_broker(kafkalite=200, kafka=5000)
    (tp,) = r.assignment.topic_partitions
    assert sorted(tp.partitions) == [0, 1]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"rebalance_timeout_ms": -1}, E.INVALID_REQUEST),
        ({"topic_partitions": None}, E.INVALID_REQUEST),
        ({"subscribed_topic_names": None}, E.INVALID_REQUEST),
        ({"member_epoch": -3}, E.INVALID_REQUEST),
        ({"member_id": ""}, E.INVALID_REQUEST),
        ({"instance_id": ""}, E.INVALID_REQUEST),
        ({"rack_id": ""}, E.INVALID_REQUEST),
        ({"server_assignor": "sticky"}, E.UNSUPPORTED_ASSIGNOR),
        ({"subscribed_topic_names": None, "subscribed_topic_regex": "(?=x)"}, E.INVALID_REGULAR_EXPRESSION),
        ({"subscribed_topic_names": None, "subscribed_topic_regex": "(a)\\1"}, E.INVALID_REGULAR_EXPRESSION),
    ],
)
def test_invalid_joins_are_refused(client: WireClient, topic: str, group_id: str, fields: dict, error: int) -> None:
    r = join(client, group_id, topic, **fields)
    assert (r.error_code, r.member_epoch, r.assignment) == (error, 0, None)


def test_fencing_and_unknown_members(client: WireClient, topic: str, group_id: str) -> None:
    assert heartbeat(client, group_id, str(uuid.uuid4()), 1).error_code == E.GROUP_ID_NOT_FOUND
    r = joined(client, group_id, topic)
    assert heartbeat(client, group_id, r.member_id, r.member_epoch + 1).error_code == E.FENCED_MEMBER_EPOCH
    assert heartbeat(client, group_id, str(uuid.uuid4()), 1).error_code == E.UNKNOWN_MEMBER_ID
    assert heartbeat(client, group_id, r.member_id, r.member_epoch).error_code == 0
    left = heartbeat(client, group_id, r.member_id, -1)
    assert (left.error_code, left.member_epoch) == (0, -1)
    assert heartbeat(client, group_id, r.member_id, r.member_epoch).error_code == E.UNKNOWN_MEMBER_ID


def test_static_member_returns_to_its_partitions(client: WireClient, topic: str, group_id: str) -> None:
    first = joined(client, group_id, topic, instance_id="static-1")
    other = join(client, group_id, topic, instance_id="static-1")
    assert other.error_code == E.UNRELEASED_INSTANCE_ID
    left = heartbeat(client, group_id, first.member_id, -2, instance_id="static-1")
    assert (left.error_code, left.member_epoch) == (0, -2)
    back = join(client, group_id, topic, instance_id="static-1")
    assert back.error_code == 0 and back.member_epoch == first.member_epoch  # no new epoch: no rebalance
    assert [sorted(tp.partitions) for tp in back.assignment.topic_partitions] == [[0, 1]]
    fenced = heartbeat(client, group_id, first.member_id, first.member_epoch, instance_id="static-1")
    assert fenced.error_code == E.FENCED_INSTANCE_ID


def test_consumer_group_describe(client: WireClient, topic: str, group_id: str) -> None:
    r = joined(client, group_id, topic, instance_id="described", server_assignor="range")

    def described() -> Any:  # Kafka describes what its log has committed: a moment later
        groups = client.request(ConsumerGroupDescribeRequest(group_ids=[group_id, f"{group_id}-none"]), 1).groups
        # Kafka answers in no fixed order (the groups' coordinator shards answer in turn).
        by_id = {g.group_id: g for g in groups}
        assert by_id[group_id].error_code == 0 and by_id[group_id].group_state == "Stable", by_id[group_id]
        return by_id[group_id], by_id[f"{group_id}-none"]

    group, missing = eventually(described)
    assert (group.error_code, group.group_state, group.assignor_name) == (0, "Stable", "range")
    assert group.group_epoch == group.assignment_epoch == r.member_epoch
    (m,) = group.members
    assert (m.member_id, m.instance_id, m.member_epoch, m.member_type) == (r.member_id, "described", r.member_epoch, 1)
    assert m.subscribed_topic_names == [topic]
    assert [(tp.topic_name, sorted(tp.partitions)) for tp in m.assignment.topic_partitions] == [(topic, [0, 1])]
    assert missing.error_code == E.GROUP_ID_NOT_FOUND


def test_describe_groups_does_not_describe_a_consumer_group(client: WireClient, topic: str, group_id: str) -> None:
    joined(client, group_id, topic)
    (described,) = client.request(DescribeGroupsRequest(groups=[group_id]), 6).groups
    assert (described.error_code, described.group_state) == (E.GROUP_ID_NOT_FOUND, "Dead")
    assert described.error_message == f"Group {group_id} is not a classic group."


def commit(client: WireClient, group_id: str, topic: str, member_id: str, epoch: int, version: int = 9) -> int:
    request = OffsetCommitRequest(
        group_id=group_id, generation_id_or_member_epoch=epoch, member_id=member_id,
        topics=[OffsetCommitRequestTopic(name=topic, partitions=[
            OffsetCommitRequestPartition(partition_index=0, committed_offset=0)])],
    )
    return client.request(request, version).topics[0].partitions[0].error_code


def test_offset_commit_checks_member_and_epoch(client: WireClient, topic: str, group_id: str) -> None:
    r = joined(client, group_id, topic)
    assert commit(client, group_id, topic, r.member_id, r.member_epoch) == 0
    assert commit(client, group_id, topic, r.member_id, r.member_epoch + 1) == E.STALE_MEMBER_EPOCH
    assert commit(client, group_id, topic, str(uuid.uuid4()), r.member_epoch) == E.UNKNOWN_MEMBER_ID
    assert commit(client, group_id, topic, r.member_id, r.member_epoch, version=8) == E.UNSUPPORTED_VERSION
