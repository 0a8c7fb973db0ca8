"""Leader elections, as Kafka's KRaft controller makes them (ReplicationControlManager and
PartitionChangeBuilder), over the emulated cluster's bookkeeping.

Every change goes through `ClusterState.change_partition` with its reason, so it is committed
to the metadata quorum first, logged on "kafkalite.cluster" and told to the listeners
(replication, persistence, trace). Pure bookkeeping: no trio, no storage.

The rules (Kafka's, with eligible leader replicas (KIP-966) off):

* A leader must be live; a clean election picks it from the ISR, in replica order.
* A broker that stops is taken out of every ISR it is in, and a partition it led gets the
  first other live ISR member as leader (a new leader epoch). When it was the last ISR
  member, the ISR keeps it (Kafka never commits an empty ISR) and the partition is offline
  (leader -1) until that member returns, unless the topic's unclean.leader.election.enable
  lets any live replica lead, with an ISR of just itself (what it lacks is lost).
* A broker that starts becomes the leader of the offline partitions whose ISR holds it
  (it was the last in sync).
* Preferred leader election moves leadership to the first replica when it is live and in
  the ISR; automatic rebalancing (auto.leader.rebalance.enable) does it for every partition
  whose leader is not its preferred replica, as KRaft's controller does
  (leader.imbalance.per.broker.percentage is the ZooKeeper controller's rule: Kafka 4
  ignores it, and so does kafkalite).
"""

from __future__ import annotations

import enum
from typing import Any, Callable, Iterable

import attrs

from kafkalite.broker.cluster import NO_LEADER, ClusterState, PartitionState, Topic
from kafkalite.wire.error_codes import ErrorCode


def partition_snapshot(partition: PartitionState) -> dict[str, Any]:
    """What cluster.json keeps of a partition: replicas, leader, ISR and both epochs."""
    return {
        "index": partition.partition_index, "replicas": partition.replicas, "leader": partition.leader_id,
        "isr": partition.isr, "leader_epoch": partition.leader_epoch, "partition_epoch": partition.partition_epoch,
    }


def restore_partition(saved: dict[str, Any], node_ids: list[int]) -> PartitionState:
    """The partition `partition_snapshot` saved, in a cluster of *node_ids*.

    Leader, ISR and epochs come back as they were (a restart is not an election). A file
    from before they were saved, or replicas on nodes the cluster no longer has (fewer
    brokers), gives the first replica as leader and every replica in sync, with a new leader
    epoch when the replicas changed.
    """
    replicas = [r for r in saved["replicas"] if r in node_ids] or [node_ids[saved["index"] % len(node_ids)]]
    epoch = int(saved["leader_epoch"])
    if replicas != saved["replicas"] or "isr" not in saved:
        moved = replicas != saved["replicas"]
        return PartitionState(saved["index"], replicas[0], replicas, list(replicas), epoch + int(moved))
    leader = int(saved.get("leader", replicas[0]))
    isr = [r for r in saved["isr"] if r in replicas] or list(replicas)
    if leader != NO_LEADER and leader not in replicas:
        leader = replicas[0]
    return PartitionState(
        saved["index"], leader, replicas, isr, epoch, partition_epoch=int(saved.get("partition_epoch", 0))
    )


class ElectionType(enum.IntEnum):
    """ElectLeaders' election_type (v1+; v0 asks for PREFERRED)."""

    PREFERRED = 0
    UNCLEAN = 1


#: (topic) -> whether unclean.leader.election.enable is true for it (topic config or default).
UncleanPolicy = Callable[[Topic], bool]


@attrs.define(eq=False)
class Elections:
    """The controller's election rules applied to *cluster*.

    *unclean_allowed* tells whether a topic's unclean.leader.election.enable is on.
    Each method returns the number of partitions it changed.
    """

    cluster: ClusterState
    unclean_allowed: UncleanPolicy = lambda topic: False

    def _live(self, node_id: int, *, excluding: int = NO_LEADER) -> bool:
        return node_id != excluding and node_id in self.cluster.live_nodes

    def _partitions(self) -> Iterable[tuple[Topic, PartitionState]]:
        for topic in list(self.cluster.topics.values()):
            for partition in topic.partitions:
                yield topic, partition

    def _remove_broker(self, node_id: int, reason: str) -> int:
        """Take *node_id* out of every ISR and every leadership (fencing and controlled
        shutdown alike: Kafka's generateLeaderAndIsrUpdates with brokerToRemove)."""
        changed = 0
        for topic, partition in self._partitions():
            if node_id not in partition.isr and partition.leader_id != node_id:
                continue
            target_isr = [r for r in partition.isr if r != node_id]
            if not target_isr:
                target_isr = list(partition.isr)  # never an empty ISR: the last member stays
            leader = partition.leader_id
            isr = target_isr
            why = reason
            if leader == node_id or not self._live(leader, excluding=node_id):
                leader = next(
                    (r for r in partition.replicas if r in target_isr and self._live(r, excluding=node_id)), NO_LEADER
                )
                if leader == NO_LEADER and self.unclean_allowed(topic):
                    unclean = next((r for r in partition.replicas if self._live(r, excluding=node_id)), NO_LEADER)
                    if unclean != NO_LEADER:
                        leader, isr, why = unclean, [unclean], f"unclean leader election ({reason})"
            if self.cluster.change_partition(topic, partition, leader=leader, isr=isr, reason=why):
                changed += 1
        return changed

    def broker_fenced(self, node_id: int, reason: str) -> int:
        """*node_id* stopped (or was fenced); it must already have left ``live_nodes``."""
        return self._remove_broker(node_id, reason)

    def controlled_shutdown(self, node_id: int) -> int:
        """*node_id* asks to shut down: its leaderships move to other live ISR members and it
        leaves every ISR, while it still runs (Kafka's controlled shutdown)."""
        return self._remove_broker(node_id, f"controlled shutdown of broker {node_id}")

    def broker_unfenced(self, node_id: int) -> int:
        """*node_id* is live again: offline partitions it can lead get it as leader (clean
        when their ISR holds it, unclean when their topic allows it)."""
        changed = 0
        for topic, partition in self._partitions():
            if partition.leader_id != NO_LEADER or node_id not in partition.replicas:
                continue
            if node_id in partition.isr:
                done = self.cluster.change_partition(
                    topic, partition, leader=node_id, reason=f"broker {node_id} started, last in-sync replica"
                )
            elif self.unclean_allowed(topic) and not any(self._live(r) for r in partition.isr):
                done = self.cluster.change_partition(
                    topic, partition, leader=node_id, isr=[node_id],
                    reason=f"unclean leader election (broker {node_id} started)",
                )
            else:
                continue
            changed += int(done)
        return changed

    # -- preferred and unclean elections (ElectLeaders, auto rebalance) --------------------

    def elect(self, topic: Topic, partition: PartitionState, election: ElectionType) -> ErrorCode:
        """Elect *partition*'s leader as ElectLeaders asks; the partition's error code.

        PREFERRED: ELECTION_NOT_NEEDED when the preferred replica leads already,
        PREFERRED_LEADER_NOT_AVAILABLE when it is not live and in the ISR. UNCLEAN:
        ELECTION_NOT_NEEDED when there is a leader, ELIGIBLE_LEADERS_NOT_AVAILABLE when no
        replica is live. A change the metadata quorum cannot commit: REQUEST_TIMED_OUT (Kafka's
        answer once the request's timeout passes without a controller to commit it).
        """
        if election is ElectionType.PREFERRED:
            preferred = partition.replicas[0]
            if partition.leader_id == preferred:
                return ErrorCode.ELECTION_NOT_NEEDED
            if preferred not in partition.isr or not self._live(preferred):
                return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
            ok = self.cluster.change_partition(topic, partition, leader=preferred, reason="preferred leader election")
        else:
            if partition.leader_id != NO_LEADER:
                return ErrorCode.ELECTION_NOT_NEEDED
            clean = next((r for r in partition.replicas if r in partition.isr and self._live(r)), NO_LEADER)
            if clean != NO_LEADER:
                ok = self.cluster.change_partition(
                    topic, partition, leader=clean, reason="leader election (ElectLeaders UNCLEAN, ISR member live)"
                )
            else:
                unclean = next((r for r in partition.replicas if self._live(r)), NO_LEADER)
                if unclean == NO_LEADER:
                    return ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
                ok = self.cluster.change_partition(
                    topic, partition, leader=unclean, isr=[unclean], reason="unclean leader election"
                )
        return ErrorCode.NONE if ok else ErrorCode.REQUEST_TIMED_OUT

    def imbalanced(self) -> list[tuple[Topic, PartitionState]]:
        """Partitions whose leader is not their preferred replica (Kafka's imbalancedPartitions)."""
        return [
            (topic, partition) for topic, partition in self._partitions()
            if partition.replicas and partition.leader_id != partition.replicas[0]
        ]

    def balance(self) -> int:
        """Automatic preferred leader election: every imbalanced partition whose preferred
        replica is live and in sync gets it back as leader."""
        changed = 0
        for topic, partition in self.imbalanced():
            if self.elect(topic, partition, ElectionType.PREFERRED) is ErrorCode.NONE:
                changed += 1
        return changed
