"""Broker racks: settings, rack-aware placement, racks in Metadata and DescribeCluster."""

from __future__ import annotations

import pytest

from kafkalite.broker.cluster import ClusterState
from kafkalite.broker.racks import place_replicas, rack_alternated
from kafkalite.broker.settings import RACK_AWARE_SELECTOR, BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.cli import build_parser, config_from_args
from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest
from kafkalite.wire.messages.metadata import MetadataRequest

from .conftest import Client, make_broker


def test_racks_alternate_in_placement_order():
    assert rack_alternated([0, 1, 2, 3], {0: "a", 1: "a", 2: "b", 3: "b"}) == [0, 2, 1, 3]
    assert rack_alternated([0, 1, 2], {}) == [0, 1, 2]


def test_every_partition_spreads_over_the_racks_it_can():
    racks = {0: "a", 1: "a", 2: "b"}
    cluster = ClusterState(cluster_id="c", node_ids=[0, 1, 2], racks=racks)
    topic = cluster.create_topic("t", 6, 2)
    for p in topic.partitions:
        assert {racks[r] for r in p.replicas} == {"a", "b"}, p.replicas
    assert sorted(p.leader_id for p in topic.partitions) == [0, 0, 1, 1, 2, 2]


def test_more_replicas_than_racks_fill_with_the_next_nodes():
    racks = {0: "a", 1: "a", 2: "b", 3: "b"}
    nodes = rack_alternated([0, 1, 2, 3], racks)
    assert place_replicas(nodes, racks, 0, 3) == [0, 2, 1]
    assert place_replicas(nodes, racks, 1, 4) == [2, 1, 3, 0]


def test_without_racks_placement_is_round_robin():
    cluster = ClusterState(cluster_id="c", node_ids=[0, 1, 2])
    assert [p.replicas for p in cluster.create_topic("t", 3, 2).partitions] == [[0, 1], [1, 2], [2, 0]]


@pytest.mark.parametrize("racks", [("a", "b"), ("a", "", "c")])
def test_one_non_empty_rack_per_broker(racks):
    with pytest.raises(ValueError, match="one non-empty rack per broker node"):
        BrokerConfig(brokers=3, broker_racks=racks)


def test_racks_and_selector_from_the_command_line():
    args = build_parser().parse_args([
        "serve", "--brokers", "3", "--broker-racks", "a, b,c", "--replica-selector-class", RACK_AWARE_SELECTOR,
    ])
    config = config_from_args(args)
    assert (config.broker_racks, config.replica_selector_class) == (("a", "b", "c"), RACK_AWARE_SELECTOR)
    assert config_from_args(build_parser().parse_args(["serve", "--rack", "eu-1"])).broker_racks == ("eu-1",)


def test_only_kafkas_rack_aware_selector_is_accepted():
    with pytest.raises(ValueError):
        BrokerConfig(replica_selector_class="com.example.MySelector")


@pytest.fixture
def broker() -> Broker:
    return make_broker(brokers=3, broker_racks="x,y,z")


async def test_metadata_and_describe_cluster_report_racks(broker: Broker, client: Client) -> None:
    assert broker.cluster.racks == {0: "x", 1: "y", 2: "z"}
    from kafkalite.broker.cluster import BrokerNode
    for node_id, rack in broker.cluster.racks.items():
        broker.cluster.set_node(BrokerNode(node_id, "localhost", 9092 + node_id, rack))
    metadata = await client.request(MetadataRequest(topics=None), 12)
    assert [(b.node_id, b.rack) for b in metadata.brokers] == [(0, "x"), (1, "y"), (2, "z")]
    cluster = await client.request(DescribeClusterRequest(), 0)
    assert [(b.broker_id, b.rack) for b in cluster.brokers] == [(0, "x"), (1, "y"), (2, "z")]


async def test_describe_configs_shows_each_nodes_rack_and_no_selector(client: Client) -> None:
    from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource

    keys = ["broker.rack", "replica.selector.class"]
    request = DescribeConfigsRequest(resources=[
        DescribeConfigsResource(resource_type=4, resource_name=str(n), configuration_keys=keys) for n in (0, 2)
    ])
    results = (await client.request(request, 4)).results
    assert [[(c.name, c.value) for c in r.configs] for r in results] == [
        [("broker.rack", "x"), ("replica.selector.class", None)],
        [("broker.rack", "z"), ("replica.selector.class", None)],
    ]
