"""The broker's shared state, handed to every handler through its `RequestContext`.

`Broker` owns the cluster model, the partition logs (through a `LogStore`), the producer
state (idempotent sequences, open transactions, last stable offsets), the coordinators
(`kafkalite.broker.coordinators`, set up on first use) and the wake-ups of waiting fetches.
Records enter a log only through `Broker.append` (which wakes the fetches) and transaction
markers through `Broker.write_marker`; handlers change topics only through its methods, so
that everything a change implies (logs, persistence, rollback on a failed write) happens in
one place.

Durability: the cluster id, topics (ids, partitions, replicas, configs) and the producer-id
watermark are written to ``DATA_DIR/meta/cluster.json`` atomically on every change, and
reloaded by `Broker.create`; the logs recover themselves when opened.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

import attrs
import trio

from kafkalite.broker.cleaning import run_cleaner
from kafkalite.broker.cluster import ClusterState, PartitionState, Topic, UnknownTopic, new_cluster_id
from kafkalite.broker.coordinators import Coordinators
from kafkalite.broker.elections import partition_snapshot, restore_partition
from kafkalite.broker.acls import AclStore
from kafkalite.broker.dynamic_store import DynamicConfigStore
from kafkalite.broker.reassignments import Reassignments
from kafkalite.broker.faults import FaultRules
from kafkalite.broker.journal import Journal
from kafkalite.broker.metrics import Metrics
from kafkalite.broker.nodes import Nodes
from kafkalite.broker.producers import ProducerStates, SequenceVerdict
from kafkalite.broker.quorum.quorum import BROKER_RESOURCE, TOPIC_RESOURCE, MetadataQuorum
from kafkalite.broker.quotas import ClientQuotas
from kafkalite.broker.replication import ReplicaManager
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.throttle import QuotaEnforcer
from kafkalite.clock import BrokerClock
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.transactions.port import TRANSACTION_STATE_TOPIC
from kafkalite.storage import AppendInfo, KafkaStorageError, LogConfig, LogStore, PartitionLog
from kafkalite.wire.error_codes import ErrorCode

if TYPE_CHECKING:
    from kafkalite.groups.coordinator import GroupCoordinator
    from kafkalite.transactions.coordinator import TransactionCoordinator

log = logging.getLogger("kafkalite.broker")

METADATA_VERSION = 1
PRODUCER_ID_BLOCK = 1000

TopicPartition = tuple[str, int]


class InconsistentClusterId(Exception):
    """The data dir belongs to another cluster than the configured cluster id."""


@attrs.define(eq=False)
class Broker:
    config: BrokerConfig
    cluster: ClusterState
    store: LogStore
    producers: ProducerStates = attrs.Factory(ProducerStates)
    started_at: float = attrs.field(factory=time.time)
    # The one clock every broker timer and timestamp reads (tests move it: kafkalite.clock).
    clock: BrokerClock = attrs.Factory(BrokerClock)
    # Fault rules tests set (kafkalite.broker.faults); dispatch checks `faults.active` only.
    faults: FaultRules = attrs.Factory(FaultRules)
    _producer_id_limit: int = attrs.field(init=False, default=0)
    _waiters: dict[TopicPartition, set[trio.Event]] = attrs.field(init=False, factory=dict)
    # Consumer groups and transactions, each set up when first needed: see `groups`.
    coordinators: Coordinators = attrs.field(init=False)
    # Dynamic broker and group configs (AlterConfigs on BROKER / GROUP), from the data dir.
    dynamic: DynamicConfigStore = attrs.field(init=False)
    # ACLs (CreateAcls, broker.acls.add), from the data dir; enforced with config.acls on.
    acls: AclStore = attrs.field(init=False)
    # The request journal and the counters (kafkalite.broker.journal, .metrics).
    journal: Journal = attrs.field(init=False)
    metrics: Metrics = attrs.field(init=False)
    # Client quotas (kafkalite.broker.quotas, durable) and their enforcement (.throttle).
    quotas: ClientQuotas = attrs.field(init=False)
    throttle: QuotaEnforcer = attrs.field(init=False)
    # Broker nodes stopping and starting, and the elections that follow (kafkalite.broker.nodes).
    nodes: Nodes = attrs.field(init=False)
    # The controller quorum every metadata change is committed through (kafkalite.broker.quorum).
    quorum: MetadataQuorum = attrs.field(init=False)
    # Every node's copies of the partitions, followers, high watermarks, ISRs (replication/).
    replicas: ReplicaManager = attrs.field(init=False)
    # Partition reassignments in progress (kafkalite.broker.reassignments).
    reassignments: Reassignments = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.coordinators = Coordinators(self)
        self.nodes = Nodes(self)
        self.dynamic = DynamicConfigStore.open(self.store)
        self.acls = AclStore.open(self.store)
        # Retention, segment roll and flush by time follow the broker's clock.
        self.store.use_clock(self.clock.wall_ms)
        self.replicas = ReplicaManager.open(self)
        self.journal = Journal(self.config.journal_size, self.config.journal_record_bytes, self._topic_name)
        # Error codes per API are counted where something can read them (kafkalite.broker.metrics).
        self.metrics = Metrics(self, count_errors=self.config.http_port is not None or self.config.journal_size > 0)
        self.quotas = ClientQuotas.open(self.store)
        self.reassignments = Reassignments(
            self.cluster,
            lambda t: self.topic_configs(self.cluster.topics[t]).get("unclean.leader.election.enable") == "true",
        )
        self.throttle = QuotaEnforcer(
            self.quotas,
            lambda: int(self.clock.monotonic() * 1000),
            self.config.quota_window_num,
            self.config.quota_window_size_seconds * 1000,
        )
        self.quorum = MetadataQuorum.open(self.config, self.cluster, self.clock.wall_ms, self.store.data_dir)
        self.cluster.metadata_sink = self.quorum.sink
        self.nodes.controllers = self.quorum  # controllers stop and start through `nodes` too

    def _topic_name(self, topic_id: uuid.UUID) -> str | None:
        topic = self.cluster.topics_by_id.get(topic_id)
        return None if topic is None else topic.name

    @classmethod
    def create(cls, config: BrokerConfig) -> Broker:
        """Open (or initialise) the data dir and return the broker state.

        Raises:
            InconsistentClusterId: the data dir was written by another cluster.
        """
        store = LogStore.open(None if config.memory else config.data_dir)
        broker = None
        try:
            meta = store.load_metadata()
            if meta and config.cluster_id and meta.get("cluster_id") != config.cluster_id:
                raise InconsistentClusterId(
                    f"{config.data_dir} belongs to cluster {meta.get('cluster_id')}, not {config.cluster_id}"
                )
            cluster_id = config.cluster_id or (meta or {}).get("cluster_id") or new_cluster_id()
            node_ids = [config.node_id + i for i in range(config.brokers)]
            racks = dict(zip(node_ids, config.broker_racks))
            cluster = ClusterState(cluster_id=cluster_id, node_ids=node_ids, racks=racks)
            broker = cls(config=config, cluster=cluster, store=store)
            if meta:
                broker._restore(meta)
                broker.nodes.restored()
            broker._producer_id_limit = broker.producers.next_producer_id
            broker.coordinators.open_existing()
            broker.save_metadata()
        except BaseException:
            if broker is not None:
                broker.quorum.close()
                broker.replicas.close()  # the nodes' own stores (their dir locks)
            store.close()
            raise
        return broker

    @property
    def groups(self) -> GroupCoordinator:
        """The group coordinator, set up on first use (a broker that never sees a group never
        loads it) with the groups and offsets that __consumer_offsets holds."""
        return self.coordinators.groups

    @property
    def transactions(self) -> TransactionCoordinator:
        """The transaction coordinator, set up on first use from __transaction_state."""
        return self.coordinators.transactions

    def start_background(self, spawn: Callable[[Callable[[], Awaitable[None]]], None]) -> None:
        """Run the broker's background tasks (the coordinators' deadlines) with *spawn*, the
        server's ``nursery.start_soon``: now for those that exist, later for the others; and
        the log cleaner."""
        self.coordinators.start_background(spawn)
        self.quorum.register_brokers()  # the listeners are bound: the nodes have addresses
        spawn(lambda: run_cleaner(self))
        spawn(self._expire_producers)
        spawn(self.nodes.run_balancer)
        self.replicas.start_background(spawn)

    async def _expire_producers(self) -> None:
        # KIP-854: every producer.id.expiration.check.interval.ms on the broker clock, the
        # state of producers idle for producer.id.expiration.ms goes.
        while True:
            with self.clock.move_on_after(self.config.producer_id_expiration_check_interval_ms / 1000):
                await trio.sleep_forever()
            removed = self.producers.remove_expired(self.clock.wall_ms(), self.config.producer_id_expiration_ms)
            if removed:
                log.info("removed the state of %d idle producer(s) (producer.id.expiration.ms)", removed)

    def _restore(self, meta: dict[str, Any]) -> None:
        self.producers.next_producer_id = int(meta.get("next_producer_id", self.producers.next_producer_id))
        node_ids = self.cluster.node_ids
        for t in meta.get("topics", []):
            partitions = [restore_partition(p, node_ids) for p in t["partitions"]]
            topic = Topic(
                name=t["name"],
                topic_id=uuid.UUID(t["topic_id"]),
                partitions=partitions,
                configs=dict(t.get("configs", {})),
                is_internal=bool(t.get("is_internal", False)),
            )
            self.cluster.add_topic(topic)
            for p in partitions:
                self._open_log(topic, p.partition_index)
        log.info("restored %d topic(s) from %s", len(self.cluster.topics), self.config.data_dir)

    def metadata_snapshot(self) -> dict[str, Any]:
        return {
            "version": METADATA_VERSION,
            "cluster_id": self.cluster.cluster_id,
            "next_producer_id": self._producer_id_limit,
            "topics": [
                {
                    "name": t.name,
                    "topic_id": str(t.topic_id),
                    "is_internal": t.is_internal,
                    "configs": t.configs,
                    "partitions": [partition_snapshot(p) for p in t.partitions],
                }
                for t in self.cluster.topics.values()
            ],
        }

    def save_metadata(self) -> None:
        self.store.save_metadata(self.metadata_snapshot())

    # -- logs ----------------------------------------------------------------------------

    def topic_configs(self, topic: Topic) -> dict[str, str]:
        """The topic's overrides over the defaults that dynamic broker configs set (those of
        the first node, the cluster-wide ones behind them): what the broker acts on."""
        defaults = self.dynamic.topic_defaults(self.config.node_id)
        return {**defaults, **topic.configs} if defaults else topic.configs

    def set_dynamic_broker_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace the dynamic configs of BROKER resource *name* ("" or a broker id, already
        validated), save them, and apply the topic defaults they set to every open log."""
        self.quorum.require()
        self.quorum.configs_set(BROKER_RESOURCE, name, self.dynamic.broker(name), configs)
        self.dynamic.set_broker(name, configs)
        self._refresh_log_configs()

    def _refresh_log_configs(self) -> None:
        for topic in self.cluster.topics.values():
            log_config = self.log_config(topic)
            for p in topic.partitions:
                for plog in self.replicas.logs_of(topic.name, p.partition_index):
                    plog.update_config(log_config)

    def log_config(self, topic: Topic) -> LogConfig:
        return LogConfig.from_topic_configs(self.topic_configs(topic), base=LogConfig(fsync=self.config.fsync))

    def _open_log(self, topic: Topic, partition: int) -> PartitionLog | None:
        plog = self.replicas.open_partition(topic, topic.partitions[partition], self.log_config(topic))
        if plog is None:  # no leader running: its producer state is built when one leads
            return None
        # Rebuild idempotent-producer and open-transaction state from the batches the log
        # holds, and the aborted-transaction index from the markers (a crash may have left
        # it behind its log).
        aborted = []
        for header, view in plog.batches_from(plog.log_start_offset):
            entry = self.producers.replay(topic.name, partition, header, view)
            if entry is not None:
                aborted.append(entry)
        plog.reconcile_txn_indexes(aborted)
        self._bound_deletion(plog, topic.name, partition)
        return plog

    def _bound_deletion(self, plog: PartitionLog, topic: str, partition: int) -> None:
        """Retention and DeleteRecords never remove what an open transaction still needs."""
        plog.deletion_bound = lambda: self.producers.first_unstable_offset(topic, partition)

    def log_for(self, topic: str, partition: int) -> PartitionLog | None:
        """The leader's copy of the partition (None: unknown, or no leader running)."""
        return self.replicas.leader_log(topic, partition)

    def close(self) -> None:
        self.quorum.close()
        self.replicas.close()
        self.store.close()

    # -- producer ids --------------------------------------------------------------------

    def new_producer_id(self) -> int:
        """Issue a producer id never issued before, also across restarts.

        Ids are reserved in blocks whose end is persisted before any id of the block is
        handed out, as Kafka's controller allocates producer-id blocks.
        """
        if self.producers.next_producer_id >= self._producer_id_limit:
            previous = self._producer_id_limit
            self._producer_id_limit = self.producers.next_producer_id + PRODUCER_ID_BLOCK
            try:
                self.save_metadata()
            except KafkaStorageError:
                self._producer_id_limit = previous
                raise
        return self.producers.new_producer_id()

    # -- the partitions' leaders and their logs -------------------------------------------

    def leader_partition(
        self,
        topic: Topic | None,
        index: int,
        node_id: int,
        current_leader_epoch: int = -1,
        *,
        missing: ErrorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ) -> tuple[ErrorCode, PartitionState | None, PartitionLog | None]:
        """Whether *node_id* may serve partition *index* of *topic* as its leader.

        Returns (NONE, state, log) when it may. Otherwise the error a partition-level answer
        carries, in Kafka's order: *missing* for an unknown topic or partition,
        NOT_LEADER_OR_FOLLOWER (state given, so the answer can name the leader), then the
        client's view of the leader epoch: newer than ours UNKNOWN_LEADER_EPOCH, older
        FENCED_LEADER_EPOCH (-1 means the client does not say).
        """
        if topic is None or not 0 <= index < len(topic.partitions):
            return missing, None, None
        state = topic.partitions[index]
        if state.leader_id != node_id:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER, state, None
        if current_leader_epoch > state.leader_epoch:
            return ErrorCode.UNKNOWN_LEADER_EPOCH, state, None
        if 0 <= current_leader_epoch < state.leader_epoch:
            return ErrorCode.FENCED_LEADER_EPOCH, state, None
        plog = self.log_for(topic.name, index)
        if plog is None:
            return missing, None, None
        return ErrorCode.NONE, state, plog

    def append(
        self,
        topic: str,
        partition: int,
        batch: bytearray | memoryview | bytes,
        *,
        now_ms: int | None = None,
        log_append_time_ms: int | None = None,
    ) -> AppendInfo:
        """Append one record batch to a partition at its leader epoch and wake the fetches
        waiting on it: the one way records enter a log.

        Raises:
            UnknownTopic: no such partition.
            KafkaStorageError: the log could not be written.
        """
        state = self.cluster.partition(topic, partition)
        plog = self.log_for(topic, partition)
        if state is None or plog is None:
            raise UnknownTopic(f"{topic}-{partition} does not exist")
        info = plog.append(batch, leader_epoch=state.leader_epoch, now_ms=now_ms, log_append_time_ms=log_append_time_ms)
        self.notify(topic, partition)
        self.replicas.on_leader_append(topic, partition, info.base_offset)
        return info

    def write_marker(
        self, topic: str, partition: int, producer_id: int, producer_epoch: int, coordinator_epoch: int, commit: bool
    ) -> ErrorCode:
        """Append the COMMIT (or ABORT) marker of *producer_id*'s transaction to a partition,
        as Kafka's WriteTxnMarkers does on the partition's leader; on ``__consumer_offsets``
        the group coordinator then applies or drops the transaction's offsets.

        Raises:
            UnknownTopic: no such partition.
            KafkaStorageError: the log could not be written.
        """
        from kafkalite.wire.records import ControlRecordType, build_control_batch

        check = self.producers.check_marker(topic, partition, producer_id, producer_epoch, coordinator_epoch)
        if check.verdict is SequenceVerdict.STALE_EPOCH:
            return ErrorCode.INVALID_PRODUCER_EPOCH
        if check.verdict is SequenceVerdict.COORDINATOR_FENCED:
            return ErrorCode.TRANSACTION_COORDINATOR_FENCED
        control_type = ControlRecordType.COMMIT if commit else ControlRecordType.ABORT
        marker = build_control_batch(
            control_type, producer_id=producer_id, producer_epoch=producer_epoch, coordinator_epoch=coordinator_epoch,
            timestamp=self.clock.wall_ms(),
        )
        # No await from here on: the marker, the producer state and the index change together.
        info = self.append(topic, partition, marker)
        aborted = self.producers.record_marker(
            topic, partition, producer_id, producer_epoch, control_type, info.base_offset,
            coordinator_epoch=coordinator_epoch, timestamp=info.max_timestamp,
        )
        if aborted is not None:
            plog = self.log_for(topic, partition)
            assert plog is not None
            plog.append_aborted_txn(aborted)
        if topic == OFFSETS_TOPIC:
            self.groups.complete_transaction(partition, producer_id, commit)
        return ErrorCode.NONE

    # -- fetch wake-ups ------------------------------------------------------------------

    def register_waiter(self, partitions: Iterable[TopicPartition]) -> trio.Event:
        """An event set as soon as any of *partitions* gets new data (or is deleted)."""
        event = trio.Event()
        for tp in partitions:
            self._waiters.setdefault(tp, set()).add(event)
        return event

    def unregister_waiter(self, event: trio.Event, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            waiting = self._waiters.get(tp)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[tp]

    def notify(self, topic: str, partition: int) -> None:
        waiting = self._waiters.pop((topic, partition), None)
        if waiting:
            for event in waiting:
                event.set()

    # -- topics --------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        assignments: dict[int, list[int]] | None = None,
        configs: dict[str, str] | None = None,
    ) -> Topic:
        """Create a topic; -1 means the broker default. Raises `TopicError` / `InvalidConfig`."""
        num_partitions, replication_factor = self._sizes(num_partitions, replication_factor)
        self.quorum.require()  # raises MetadataQuorumUnavailable, changing nothing
        topic = self.cluster.create_topic(name, num_partitions, replication_factor, assignments, configs)
        try:
            for p in topic.partitions:
                self._open_log(topic, p.partition_index)
            self.save_metadata()
        except KafkaStorageError:
            # Undo in memory what did not reach the disk, so that both agree.
            self.cluster.delete_topic(name)
            self._drop_logs(name, [p.partition_index for p in topic.partitions])
            raise
        self.quorum.topic_created(topic)
        log.info("created topic %s with %d partition(s)", name, len(topic.partitions))
        return topic

    def _drop_logs(self, name: str, partitions: Iterable[int]) -> None:
        """Forget the logs of partitions whose creation is being undone (best effort)."""
        for index in partitions:
            try:
                self.replicas.drop_partition(name, index)
            except KafkaStorageError as exc:
                log.error("cannot remove %s-%d while undoing its creation: %s", name, index, exc)

    def auto_create_topic(self, name: str) -> Topic:
        """Create topic *name* because a client asked for it: an internal topic with the
        settings of its own (``__consumer_offsets``, ``__transaction_state``), any other with
        the broker defaults."""
        if name == OFFSETS_TOPIC:
            self.groups.ensure_offsets_topic()
        elif name == TRANSACTION_STATE_TOPIC:
            _ = self.transactions.num_partitions  # creates it
        else:
            return self.create_topic(name)
        topic = self.cluster.topic(name)
        if topic is None:  # deleted (DeleteTopics) after its coordinator learned its size
            port = self.groups.offsets_topic if name == OFFSETS_TOPIC else self.transactions.state_topic
            port.partition_count()  # creates it again, with its configured partitions
            topic = self.cluster.topics[name]
        return topic

    def check_new_topic(
        self,
        name: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        assignments: dict[int, list[int]] | None = None,
        configs: dict[str, Any] | None = None,
    ) -> None:
        """Raise what `create_topic` would raise, changing nothing (validate_only)."""
        num_partitions, replication_factor = self._sizes(num_partitions, replication_factor)
        self.cluster.check_new_topic(name, num_partitions, replication_factor, assignments, configs)

    def _sizes(self, num_partitions: int, replication_factor: int) -> tuple[int, int]:
        """Partition count and replication factor of a new topic, -1 meaning the default."""
        return (
            self.config.num_partitions if num_partitions == -1 else num_partitions,
            self.config.default_replication_factor if replication_factor == -1 else replication_factor,
        )

    def delete_topic(self, name: str) -> Topic:
        self.quorum.require()
        topic = self.cluster.delete_topic(name)
        try:
            self.save_metadata()  # first: a topic gone from the metadata is gone after a restart
        except KafkaStorageError:
            self.cluster.add_topic(topic)
            raise
        self.quorum.topic_deleted(topic)
        for p in topic.partitions:
            try:
                self.replicas.drop_partition(name, p.partition_index)
            except KafkaStorageError as exc:
                # The topic is deleted; files left behind are not loaded again (not in the metadata).
                log.error("deleted topic %s, but its files remain: %s", name, exc)
            self.notify(name, p.partition_index)
        self.producers.drop_partition(name)
        self.coordinators.on_topic_deleted(name)
        log.info("deleted topic %s", name)
        return topic

    def add_partitions(self, name: str, total: int, assignments: list[list[int]] | None = None) -> list[PartitionState]:
        self.quorum.require()
        new = self.cluster.add_partitions(name, total, assignments)
        topic = self.cluster.topics[name]
        try:
            for p in new:
                self._open_log(topic, p.partition_index)
            self.save_metadata()
        except KafkaStorageError:
            del topic.partitions[-len(new):]
            self._drop_logs(name, [p.partition_index for p in new])
            raise
        self.quorum.partitions_added(topic, new)
        log.info("topic %s now has %d partitions", name, total)
        return new

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace the config overrides of topic *name* (already validated)."""
        self.quorum.require()
        topic = self.cluster.topics[name]
        previous = topic.configs
        topic.configs = dict(configs)
        try:
            self.save_metadata()
        except KafkaStorageError:
            topic.configs = previous
            raise
        self.quorum.configs_set(TOPIC_RESOURCE, name, previous, topic.configs)
        log_config = self.log_config(topic)
        for p in topic.partitions:
            for plog in self.replicas.logs_of(name, p.partition_index):
                plog.update_config(log_config)

    # -- reset (tests) -------------------------------------------------------------------

    def reset(self, config: BrokerConfig | None = None) -> int:
        """Empty the broker for the next test: every user topic, group, committed offset and
        producer state goes; producer ids keep counting up. Then use *config*, if given (only
        settings read on use may differ). Returns the number of topics deleted.

        Parked JoinGroup / SyncGroup requests of members still around are answered
        UNKNOWN_MEMBER_ID, so their clients rejoin from scratch. A frozen clock runs again
        from where it stands (time never goes back).
        """
        self.clock.unfreeze()
        self.quorum.start_all()  # a test that stopped controllers leaves a whole quorum behind
        self.coordinators.reset()
        self.faults.clear()
        self.journal.clear()
        self.replicas.delays.clear()
        deleted = 0
        for name, topic in list(self.cluster.topics.items()):
            if not topic.is_internal:
                self.delete_topic(name)
                deleted += 1
        offsets = self.cluster.topic(OFFSETS_TOPIC)
        if offsets is not None:
            log_config = self.log_config(offsets)
            for p in offsets.partitions:
                plog = self.log_for(OFFSETS_TOPIC, p.partition_index)
                if plog is not None and plog.log_end_offset == 0:
                    continue  # never written: nothing to drop
                self.replicas.drop_partition(OFFSETS_TOPIC, p.partition_index)
                plog = self.replicas.open_partition(offsets, p, log_config)
                if plog is not None:
                    self._bound_deletion(plog, OFFSETS_TOPIC, p.partition_index)
                self.notify(OFFSETS_TOPIC, p.partition_index)
        self.producers = ProducerStates(next_producer_id=self.producers.next_producer_id)
        self.dynamic.reset()
        self.quotas.reset()
        self.throttle.reset()
        self.acls.clear()
        if config is not None:
            self.config = config
        self._refresh_log_configs()
        return deleted
