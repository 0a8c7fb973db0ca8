from __future__ import annotations

import uuid

import pytest

from kafkalite.broker.state import Broker
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

from .conftest import Client, make_broker


def topics(*names: str) -> list:
    return [MetadataRequestTopic(name=n) for n in names]


async def test_null_topics_lists_all_topics(broker: Broker, client: Client) -> None:
    broker.create_topic("a", 2)
    broker.create_topic("b", 1)
    response = await client.request(MetadataRequest(topics=None), 12)
    assert sorted(t.name for t in response.topics) == ["a", "b"]
    broker.groups.ensure_offsets_topic()
    response = await client.request(MetadataRequest(topics=None), 12)
    # __consumer_offsets (internal, created when a group first needs it) is listed too, as Kafka lists it.
    assert sorted(t.name for t in response.topics) == ["__consumer_offsets", "a", "b"]
    assert response.cluster_id == broker.cluster.cluster_id
    assert response.controller_id == 0
    assert [(b.node_id, b.host, b.port) for b in response.brokers] == [(0, "localhost", 9092)]


async def test_v0_empty_list_means_all_topics(broker: Broker, client: Client) -> None:
    broker.create_topic("a", 1)
    response = await client.request(MetadataRequest(topics=[]), 0)
    assert [t.name for t in response.topics if t.name != "__consumer_offsets"] == ["a"]


async def test_v1_empty_list_means_no_topics(broker: Broker, client: Client) -> None:
    broker.create_topic("a", 1)
    response = await client.request(MetadataRequest(topics=[]), 1)
    assert response.topics == []


async def test_partitions_have_leader_replicas_isr_and_epoch_zero(broker: Broker, client: Client) -> None:
    topic = broker.create_topic("t", 3)
    response = await client.request(MetadataRequest(topics=topics("t")), 12)
    (t,) = response.topics
    assert t.error_code == 0
    assert t.topic_id == topic.topic_id
    assert [p.partition_index for p in t.partitions] == [0, 1, 2]
    for p in t.partitions:
        assert (p.leader_id, p.leader_epoch, p.replica_nodes, p.isr_nodes) == (0, 0, [0], [0])


async def test_unknown_topic_is_auto_created_when_allowed(broker: Broker, client: Client) -> None:
    response = await client.request(MetadataRequest(topics=topics("new"), allow_auto_topic_creation=True), 9)
    assert response.topics[0].error_code == 0
    assert len(response.topics[0].partitions) == broker.config.num_partitions
    assert broker.cluster.topic("new") is not None


async def test_unknown_topic_without_auto_create_is_unknown_topic(broker: Broker, client: Client) -> None:
    response = await client.request(MetadataRequest(topics=topics("new"), allow_auto_topic_creation=False), 9)
    assert response.topics[0].error_code == 3
    assert response.topics[0].partitions == []
    assert broker.cluster.topic("new") is None


@pytest.mark.parametrize("version", [1, 4, 13])
async def test_auto_create_disabled_by_broker_config(version: int, nursery) -> None:
    import trio.testing

    from kafkalite.server.connection import handle_connection

    broker = make_broker(auto_create_topics=False)
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    client = Client(ours)
    response = await client.request(MetadataRequest(topics=topics("new")), version)
    assert response.topics[0].error_code == 3
    assert broker.cluster.topic("new") is None


async def test_auto_create_with_invalid_name_is_invalid_topic(client: Client) -> None:
    response = await client.request(MetadataRequest(topics=topics("bad name")), 12)
    assert response.topics[0].error_code == 17


async def test_lookup_by_topic_id(broker: Broker, client: Client) -> None:
    topic = broker.create_topic("t", 1)
    response = await client.request(
        MetadataRequest(topics=[MetadataRequestTopic(name=None, topic_id=topic.topic_id)]), 12
    )
    assert response.topics[0].name == "t"
    missing = await client.request(
        MetadataRequest(topics=[MetadataRequestTopic(name=None, topic_id=uuid.uuid4())]), 12
    )
    assert missing.topics[0].error_code == 100


async def test_several_emulated_brokers_spread_leaders(nursery) -> None:
    import trio.testing

    from kafkalite.server.connection import handle_connection

    broker = make_broker(brokers=3)
    broker.create_topic("t", 6, 2)
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    response = await Client(ours).request(MetadataRequest(topics=topics("t")), 12)
    assert [b.node_id for b in response.brokers] == [0, 1, 2]
    leaders = {p.leader_id for p in response.topics[0].partitions}
    assert leaders == {0, 1, 2}
    for p in response.topics[0].partitions:
        assert len(p.replica_nodes) == 2 and p.replica_nodes[0] == p.leader_id
