"""ElectLeaders (key 43): preferred and unclean elections, per-partition errors as Kafka's."""

from __future__ import annotations

import pytest

from kafkalite.broker.cluster import NO_LEADER
from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.elect_leaders import ElectLeadersRequest, ElectLeadersTopicPartitions

from .conftest import Client, make_broker


@pytest.fixture
def broker() -> Broker:
    broker = make_broker(brokers=3)
    broker.create_topic("t", 2, 3, assignments={0: [0, 1, 2], 1: [1, 2, 0]})
    return broker


def _stop(broker: Broker, node: int) -> None:
    broker.cluster.live_nodes.discard(node)
    broker.nodes.elections.broker_fenced(node, f"broker {node} stopped (hard)")


def _results(response) -> dict[tuple[str, int], tuple[int, str | None]]:
    return {
        (t.topic, p.partition_id): (p.error_code, p.error_message)
        for t in response.replica_election_results for p in t.partition_result
    }


def _ask(topic: str, *partitions: int, election_type: int = 0) -> ElectLeadersRequest:
    return ElectLeadersRequest(
        election_type=election_type,
        topic_partitions=[ElectLeadersTopicPartitions(topic=topic, partitions=list(partitions))],
        timeout_ms=30000,
    )


@pytest.mark.parametrize("version", [0, 1, 2])
async def test_preferred_election_not_needed_when_the_preferred_replica_leads(broker: Broker, client: Client, version):
    response = await client.request(_ask("t", 0, 1), version)
    assert _results(response) == {
        ("t", 0): (ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
        ("t", 1): (ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
    }


async def test_preferred_election_moves_leadership_back_once_the_replica_is_in_sync(broker: Broker, client: Client):
    topic = broker.cluster.topics["t"]
    p = topic.partitions[1]
    _stop(broker, 1)
    broker.cluster.live_nodes.add(1)  # back, not in sync yet
    response = await client.request(_ask("t", 1), 2)
    assert _results(response)[("t", 1)][0] == ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
    broker.cluster.change_partition(topic, p, isr=p.isr + [1], reason="replica 1 caught up")
    epoch = p.leader_epoch
    response = await client.request(_ask("t", 1), 2)
    assert _results(response) == {("t", 1): (ErrorCode.NONE, None)}
    assert (p.leader_id, p.leader_epoch) == (1, epoch + 1)


async def test_unknown_topic_and_partition(broker: Broker, client: Client):
    response = await client.request(_ask("nope", 0), 1)
    assert _results(response) == {("nope", 0): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "No such topic as nope")}
    response = await client.request(_ask("t", 9), 1)
    assert _results(response) == {("t", 9): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "No such partition as t-9")}


async def test_unclean_election_of_an_offline_partition(broker: Broker, client: Client):
    p = broker.cluster.topics["t"].partitions[0]
    for node in (0, 1, 2):
        _stop(broker, node)
    assert p.leader_id == NO_LEADER
    response = await client.request(_ask("t", 0, election_type=1), 1)
    assert _results(response)[("t", 0)][0] == ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
    broker.cluster.live_nodes.add(0)  # not the last in-sync replica
    response = await client.request(_ask("t", 0, election_type=1), 1)
    assert _results(response) == {("t", 0): (ErrorCode.NONE, None)}
    assert (p.leader_id, p.isr) == (0, [0])


async def test_unclean_election_not_needed_with_a_leader(broker: Broker, client: Client):
    response = await client.request(_ask("t", 0, election_type=1), 2)
    assert _results(response)[("t", 0)][0] == ErrorCode.ELECTION_NOT_NEEDED


async def test_every_partition_leaves_out_those_that_needed_nothing(broker: Broker, client: Client):
    _stop(broker, 0)
    broker.cluster.live_nodes.add(0)
    topic = broker.cluster.topics["t"]
    for p in topic.partitions:
        broker.cluster.change_partition(topic, p, isr=sorted(p.isr + [0]), reason="caught up")
    response = await client.request(ElectLeadersRequest(election_type=0, topic_partitions=None, timeout_ms=1000), 2)
    results = _results(response)
    assert results == {("t", 0): (ErrorCode.NONE, None)}  # t-1 is led by its preferred replica
    assert topic.partitions[0].leader_id == 0


async def test_unknown_election_type_is_an_invalid_request(broker: Broker, client: Client):
    response = await client.request(_ask("t", 0, election_type=5), 2)
    assert response.error_code == ErrorCode.INVALID_REQUEST
    assert _results(response)[("t", 0)][0] == ErrorCode.INVALID_REQUEST
