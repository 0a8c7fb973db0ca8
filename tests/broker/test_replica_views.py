"""Metadata, DescribeTopicPartitions and DescribeCluster with a stopped node, as Kafka's KRaft
metadata cache answers (offline replicas, leader -1, fenced brokers)."""

from __future__ import annotations

import pytest

from kafkalite.broker.cluster import NO_LEADER
from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest
from kafkalite.wire.messages.describe_topic_partitions import DescribeTopicPartitionsRequest, TopicRequest
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

from .conftest import Client, make_broker


@pytest.fixture
def broker() -> Broker:
    broker = make_broker(brokers=3)
    broker.create_topic("t", 2, 3, assignments={0: [1, 2, 0], 1: [2, 0, 1]})
    cluster = broker.cluster
    topic = cluster.topics["t"]
    # Node 2 stopped: out of partition 0's ISR; partition 1 kept only node 2 in sync.
    cluster.live_nodes.discard(2)
    cluster.change_partition(topic, topic.partitions[0], isr=[1, 0], reason="node 2 stopped")
    cluster.change_partition(topic, topic.partitions[1], leader=NO_LEADER, isr=[2], reason="node 2 stopped")
    return broker


def _partitions(response):
    return [
        (p.error_code, p.leader_id, p.replica_nodes, p.isr_nodes, p.offline_replicas)
        for p in response.topics[0].partitions
    ]


async def test_metadata_reports_offline_replicas_and_leader_not_available(client: Client) -> None:
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 12)
    assert _partitions(response) == [
        (ErrorCode.NONE, 1, [1, 2, 0], [1, 0], [2]),
        (ErrorCode.LEADER_NOT_AVAILABLE, NO_LEADER, [2, 0, 1], [2], [2]),
    ]
    assert [b.node_id for b in response.brokers] == [0, 1]


async def test_metadata_v0_leaves_stopped_nodes_out(client: Client) -> None:
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 0)
    assert [(p.error_code, p.leader_id, p.replica_nodes, p.isr_nodes) for p in response.topics[0].partitions] == [
        (ErrorCode.REPLICA_NOT_AVAILABLE, 1, [1, 0], [1, 0]),
        (ErrorCode.LEADER_NOT_AVAILABLE, NO_LEADER, [0, 1], []),
    ]


async def test_describe_topic_partitions_the_same(client: Client) -> None:
    response = await client.request(DescribeTopicPartitionsRequest(topics=[TopicRequest(name="t")]), 0)
    assert [
        (p.error_code, p.leader_id, p.replica_nodes, p.isr_nodes, p.offline_replicas,
         p.eligible_leader_replicas, p.last_known_elr)
        for p in response.topics[0].partitions
    ] == [
        (ErrorCode.NONE, 1, [1, 2, 0], [1, 0], [2], [], []),
        (ErrorCode.NONE, NO_LEADER, [2, 0, 1], [2], [2], [], []),
    ]


@pytest.mark.parametrize(("version", "include_fenced", "listed"), [
    (0, False, [(0, False), (1, False)]),
    (2, False, [(0, False), (1, False)]),
    (2, True, [(0, False), (1, False), (2, True)]),
])
async def test_describe_cluster_lists_a_stopped_node_as_fenced_when_asked(
    client: Client, version: int, include_fenced: bool, listed: list
) -> None:
    response = await client.request(DescribeClusterRequest(include_fenced_brokers=include_fenced), version)
    assert response.error_code == ErrorCode.NONE, response
    assert [(b.broker_id, b.is_fenced) for b in response.brokers] == listed
