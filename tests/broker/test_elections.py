"""Leader elections (kafkalite.broker.elections): Kafka's controller rules on the bookkeeping."""

from __future__ import annotations

from kafkalite.broker.cluster import NO_LEADER, ClusterState
from kafkalite.broker.elections import Elections, ElectionType
from kafkalite.wire.error_codes import ErrorCode


def _cluster(unclean: bool = False) -> tuple[ClusterState, Elections]:
    cluster = ClusterState(cluster_id="c", node_ids=[0, 1, 2])
    cluster.create_topic("t", 1, 3, assignments={0: [0, 1, 2]})
    return cluster, Elections(cluster, lambda topic: unclean)


def _stop(cluster: ClusterState, elections: Elections, node: int) -> int:
    cluster.live_nodes.discard(node)
    return elections.broker_fenced(node, f"broker {node} stopped (hard)")


def test_leader_stop_elects_next_isr_member_in_replica_order_with_a_new_epoch():
    cluster, elections = _cluster()
    p = cluster.topics["t"].partitions[0]
    reasons = []
    cluster.partition_listeners.append(lambda t, s, reason: reasons.append(reason))
    assert _stop(cluster, elections, 0) == 1
    assert (p.leader_id, p.isr, p.leader_epoch) == (1, [1, 2], 1)
    assert reasons == ["broker 0 stopped (hard)"]


def test_follower_stop_shrinks_the_isr_and_keeps_the_leader_epoch():
    cluster, elections = _cluster()
    p = cluster.topics["t"].partitions[0]
    _stop(cluster, elections, 2)
    assert (p.leader_id, p.isr, p.leader_epoch, p.partition_epoch) == (0, [0, 1], 0, 1)


def test_last_isr_member_stopping_leaves_the_partition_offline_with_it_in_the_isr():
    cluster, elections = _cluster()
    p = cluster.topics["t"].partitions[0]
    _stop(cluster, elections, 0)
    _stop(cluster, elections, 1)
    assert (p.leader_id, p.isr) == (2, [2])
    _stop(cluster, elections, 2)
    assert (p.leader_id, p.isr, p.leader_epoch) == (NO_LEADER, [2], 3)


def test_a_replica_out_of_the_isr_does_not_lead_when_its_return_is_not_the_last_member():
    cluster, elections = _cluster()
    p = cluster.topics["t"].partitions[0]
    for node in (0, 1, 2):
        _stop(cluster, elections, node)
    cluster.live_nodes.add(0)
    assert elections.broker_unfenced(0) == 0
    assert p.leader_id == NO_LEADER
    cluster.live_nodes.add(2)
    assert elections.broker_unfenced(2) == 1
    assert (p.leader_id, p.isr) == (2, [2])


def test_unclean_election_enabled_lets_any_live_replica_lead_with_only_itself_in_sync():
    cluster, elections = _cluster(unclean=True)
    p = cluster.topics["t"].partitions[0]
    reasons = []
    cluster.partition_listeners.append(lambda t, s, reason: reasons.append(reason))
    cluster.live_nodes.discard(1)
    cluster.live_nodes.discard(2)
    elections.broker_fenced(1, "broker 1 stopped (hard)")
    elections.broker_fenced(2, "broker 2 stopped (hard)")
    assert p.isr == [0]
    cluster.live_nodes.add(1)  # back, but out of the ISR
    elections.broker_unfenced(1)
    assert p.leader_id == 0  # the leader is still live: nothing to do
    _stop(cluster, elections, 0)
    assert (p.leader_id, p.isr) == (1, [1])
    assert reasons[-1].startswith("unclean leader election")


def test_unclean_returning_broker_leads_an_offline_partition_when_allowed():
    cluster, elections = _cluster(unclean=True)
    p = cluster.topics["t"].partitions[0]
    cluster.live_nodes.clear()
    for node in (0, 1, 2):
        elections.broker_fenced(node, "stopped")
    assert p.leader_id == NO_LEADER and p.isr == [2]
    cluster.live_nodes.add(1)
    assert elections.broker_unfenced(1) == 1
    assert (p.leader_id, p.isr) == (1, [1])


def test_controlled_shutdown_moves_leadership_and_leaves_every_isr():
    cluster, elections = _cluster()
    cluster.create_topic("u", 1, 3, assignments={0: [1, 0, 2]})
    t, u = cluster.topics["t"].partitions[0], cluster.topics["u"].partitions[0]
    reasons = []
    cluster.partition_listeners.append(lambda topic, s, reason: reasons.append(reason))
    assert elections.controlled_shutdown(0) == 2
    assert (t.leader_id, t.isr) == (1, [1, 2])
    assert (u.leader_id, u.isr) == (1, [1, 2])
    assert reasons == ["controlled shutdown of broker 0"] * 2


def test_preferred_election_answers_per_partition_as_kafka():
    cluster, elections = _cluster()
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    assert elections.elect(topic, p, ElectionType.PREFERRED) is ErrorCode.ELECTION_NOT_NEEDED
    _stop(cluster, elections, 0)
    assert elections.elect(topic, p, ElectionType.PREFERRED) is ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
    cluster.live_nodes.add(0)  # back, but not yet in sync
    assert elections.elect(topic, p, ElectionType.PREFERRED) is ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
    cluster.change_partition(topic, p, isr=[1, 2, 0], reason="replica 0 caught up")
    epoch = p.leader_epoch
    assert elections.elect(topic, p, ElectionType.PREFERRED) is ErrorCode.NONE
    assert (p.leader_id, p.leader_epoch) == (0, epoch + 1)


def test_unclean_election_api():
    cluster, elections = _cluster()
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    assert elections.elect(topic, p, ElectionType.UNCLEAN) is ErrorCode.ELECTION_NOT_NEEDED
    cluster.live_nodes.clear()
    for node in (0, 1, 2):
        elections.broker_fenced(node, "stopped")
    assert elections.elect(topic, p, ElectionType.UNCLEAN) is ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
    cluster.live_nodes.add(1)
    assert elections.elect(topic, p, ElectionType.UNCLEAN) is ErrorCode.NONE
    assert (p.leader_id, p.isr) == (1, [1])


def test_balance_moves_every_leader_back_to_its_live_in_sync_preferred_replica():
    cluster, elections = _cluster()
    cluster.create_topic("u", 2, 3, assignments={0: [1, 2, 0], 1: [2, 0, 1]})
    _stop(cluster, elections, 0)
    _stop(cluster, elections, 1)
    assert len(elections.imbalanced()) == 2
    cluster.live_nodes.update({0, 1})
    for topic in cluster.topics.values():
        for p in topic.partitions:
            cluster.change_partition(topic, p, isr=sorted(set(p.isr) | {0, 1}), reason="caught up")
    assert elections.balance() == 2
    assert elections.imbalanced() == []


def test_a_change_the_quorum_refuses_changes_nothing_and_answers_request_timed_out():
    cluster, elections = _cluster()
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    cluster.change_partition(topic, p, leader=1, reason="moved")
    cluster.metadata_sink = lambda kind, record: False
    assert elections.elect(topic, p, ElectionType.PREFERRED) is ErrorCode.REQUEST_TIMED_OUT
    assert p.leader_id == 1


def test_a_restart_keeps_leaders_isrs_and_epochs(tmp_path):
    from kafkalite.broker.settings import BrokerConfig
    from kafkalite.broker.state import Broker

    config = BrokerConfig(data_dir=tmp_path, brokers=3)
    broker = Broker.create(config)
    broker.create_topic("t", 2, 3, assignments={0: [0, 1, 2], 1: [1, 2, 0]})
    broker.create_topic("solo", 1, 1, assignments={0: [2]})
    broker.cluster.live_nodes.discard(0)
    broker.nodes.elections.broker_fenced(0, "broker 0 stopped (hard)")
    broker.cluster.live_nodes.discard(2)
    broker.nodes.elections.broker_fenced(2, "broker 2 stopped (hard)")
    broker.save_metadata()
    before = [(p.leader_id, p.isr, p.leader_epoch, p.partition_epoch) for p in broker.cluster.topics["t"].partitions]
    assert broker.cluster.topics["solo"].partitions[0].leader_id == NO_LEADER
    broker.close()

    again = Broker.create(config)
    try:
        after = [(p.leader_id, p.isr, p.leader_epoch, p.partition_epoch) for p in again.cluster.topics["t"].partitions]
        assert after == before
        solo = again.cluster.topics["solo"].partitions[0]
        # Every node runs again: the offline partition's last in-sync replica leads it.
        assert (solo.leader_id, solo.isr, solo.leader_epoch) == (2, [2], 2)
    finally:
        again.close()
