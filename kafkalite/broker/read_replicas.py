"""Fetch from follower (KIP-392): which replica a consumer should read, and a follower's copy.

With ``replica.selector.class`` set to Kafka's RackAwareReplicaSelector, a leader answers a
consumer's Fetch (v11+) that names its rack (``client.rack``) with the preferred read replica
instead of records, as Kafka's ReplicaManager does:

* only consumers (a replica id below 0), only when the leader is this node;
* candidates are the leader and the followers in the ISR whose log holds the fetch offset
  (log start <= fetch offset <= log end);
* among the candidates in the client's rack: the leader if it is one of them (then no
  preferred replica is sent), else the most caught-up follower (largest log end offset, then
  the lowest id: kafkalite tracks no per-follower caught-up time); none in the rack, or no
  rack given: the leader.

Any broker node that hosts a replica serves a consumer's Fetch v11+ from its own copy (Kafka
checks leadership only for followers' fetches and consumers below v11), up to its own high
watermark: Kafka's follower high watermark, min(the leader's high watermark as the follower
last learnt it, its own log end offset). Whether the follower is in the ISR does not matter
(Kafka's read path does not look).

The follower copies are ``broker.replicas.log(node_id, topic, partition)`` (the replica data
path); a broker without them (one copy per partition) never names a preferred replica.
"""

from __future__ import annotations

from typing import Any, Callable

from kafkalite.broker.cluster import ClusterState, PartitionState, Topic
from kafkalite.broker.settings import RACK_AWARE_SELECTOR
from kafkalite.wire.error_codes import ErrorCode

__all__ = ["RACK_AWARE_SELECTOR", "follower_copy", "follower_high_watermark", "preferred_read_replica", "replica_logs"]
#: No preferred read replica (the Fetch response field's default).
NO_PREFERRED_REPLICA = -1

#: (node id, topic, partition) -> that node's copy of the partition, or None.
ReplicaLogs = Callable[[int, str, int], Any]


def replica_logs(broker: Any) -> ReplicaLogs | None:
    """The broker's per-node replica copies (``broker.replicas.log``), None without them."""
    replicas = getattr(broker, "replicas", None)
    return None if replicas is None else replicas.log


def preferred_read_replica(
    cluster: ClusterState,
    topic: str,
    partition: PartitionState,
    client_rack: str,
    fetch_offset: int,
    logs: ReplicaLogs,
) -> int:
    """The follower a consumer in *client_rack* should fetch *partition* from, or
    NO_PREFERRED_REPLICA (read from the leader): RackAwareReplicaSelector's choice."""
    if not client_rack:
        return NO_PREFERRED_REPLICA
    leader = partition.leader_id
    if cluster.racks.get(leader) == client_rack:
        return NO_PREFERRED_REPLICA
    best: tuple[int, int] | None = None
    for node_id in partition.isr:
        if node_id == leader or node_id not in cluster.live_nodes or cluster.racks.get(node_id) != client_rack:
            continue
        copy = logs(node_id, topic, partition.partition_index)
        if copy is None or not copy.log_start_offset <= fetch_offset <= copy.log_end_offset:
            continue
        # Kafka's ReplicaView order: log end offset, then the time since the follower last
        # caught up (kafkalite tracks none: equal), then the id; the largest wins.
        key = (copy.log_end_offset, node_id)
        if best is None or key > best:
            best = key
    return NO_PREFERRED_REPLICA if best is None else best[1]


def follower_high_watermark(copy: Any) -> int:
    """A follower's high watermark: the leader's as it last learnt it, never past its own log
    end offset."""
    return min(copy.high_watermark, copy.log_end_offset)


def follower_copy(
    broker: Any, topic: Topic, partition: PartitionState, node_id: int, current_leader_epoch: int
) -> tuple[ErrorCode, Any]:
    """(NONE, node *node_id*'s copy) when that node may serve a consumer from it: it hosts a
    replica of *partition* (a follower: the leader is served by the leader path). Otherwise
    NOT_LEADER_OR_FOLLOWER, or the client's stale or future leader epoch as for a leader."""
    logs = replica_logs(broker)
    if logs is None or node_id not in partition.replicas or node_id == partition.leader_id:
        return ErrorCode.NOT_LEADER_OR_FOLLOWER, None
    if current_leader_epoch > partition.leader_epoch:
        return ErrorCode.UNKNOWN_LEADER_EPOCH, None
    if 0 <= current_leader_epoch < partition.leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH, None
    copy = logs(node_id, topic.name, partition.partition_index)
    if copy is None:
        return ErrorCode.NOT_LEADER_OR_FOLLOWER, None
    return ErrorCode.NONE, copy
