"""`ClusterState.change_partition`: the one way a partition's leader, ISR or replicas change."""

from __future__ import annotations

from kafkalite.broker.cluster import NO_LEADER, ClusterState


def _cluster() -> ClusterState:
    cluster = ClusterState(cluster_id="c", node_ids=[0, 1, 2])
    cluster.create_topic("t", 1, 3)
    return cluster


def test_new_leader_grows_leader_and_partition_epochs_and_tells_listeners():
    cluster = _cluster()
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    seen = []
    cluster.partition_listeners.append(lambda t, s, reason: seen.append((t.name, s.leader_id, reason)))
    assert cluster.change_partition(topic, p, leader=1, isr=[1, 2], reason="broker 0 stopped")
    assert (p.leader_id, p.leader_epoch, p.partition_epoch, p.isr) == (1, 1, 1, [1, 2])
    assert seen == [("t", 1, "broker 0 stopped")]


def test_isr_change_alone_keeps_the_leader_epoch():
    cluster = _cluster()
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    assert cluster.change_partition(topic, p, isr=[p.leader_id], reason="followers lag")
    assert (p.leader_epoch, p.partition_epoch) == (0, 1)


def test_no_change_is_not_a_change():
    cluster = _cluster()
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    assert cluster.change_partition(topic, p, leader=p.leader_id, isr=list(p.isr), reason="same")
    assert (p.leader_epoch, p.partition_epoch) == (0, 0)


def test_a_refused_commit_changes_nothing():
    cluster = _cluster()
    records = []
    cluster.metadata_sink = lambda kind, fields: records.append((kind, fields)) or False
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    before = (p.leader_id, list(p.isr), p.leader_epoch)
    assert not cluster.change_partition(topic, p, leader=NO_LEADER, isr=[], reason="all stopped")
    assert (p.leader_id, list(p.isr), p.leader_epoch) == before
    assert records[0][0] == "PartitionChangeRecord"
    assert records[0][1]["leader"] == NO_LEADER


def test_live_nodes_start_as_every_node():
    assert _cluster().live_nodes == {0, 1, 2}


def test_every_node_of_the_first_listener_is_a_cluster_node():
    from kafkalite.broker.cluster import BrokerNode

    cluster = _cluster()
    for node_id in (0, 1, 2):
        cluster.set_node(BrokerNode(node_id, "h", 9092 + node_id), "PLAINTEXT")
        cluster.set_node(BrokerNode(node_id, "h", 9192 + node_id), "SSL")
    assert sorted(cluster.nodes) == [0, 1, 2]
    assert cluster.nodes[2].port == 9094
