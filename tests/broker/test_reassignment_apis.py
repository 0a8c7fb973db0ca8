"""AlterPartitionReassignments and ListPartitionReassignments over the wire."""

from __future__ import annotations

import pytest

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.alter_partition_reassignments import (
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)
from kafkalite.wire.messages.list_partition_reassignments import (
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsTopics,
)
from tests.broker.conftest import Client, make_broker


@pytest.fixture
def broker() -> Broker:
    broker = make_broker(brokers=3)
    broker.create_topic("t", 2, 1, assignments={0: [0], 1: [1]})
    return broker


def _alter(topic: str, *partitions: tuple[int, list[int] | None], **kw) -> AlterPartitionReassignmentsRequest:
    return AlterPartitionReassignmentsRequest(
        topics=[ReassignableTopic(name=topic, partitions=[ReassignablePartition(partition_index=i, replicas=r) for i, r in partitions])], **kw
    )


async def test_alter_starts_and_list_shows_it(broker: Broker, client: Client) -> None:
    response = await client.request(_alter("t", (0, [1, 2])), 0)
    assert response.error_code == ErrorCode.NONE
    assert [(p.partition_index, p.error_code) for p in response.responses[0].partitions] == [(0, ErrorCode.NONE)]
    listed = await client.request(ListPartitionReassignmentsRequest(topics=None), 0)
    assert [(t.name, [(p.partition_index, p.replicas, p.adding_replicas, p.removing_replicas) for p in t.partitions])
            for t in listed.topics] == [("t", [(0, [1, 2, 0], [1, 2], [0])])]


async def test_list_named_partitions(broker: Broker, client: Client) -> None:
    await client.request(_alter("t", (1, [2])), 0)
    named = ListPartitionReassignmentsRequest(topics=[
        ListPartitionReassignmentsTopics(name="t", partition_indexes=[0, 1, 5]),
        ListPartitionReassignmentsTopics(name="missing", partition_indexes=[0]),
    ])
    listed = await client.request(named, 0)
    assert [(t.name, [p.partition_index for p in t.partitions]) for t in listed.topics] == [("t", [1])]


async def test_idle_cluster_lists_nothing(client: Client) -> None:
    listed = await client.request(ListPartitionReassignmentsRequest(topics=None), 0)
    assert (listed.error_code, listed.topics) == (ErrorCode.NONE, [])


async def test_each_partition_answers_on_its_own(broker: Broker, client: Client) -> None:
    response = await client.request(_alter("t", (0, [0, 7]), (1, None), (4, [0]), (0, [2])), 0)
    assert [(p.partition_index, p.error_code) for p in response.responses[0].partitions] == [
        (0, ErrorCode.INVALID_REPLICA_ASSIGNMENT),
        (1, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS),
        (4, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        (0, ErrorCode.NONE),
    ]
    assert response.responses[0].partitions[0].error_message == (
        "The manual partition assignment includes broker 7, but no such broker is registered."
    )
    assert broker.cluster.topics["t"].partitions[0].adding_replicas == [2]


async def test_v1_refuses_a_replication_factor_change_when_asked(broker: Broker, client: Client) -> None:
    response = await client.request(_alter("t", (0, [1, 2]), allow_replication_factor_change=False), 1)
    assert response.allow_replication_factor_change is False
    part = response.responses[0].partitions[0]
    assert (part.error_code, part.error_message) == (
        ErrorCode.INVALID_REPLICATION_FACTOR, "The replication factor is changed from 1 to 2"
    )
    response = await client.request(_alter("t", (0, [1, 2])), 1)
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE


async def test_cancel_over_the_wire(broker: Broker, client: Client) -> None:
    await client.request(_alter("t", (0, [1])), 0)
    response = await client.request(_alter("t", (0, None)), 0)
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE
    p = broker.cluster.topics["t"].partitions[0]
    assert (p.replicas, p.adding_replicas, p.removing_replicas) == ([0], [], [])
