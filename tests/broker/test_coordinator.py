"""FindCoordinator, __consumer_offsets, and NOT_COORDINATOR with several emulated nodes."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.groups.records import partition_for
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.list_groups import ListGroupsRequest
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic

from ..groups.helpers import GroupMember, connect, simple_commit, start_broker


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    return start_broker(nursery)


async def test_consumer_offsets_is_created_when_a_group_first_needs_it(broker: Broker, nursery) -> None:
    assert broker.cluster.topic(OFFSETS_TOPIC) is None  # as Kafka: not at start
    client = connect(broker, nursery)
    response = await client.request(FindCoordinatorRequest(key="g", key_type=0), 3)
    assert response.error_code == 0
    topic = broker.cluster.topic(OFFSETS_TOPIC)
    assert len(topic.partitions) == 50
    assert topic.is_internal and topic.configs["cleanup.policy"] == "compact"
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name=OFFSETS_TOPIC)]), 12)
    assert response.topics[0].is_internal is True


@pytest.mark.parametrize("allow_auto_topic_creation", [True, False])
async def test_metadata_for_consumer_offsets_creates_it_with_its_own_settings(
    broker: Broker, nursery, allow_auto_topic_creation: bool
) -> None:
    client = connect(broker, nursery)
    request = MetadataRequest(
        topics=[MetadataRequestTopic(name=OFFSETS_TOPIC)], allow_auto_topic_creation=allow_auto_topic_creation
    )
    response = await client.request(request, 12)
    assert (response.topics[0].error_code, response.topics[0].is_internal) == (0, True)
    assert len(response.topics[0].partitions) == 50
    assert broker.cluster.topic(OFFSETS_TOPIC).configs["cleanup.policy"] == "compact"


async def test_offsets_topic_partitions_is_configurable(nursery) -> None:
    broker = start_broker(nursery, offsets_topic_partitions=3)
    assert broker.cluster.topic(OFFSETS_TOPIC) is None
    broker.groups.ensure_offsets_topic()
    assert len(broker.cluster.topic(OFFSETS_TOPIC).partitions) == 3
    assert broker.groups.partition_for("hello") == 99162322 % 3


@pytest.mark.parametrize("version", [0, 1, 2, 3])
async def test_single_key_lookup(broker: Broker, nursery, version: int) -> None:
    client = connect(broker, nursery)
    response = await client.request(FindCoordinatorRequest(key="g", key_type=0), version)
    assert (response.error_code, response.node_id, response.host, response.port) == (0, 0, "localhost", 9092)
    if version >= 1:
        assert response.error_message == "NONE"  # what Kafka puts there


@pytest.mark.parametrize("version", [4, 5, 6])
async def test_batched_lookup(broker: Broker, nursery, version: int) -> None:
    client = connect(broker, nursery)
    response = await client.request(FindCoordinatorRequest(coordinator_keys=["a", "b"], key_type=0), version)
    assert [(c.key, c.node_id, c.error_code) for c in response.coordinators] == [("a", 0, 0), ("b", 0, 0)]
    # Kafka sets no message per key: the field's default "", not null and not "NONE".
    assert [c.error_message for c in response.coordinators] == ["", ""]


async def test_batched_lookup_error_has_an_empty_message(broker: Broker, nursery) -> None:
    client = connect(broker, nursery)
    response = await client.request(FindCoordinatorRequest(coordinator_keys=["a"], key_type=7), 4)
    assert [(c.error_code, c.error_message, c.node_id) for c in response.coordinators] == [(E.INVALID_REQUEST, "", -1)]


async def test_transaction_key_type_is_served(broker: Broker, nursery) -> None:
    client = connect(broker, nursery)
    response = await client.request(FindCoordinatorRequest(key="txn-1", key_type=1), 3)
    assert (response.error_code, response.node_id) == (0, 0)


@pytest.mark.parametrize("version", [3, 6])
async def test_unknown_key_type_is_invalid_request(broker: Broker, nursery, version: int) -> None:
    client = connect(broker, nursery)
    if version >= 4:
        response = await client.request(FindCoordinatorRequest(coordinator_keys=["s"], key_type=2), version)
        assert (response.coordinators[0].error_code, response.coordinators[0].node_id) == (E.INVALID_REQUEST, -1)
    else:
        response = await client.request(FindCoordinatorRequest(key="s", key_type=2), version)
        assert (response.error_code, response.node_id, response.host, response.port) == (E.INVALID_REQUEST, -1, "", -1)


async def test_missing_offsets_topic_means_coordinator_not_available(broker: Broker, nursery) -> None:
    broker.groups.ensure_offsets_topic()
    broker.delete_topic(OFFSETS_TOPIC)
    client = connect(broker, nursery)
    response = await client.request(FindCoordinatorRequest(key="g"), 2)
    assert response.error_code == E.COORDINATOR_NOT_AVAILABLE
    assert (await GroupMember(client).join()).error_code == E.COORDINATOR_NOT_AVAILABLE


# -- several nodes -------------------------------------------------------------------------


def group_led_by(broker: Broker, node_id: int) -> str:
    broker.groups.ensure_offsets_topic()
    topic = broker.cluster.topic(OFFSETS_TOPIC)
    for i in range(1000):
        group_id = f"group-{i}"
        if topic.partitions[partition_for(group_id, len(topic.partitions))].leader_id == node_id:
            return group_id
    raise AssertionError("no such group")


async def test_coordinator_is_the_leader_of_the_groups_partition(nursery) -> None:
    broker = start_broker(nursery, brokers=3)
    for node_id in (0, 1, 2):
        group_id = group_led_by(broker, node_id)
        client = connect(broker, nursery, node_id=(node_id + 1) % 3)
        response = await client.request(FindCoordinatorRequest(key=group_id), 2)
        assert (response.error_code, response.node_id, response.port) == (0, node_id, 9092 + node_id)


async def test_other_nodes_answer_not_coordinator(nursery) -> None:
    broker = start_broker(nursery, brokers=3)
    broker.create_topic("t", 1)
    group_id = group_led_by(broker, 1)
    right, wrong = connect(broker, nursery, node_id=1), connect(broker, nursery, node_id=2)
    assert (await GroupMember(wrong, group_id).join()).error_code == E.NOT_COORDINATOR
    assert await GroupMember(wrong, group_id).heartbeat() == E.NOT_COORDINATOR
    assert (await GroupMember(wrong, group_id).sync(protocol_name="range")).error_code == E.NOT_COORDINATOR
    assert (await GroupMember(wrong, group_id).leave()).error_code == E.NOT_COORDINATOR
    assert await simple_commit(wrong, group_id, {("t", 0): 1}) == {("t", 0): E.NOT_COORDINATOR}
    fetched = await wrong.request(OffsetFetchRequest(group_id=group_id, topics=[
        OffsetFetchRequestTopic(name="t", partition_indexes=[0])]), 1)
    assert fetched.topics[0].partitions[0].error_code == E.NOT_COORDINATOR  # v1: on each partition
    fetched = await wrong.request(OffsetFetchRequest(group_id=group_id, topics=None), 2)
    assert fetched.error_code == E.NOT_COORDINATOR
    described = await wrong.request(DescribeGroupsRequest(groups=[group_id]), 5)
    assert described.groups[0].error_code == E.NOT_COORDINATOR
    # The coordinator serves it, and lists it; other nodes do not list it.
    await GroupMember(right, group_id).join_and_sync()
    assert [g.group_id for g in (await right.request(ListGroupsRequest(), 4)).groups] == [group_id]
    assert (await wrong.request(ListGroupsRequest(), 4)).groups == []
