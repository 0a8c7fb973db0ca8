"""kafkalite topics describe --under-replicated-partitions / --unavailable-partitions, and
reassignments in progress, as kafka-topics prints them."""

from __future__ import annotations

from typing import Iterator

import pytest

from kafkalite.broker.cluster import NO_LEADER
from kafkalite.testing.thread import BrokerThread, run_in_thread
from tests.tools.conftest import Run


@pytest.fixture(scope="module")
def cluster3() -> Iterator[BrokerThread]:
    with run_in_thread(brokers=3, memory=True, port=0) as broker:
        yield broker


def _setup(broker) -> None:
    cluster = broker.cluster
    broker.create_topic("r", 3, 3, assignments={0: [0, 1, 2], 1: [1, 2, 0], 2: [2, 0, 1]})
    topic = cluster.topics["r"]
    # Node 2 stopped: the controller took it out of the ISRs; partition 2 had only it left.
    cluster.live_nodes.discard(2)
    cluster.change_partition(topic, topic.partitions[0], isr=[0, 1], reason="node 2 stopped")
    cluster.change_partition(topic, topic.partitions[1], isr=[1, 0], reason="node 2 stopped")
    cluster.change_partition(topic, topic.partitions[2], leader=NO_LEADER, isr=[2], reason="node 2 stopped")


def test_replica_reports(cluster3: BrokerThread, cli: Run) -> None:
    cluster3.call(_setup, cluster3.broker)
    bs = cluster3.bootstrap_servers
    status, out, _ = cli("topics", "describe", "r", "--bootstrap-server", bs)
    assert status == 0
    assert out.splitlines()[1:] == [
        "\tTopic: r\tPartition: 0\tLeader: 0\tReplicas: 0,1,2\tIsr: 0,1",
        "\tTopic: r\tPartition: 1\tLeader: 1\tReplicas: 1,2,0\tIsr: 1,0",
        "\tTopic: r\tPartition: 2\tLeader: none\tReplicas: 2,0,1\tIsr: 2",
    ]
    status, out, _ = cli("topics", "describe", "--under-replicated-partitions", "--bootstrap-server", bs)
    assert (status, out.splitlines()) == (0, [
        "\tTopic: r\tPartition: 0\tLeader: 0\tReplicas: 0,1,2\tIsr: 0,1",
        "\tTopic: r\tPartition: 1\tLeader: 1\tReplicas: 1,2,0\tIsr: 1,0",
        "\tTopic: r\tPartition: 2\tLeader: none\tReplicas: 2,0,1\tIsr: 2",
    ])
    status, out, _ = cli("topics", "--bootstrap-server", bs, "--describe", "--unavailable-partitions")
    assert (status, out.splitlines()) == (0, ["\tTopic: r\tPartition: 2\tLeader: none\tReplicas: 2,0,1\tIsr: 2"])


def test_reassignment_in_progress_is_shown(cluster3: BrokerThread, cli: Run) -> None:
    broker = cluster3.broker
    cluster3.call(broker.create_topic, "m", 1, 1, {0: [0]})
    cluster3.produce("m", b"one")
    # Node 1 copies nothing for now: the move waits for it to join the ISR.
    cluster3.set_replication_delay(node_id=1, delay_ms=3_600_000)
    cluster3.call(broker.reassignments.alter, "m", 0, [1])
    status, out, _ = cli("topics", "describe", "m", "--bootstrap-server", cluster3.bootstrap_servers)
    lines = out.splitlines()
    assert "\tReplicationFactor: 1\t" in lines[0]
    assert lines[1] == "\tTopic: m\tPartition: 0\tLeader: 0\tReplicas: 1,0\tIsr: 0\tAdding Replicas: 1\tRemoving Replicas: 0"
    status, out, _ = cli("topics", "describe", "m", "--under-replicated-partitions", "--bootstrap-server",
                         cluster3.bootstrap_servers)
    assert out == ""  # one replica kept, one in the ISR
