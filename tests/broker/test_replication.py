"""Replication between the emulated broker nodes (kafkalite.broker.replication): each node's
copy, followers, the high watermark, the ISR, acks=all and min.insync.replicas."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.records import NewRecord, build_batch

from .conftest import Client, make_broker
from .test_produce_fetch import batch, fetch_request, values_of

LAG_S = 30.0  # replica.lag.time.max.ms, default


@pytest.fixture
def broker() -> Broker:
    return make_broker(brokers=3)


@pytest.fixture
def cluster_topic(broker: Broker) -> str:
    broker.create_topic("r", 1)
    return "r"


async def connect(broker: Broker, nursery: trio.Nursery, node_id: int) -> Client:
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, node_id)
    return Client(ours)


def state(broker: Broker, topic: str = "r"):
    return broker.cluster.partition(topic, 0)


def copies(broker: Broker, topic: str = "r") -> dict[int, tuple[int, int]]:
    """node -> (log end offset, high watermark) of each copy."""
    out = {}
    for node_id in state(broker, topic).replicas:
        plog = broker.replicas.log(node_id, topic, 0)
        out[node_id] = (plog.log_end_offset, plog.high_watermark)
    return out


def followers(broker: Broker, topic: str = "r") -> list[int]:
    s = state(broker, topic)
    return [n for n in s.replicas if n != s.leader_id]


def fetch_all(broker: Broker) -> None:
    for node_id in broker.cluster.node_ids:
        broker.replicas.fetch_round(node_id)


def produce_request(topic: str, records: bytes, *, acks: int = -1, timeout_ms: int = 5000) -> ProduceRequest:
    return ProduceRequest(
        acks=acks, timeout_ms=timeout_ms,
        topic_data=[TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=0, records=records)])],
    )


async def test_default_replication_factor_is_three_and_every_replica_has_a_copy(broker: Broker, cluster_topic: str) -> None:
    s = state(broker)
    assert len(s.replicas) == 3 and s.isr == s.replicas
    for node_id in s.replicas:
        assert broker.replicas.log(node_id, "r", 0) is not None
    assert broker.log_for("r", 0) is broker.replicas.log(s.leader_id, "r", 0)


async def test_followers_copy_the_leaders_batches_and_the_high_watermark_follows_the_isr(broker: Broker, cluster_topic: str) -> None:
    leader = state(broker).leader_id
    broker.append("r", 0, batch(b"a", b"b"))
    assert copies(broker)[leader] == (2, 0)  # nobody else has it yet
    first, second = followers(broker)
    broker.replicas.fetch_round(first)
    assert copies(broker)[leader] == (2, 0)  # the ISR's smallest log end offset: 0
    broker.replicas.fetch_round(second)
    assert set(copies(broker).values()) == {(2, 2)}
    stored = {n: b"".join(bytes(c) for c in broker.replicas.log(n, "r", 0).read(0, 1 << 20)) for n in state(broker).replicas}
    assert len(set(stored.values())) == 1


async def test_consumers_read_up_to_the_high_watermark_and_followers_past_it(broker: Broker, cluster_topic: str, nursery) -> None:
    leader = state(broker).leader_id
    client = await connect(broker, nursery, leader)
    broker.append("r", 0, batch(b"a"))
    consumer = (await client.request(fetch_request("r", 0), 12)).responses[0].partitions[0]
    assert (consumer.high_watermark, values_of(consumer.records)) == (0, [])
    follower = (await client.request(fetch_request("r", 0, replica_id=followers(broker)[0]), 12)).responses[0].partitions[0]
    assert values_of(follower.records) == [b"a"]
    fetch_all(broker)
    consumer = (await client.request(fetch_request("r", 0), 12)).responses[0].partitions[0]
    assert (consumer.high_watermark, values_of(consumer.records)) == (1, [b"a"])


async def test_a_waiting_fetch_wakes_when_the_high_watermark_moves(broker: Broker, cluster_topic: str, nursery) -> None:
    leader = state(broker).leader_id
    client = await connect(broker, nursery, leader)
    broker.append("r", 0, batch(b"a"))
    result = []

    async def long_poll():
        response = await client.request(fetch_request("r", 0, max_wait_ms=10_000), 12)
        result.append(values_of(response.responses[0].partitions[0].records))

    nursery.start_soon(long_poll)
    await trio.testing.wait_all_tasks_blocked()
    assert result == []
    fetch_all(broker)
    with trio.fail_after(5):
        while not result:
            await trio.sleep(0.01)
    assert result == [[b"a"]]


async def test_a_lagging_follower_leaves_the_isr_after_replica_lag_time_max_ms(broker: Broker, cluster_topic: str) -> None:
    lagging, other = followers(broker)
    broker.replicas.set_delay(node_id=lagging, delay_ms=3_600_000)
    broker.append("r", 0, batch(b"a"))
    fetch_all(broker)
    assert lagging in state(broker).isr
    broker.clock.advance(LAG_S - 1)
    assert broker.replicas.check_isr() == 0
    broker.clock.advance(2)
    assert broker.replicas.check_isr() == 1
    assert lagging not in state(broker).isr and other in state(broker).isr
    assert copies(broker)[state(broker).leader_id] == (1, 1)  # the smaller ISR has it all


async def test_an_idle_caught_up_follower_stays_in_the_isr(broker: Broker, cluster_topic: str) -> None:
    broker.append("r", 0, batch(b"a"))
    fetch_all(broker)
    broker.clock.advance(10 * LAG_S)
    assert broker.replicas.check_isr() == 0
    assert len(state(broker).isr) == 3


async def test_a_follower_rejoins_the_isr_once_it_reaches_the_high_watermark(broker: Broker, cluster_topic: str) -> None:
    lagging, _ = followers(broker)
    broker.replicas.set_delay(node_id=lagging, delay_ms=3_600_000)
    broker.append("r", 0, batch(b"a"))
    fetch_all(broker)
    broker.clock.advance(LAG_S + 1)
    broker.replicas.check_isr()
    epoch = state(broker).partition_epoch
    assert lagging not in state(broker).isr
    broker.replicas.set_delay(node_id=lagging, delay_ms=0)
    fetch_all(broker)
    assert lagging in state(broker).isr
    assert state(broker).partition_epoch == epoch + 1


async def test_a_delayed_follower_copies_once_the_delay_passed(broker: Broker, cluster_topic: str) -> None:
    lagging, _ = followers(broker)
    broker.replicas.set_delay(node_id=lagging, delay_ms=5_000)
    broker.append("r", 0, batch(b"a"))
    fetch_all(broker)
    assert copies(broker)[lagging][0] == 0
    broker.clock.advance(5)
    fetch_all(broker)
    assert copies(broker)[lagging][0] == 1


async def test_acks_all_answers_once_the_isr_has_the_batch(broker: Broker, cluster_topic: str, nursery) -> None:
    broker.start_background(nursery.start_soon)
    client = await connect(broker, nursery, state(broker).leader_id)
    response = await client.request(produce_request("r", batch(b"a")), 9)
    p = response.responses[0].partition_responses[0]
    assert (p.error_code, p.base_offset) == (0, 0)
    assert set(copies(broker).values()) == {(1, 1)}


async def test_acks_all_times_out_while_a_follower_in_the_isr_lags(broker: Broker, cluster_topic: str, nursery) -> None:
    broker.start_background(nursery.start_soon)
    broker.replicas.set_delay(node_id=followers(broker)[0], delay_ms=3_600_000)
    client = await connect(broker, nursery, state(broker).leader_id)
    response = await client.request(produce_request("r", batch(b"a"), timeout_ms=100), 9)
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.REQUEST_TIMED_OUT
    ack1 = await client.request(produce_request("r", batch(b"b"), acks=1), 9)
    assert ack1.responses[0].partition_responses[0].error_code == 0


async def test_min_insync_replicas_above_the_isr_refuses_acks_all_before_appending(broker: Broker, nursery) -> None:
    broker.create_topic("m", 1, 3, configs={"min.insync.replicas": "2"})
    s = state(broker, "m")
    assert broker.cluster.change_partition(broker.cluster.topics["m"], s, isr=[s.leader_id], reason="test")
    client = await connect(broker, nursery, s.leader_id)
    response = await client.request(produce_request("m", batch(b"a")), 9)
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.NOT_ENOUGH_REPLICAS
    assert broker.log_for("m", 0).log_end_offset == 0
    ack1 = await client.request(produce_request("m", batch(b"a"), acks=1), 9)
    assert ack1.responses[0].partition_responses[0].error_code == 0


async def test_min_insync_replicas_above_the_replication_factor_counts_as_the_replication_factor() -> None:
    # Kafka 4's effectiveMinIsr: min(min.insync.replicas, replicas).
    broker = make_broker()
    broker.create_topic("one", 1, configs={"min.insync.replicas": "2"})
    async with trio.open_nursery() as nursery:
        client = await connect(broker, nursery, 0)
        response = await client.request(produce_request("one", batch(b"a")), 9)
        assert response.responses[0].partition_responses[0].error_code == ErrorCode.NONE
        nursery.cancel_scope.cancel()


async def test_min_insync_replicas_counts_against_the_isr_of_two_replicas(nursery) -> None:
    broker = make_broker(brokers=2)
    broker.create_topic("two", 1, 2, configs={"min.insync.replicas": "3"})  # effective: 2
    s = broker.cluster.partition("two", 0)
    broker.cluster.change_partition(broker.cluster.topics["two"], s, isr=[s.leader_id], reason="test")
    client = await connect(broker, nursery, s.leader_id)
    response = await client.request(produce_request("two", batch(b"a")), 9)
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.NOT_ENOUGH_REPLICAS


async def test_isr_shrinking_below_min_insync_while_waiting_answers_after_append(broker: Broker, nursery) -> None:
    broker.create_topic("m", 1, 3, configs={"min.insync.replicas": "2"})
    broker.replicas.set_delay(delay_ms=3_600_000)  # every follower lags
    client = await connect(broker, nursery, state(broker, "m").leader_id)
    result = []

    async def send():
        response = await client.request(produce_request("m", batch(b"a"), timeout_ms=60_000), 9)
        result.append(response.responses[0].partition_responses[0].error_code)

    nursery.start_soon(send)
    await trio.testing.wait_all_tasks_blocked()
    assert result == []
    broker.clock.advance(LAG_S + 1)
    broker.replicas.check_isr()
    with trio.fail_after(5):
        while not result:
            await trio.sleep(0.01)
    assert result == [ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND]


async def test_acks_all_answers_not_leader_when_leadership_moves_while_waiting(broker: Broker, cluster_topic: str, nursery) -> None:
    broker.replicas.set_delay(delay_ms=3_600_000)
    old = state(broker).leader_id
    client = await connect(broker, nursery, old)
    result = []

    async def send():
        response = await client.request(produce_request("r", batch(b"a")), 9)
        result.append(response.responses[0].partition_responses[0].error_code)

    nursery.start_soon(send)
    await trio.testing.wait_all_tasks_blocked()
    new = followers(broker)[0]
    broker.cluster.change_partition(broker.cluster.topics["r"], state(broker), leader=new, reason="test")
    with trio.fail_after(5):
        while not result:
            await trio.sleep(0.01)
    assert result == [ErrorCode.NOT_LEADER_OR_FOLLOWER]


async def test_an_old_leader_truncates_what_the_new_leader_never_had(broker: Broker, cluster_topic: str) -> None:
    old = state(broker).leader_id
    broker.append("r", 0, batch(b"a"))
    fetch_all(broker)
    broker.replicas.set_delay(delay_ms=3_600_000)
    broker.append("r", 0, batch(b"lost"))  # only the old leader has it
    fetch_all(broker)
    new = followers(broker)[0]
    topic = broker.cluster.topics["r"]
    broker.cluster.change_partition(topic, state(broker), leader=new, isr=[n for n in state(broker).isr if n != old], reason="test")
    broker.replicas.set_delay(delay_ms=0)
    broker.append("r", 0, batch(b"b"))
    fetch_all(broker)
    values = {n: values_of(b"".join(bytes(c) for c in broker.replicas.log(n, "r", 0).read(0, 1 << 20))) for n in state(broker).replicas}
    assert values[old] == values[new] == [b"a", b"b"]
    assert broker.replicas.log(old, "r", 0).leader_epochs == [(0, 0), (1, 1)]


async def test_a_follower_cuts_an_epoch_its_leader_never_had(broker: Broker, cluster_topic: str) -> None:
    first, second = followers(broker)
    topic = broker.cluster.topics["r"]
    broker.append("r", 0, batch(b"a"))
    fetch_all(broker)
    # Only the second follower gets a batch of a leader epoch the first one never had.
    follower_log = broker.replicas.log(second, "r", 0)
    follower_log.append(batch(b"stray"), leader_epoch=5)
    broker.cluster.change_partition(topic, state(broker), leader=first, reason="test")
    broker.append("r", 0, batch(b"b"))  # offset 1 in the new epoch
    broker.replicas.fetch_round(second)
    data = b"".join(bytes(c) for c in broker.replicas.log(second, "r", 0).read(0, 1 << 20))
    assert values_of(data) == [b"a", b"b"]


async def test_a_new_leader_rebuilds_producer_state_from_its_own_log(broker: Broker, cluster_topic: str) -> None:
    def idempotent(seq: int, value: bytes) -> bytes:
        return build_batch([NewRecord(None, value)], producer_id=7, producer_epoch=0, base_sequence=seq)

    broker.append("r", 0, idempotent(0, b"a"))
    broker.producers.record("r", 0, 7, 0, 0, 0, 0, 0, -1, transactional=False)
    fetch_all(broker)
    broker.replicas.set_delay(delay_ms=3_600_000)
    broker.append("r", 0, idempotent(1, b"lost"))
    broker.producers.record("r", 0, 7, 0, 1, 1, 1, 1, -1, transactional=False)
    new = followers(broker)[0]
    broker.cluster.change_partition(broker.cluster.topics["r"], state(broker), leader=new, reason="test")
    # The retry of the lost batch is new to the new leader, not a duplicate.
    check = broker.producers.check("r", 0, 7, 0, 1, 1, transactional=False)
    assert check.verdict.name == "APPEND"


async def test_replicas_of_a_deleted_topic_are_gone_from_every_node(broker: Broker, cluster_topic: str) -> None:
    nodes = state(broker).replicas
    broker.delete_topic("r")
    assert all(broker.replicas.log(n, "r", 0) is None for n in nodes)


async def test_added_partitions_get_a_copy_on_each_replica(broker: Broker, cluster_topic: str) -> None:
    broker.add_partitions("r", 2)
    s = broker.cluster.partition("r", 1)
    assert all(broker.replicas.log(n, "r", 1) is not None for n in s.replicas)


async def test_a_replica_reassigned_away_loses_its_copy(broker: Broker, cluster_topic: str) -> None:
    gone = followers(broker)[0]
    broker.replicas.remove_replica(gone, "r", 0)
    assert broker.replicas.log(gone, "r", 0) is None
    assert broker.log_for("r", 0) is not None


async def test_delete_records_reaches_the_followers(broker: Broker, cluster_topic: str, nursery) -> None:
    from kafkalite.wire.messages.delete_records import DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic

    broker.append("r", 0, batch(b"a"))
    broker.append("r", 0, batch(b"b"))
    fetch_all(broker)
    client = await connect(broker, nursery, state(broker).leader_id)
    request = DeleteRecordsRequest(topics=[DeleteRecordsTopic(name="r", partitions=[
        DeleteRecordsPartition(partition_index=0, offset=1)])], timeout_ms=1000)
    assert (await client.request(request, 2)).topics[0].partitions[0].low_watermark == 1
    fetch_all(broker)
    assert {broker.replicas.log(n, "r", 0).log_start_offset for n in state(broker).replicas} == {1}


async def test_a_stopped_node_closes_its_copies_and_catches_up_when_started(broker: Broker, cluster_topic: str) -> None:
    follower = followers(broker)[0]
    broker.cluster.live_nodes.discard(follower)
    broker.replicas.node_stopped(follower, clean=False)
    assert broker.replicas.log(follower, "r", 0) is None
    broker.append("r", 0, batch(b"a"))
    fetch_all(broker)
    broker.cluster.live_nodes.add(follower)
    broker.replicas.node_started(follower)
    fetch_all(broker)
    assert broker.replicas.log(follower, "r", 0).log_end_offset == 1


def test_one_broker_keeps_its_logs_in_the_data_dir(tmp_path) -> None:
    from kafkalite.broker.settings import BrokerConfig

    broker = Broker.create(BrokerConfig(data_dir=tmp_path))
    try:
        broker.create_topic("solo", 1)
        assert (tmp_path / "solo-0").is_dir()
        assert broker.log_for("solo", 0).high_watermark == broker.log_for("solo", 0).log_end_offset
    finally:
        broker.close()


def test_several_brokers_keep_their_copies_under_node_dirs(tmp_path) -> None:
    from kafkalite.broker.settings import BrokerConfig

    broker = Broker.create(BrokerConfig(data_dir=tmp_path, brokers=3))
    try:
        broker.create_topic("spread", 1)
        assert sorted(p.name for p in tmp_path.glob("node-*/spread-0")) == ["spread-0"] * 3
        assert not (tmp_path / "spread-0").exists()
        assert (tmp_path / "meta" / "cluster.json").exists()
    finally:
        broker.close()
    reopened = Broker.create(BrokerConfig(data_dir=tmp_path, brokers=3))
    try:
        snapshot = reopened.metadata_snapshot()["topics"]
        p = next(t for t in snapshot if t["name"] == "spread")["partitions"][0]
        assert {"leader", "isr", "leader_epoch", "partition_epoch"} <= set(p)
        assert all(reopened.replicas.log(n, "spread", 0) is not None for n in p["replicas"])
    finally:
        reopened.close()


async def test_a_single_copy_of_an_older_data_dir_becomes_the_leaders(tmp_path) -> None:
    # Before replication, several brokers shared one copy of each partition in DATA_DIR/TOPIC-P.
    import shutil

    from kafkalite.broker.settings import BrokerConfig

    broker = Broker.create(BrokerConfig(data_dir=tmp_path, brokers=3))
    try:
        broker.create_topic("kept", 1)
        broker.append("kept", 0, batch(b"one", b"two"))
        leader = broker.cluster.partition("kept", 0).leader_id
    finally:
        broker.close()
    (tmp_path / f"node-{leader}" / "kept-0").rename(tmp_path / "kept-0")
    for node_id in (0, 1, 2):
        shutil.rmtree(tmp_path / f"node-{node_id}" / "kept-0", ignore_errors=True)
    reopened = Broker.create(BrokerConfig(data_dir=tmp_path, brokers=3))
    try:
        assert not (tmp_path / "kept-0").exists()
        assert reopened.log_for("kept", 0).log_end_offset == 2
        fetch_all(reopened)
        assert {reopened.replicas.log(n, "kept", 0).log_end_offset for n in (0, 1, 2)} == {2}
    finally:
        reopened.close()


def test_every_node_of_the_first_listener_is_a_cluster_node() -> None:
    # What FindCoordinator and the coordinators' leader checks read (`ClusterState.nodes`).
    from kafkalite.broker.cluster import BrokerNode, ClusterState

    cluster = ClusterState("id", [0, 1, 2])
    for node_id in (0, 1, 2):
        cluster.set_node(BrokerNode(node_id, "h", 9000 + node_id), "PLAINTEXT")
        cluster.set_node(BrokerNode(node_id, "h", 9100 + node_id), "SSL")
    assert {n: node.port for n, node in cluster.nodes.items()} == {0: 9000, 1: 9001, 2: 9002}
    assert cluster.nodes_on("SSL")[2].port == 9102
