"""Broker nodes stopping and starting while the others run (kafkalite.broker.nodes)."""

from __future__ import annotations

import socket
import time

import pytest

import kafkalite
from kafkalite.broker.cluster import NO_LEADER
from kafkalite.broker.nodes import UnknownNode
from kafkalite.tools.client import Client, Connection, ToolError
from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic


@pytest.fixture(scope="module")
def cluster():
    with kafkalite.run_in_thread(brokers=3) as broker:
        yield broker


@pytest.fixture
def broker(cluster):
    cluster.reset()
    for node in (0, 1, 2):
        cluster.start_node(node)
    return cluster


def _address(broker, node_id: int) -> tuple[str, int]:
    host, port = broker.bootstrap_servers.split(",")[node_id].rsplit(":", 1)
    return host, int(port)


def _partition(broker, topic: str, index: int = 0):
    state = broker.call(broker.broker.cluster.partition, topic, index)
    return state.leader_id, list(state.isr), state.leader_epoch


def _metadata(broker, node_id: int, topic: str):
    with Connection(*_address(broker, node_id)) as conn:
        return conn.request(MetadataRequest(topics=[MetadataRequestTopic(name=topic)], allow_auto_topic_creation=False), 12)


def test_hard_stop_refuses_connections_and_elects_from_the_isr(broker):
    broker.create_topic("t", 1, replication_factor=3)
    leader, isr, epoch = _partition(broker, "t")
    assert broker.stop_node(leader, clean=False)
    with pytest.raises(OSError):
        socket.create_connection(_address(broker, leader), timeout=2).close()
    new_leader, new_isr, new_epoch = _partition(broker, "t")
    assert new_leader != leader and new_leader in isr
    assert new_isr == [r for r in isr if r != leader]
    assert new_epoch == epoch + 1
    other = next(n for n in (0, 1, 2) if n != leader)
    answer = _metadata(broker, other, "t")
    assert sorted(b.node_id for b in answer.brokers) == sorted(n for n in (0, 1, 2) if n != leader)
    assert answer.controller_id != leader
    [p] = answer.topics[0].partitions
    assert (p.leader_id, p.offline_replicas) == (new_leader, [leader])


def test_stopped_node_starts_again_on_the_same_port(broker):
    before = _address(broker, 1)
    assert broker.stop_node(1)
    assert not broker.stop_node(1)  # already stopped
    assert broker.start_node(1)
    assert not broker.start_node(1)
    with Connection(*before) as conn:
        answer = conn.request(DescribeClusterRequest(), 0)
    assert sorted(b.broker_id for b in answer.brokers) == [0, 1, 2]


def test_a_connection_to_a_hard_stopped_node_drops(broker):
    conn = socket.create_connection(_address(broker, 2), timeout=5)
    try:
        broker.stop_node(2, clean=False)
        conn.settimeout(5)
        assert conn.recv(1) == b""
    finally:
        conn.close()


def test_clean_stop_moves_leadership_before_the_listener_closes(broker):
    broker.create_topic("c", 3, replication_factor=3)
    seen = []

    def listen():
        broker.broker.cluster.partition_listeners.append(
            lambda t, p, reason: seen.append((reason, 0 in broker.broker.cluster.live_nodes))
        )

    broker.call(listen)
    try:
        broker.stop_node(0)
    finally:
        broker.call(broker.broker.cluster.partition_listeners.pop)
    # Every change was made while broker 0 still ran, and none after.
    assert seen and all(reason == "controlled shutdown of broker 0" and live for reason, live in seen)
    for index in range(3):
        leader, isr, _ = _partition(broker, "c", index)
        assert leader != 0 and 0 not in isr


def test_last_isr_member_stopping_takes_the_partition_offline_until_it_returns(broker):
    broker.create_topic("solo", 1, replication_factor=1)
    leader, _, _ = _partition(broker, "solo")
    broker.stop_node(leader, clean=False)
    assert _partition(broker, "solo")[0] == NO_LEADER
    other = next(n for n in (0, 1, 2) if n != leader)
    [p] = _metadata(broker, other, "solo").topics[0].partitions
    assert (p.error_code, p.leader_id) == (5, -1)  # LEADER_NOT_AVAILABLE
    broker.start_node(leader)
    assert _partition(broker, "solo")[0] == leader


def test_describe_cluster_lists_a_stopped_node_as_fenced_only_when_asked(broker):
    broker.stop_node(2, clean=False)
    with Connection(*_address(broker, 0)) as conn:
        plain = conn.request(DescribeClusterRequest(), 2)
        fenced = conn.request(DescribeClusterRequest(include_fenced_brokers=True), 2)
    assert [b.broker_id for b in plain.brokers] == [0, 1]
    assert [(b.broker_id, b.is_fenced) for b in fenced.brokers] == [(0, False), (1, False), (2, True)]


def test_nodes_lists_every_node_with_its_state_and_leader_count(broker):
    broker.create_topic("n", 3, replication_factor=3)
    broker.stop_node(1, clean=False)
    broker.stop_node(3000)  # the (dedicated) controller
    rows = {row["id"]: row for row in broker.nodes()}
    assert [rows[i]["live"] for i in (0, 1, 2, 3000)] == [True, False, True, False]
    assert rows[1]["leaders"] == 0 and rows[0]["role"] == "broker"
    assert (rows[3000]["role"], rows[3000]["host"]) == ("controller", None)
    broker.start_node(3000)


def test_unknown_node_id_is_refused(broker):
    with pytest.raises(UnknownNode):
        broker.stop_node(7)


def test_clients_that_listed_every_broker_carry_on(broker):
    broker.stop_node(0, clean=False)
    with Client(broker.bootstrap_servers) as client:
        assert sorted(client.nodes) == [1, 2]
    with pytest.raises(ToolError, match="Connection refused"):
        Client(broker.bootstrap_servers.split(",")[0])


def test_every_node_has_its_address_and_coordinates_what_it_leads(broker):
    rows = [row for row in broker.nodes() if row["role"] == "broker"]
    assert [f"{row['host']}:{row['port']}" for row in rows] == broker.bootstrap_servers.split(",")
    # A group whose __consumer_offsets partition another node than the first leads has a coordinator.
    async def coordinator(group: str) -> int | None:
        return broker.broker.groups.coordinator_node(group)

    nodes = {broker.run(coordinator, f"g{i}") for i in range(20)}
    assert nodes == {0, 1, 2}


def test_reset_starts_the_stopped_nodes_again(broker):
    broker.stop_node(1, clean=False)
    broker.stop_node(2)
    broker.reset()
    assert [row["live"] for row in broker.nodes()] == [True, True, True, True]  # and the controller


def _parked_fetch(broker, node: int, topic: str):
    from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic

    conn = Connection(*_address(broker, node))
    request = FetchRequest(max_wait_ms=400, min_bytes=1, max_bytes=1 << 20, topics=[FetchTopic(
        topic=topic, partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)]
    )])
    correlation_id = conn.send(request, 12)
    # Wait until the broker holds it (a Fetch waiting for records), so it is in flight.
    deadline = time.monotonic() + 5
    while not broker.call(lambda: (topic, 0) in broker.broker._waiters):
        assert time.monotonic() < deadline, "the Fetch never reached the broker"
        time.sleep(0.005)
    return conn, correlation_id


def test_a_clean_stop_answers_the_request_in_flight_a_hard_stop_drops_it(broker):
    broker.create_topic("inflight", 1, replication_factor=1)
    leader = _partition(broker, "inflight")[0]
    conn, correlation_id = _parked_fetch(broker, leader, "inflight")  # parked: no records yet
    try:
        broker.stop_node(leader)
        answer = conn.receive(1, 12, correlation_id, timeout=5)
        assert answer.responses[0].topic == "inflight"
    finally:
        conn.close()
    broker.start_node(leader)
    conn, correlation_id = _parked_fetch(broker, leader, "inflight")
    try:
        broker.stop_node(leader, clean=False)
        with pytest.raises(ToolError):
            conn.receive(1, 12, correlation_id, timeout=5)
    finally:
        conn.close()


def test_serve_options_of_automatic_leader_balancing(monkeypatch):
    from kafkalite.cli import build_parser, config_from_args

    default = config_from_args(build_parser().parse_args(["serve"]))
    assert (default.auto_leader_rebalance_enable, default.leader_imbalance_check_interval_seconds) == (True, 300)
    monkeypatch.setenv("KAFKALITE_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS", "30")
    args = build_parser().parse_args(["serve", "--no-auto-leader-rebalance"])
    config = config_from_args(args)
    assert (config.auto_leader_rebalance_enable, config.leader_imbalance_check_interval_seconds) == (False, 30)
