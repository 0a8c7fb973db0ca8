"""Partition reassignments (KIP-455), as Kafka's controller runs them.

A reassignment moves a partition to a target replica list in two steps, each one partition
change (`ClusterState.change_partition`):

1. start: replicas = target followed by the current replicas that the target drops (in id
   order), adding_replicas = target - current, removing_replicas = current - target (both in
   id order);
2. complete, as soon as the ISR holds every replica of the target: replicas = target, the ISR
   without the removed replicas, adding and removing emptied, and a new leader when the old
   one was removed (the first replica of the target that is in the ISR and alive). The
   leader epoch grows whenever the replica list loses a member.

Step 2 follows at once when the ISR already suits (a reordering, a pure removal); otherwise
when a follower catches up and joins the ISR: this module listens to every partition change
and completes what became completable. A null target cancels: the replicas being added are
taken out of the replica list and the ISR, the ones being removed stay. Reverting to an ISR
of only added replicas would be an unclean election, refused unless the topic allows one.

Pure bookkeeping over `ClusterState`: no trio, no storage, no protocol.
"""

from __future__ import annotations

from typing import Callable

import attrs

from kafkalite.broker.cluster import NO_LEADER, ClusterState, PartitionState, Topic
from kafkalite.wire.error_codes import ErrorCode


class ReassignmentError(Exception):
    """A partition's reassignment refused with a Kafka error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def in_progress(partition: PartitionState) -> bool:
    return bool(partition.adding_replicas or partition.removing_replicas)


def started(current: list[int], target: list[int]) -> tuple[list[int], list[int], list[int]]:
    """(replicas, adding, removing) of a reassignment from *current* to *target* replicas."""
    removing = sorted(set(current) - set(target))
    adding = sorted(set(target) - set(current))
    return list(target) + removing, adding, removing


def completed(
    replicas: list[int], adding: list[int], removing: list[int], isr: list[int]
) -> tuple[list[int], list[int]] | None:
    """(replicas, isr) once the reassignment (*replicas*, *adding*, *removing*) may complete
    with *isr*, or None while it may not: the ISR must keep a replica that stays, and hold
    every replica that stays."""
    if not adding and not removing:
        return None
    new_isr = [r for r in isr if r not in removing]
    new_replicas = [r for r in replicas if r not in removing]
    if not new_isr or not new_replicas:
        return None
    if not set(new_replicas) <= set(new_isr):
        return None
    return new_replicas, new_isr


@attrs.define(eq=False)
class Reassignments:
    """Starts, completes and cancels reassignments on *cluster*; lists those in progress.

    *unclean_allowed(topic)* says whether the topic's unclean.leader.election.enable is on.
    Subscribes itself to the cluster's partition changes.
    """

    cluster: ClusterState
    unclean_allowed: Callable[[str], bool] = lambda _topic: False

    def __attrs_post_init__(self) -> None:
        self.cluster.partition_listeners.append(self._on_change)

    def alter(self, topic_name: str, index: int, target: list[int] | None, *, allow_rf_change: bool = True) -> None:
        """Start (or re-target) the reassignment of one partition, or cancel it (None).

        Raises:
            ReassignmentError: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty,
                duplicate or unknown brokers; a revert needing an unclean election),
                NO_REASSIGNMENT_IN_PROGRESS (cancel of nothing), INVALID_REPLICATION_FACTOR
                (a size change with *allow_rf_change* off, KIP-860), REQUEST_TIMED_OUT (the
                metadata quorum could not commit the change).
        """
        topic = self.cluster.topic(topic_name)
        if topic is None:
            raise ReassignmentError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {topic_name}.")
        if not 0 <= index < len(topic.partitions):
            raise ReassignmentError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {topic_name}:{index}."
            )
        partition = topic.partitions[index]
        if target is None:
            self._cancel(topic, partition)
        else:
            self._start(topic, partition, list(target), allow_rf_change)

    def ongoing(self, wanted: dict[str, list[int]] | None = None) -> list[tuple[str, list[PartitionState]]]:
        """The partitions in reassignment, by topic: all of them (*wanted* None) or those of
        the named topics and partitions (unknown names and indexes are left out)."""
        result = []
        names = sorted(self.cluster.topics) if wanted is None else list(wanted)
        for name in names:
            topic = self.cluster.topic(name)
            if topic is None:
                continue
            indexes = range(len(topic.partitions)) if wanted is None else wanted[name]
            moving = [
                topic.partitions[i] for i in indexes
                if 0 <= i < len(topic.partitions) and in_progress(topic.partitions[i])
            ]
            if moving:
                result.append((name, moving))
        return result

    # -- steps ---------------------------------------------------------------------------

    def _check_target(self, target: list[int]) -> None:
        if not target:
            raise ReassignmentError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."
            )
        seen: set[int] = set()
        for broker_id in sorted(target):
            if broker_id not in self.cluster.node_ids:
                raise ReassignmentError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"The manual partition assignment includes broker {broker_id}, but no such broker is registered.",
                )
            if broker_id in seen:
                raise ReassignmentError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"The manual partition assignment includes the broker {broker_id} more than once.",
                )
            seen.add(broker_id)

    def _start(self, topic: Topic, partition: PartitionState, target: list[int], allow_rf_change: bool) -> None:
        self._check_target(target)
        if not allow_rf_change:
            original = [r for r in partition.replicas if r not in partition.adding_replicas]
            if len(original) != len(target):
                raise ReassignmentError(
                    ErrorCode.INVALID_REPLICATION_FACTOR,
                    f"The replication factor is changed from {len(original)} to {len(target)}",
                )
        replicas, adding, removing = started(partition.replicas, target)
        # As Kafka's PartitionChangeBuilder: an empty side keeps what an earlier
        # reassignment of the partition left there.
        adding = adding or list(partition.adding_replicas)
        removing = removing or list(partition.removing_replicas)
        done = completed(replicas, adding, removing, partition.isr)
        if done is not None:
            replicas, isr = done
            adding, removing = [], []
        else:
            isr = list(partition.isr)
        reason = f"reassignment to {target} " + ("completed" if done is not None else "started")
        self._commit_or_raise(topic, partition, replicas, isr, adding, removing, reason, unclean=False)

    def _cancel(self, topic: Topic, partition: PartitionState) -> None:
        if not in_progress(partition):
            raise ReassignmentError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS.description)
        replicas = [r for r in partition.replicas if r not in partition.adding_replicas]
        isr = [r for r in partition.isr if r not in partition.adding_replicas]
        unclean = not isr
        if unclean:
            if not self.unclean_allowed(topic.name):
                raise ReassignmentError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Unable to revert partition assignment for {topic.name}:{partition.partition_index} "
                    "because it would require an unclean leader election.",
                )
            isr = [replicas[0]]
        self._commit_or_raise(topic, partition, replicas, isr, [], [], "reassignment cancelled", unclean=unclean)

    def _on_change(self, topic: Topic, partition: PartitionState, reason: str) -> None:
        if not in_progress(partition) or self.cluster.topic(topic.name) is not topic:
            return
        done = completed(partition.replicas, partition.adding_replicas, partition.removing_replicas, partition.isr)
        if done is None:
            return
        replicas, isr = done
        # Not committed (no quorum): the next change of the partition tries again.
        self._commit(topic, partition, replicas, isr, [], [], f"reassignment to {replicas} completed", unclean=False)

    def _commit_or_raise(
        self, topic: Topic, partition: PartitionState, replicas: list[int], isr: list[int],
        adding: list[int], removing: list[int], reason: str, *, unclean: bool,
    ) -> None:
        if not self._commit(topic, partition, replicas, isr, adding, removing, reason, unclean=unclean):
            raise ReassignmentError(ErrorCode.REQUEST_TIMED_OUT, "The metadata quorum could not commit the change.")

    def _commit(
        self, topic: Topic, partition: PartitionState, replicas: list[int], isr: list[int],
        adding: list[int], removing: list[int], reason: str, *, unclean: bool,
    ) -> bool:
        live = self.cluster.live_nodes
        leader = partition.leader_id
        if unclean or leader not in isr or leader not in live:
            leader = next((r for r in replicas if r in isr and r in live), NO_LEADER)
        # A replica list that loses a member fences the old epoch (Kafka bumps the leader
        # epoch even when the leader stays).
        bump = not set(partition.replicas) <= set(replicas)
        ok = self.cluster.change_partition(
            topic, partition, reason=reason, leader=leader, isr=isr, replicas=replicas,
            adding_replicas=adding, removing_replicas=removing, bump_leader_epoch=bump,
        )
        return ok
