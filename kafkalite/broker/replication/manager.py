"""`ReplicaManager`: every partition's replicas, their high watermark and in-sync set, in
Kafka's terms (ReplicaManager, Partition, ReplicaFetcherThread).

- Each broker node keeps its own copy of the partitions it hosts (`NodeStores`); the
  leader's copy is the one handlers read and append to (`Broker.log_for`).
- Followers copy the leader's batches as they are (`PartitionLog.append_as_follower`), one
  fetcher task per follower node (`kafkalite.broker.replication.fetcher`), woken by the
  leader's appends and by partition changes, never polling. A follower whose leader epoch is
  behind first truncates as OffsetForLeaderEpoch says: to the leader's end offset of the
  follower's last epoch, or its own log end offset if smaller.
- The leader's high watermark is the smallest log end offset of the ISR; it never goes back.
  Fetches of consumers read up to it and wake when it moves; acks=all produces wait for it.
- A follower that has not reached the leader's log end offset for replica.lag.time.max.ms
  (broker clock) leaves the ISR; one that reaches the high watermark in the current leader
  epoch joins it again. Both through `ClusterState.change_partition`.
- When a partition's leader changes, its producer state (idempotent sequences, open
  transactions) is rebuilt from the new leader's log: what only the old leader had never
  happened.

A partition with one replica is untouched: its log keeps high watermark = log end offset.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

import attrs
import trio

from kafkalite.broker.cluster import NO_LEADER, PartitionState, Topic
from kafkalite.broker.replication.stores import NodeStores
from kafkalite.storage import KafkaStorageError, LogConfig, PartitionLog
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.replication")

#: (topic, partition)
TP = tuple[str, int]


@attrs.define(eq=False)
class ReplicaManager:
    """The replicas of every partition on every broker node. Made by `Broker`."""

    #: The `kafkalite.broker.state.Broker` (not imported: it imports this module).
    broker: Any
    nodes: NodeStores
    #: (topic, partition, follower) -> broker-clock time (s) it last had the leader's LEO.
    _caught_up: dict[tuple[str, int, int], float] = attrs.field(init=False, factory=dict)
    #: (topic, partition, follower) -> the leader epoch its log was last reconciled with.
    _follower_epoch: dict[tuple[str, int, int], int] = attrs.field(init=False, factory=dict)
    #: follower node -> the partitions it should look at, and the event that wakes it.
    _dirty: dict[int, set[TP]] = attrs.field(init=False, factory=dict)
    _wake: dict[int, trio.Event] = attrs.field(init=False, factory=dict)
    #: (topic, partition) -> events of acks=all produces waiting for the high watermark.
    _hw_waiters: dict[TP, set[trio.Event]] = attrs.field(init=False, factory=dict)
    #: (topic, partition) -> (leader, leader epoch) last seen, to tell a leader change.
    _leaders: dict[TP, tuple[int, int]] = attrs.field(init=False, factory=dict)
    #: Replication delays (`set_delay`): (node or None, topic or None, partition or None) -> ms.
    delays: dict[tuple[int | None, str | None, int | None], int] = attrs.field(init=False, factory=dict)
    #: (topic, partition, follower) -> broker-clock time (s) from which a delayed copy is due.
    _due: dict[tuple[str, int, int], float] = attrs.field(init=False, factory=dict)

    @classmethod
    def open(cls, broker: Any) -> ReplicaManager:
        manager = cls(broker, NodeStores.open(broker.store, broker.cluster.node_ids))
        broker.cluster.partition_listeners.append(manager.on_partition_change)
        return manager

    # -- logs ------------------------------------------------------------------------------

    def log(self, node_id: int, topic: str, partition: int) -> PartitionLog | None:
        """Node *node_id*'s copy of the partition, None when it has none open."""
        return self.nodes.get(node_id, topic, partition)

    def leader_log(self, topic: str, partition: int) -> PartitionLog | None:
        """The leader's copy (None when the partition or its leader is missing)."""
        state = self.broker.cluster.partition(topic, partition)
        if state is None or state.leader_id == NO_LEADER:
            return None
        return self.nodes.get(state.leader_id, topic, partition)

    def logs_of(self, topic: str, partition: int) -> list[PartitionLog]:
        """Every open copy of the partition."""
        return [
            plog for node_id in self.nodes.stores
            if (plog := self.nodes.get(node_id, topic, partition)) is not None
        ]

    def open_partition(self, topic: Topic, state: PartitionState, config: LogConfig) -> PartitionLog | None:
        """Open (recovering) or create the partition's copy on every live replica node;
        return the leader's (None when it has no leader or the leader is not running).

        Raises:
            KafkaStorageError: a copy could not be opened or created.
        """
        cluster = self.broker.cluster
        live = cluster.live_nodes
        self.nodes.adopt_single_copy(self.broker.store, state.leader_id, topic.name, state.partition_index)
        for node_id in state.replicas:
            if node_id in live and node_id in self.nodes.stores:
                self.nodes.open_log(node_id, topic.name, state.partition_index, config)
        self._track(topic, state)
        return self.leader_log(topic.name, state.partition_index)

    def _track(self, topic: Topic, state: PartitionState) -> None:
        """Start following the partition: high watermark of the leader, followers' clocks."""
        key = (topic.name, state.partition_index)
        self._leaders[key] = (state.leader_id, state.leader_epoch)
        if len(state.replicas) < 2:
            return
        now = self._now()
        copies = {n: self.log(n, *key) for n in state.replicas}
        isr_ends = [c.log_end_offset for n, c in copies.items() if c is not None and n in state.isr]
        hw = min(isr_ends) if isr_ends else 0
        for node_id, plog in copies.items():
            if plog is not None and not plog.is_replicated:
                plog.set_high_watermark(min(hw, plog.log_end_offset))
            if node_id != state.leader_id:
                if now is not None:
                    self._caught_up[(*key, node_id)] = now
                self._mark(node_id, key)

    def _now(self) -> float | None:
        """The broker clock's monotonic time, None outside trio (a broker being built)."""
        try:
            return self.broker.clock.monotonic()
        except RuntimeError:
            return None

    def drop_partition(self, topic: str, partition: int) -> None:
        """Delete every copy of the partition and forget it.

        Raises:
            KafkaStorageError: some files could not be removed.
        """
        key = (topic, partition)
        self._leaders.pop(key, None)
        for name in ("_caught_up", "_follower_epoch", "_due"):
            table = getattr(self, name)
            for k in [k for k in table if k[:2] == key]:
                del table[k]
        self._wake_hw(key)
        self.nodes.drop(topic, partition)

    def remove_replica(self, node_id: int, topic: str, partition: int) -> None:
        """Delete node *node_id*'s copy of the partition (a replica reassigned away).

        Raises:
            KafkaStorageError: its files could not be removed.
        """
        for name in ("_caught_up", "_follower_epoch", "_due"):
            getattr(self, name).pop((topic, partition, node_id), None)
        store = self.nodes.stores.get(node_id)
        if store is not None and not self.nodes.shared:
            store.drop(topic, partition)

    def close(self) -> None:
        self.nodes.close()

    # -- the leader's side ---------------------------------------------------------------

    def on_leader_append(self, topic: str, partition: int, base_offset: int) -> None:
        """The leader appended from *base_offset*: followers that were caught up start
        lagging from now, fetchers wake, and with no follower in the ISR the high watermark
        moves at once."""
        state = self.broker.cluster.partition(topic, partition)
        if state is None or len(state.replicas) < 2:
            return
        key = (topic, partition)
        now = self._now()
        for node_id in state.replicas:
            if node_id == state.leader_id:
                continue
            follower = self.log(node_id, topic, partition)
            if now is not None and follower is not None and follower.log_end_offset >= base_offset:
                self._caught_up[(topic, partition, node_id)] = now
            self._mark(node_id, key)
        self.maybe_advance_hw(topic, state)

    def maybe_advance_hw(self, topic: str, state: PartitionState) -> bool:
        """Move the leader's high watermark to the smallest log end offset of the ISR (never
        back); wake the fetches and acks=all produces waiting on it. Return whether it moved."""
        index = state.partition_index
        leader = self.log(state.leader_id, topic, index) if state.leader_id != NO_LEADER else None
        if leader is None or not leader.is_replicated:
            return False
        ends = [
            plog.log_end_offset for n in state.isr
            if (plog := self.log(n, topic, index)) is not None
        ]
        if not ends or not leader.set_high_watermark(min(ends)):
            return False
        hw = leader.high_watermark
        for node_id in state.replicas:  # followers learn it with their next fetch in Kafka
            copy = self.log(node_id, topic, index) if node_id != state.leader_id else None
            if copy is not None:
                copy.set_high_watermark(min(hw, copy.log_end_offset))
        self.broker.notify(topic, index)
        self._wake_hw((topic, index))
        return True

    def min_insync_replicas(self, topic: Topic, state: PartitionState) -> int:
        """The effective min.insync.replicas of a partition: the topic's, but never more than
        its replicas (Kafka 4's effectiveMinIsr: a setting above the replication factor
        counts as the replication factor)."""
        configured = int(self.broker.topic_configs(topic).get("min.insync.replicas", "1"))
        return min(configured, len(state.replicas))

    def enough_replicas(self, topic: Topic, state: PartitionState) -> bool:
        """Whether an acks=all produce may append: the ISR has at least the effective
        min.insync.replicas members (Kafka answers NOT_ENOUGH_REPLICAS before appending
        otherwise)."""
        return len(state.isr) >= self.min_insync_replicas(topic, state)

    async def wait_for_acks(self, topic: Topic, index: int, required_offset: int, leader_epoch: int, deadline: float) -> ErrorCode:
        """Wait until the partition's high watermark reaches *required_offset* (acks=all):
        NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is then smaller than
        min.insync.replicas; NOT_LEADER_OR_FOLLOWER once the leader changed (the batch may be
        lost); REQUEST_TIMED_OUT at *deadline* (broker-clock `monotonic` seconds)."""
        key = (topic.name, index)
        clock = self.broker.clock
        while True:
            state = self.broker.cluster.partition(topic.name, index)
            leader = self.leader_log(topic.name, index)
            if state is None or leader is None or state.leader_epoch != leader_epoch:
                return ErrorCode.NOT_LEADER_OR_FOLLOWER
            if leader.high_watermark >= required_offset:
                if not self.enough_replicas(topic, state):
                    return ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
                return ErrorCode.NONE
            event = trio.Event()
            self._hw_waiters.setdefault(key, set()).add(event)
            try:
                with clock.move_on_at(deadline) as scope:
                    await event.wait()
            finally:
                waiting = self._hw_waiters.get(key)
                if waiting is not None:
                    waiting.discard(event)
            if scope.cancelled_caught:
                return ErrorCode.REQUEST_TIMED_OUT

    def _wake_hw(self, key: TP) -> None:
        for event in self._hw_waiters.pop(key, ()):
            event.set()

    # -- followers -------------------------------------------------------------------------

    def _mark(self, node_id: int, key: TP) -> None:
        self._dirty.setdefault(node_id, set()).add(key)
        event = self._wake.get(node_id)
        if event is not None:
            event.set()

    def wake_followers(self, topic: str, partition: int) -> None:
        """Have the partition's followers fetch now (e.g. its log start offset moved)."""
        state = self.broker.cluster.partition(topic, partition)
        for node_id in state.replicas if state is not None else ():
            if node_id != state.leader_id:
                self._mark(node_id, (topic, partition))

    def delay_for(self, node_id: int, topic: str, partition: int) -> int:
        """The replication delay (ms) of node *node_id*'s copy of the partition: the most
        specific rule set by `set_delay`, 0 without one."""
        delays = self.delays
        if not delays:
            return 0
        for key in (
            (node_id, topic, partition), (None, topic, partition), (node_id, topic, None),
            (None, topic, None), (node_id, None, None), (None, None, None),
        ):
            if key in delays:
                return delays[key]
        return 0

    def set_delay(self, node_id: int | None = None, topic: str | None = None, partition: int | None = None, delay_ms: int = 0) -> None:
        """Make followers (of node *node_id*, of *topic* / *partition*; None: all) copy the
        leader's new batches only *delay_ms* after they see them (broker clock), so they lag;
        0 lifts the rule. A test control: Kafka has no such setting."""
        if partition is not None and topic is None:
            raise ValueError("a partition needs its topic")
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        key = (node_id, topic, partition)
        if delay_ms == 0:
            self.delays.pop(key, None)
        else:
            self.delays[key] = delay_ms
        self._due.clear()
        for t in self.broker.cluster.topics.values():
            for p in t.partitions:
                for n in p.replicas:
                    if n != p.leader_id:
                        self._mark(n, (t.name, p.partition_index))

    async def run_fetcher(self, node_id: int) -> None:
        """Node *node_id*'s fetcher: copy what its followed partitions' leaders appended,
        woken by `_mark`; a delayed copy is retried when it is due (broker clock)."""
        clock = self.broker.clock
        while True:
            self._wake[node_id] = event = trio.Event()
            due = self.fetch_round(node_id)
            if due is None:
                await event.wait()
            else:
                with clock.move_on_at(due):
                    await event.wait()

    def fetch_round(self, node_id: int) -> float | None:
        """Copy, synchronously, what node *node_id* is missing of the partitions marked for
        it; return the earliest broker-clock time a delayed copy is due, or None."""
        pending = self._dirty.pop(node_id, set())
        earliest: float | None = None
        for key in pending:
            due = self._fetch_partition(node_id, key)
            if due is not None:
                self._dirty.setdefault(node_id, set()).add(key)
                if due < 0:  # more to copy: go on at once
                    due = self.broker.clock.monotonic()
                if earliest is None or due < earliest:
                    earliest = due
        return earliest

    def _fetch_partition(self, node_id: int, key: TP) -> float | None:
        """One fetch of node *node_id* for partition *key*. None: nothing more to do now; a
        broker-clock time: fetch again then (-1: at once, more was left)."""
        topic_name, index = key
        cluster = self.broker.cluster
        topic = cluster.topic(topic_name)
        state = cluster.partition(topic_name, index)
        if (
            topic is None or state is None or node_id not in state.replicas
            or state.leader_id in (NO_LEADER, node_id) or node_id not in cluster.live_nodes
        ):
            return None
        leader = self.log(state.leader_id, topic_name, index)
        if leader is None:
            return None
        follower = self.log(node_id, topic_name, index)
        if follower is None:
            follower = self.nodes.open_log(node_id, topic_name, index, self.broker.log_config(topic))
            follower.set_high_watermark(0)
        fkey = (topic_name, index, node_id)
        if self._follower_epoch.get(fkey) != state.leader_epoch:
            self._truncate_follower(follower, leader, topic_name, index, node_id)
            self._follower_epoch[fkey] = state.leader_epoch
        clock = self.broker.clock
        now = clock.monotonic()
        if follower.log_end_offset < leader.log_end_offset:
            delay = self.delay_for(node_id, topic_name, index)
            if delay:
                due = self._due.setdefault(fkey, now + delay / 1000)
                if now < due:
                    return due
            self._due.pop(fkey, None)
            try:
                chunks = leader.read(follower.log_end_offset, 1 << 20)
                for chunk in chunks:
                    follower.append_as_follower(chunk)
            except KafkaStorageError as exc:
                log.error("node %d cannot copy %s-%d: %s", node_id, topic_name, index, exc)
                return None
        if leader.log_start_offset > follower.log_start_offset:
            follower.advance_log_start(leader.log_start_offset)
        follower.set_high_watermark(min(leader.high_watermark, follower.log_end_offset))
        if follower.log_end_offset >= leader.log_end_offset:
            self._caught_up[fkey] = now
        self._maybe_expand_isr(topic, state, node_id, follower, leader)
        self.maybe_advance_hw(topic_name, state)
        return -1.0 if follower.log_end_offset < leader.log_end_offset else None

    def _truncate_follower(self, follower: PartitionLog, leader: PartitionLog, topic: str, index: int, node_id: int) -> None:
        """OffsetForLeaderEpoch, then truncation, as Kafka's follower does on a new leader
        epoch: the leader's end offset of the follower's latest epoch bounds what it keeps."""
        epochs = follower.leader_epochs
        if epochs:
            asked = epochs[-1][0]
            epoch, end = leader.leader_epoch_end_offset(asked)
            target = min(end, follower.log_end_offset) if end >= 0 else follower.log_end_offset
            if epoch != asked:
                # The leader never had the follower's last epoch: keep at most what the
                # follower has of the epoch the leader answered with.
                target = min(target, follower.leader_epoch_end_offset(epoch)[1])
        else:
            target = follower.log_end_offset
        target = min(target, leader.log_end_offset)
        if target < follower.log_end_offset:
            log.info("node %d truncates %s-%d to offset %d (leader epoch change)", node_id, topic, index, target)
            follower.truncate_to(target)

    def _maybe_expand_isr(self, topic: Topic, state: PartitionState, node_id: int, follower: PartitionLog, leader: PartitionLog) -> None:
        if node_id in state.isr or follower.log_end_offset < leader.high_watermark:
            return
        if not self.broker.nodes.may_join_isr(node_id):  # stopping (controlled shutdown)
            return
        self.broker.cluster.change_partition(
            topic, state, isr=[*state.isr, node_id],
            reason=f"replica {node_id} caught up with the leader's high watermark {leader.high_watermark}",
        )

    def check_isr(self) -> int:
        """Take out of the ISR every follower that has not had the leader's log end offset
        for replica.lag.time.max.ms; return how many left (Kafka's isr-expiration task)."""
        cluster = self.broker.cluster
        lag_max = self.broker.config.replica_lag_time_max_ms / 1000
        now = self.broker.clock.monotonic()
        removed = 0
        for topic in list(cluster.topics.values()):
            for state in topic.partitions:
                if len(state.isr) < 2 or state.leader_id == NO_LEADER:
                    continue
                leader = self.log(state.leader_id, topic.name, state.partition_index)
                if leader is None:
                    continue
                out = []
                for node_id in state.isr:
                    if node_id == state.leader_id:
                        continue
                    follower = self.log(node_id, topic.name, state.partition_index)
                    behind = follower is None or follower.log_end_offset < leader.log_end_offset
                    since = self._caught_up.setdefault((topic.name, state.partition_index, node_id), now)
                    if behind and now - since > lag_max:
                        out.append(node_id)
                if out and cluster.change_partition(
                    topic, state, isr=[n for n in state.isr if n not in out],
                    reason=f"replica(s) {out} not caught up for replica.lag.time.max.ms "
                    f"({self.broker.config.replica_lag_time_max_ms} ms)",
                ):
                    removed += len(out)
                    self.maybe_advance_hw(topic.name, state)
                    self._wake_hw((topic.name, state.partition_index))
        return removed

    async def run_isr_checks(self) -> None:
        """`check_isr` every replica.lag.time.max.ms / 2 of the broker clock, and when the
        clock jumps (tests advance it)."""
        clock = self.broker.clock
        interval = self.broker.config.replica_lag_time_max_ms / 2000
        jumped = [trio.Event()]
        unsubscribe = clock.subscribe(lambda: jumped[0].set())
        try:
            while True:
                with clock.move_on_after(interval):
                    await jumped[0].wait()
                jumped[0] = trio.Event()
                self.check_isr()
        finally:
            unsubscribe()

    def start_background(self, spawn: Any) -> None:
        """The fetcher of every node and the ISR check, when several brokers run."""
        if len(self.broker.cluster.node_ids) < 2:
            return
        for node_id in self.broker.cluster.node_ids:
            spawn(lambda n=node_id: self.run_fetcher(n))
        spawn(self.run_isr_checks)

    # -- partition changes ---------------------------------------------------------------

    def on_partition_change(self, topic: Topic, state: PartitionState, reason: str) -> None:
        """A `ClusterState.partition_listeners` entry: follow leader, ISR and replica changes."""
        key = (topic.name, state.partition_index)
        previous = self._leaders.get(key)
        current = (state.leader_id, state.leader_epoch)
        self._leaders[key] = current
        if previous is not None and previous != current and state.leader_id != NO_LEADER:
            self._new_leader(topic, state)
        config = None
        now = self._now()
        for node_id in state.replicas:
            if node_id == state.leader_id or node_id not in self.broker.cluster.live_nodes:
                continue
            if self.log(node_id, *key) is None and node_id in self.nodes.stores:
                config = config or self.broker.log_config(topic)
                self.nodes.open_log(node_id, topic.name, state.partition_index, config).set_high_watermark(0)
            if now is not None:
                self._caught_up.setdefault((*key, node_id), now)
            self._mark(node_id, key)
        self._wake_hw(key)
        self.maybe_advance_hw(topic.name, state)

    def _new_leader(self, topic: Topic, state: PartitionState) -> None:
        """The leader changed: rebuild the partition's producer state from the new leader's
        copy, and restart the followers' lag clocks."""
        index = state.partition_index
        leader = self.log(state.leader_id, topic.name, index)
        if leader is None:
            return
        producers = self.broker.producers
        producers.drop_partition(topic.name, index)
        for header, view in leader.batches_from(leader.log_start_offset):
            producers.replay(topic.name, index, header, view)
        now = self._now()
        for node_id in state.replicas:
            if node_id != state.leader_id and now is not None:
                self._caught_up[(topic.name, index, node_id)] = now
        log.info("%s-%d: node %d leads (epoch %d), producer state rebuilt from its log", topic.name, index, state.leader_id, state.leader_epoch)

    # -- nodes stopping and starting (R2 calls these) --------------------------------------

    def node_stopped(self, node_id: int, *, clean: bool = True) -> None:
        """Close node *node_id*'s copies: flushed on a clean stop, as they are on a hard one."""
        if node_id in self.nodes.stores and not self.nodes.shared:
            self.nodes.close_node(node_id, flush=clean)
        for key in [k for k in self._follower_epoch if k[2] == node_id]:
            del self._follower_epoch[key]

    def node_started(self, node_id: int) -> None:
        """Reopen (recover) node *node_id*'s copies and let its fetcher catch them up."""
        cluster = self.broker.cluster
        for topic in list(cluster.topics.values()):
            config = None
            for state in topic.partitions:
                if node_id not in state.replicas:
                    continue
                config = config or self.broker.log_config(topic)
                plog = self.nodes.open_log(node_id, topic.name, state.partition_index, config)
                if len(state.replicas) > 1 and not plog.is_replicated:
                    plog.set_high_watermark(0)
                if state.leader_id != node_id:
                    now = self._now()
                    if now is not None:
                        self._caught_up[(topic.name, state.partition_index, node_id)] = now
                    self._mark(node_id, (topic.name, state.partition_index))

    def partitions(self) -> Iterable[tuple[Topic, PartitionState]]:
        for topic in self.broker.cluster.topics.values():
            for state in topic.partitions:
                yield topic, state
