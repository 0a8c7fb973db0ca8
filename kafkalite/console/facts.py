"""What the console shows, read from the broker's state as plain values (no HTML here).

Every function reads the broker as it is now, in the broker's trio thread, without waiting
for anything: the cluster model (`kafkalite.broker.cluster`), the partition logs, the
producer state (last stable offsets), and the group and transaction coordinators, but only
when they are set up already (their internal topic exists): looking must not create them.

Fields that the cluster model may or may not have (a rack, controllers, live nodes) are read
with defaults, so a view keeps working as the model grows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from kafkalite.groups.consumer_protocol import ConsumerProtocolError, assigned_partitions
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.transactions.port import TRANSACTION_STATE_TOPIC

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker
    from kafkalite.groups.coordinator import GroupCoordinator
    from kafkalite.transactions.coordinator import TransactionCoordinator

TopicPartition = tuple[str, int]


# -- cluster -------------------------------------------------------------------------------


@attrs.frozen
class NodeFacts:
    node_id: int
    host: str
    port: int
    rack: str | None
    live: bool
    controller: bool


@attrs.frozen
class Overview:
    cluster_id: str
    controller_id: int
    nodes: list[NodeFacts]
    topics: int
    internal_topics: int
    partitions: int
    groups: int
    transactions: int


def overview(broker: Broker) -> Overview:
    """The cluster: its nodes (address, rack, live or stopped, controller) and counts."""
    cluster = broker.cluster
    live = getattr(cluster, "live_nodes", None)
    live = set(cluster.node_ids) if live is None else live
    controllers = set(getattr(cluster, "controller_ids", None) or [cluster.controller_id])
    nodes = []
    for node_id in cluster.node_ids:
        node = cluster.nodes.get(node_id)
        nodes.append(NodeFacts(
            node_id,
            node.host if node is not None else "-",
            node.port if node is not None else -1,
            getattr(node, "rack", None),
            node_id in live,
            node_id in controllers,
        ))
    topics = list(cluster.topics.values())
    return Overview(
        cluster_id=cluster.cluster_id,
        controller_id=cluster.controller_id,
        nodes=nodes,
        topics=sum(1 for t in topics if not t.is_internal),
        internal_topics=sum(1 for t in topics if t.is_internal),
        partitions=sum(len(t.partitions) for t in topics),
        groups=len(group_list(broker)),
        transactions=len(transaction_list(broker)),
    )


@attrs.frozen
class NodeLoad:
    """What one node carries: partitions it leads and replicas it holds."""

    node: NodeFacts
    leaders: int
    replicas: int


@attrs.frozen
class PartitionIssue:
    topic: str
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


@attrs.frozen
class ClusterFacts:
    overview: Overview
    load: list[NodeLoad]
    under_replicated: list[PartitionIssue]  # fewer in-sync replicas than replicas
    offline: list[PartitionIssue]  # no leader


def cluster(broker: Broker) -> ClusterFacts:
    """The nodes with what each carries, and the partitions that are under-replicated or
    offline (no leader), as ``kafka-topics --describe --under-replicated-partitions`` and
    ``--unavailable-partitions`` list them."""
    o = overview(broker)
    leaders: dict[int, int] = {}
    replicas: dict[int, int] = {}
    under, offline = [], []
    for t in sorted(broker.cluster.topics.values(), key=lambda t: t.name):
        for p in t.partitions:
            leaders[p.leader_id] = leaders.get(p.leader_id, 0) + 1
            for r in p.replicas:
                replicas[r] = replicas.get(r, 0) + 1
            issue = PartitionIssue(t.name, p.partition_index, p.leader_id, list(p.replicas), list(p.isr))
            if p.leader_id < 0:
                offline.append(issue)
            elif len(p.isr) < len(p.replicas):
                under.append(issue)
    load = [NodeLoad(n, leaders.get(n.node_id, 0), replicas.get(n.node_id, 0)) for n in o.nodes]
    return ClusterFacts(o, load, under, offline)


# -- topics and partitions -----------------------------------------------------------------


@attrs.frozen
class SegmentFacts:
    base_offset: int
    size: int


@attrs.frozen
class PartitionFacts:
    partition: int
    leader: int
    leader_epoch: int
    replicas: list[int]
    isr: list[int]
    log_start_offset: int | None  # None: the partition has no log here
    log_end_offset: int | None
    high_watermark: int | None
    last_stable_offset: int | None
    size: int | None
    segments: list[SegmentFacts]
    #: (node, log end offset of its copy; None: no copy there) of each replica, with
    #: replication; empty when the broker keeps one copy of each partition.
    copies: list[tuple[int, int | None]] = attrs.Factory(list)


@attrs.frozen
class TopicFacts:
    name: str
    topic_id: str
    internal: bool
    partitions: list[PartitionFacts]
    configs: dict[str, str]

    @property
    def messages(self) -> int:
        """Offsets between log start and log end, summed (records, transaction markers included)."""
        return sum((p.log_end_offset or 0) - (p.log_start_offset or 0) for p in self.partitions)

    @property
    def size(self) -> int:
        return sum(p.size or 0 for p in self.partitions)


def topic_names(broker: Broker) -> list[str]:
    """Every topic, user topics first, each group sorted by name."""
    topics = broker.cluster.topics.values()
    return [t.name for t in sorted(topics, key=lambda t: (t.is_internal, t.name))]


def topic(broker: Broker, name: str, *, segments: bool = True) -> TopicFacts | None:
    """The topic *name* partition by partition, or None when there is none."""
    from kafkalite.readable import kafka_uuid

    found = broker.cluster.topic(name)
    if found is None:
        return None
    partitions = [partition(broker, name, p.partition_index, segments=segments) for p in found.partitions]
    return TopicFacts(
        name=found.name,
        topic_id=kafka_uuid(found.topic_id),
        internal=found.is_internal,
        partitions=[p for p in partitions if p is not None],
        configs=dict(sorted(found.configs.items())),
    )


def partition(broker: Broker, name: str, index: int, *, segments: bool = True) -> PartitionFacts | None:
    """One partition: placement (leader, replicas, ISR) and its log's offsets and segments."""
    state = broker.cluster.partition(name, index)
    if state is None:
        return None
    plog = broker.log_for(name, index)
    if plog is None:
        start = end = hw = lso = size = None
        segs: list[SegmentFacts] = []
    else:
        start, end, hw, size = plog.log_start_offset, plog.log_end_offset, plog.high_watermark, plog.size_in_bytes
        lso = broker.producers.last_stable_offset(name, index, hw)
        segs = [SegmentFacts(base, seg_size) for base, seg_size, _mtime in plog.segment_times] if segments else []
    return PartitionFacts(
        copies=_copies(broker, name, index, state.replicas),
        partition=index,
        leader=state.leader_id,
        leader_epoch=state.leader_epoch,
        replicas=list(state.replicas),
        isr=list(state.isr),
        log_start_offset=start,
        log_end_offset=end,
        high_watermark=hw,
        last_stable_offset=lso,
        size=size,
        segments=segs,
    )


def _copies(broker: Broker, name: str, index: int, replicas: list[int]) -> list[tuple[int, int | None]]:
    """Each replica's log end offset, read from the broker's replica manager when it has one
    (one copy per node: replication); empty otherwise or with a single replica."""
    manager = getattr(broker, "replicas", None)
    log_of = getattr(manager, "log", None)
    if log_of is None or len(replicas) < 2:
        return []
    copies = []
    for node_id in replicas:
        plog = log_of(node_id, name, index)
        copies.append((node_id, None if plog is None else plog.log_end_offset))
    return copies


# -- groups --------------------------------------------------------------------------------


def _groups(broker: Broker) -> GroupCoordinator | None:
    """The group coordinator when it is set up (its topic exists), else None: a look at the
    console must not create __consumer_offsets."""
    if broker.cluster.topic(OFFSETS_TOPIC) is None:
        return None
    return broker.groups


@attrs.frozen
class GroupListing:
    group_id: str
    kind: str  # "classic" or "consumer"
    state: str
    members: int
    lag: int | None  # summed over the partitions with a committed offset


@attrs.frozen
class MemberFacts:
    member_id: str
    client_id: str
    host: str
    instance_id: str | None
    assignment: list[TopicPartition]


@attrs.frozen
class LagRow:
    """One line of ``kafka-consumer-groups --describe``."""

    topic: str
    partition: int
    current_offset: int | None  # the committed offset (None: "-")
    log_end_offset: int | None
    member_id: str | None
    host: str | None
    client_id: str | None

    @property
    def lag(self) -> int | None:
        # As kafka-consumer-groups: negative when the committed offset is past the log end
        # (records deleted or the offset committed by hand), not hidden.
        if self.current_offset is None or self.log_end_offset is None:
            return None
        return self.log_end_offset - self.current_offset


@attrs.frozen
class GroupFacts:
    group_id: str
    kind: str
    state: str
    protocol_type: str
    protocol: str
    generation: int
    leader: str | None
    members: list[MemberFacts]
    rows: list[LagRow]

    @property
    def lag(self) -> int | None:
        lags = [row.lag for row in self.rows if row.lag is not None]
        return sum(lags) if lags else None


def group_list(broker: Broker) -> list[GroupListing]:
    """Every live group, classic and consumer (KIP-848), sorted by id, with its total lag."""
    coordinator = _groups(broker)
    if coordinator is None:
        return []
    ids = {g.group_id for g in coordinator.list_groups()} | {g.group_id for g in coordinator.list_consumer_groups()}
    listed = []
    for group_id in sorted(ids):
        described = group(broker, group_id)
        if described is not None:
            listed.append(GroupListing(group_id, described.kind, described.state, len(described.members), described.lag))
    return listed


def group(broker: Broker, group_id: str) -> GroupFacts | None:
    """The group *group_id* as kafka-consumer-groups describes it, or None when there is none.

    Its rows: every partition with a committed offset or an owner; CURRENT-OFFSET is the
    committed offset, LOG-END-OFFSET the partition's high watermark (what the tool gets from
    ListOffsets latest, read_uncommitted), LAG their difference.
    """
    coordinator = _groups(broker)
    if coordinator is None:
        return None
    consumer_group = coordinator.consumer_group(group_id)
    classic = coordinator.group(group_id)
    offsets = classic.offsets if classic is not None else {}
    if consumer_group is not None:
        names = broker.cluster.topics_by_id
        members = [
            MemberFacts(
                m.member_id, m.client_id, m.client_host, m.instance_id,
                sorted((names[tid].name, p) for tid, ps in m.assigned.items() if tid in names for p in ps),
            )
            for m in consumer_group.members.values()
        ]
        kind, state = "consumer", consumer_group.state.value
        protocol_type, protocol, generation, leader = "consumer", consumer_group.assignor_name, consumer_group.group_epoch, None
    elif classic is not None:
        members = [
            MemberFacts(m.member_id, m.client_id, m.client_host, m.group_instance_id, _assigned(m.assignment))
            for m in classic.members.values()
        ]
        kind, state = "classic", classic.state.value
        protocol_type, protocol = classic.protocol_type or "", classic.protocol_name or ""
        generation, leader = classic.generation_id, classic.leader_id
    else:
        return None
    owners = {tp: m for m in members for tp in m.assignment}
    rows = []
    for tp in sorted(set(offsets) | set(owners)):
        plog = broker.log_for(*tp)
        committed = offsets.get(tp)
        owner = owners.get(tp)
        rows.append(LagRow(
            tp[0], tp[1],
            committed.committed_offset if committed is not None else None,
            plog.high_watermark if plog is not None else None,
            owner.member_id if owner else None,
            owner.host if owner else None,
            owner.client_id if owner else None,
        ))
    return GroupFacts(group_id, kind, state, protocol_type, protocol, generation, leader, members, rows)


def _assigned(assignment: bytes) -> list[TopicPartition]:
    if not assignment:
        return []
    try:
        return sorted((t, p) for t, ps in assigned_partitions(assignment).items() for p in ps)
    except ConsumerProtocolError:  # not the consumer protocol (Connect, a custom one)
        return []


def group_lags(broker: Broker) -> dict[str, int]:
    """Total lag of each group with committed offsets: what the lag chart samples."""
    coordinator = _groups(broker)
    if coordinator is None:
        return {}
    lags = {}
    for classic in coordinator.list_groups():
        total = 0
        for (name, index), committed in classic.offsets.items():
            plog = broker.log_for(name, index)
            if plog is not None:
                total += plog.high_watermark - committed.committed_offset
        lags[classic.group_id] = total
    for consumer_group in coordinator.list_consumer_groups():
        if consumer_group.group_id not in lags:
            facts = group(broker, consumer_group.group_id)
            if facts is not None and facts.lag is not None:
                lags[consumer_group.group_id] = facts.lag
    return lags


# -- transactions --------------------------------------------------------------------------


def _transactions(broker: Broker) -> TransactionCoordinator | None:
    if broker.cluster.topic(TRANSACTION_STATE_TOPIC) is None:
        return None
    return broker.transactions


@attrs.frozen
class TransactionFacts:
    transactional_id: str
    state: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    start_time_ms: int
    partitions: list[TopicPartition]


def transaction_list(broker: Broker) -> list[TransactionFacts]:
    """Every transactional id (as DescribeTransactions shows it), sorted."""
    coordinator = _transactions(broker)
    if coordinator is None:
        return []
    found = []
    for listing in coordinator.list_transactions().transactions:
        d = coordinator.describe(listing.transactional_id)
        if d.state is None:
            continue
        found.append(TransactionFacts(
            d.transactional_id, d.state_name, d.producer_id, d.producer_epoch,
            d.transaction_timeout_ms, d.transaction_start_time_ms,
            [(t, p) for t, ps in d.topics for p in ps],
        ))
    return sorted(found, key=lambda t: t.transactional_id)


# -- fault rules ---------------------------------------------------------------------------


def fault_rules(broker: Broker) -> list[dict[str, Any]]:
    """Each fault rule as the control API shows it: its spec, ``matched`` and ``fired``."""
    return [rule.to_dict() for rule in broker.faults.rules]
