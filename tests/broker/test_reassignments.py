"""Partition reassignments (KIP-455): Kafka's controller rules, over `ClusterState`."""

from __future__ import annotations

import pytest

from kafkalite.broker.cluster import NO_LEADER, ClusterState
from kafkalite.broker.reassignments import ReassignmentError, Reassignments, completed, started
from kafkalite.wire.error_codes import ErrorCode


def _setup(replicas: list[int], nodes: int = 4, unclean: bool = False) -> tuple[ClusterState, Reassignments]:
    cluster = ClusterState(cluster_id="c", node_ids=list(range(nodes)))
    cluster.create_topic("t", 1, len(replicas), assignments={0: replicas})
    return cluster, Reassignments(cluster, lambda _t: unclean)


def _state(cluster: ClusterState) -> tuple:
    p = cluster.topics["t"].partitions[0]
    return p.leader_id, p.replicas, p.isr, p.adding_replicas, p.removing_replicas


def test_started_puts_the_target_first_then_the_removed_in_id_order():
    assert started([3, 1, 0], [2, 0]) == ([2, 0, 1, 3], [2], [1, 3])


def test_completed_needs_every_remaining_replica_in_the_isr():
    assert completed([2, 0, 1], [2], [1], [0, 1]) is None
    assert completed([2, 0, 1], [2], [1], [0, 1, 2]) == ([2, 0], [0, 2])
    assert completed([0, 1], [], [], [0, 1]) is None  # nothing in progress


def test_start_adds_the_target_and_marks_adding_and_removing():
    cluster, r = _setup([0, 1])
    r.alter("t", 0, [2, 3])
    assert _state(cluster) == (0, [2, 3, 0, 1], [0, 1], [2, 3], [0, 1])
    assert r.ongoing() == [("t", [cluster.topics["t"].partitions[0]])]


def test_completes_when_the_new_replicas_join_the_isr_and_moves_the_leader():
    cluster, r = _setup([0, 1])
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    r.alter("t", 0, [2, 3])
    epoch = p.leader_epoch
    seen = []
    cluster.partition_listeners.append(lambda t, s, reason: seen.append(reason))
    # The follower code adds a caught-up replica to the ISR, as R1's replicas will.
    assert cluster.change_partition(topic, p, isr=[0, 1, 2], reason="replica 2 caught up")
    assert _state(cluster) == (0, [2, 3, 0, 1], [0, 1, 2], [2, 3], [0, 1])
    assert cluster.change_partition(topic, p, isr=[0, 1, 2, 3], reason="replica 3 caught up")
    assert _state(cluster) == (2, [2, 3], [2, 3], [], [])
    assert p.leader_epoch == epoch + 1
    assert r.ongoing() == []
    assert "reassignment to [2, 3] completed" in seen


def test_a_reordering_completes_at_once_and_keeps_the_leader():
    cluster, r = _setup([0, 1, 2])
    r.alter("t", 0, [2, 1, 0])
    p = cluster.topics["t"].partitions[0]
    assert _state(cluster) == (0, [2, 1, 0], [0, 1, 2], [], [])
    assert p.leader_epoch == 0  # no replica left the list


def test_a_removal_completes_at_once_and_bumps_the_leader_epoch():
    cluster, r = _setup([0, 1, 2])
    r.alter("t", 0, [0, 1])
    p = cluster.topics["t"].partitions[0]
    assert _state(cluster) == (0, [0, 1], [0, 1], [], [])
    assert p.leader_epoch == 1


def test_removing_the_leader_elects_the_first_target_replica_in_the_isr():
    cluster, r = _setup([0, 1, 2])
    r.alter("t", 0, [2, 1])
    assert _state(cluster)[:3] == (2, [2, 1], [1, 2])


def test_a_stopped_replica_is_not_elected():
    cluster, r = _setup([0, 1, 2])
    cluster.live_nodes.discard(2)
    r.alter("t", 0, [2, 1])
    assert _state(cluster)[0] == 1


def test_cancel_takes_the_adding_replicas_out():
    cluster, r = _setup([0, 1])
    topic = cluster.topics["t"]
    r.alter("t", 0, [1, 2, 3])
    cluster.change_partition(topic, topic.partitions[0], isr=[0, 1, 2], reason="replica 2 caught up")
    assert _state(cluster) == (0, [1, 2, 3, 0], [0, 1, 2], [2, 3], [0])
    r.alter("t", 0, None)
    # As Kafka's revert: the replica list minus the added ones, in its current order.
    assert _state(cluster) == (0, [1, 0], [0, 1], [], [])


def test_cancel_of_nothing_is_no_reassignment_in_progress():
    _cluster, r = _setup([0, 1])
    with pytest.raises(ReassignmentError) as info:
        r.alter("t", 0, None)
    assert info.value.code == ErrorCode.NO_REASSIGNMENT_IN_PROGRESS


def test_cancel_needing_an_unclean_election_is_refused_unless_the_topic_allows_it():
    cluster, r = _setup([0, 1])
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    r.alter("t", 0, [2, 3])
    # Only the new replicas are left in the ISR (the old ones fell out).
    cluster.change_partition(topic, p, isr=[2], leader=2, reason="test")
    with pytest.raises(ReassignmentError) as info:
        r.alter("t", 0, None)
    assert info.value.code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
    assert "unclean leader election" in info.value.message
    Reassignments(cluster, lambda _t: True).alter("t", 0, None)
    assert _state(cluster) == (0, [0, 1], [0], [], [])


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ([], "empty replica list"),
        ([0, 0], "includes the broker 0 more than once"),
        ([0, 9], "includes broker 9, but no such broker is registered"),
    ],
)
def test_invalid_targets_are_invalid_replica_assignment(target, message):
    cluster, r = _setup([0, 1])
    with pytest.raises(ReassignmentError) as info:
        r.alter("t", 0, target)
    assert info.value.code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
    assert message in info.value.message
    assert _state(cluster) == (0, [0, 1], [0, 1], [], [])


def test_unknown_topic_or_partition():
    _cluster, r = _setup([0, 1])
    for name, index in (("nope", 0), ("t", 1), ("t", -1)):
        with pytest.raises(ReassignmentError) as info:
            r.alter(name, index, [0])
        assert info.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_replication_factor_change_refused_when_not_allowed():
    cluster, r = _setup([0, 1])
    with pytest.raises(ReassignmentError) as info:
        r.alter("t", 0, [0, 1, 2], allow_rf_change=False)
    assert info.value.code == ErrorCode.INVALID_REPLICATION_FACTOR
    assert info.value.message == "The replication factor is changed from 2 to 3"
    r.alter("t", 0, [2, 3], allow_rf_change=False)  # same size: fine
    assert _state(cluster)[3] == [2, 3]


def test_an_uncommitted_change_is_request_timed_out_and_changes_nothing():
    cluster, r = _setup([0, 1])
    cluster.metadata_sink = lambda kind, fields: False
    with pytest.raises(ReassignmentError) as info:
        r.alter("t", 0, [2, 3])
    assert info.value.code == ErrorCode.REQUEST_TIMED_OUT
    assert _state(cluster) == (0, [0, 1], [0, 1], [], [])


def test_completion_waits_for_a_quorum_and_retries_on_the_next_change():
    cluster, r = _setup([0])
    topic = cluster.topics["t"]
    p = topic.partitions[0]
    r.alter("t", 0, [1])
    commits = []

    def sink(kind, fields):
        commits.append(fields)
        return len(commits) != 2  # the ISR change commits, the completion does not

    cluster.metadata_sink = sink
    assert cluster.change_partition(topic, p, isr=[0, 1], reason="replica 1 caught up")
    assert _state(cluster) == (0, [1, 0], [0, 1], [1], [0])
    cluster.change_partition(topic, p, isr=[0, 1], leader=0, bump_leader_epoch=True, reason="epoch")
    assert _state(cluster) == (1, [1], [1], [], [])


def test_listing_named_partitions_leaves_out_unknown_and_idle_ones():
    cluster = ClusterState(cluster_id="c", node_ids=[0, 1, 2])
    cluster.create_topic("a", 2, 1, assignments={0: [0], 1: [1]})
    r = Reassignments(cluster)
    r.alter("a", 1, [2])
    moving = cluster.topics["a"].partitions[1]
    assert r.ongoing({"a": [0, 1, 7], "zz": [0]}) == [("a", [moving])]
    assert r.ongoing({"a": [0]}) == []


def test_no_leader_when_no_target_replica_is_alive_in_the_isr():
    cluster, r = _setup([0, 1])
    cluster.live_nodes.clear()
    r.alter("t", 0, [1, 0])
    assert _state(cluster)[0] == NO_LEADER
