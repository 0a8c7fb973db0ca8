"""How describe answers (Metadata, DescribeTopicPartitions, kafkalite topics describe) see a
partition's replicas, as Kafka's KRaft metadata cache does.

A replica on a broker node that does not run (not in ``ClusterState.live_nodes``: Kafka's
fenced brokers) is offline; a partition whose leader is NO_LEADER (or, briefly, a stopped
node) is answered with leader -1 and LEADER_NOT_AVAILABLE. Metadata v0 leaves stopped nodes
out of the replica and ISR lists and says REPLICA_NOT_AVAILABLE when it did.
"""

from __future__ import annotations

from kafkalite.broker.cluster import NO_LEADER, ClusterState, PartitionState
from kafkalite.wire.error_codes import ErrorCode


def offline_replicas(cluster: ClusterState, partition: PartitionState) -> list[int]:
    """The partition's replicas on nodes that do not run, in replica order."""
    return [r for r in partition.replicas if r not in cluster.live_nodes]


def live_leader(cluster: ClusterState, partition: PartitionState) -> int:
    """The leader clients are told: NO_LEADER when there is none or its node is stopped."""
    leader = partition.leader_id
    return leader if leader != NO_LEADER and leader in cluster.live_nodes else NO_LEADER


def is_under_replicated(partition: PartitionState) -> bool:
    """Fewer in-sync replicas than replicas (kafka-topics' --under-replicated-partitions)."""
    return len(partition.isr) < len(partition.replicas)


def is_unavailable(cluster: ClusterState, partition: PartitionState) -> bool:
    """No leader that runs (kafka-topics' --unavailable-partitions)."""
    return live_leader(cluster, partition) == NO_LEADER


def metadata_view(
    cluster: ClusterState, partition: PartitionState, *, v0: bool = False
) -> tuple[ErrorCode, int, list[int], list[int], list[int]]:
    """(error code, leader, replicas, isr, offline replicas) of one partition in a Metadata
    answer; *v0*: Metadata v0, which filters out the replicas of stopped nodes."""
    replicas, isr = list(partition.replicas), list(partition.isr)
    if v0:
        replicas = [r for r in replicas if r in cluster.live_nodes]
        isr = [r for r in isr if r in cluster.live_nodes]
    leader = live_leader(cluster, partition)
    if leader == NO_LEADER:
        code = ErrorCode.LEADER_NOT_AVAILABLE
    elif len(replicas) < len(partition.replicas) or len(isr) < len(partition.isr):
        code = ErrorCode.REPLICA_NOT_AVAILABLE
    else:
        code = ErrorCode.NONE
    return code, leader, replicas, isr, offline_replicas(cluster, partition)
