"""Fetch from follower (KIP-392): the leader's preferred read replica and a follower serving
consumers from its own copy (``broker.replicas.log``), the copies made by the replica data path."""

from __future__ import annotations

import time
from typing import Any, AsyncIterator

import attrs
import pytest
import trio
import trio.testing

from kafkalite.broker.cluster import BrokerNode, ClusterState
from kafkalite.broker.read_replicas import RACK_AWARE_SELECTOR, NO_PREFERRED_REPLICA, preferred_read_replica
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.server.dispatch import load_handlers
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.records import NewRecord, build_batch

from .conftest import Client


def batch(*values: bytes) -> bytes:
    return build_batch([NewRecord(None, v, timestamp=int(time.time() * 1000)) for v in values])


def _fetch_rounds(broker: Broker) -> None:
    for node_id in (1, 2):
        broker.replicas.fetch_round(node_id)


def make(selector: str | None = RACK_AWARE_SELECTOR, lagging: int | None = None) -> Broker:
    """Three nodes in racks a, b, c; partition t-0 on [0, 1, 2] holding three records that
    the followers copied through the replica data path. A *lagging* node copied only the first
    two: it holds the high watermark at 2 for everyone."""
    load_handlers()
    config = BrokerConfig(memory=True, brokers=3, broker_racks=("a", "b", "c"), replica_selector_class=selector)
    broker = Broker.create(config)
    for i, node_id in enumerate(broker.cluster.node_ids):
        broker.cluster.set_node(BrokerNode(node_id, "localhost", 9092 + i, broker.cluster.racks[node_id]))
    broker.create_topic("t", 1, 3, assignments={0: [0, 1, 2]})
    broker.append("t", 0, batch(b"one", b"two"))
    _fetch_rounds(broker)  # the followers copy; the leader's high watermark moves to 2
    broker.replicas.wake_followers("t", 0)
    _fetch_rounds(broker)  # they learn it
    if lagging is not None:
        broker.replicas.set_delay(node_id=lagging, delay_ms=3_600_000)
    broker.append("t", 0, batch(b"three"))
    _fetch_rounds(broker)  # they copy the third record, the leader's high watermark moves to 3
    return broker


@pytest.fixture
async def broker() -> Broker:
    return make()


async def _client(broker: Broker, nursery: trio.Nursery, node_id: int) -> Client:
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, node_id)
    return Client(ours)


@pytest.fixture
async def leader(broker: Broker, nursery: trio.Nursery) -> AsyncIterator[Client]:
    yield await _client(broker, nursery, 0)


def fetch(rack: str = "", offset: int = 0, max_wait_ms: int = 0, epoch: int = -1) -> FetchRequest:
    return FetchRequest(
        max_wait_ms=max_wait_ms, min_bytes=1, max_bytes=1 << 20, rack_id=rack,
        topics=[FetchTopic(topic="t", partitions=[
            FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=1 << 20, current_leader_epoch=epoch)
        ])],
    )


def _part(response) -> Any:
    return response.responses[0].partitions[0]


def _size(part) -> int:
    return sum(len(c) for c in part.records) if isinstance(part.records, list) else len(part.records or b"")


async def test_leader_names_the_follower_in_the_consumers_rack(leader: Client) -> None:
    with trio.fail_after(2):  # answered at once, not after max_wait_ms
        part = _part(await leader.request(fetch(rack="b", max_wait_ms=60_000), 11))
    assert (part.error_code, part.preferred_read_replica, _size(part)) == (ErrorCode.NONE, 1, 0)
    assert (part.high_watermark, part.log_start_offset) == (3, 0)


@pytest.mark.parametrize("rack", ["", "a", "elsewhere"])
async def test_leader_serves_when_no_follower_fits_the_rack(leader: Client, rack: str) -> None:
    part = _part(await leader.request(fetch(rack=rack), 11))
    assert part.preferred_read_replica == NO_PREFERRED_REPLICA
    assert _size(part) > 0


async def test_a_follower_out_of_the_isr_is_not_preferred(broker: Broker, leader: Client) -> None:
    topic = broker.cluster.topics["t"]
    broker.cluster.change_partition(topic, topic.partitions[0], isr=[0, 2], reason="replica 1 lags")
    assert _part(await leader.request(fetch(rack="b"), 11)).preferred_read_replica == NO_PREFERRED_REPLICA
    assert _part(await leader.request(fetch(rack="c"), 11)).preferred_read_replica == 2


async def test_a_follower_without_the_fetch_offset_is_not_preferred(broker: Broker, leader: Client) -> None:
    broker.append("t", 0, batch(b"four"))  # the leader has offset 3, the followers end there
    assert _part(await leader.request(fetch(rack="b", offset=4), 11)).preferred_read_replica == NO_PREFERRED_REPLICA
    assert _part(await leader.request(fetch(rack="b", offset=3), 11)).preferred_read_replica == 1


async def test_no_selector_no_preferred_replica(nursery: trio.Nursery) -> None:
    client = await _client(make(selector=None), nursery, 0)
    part = _part(await client.request(fetch(rack="b"), 11))
    assert part.preferred_read_replica == NO_PREFERRED_REPLICA and _size(part) > 0


async def test_before_v11_the_leader_always_serves(leader: Client) -> None:
    part = _part(await leader.request(fetch(rack="b"), 10))
    assert _size(part) > 0


async def test_a_follower_serves_a_consumer_up_to_its_own_high_watermark(nursery: trio.Nursery) -> None:
    # Node 2 lags in the ISR: the high watermark stays 2 while node 1 holds all three records.
    follower = await _client(make(lagging=2), nursery, 1)
    part = _part(await follower.request(fetch(rack="b"), 11))
    assert (part.error_code, part.high_watermark, part.preferred_read_replica) == (ErrorCode.NONE, 2, -1)
    # Only the first batch (offsets 0-1) is below the follower's high watermark.
    assert _size(part) == len(batch(b"one", b"two"))
    part = _part(await follower.request(fetch(offset=2), 12))
    assert (part.error_code, _size(part)) == (ErrorCode.NONE, 0)


async def test_a_follower_refuses_old_consumers_and_stale_epochs(broker: Broker, nursery: trio.Nursery) -> None:
    follower = await _client(broker, nursery, 2)
    assert _part(await follower.request(fetch(), 10)).error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert _part(await follower.request(fetch(epoch=5), 11)).error_code == ErrorCode.UNKNOWN_LEADER_EPOCH
    topic = broker.cluster.topics["t"]
    broker.cluster.change_partition(topic, topic.partitions[0], leader=0, bump_leader_epoch=True, reason="epoch")
    assert _part(await follower.request(fetch(epoch=0), 11)).error_code == ErrorCode.FENCED_LEADER_EPOCH
    assert _part(await follower.request(fetch(epoch=1), 11)).error_code == ErrorCode.NONE


async def test_a_node_without_a_replica_is_not_leader_or_follower(nursery: trio.Nursery) -> None:
    broker = make()
    broker.create_topic("solo", 1, 1, assignments={0: [0]})
    client = await _client(broker, nursery, 1)
    request = attrs.evolve(fetch(), topics=[FetchTopic(topic="solo", partitions=[
        FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1024)])])
    assert _part(await client.request(request, 11)).error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_the_most_caught_up_follower_of_the_rack_wins() -> None:
    cluster = ClusterState(cluster_id="c", node_ids=[0, 1, 2, 3], racks={0: "a", 1: "b", 2: "b", 3: "b"})
    cluster.create_topic("t", 1, 4, assignments={0: [0, 1, 2, 3]})
    ends = {1: 5, 2: 7, 3: 7}

    @attrs.frozen
    class Copy:
        log_end_offset: int
        log_start_offset: int = 0

    p = cluster.topics["t"].partitions[0]
    logs = lambda node, _t, _p: Copy(ends[node])  # noqa: E731
    assert preferred_read_replica(cluster, "t", p, "b", 5, logs) == 3  # 7 beats 5; id breaks the tie
    cluster.live_nodes.discard(3)
    assert preferred_read_replica(cluster, "t", p, "b", 5, logs) == 2
    assert preferred_read_replica(cluster, "t", p, "b", 6, lambda n, _t, _p: Copy(ends[n]) if n == 1 else None) == -1


# DescribeLogDirs answers each node's own copies, in its own log dir.


async def test_describe_log_dirs_per_node(nursery: trio.Nursery) -> None:
    from kafkalite.wire.messages.describe_log_dirs import DescribeLogDirsRequest

    broker = make(lagging=2)
    short = broker.replicas.log(2, "t", 0)
    sizes = {}
    for node_id in (0, 1, 2):
        client = await _client(broker, nursery, node_id)
        result = (await client.request(DescribeLogDirsRequest(topics=None), 4)).results[0]
        assert result.log_dir.endswith(f"node-{node_id}")
        (topic,) = [t for t in result.topics if t.name == "t"]
        sizes[node_id] = (topic.partitions[0].partition_size, topic.partitions[0].offset_lag)
    assert sizes[0] == sizes[1] == (broker.log_for("t", 0).size_in_bytes, 0)
    assert sizes[2] == (short.size_in_bytes, 0)
    assert sizes[2][0] < sizes[0][0]
