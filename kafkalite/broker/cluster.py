"""The cluster as clients see it: broker nodes, topics, partitions and their leaders.

kafkalite runs every emulated broker node in one process, but the model is a real cluster
of N nodes: each partition has a leader among them and a replica list, so that answering
``NOT_LEADER_OR_FOLLOWER`` or moving leaders later is configuration, not a rewrite. Leader
epochs start at 0 and only grow. This module is pure bookkeeping: no trio, no storage.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from typing import Any, Callable, Iterable

import attrs

from kafkalite.broker.racks import place_replicas, rack_alternated
from kafkalite.broker.topic_configs import validate_topic_configs

log = logging.getLogger("kafkalite.cluster")

MAX_TOPIC_NAME_LENGTH = 249

#: The leader id of a partition that has none (every replica offline, no eligible one).
NO_LEADER = -1
_LEGAL_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")

INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
#: The controller quorum's log: never a topic of the brokers (kafkalite.broker.quorum).
METADATA_TOPIC = "__cluster_metadata"

# Authorized-operation bit fields (Metadata, DescribeCluster, DescribeGroups). kafkalite has
# no ACLs, so every client may do every operation Kafka defines for the resource type (what
# Kafka answers without an authorizer); "omitted" is Kafka's INT32_MIN sentinel.
AUTHORIZED_OPERATIONS_OMITTED = -(2**31)
# READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
# CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
# IDEMPOTENT_WRITE 12 (CREATE_TOKENS and DESCRIBE_TOKENS belong to USER resources, not here)
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12))
# READ 3, DELETE 6, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11 (group configs, KIP-848)
GROUP_OPERATIONS = sum(1 << op for op in (3, 6, 8, 10, 11))


class TopicError(Exception):
    """Base of the errors a topic operation answers with a Kafka error code."""


class InvalidTopicName(TopicError):
    """The name is empty, too long, "." / "..", has illegal characters, or collides."""


class TopicAlreadyExists(TopicError):
    """A topic of that name exists."""


class UnknownTopic(TopicError):
    """No topic of that name."""


class InvalidPartitions(TopicError):
    """A partition count that is not positive, or that would not grow the topic."""


class InvalidReplicationFactor(TopicError):
    """A replication factor below 1 or above the number of broker nodes."""


class InvalidReplicaAssignment(TopicError):
    """A manual assignment with gaps, duplicates, uneven sizes or unknown nodes."""


class PolicyViolation(TopicError):
    """An operation larger than one controller batch may be (`MAX_RECORDS_PER_USER_OP`)."""


#: Kafka's controller refuses an operation that would write more metadata records than one
#: batch holds (a record per new topic and per new partition): 10,000. Without it, a client
#: asking for 2**31 - 1 partitions would stall the broker building them.
MAX_RECORDS_PER_USER_OP = 10_000


def _check_batch_size(records: int) -> None:
    if records > MAX_RECORDS_PER_USER_OP:
        raise PolicyViolation("Unable to perform excessively large batch operation.")


def validate_topic_name(name: str) -> None:
    """Raise `InvalidTopicName` unless *name* is a topic name Kafka accepts."""
    if not name:
        raise InvalidTopicName("Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise InvalidTopicName("Topic name cannot be \".\" or \"..\"")
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        raise InvalidTopicName(
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, "
            f"topic name: {name}"
        )
    if not _LEGAL_TOPIC_NAME.match(name):
        raise InvalidTopicName(
            f"Topic name \"{name}\" is illegal, it contains a character other than ASCII "
            "alphanumerics, '.', '_' and '-'"
        )


def new_cluster_id() -> str:
    """A Kafka-style cluster id: a random UUID in URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@attrs.frozen
class BrokerNode:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@attrs.define(eq=False)
class PartitionState:
    partition_index: int
    leader_id: int  # NO_LEADER when the partition is offline
    replicas: list[int]
    isr: list[int]
    leader_epoch: int = 0
    #: Grows with every change of leader, ISR or replicas (Kafka's partition epoch).
    partition_epoch: int = 0
    #: A reassignment in progress: replicas being added, and being removed once they caught up.
    adding_replicas: list[int] = attrs.Factory(list)
    removing_replicas: list[int] = attrs.Factory(list)


#: Called after every partition change: (topic, partition state, reason).
PartitionListener = Callable[["Topic", PartitionState, str], None]
#: Commits one metadata record (type name, fields) to the metadata quorum; False when the
#: quorum cannot (no majority of voters alive), and the change is then not made.
MetadataSink = Callable[[str, dict[str, Any]], bool]


@attrs.define(eq=False)
class Topic:
    name: str
    topic_id: uuid.UUID
    partitions: list[PartitionState]
    configs: dict[str, str] = attrs.Factory(dict)
    is_internal: bool = False


@attrs.define(eq=False)
class ClusterState:
    """Topics and nodes of the emulated cluster.

    ``node_ids`` is fixed at start; addresses arrive with `set_node` once listeners are bound.
    """

    cluster_id: str
    node_ids: list[int]
    nodes: dict[int, BrokerNode] = attrs.Factory(dict)
    topics: dict[str, Topic] = attrs.Factory(dict)
    topics_by_id: dict[uuid.UUID, Topic] = attrs.Factory(dict)
    #: Each listener's advertised node addresses (``nodes`` holds the first listener's).
    listener_nodes: dict[str, dict[int, BrokerNode]] = attrs.Factory(dict)
    #: (listener, node id) -> the (host, port) it is bound to, for DescribeConfigs' "listeners".
    listener_bound: dict[tuple[str, int], tuple[str, int]] = attrs.Factory(dict)
    #: The broker nodes that run now (all of ``node_ids`` until one is stopped).
    live_nodes: set[int] = attrs.field(default=None)
    #: Where partition changes are committed first (the metadata quorum); None: at once.
    metadata_sink: MetadataSink | None = None
    #: Told of every partition change once it is made (replication, persistence, trace).
    partition_listeners: list[PartitionListener] = attrs.Factory(list)
    #: Each node's rack (broker.rack), when racks are set: placement spreads over them.
    racks: dict[int, str] = attrs.Factory(dict)
    _placement_counter: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if self.live_nodes is None:
            self.live_nodes = set(self.node_ids)

    @property
    def controller_id(self) -> int:
        """What Metadata and DescribeCluster name as the controller: a live broker (clients
        send admin requests there), the first one."""
        return next((n for n in self.node_ids if n in self.live_nodes), self.node_ids[0])

    def set_node(self, node: BrokerNode, listener: str | None = None) -> None:
        """Record *node*'s address on *listener* (None or the first listener: also ``nodes``)."""
        if listener is None or not self.listener_nodes or listener == next(iter(self.listener_nodes)):
            self.nodes[node.node_id] = node
        if listener is not None:
            self.listener_nodes.setdefault(listener, {})[node.node_id] = node

    def nodes_on(self, listener: str) -> dict[int, BrokerNode]:
        """The node addresses a client that came in on *listener* is told (Kafka answers
        Metadata, FindCoordinator and DescribeCluster with the request's own listener)."""
        return self.listener_nodes.get(listener) or self.nodes

    def live_nodes_on(self, listener: str) -> dict[int, BrokerNode]:
        """`nodes_on` without the stopped nodes (Kafka leaves fenced brokers out)."""
        return {i: n for i, n in self.nodes_on(listener).items() if i in self.live_nodes}

    def topic(self, name: str) -> Topic | None:
        return self.topics.get(name)

    def partition(self, name: str, index: int) -> PartitionState | None:
        topic = self.topics.get(name)
        if topic is None or not 0 <= index < len(topic.partitions):
            return None
        return topic.partitions[index]

    # -- changes -------------------------------------------------------------------------

    def check_new_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        assignments: dict[int, list[int]] | None = None,
        configs: dict[str, str | None] | None = None,
    ) -> None:
        """Raise the `TopicError` (or `InvalidConfig`) that creating this topic would hit."""
        validate_topic_name(name)
        if name == METADATA_TOPIC:
            raise InvalidTopicName(f"Creation of internal topic {METADATA_TOPIC} is prohibited.")
        if name in self.topics:
            raise TopicAlreadyExists(f"Topic '{name}' already exists.")
        collision = name.replace(".", "_")
        for existing in self.topics:
            if existing.replace(".", "_") == collision:
                raise InvalidTopicName(
                    f"Topic '{name}' collides with existing topic: {existing}"
                )
        _check_batch_size(1 + (len(assignments) if assignments else num_partitions))
        if assignments:
            self._check_assignments(assignments, start=0)
        else:
            if num_partitions < 1:
                raise InvalidPartitions("Number of partitions must be larger than 0.")
            if replication_factor < 1:
                raise InvalidReplicationFactor("Replication factor must be larger than 0.")
            if replication_factor > len(self.node_ids):
                raise InvalidReplicationFactor(
                    f"Unable to replicate the partition {replication_factor} time(s): The "
                    f"target replication factor of {replication_factor} cannot be reached "
                    f"because only {len(self.node_ids)} broker(s) are registered."
                )
        if configs:
            validate_topic_configs(configs)

    def _check_assignments(self, assignments: dict[int, list[int]], start: int) -> None:
        expected = list(range(start, start + len(assignments)))
        if sorted(assignments) != expected:
            raise InvalidReplicaAssignment(
                f"Partitions in the replica assignment must be {expected}, got {sorted(assignments)}"
            )
        sizes = {len(replicas) for replicas in assignments.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise InvalidReplicaAssignment("All partitions must have the same, non-zero number of replicas")
        for index, replicas in assignments.items():
            if len(set(replicas)) != len(replicas):
                raise InvalidReplicaAssignment(f"Duplicate brokers in the assignment of partition {index}")
            unknown = [r for r in replicas if r not in self.node_ids]
            if unknown:
                raise InvalidReplicaAssignment(
                    f"Unknown broker(s) {unknown} in the assignment of partition {index}"
                )

    def _place(self, start: int, count: int, replication_factor: int) -> list[PartitionState]:
        nodes = rack_alternated(self.node_ids, self.racks) if self.racks else self.node_ids
        offset = self._placement_counter
        self._placement_counter += 1
        partitions = []
        for index in range(start, start + count):
            first = (index + offset) % len(nodes)
            replicas = place_replicas(nodes, self.racks, first, replication_factor)
            partitions.append(PartitionState(index, replicas[0], replicas, list(replicas)))
        return partitions

    def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        assignments: dict[int, list[int]] | None = None,
        configs: dict[str, str] | None = None,
        topic_id: uuid.UUID | None = None,
    ) -> Topic:
        """Create and return a topic; raises like `check_new_topic`."""
        self.check_new_topic(name, num_partitions, replication_factor, assignments, configs)
        if assignments:
            partitions = [
                PartitionState(i, replicas[0], list(replicas), list(replicas))
                for i, replicas in sorted(assignments.items())
            ]
        else:
            partitions = self._place(0, num_partitions, replication_factor)
        topic = Topic(
            name=name,
            topic_id=topic_id or uuid.uuid4(),
            partitions=partitions,
            configs=dict(configs or {}),
            is_internal=name in INTERNAL_TOPICS,
        )
        self.add_topic(topic)
        return topic

    def add_topic(self, topic: Topic) -> None:
        """Register an existing topic (e.g. one reloaded from disk)."""
        self.topics[topic.name] = topic
        self.topics_by_id[topic.topic_id] = topic

    def delete_topic(self, name: str) -> Topic:
        topic = self.topics.pop(name, None)
        if topic is None:
            raise UnknownTopic(f"Topic '{name}' does not exist.")
        del self.topics_by_id[topic.topic_id]
        return topic

    def check_new_partitions(
        self, name: str, total: int, assignments: list[list[int]] | None = None
    ) -> Topic:
        topic = self.topics.get(name)
        if topic is None:
            raise UnknownTopic(f"Topic '{name}' does not exist.")
        current = len(topic.partitions)
        if total < current:
            raise InvalidPartitions(
                f"Topic currently has {current} partitions, which is higher than the requested {total}."
            )
        if total == current:
            raise InvalidPartitions(f"Topic already has {current} partitions.")
        _check_batch_size(total - current)
        if assignments is not None:
            if len(assignments) != total - current:
                raise InvalidReplicaAssignment(
                    f"Increasing the number of partitions by {total - current} but "
                    f"{len(assignments)} assignments provided."
                )
            self._check_assignments(dict(enumerate(assignments, start=current)), start=current)
        return topic

    def add_partitions(
        self, name: str, total: int, assignments: list[list[int]] | None = None
    ) -> list[PartitionState]:
        """Grow topic *name* to *total* partitions; return the new ones."""
        topic = self.check_new_partitions(name, total, assignments)
        current = len(topic.partitions)
        if assignments is not None:
            new = [
                PartitionState(current + i, replicas[0], list(replicas), list(replicas))
                for i, replicas in enumerate(assignments)
            ]
        else:
            rf = len(topic.partitions[0].replicas) if topic.partitions else 1
            new = self._place(current, total - current, rf)
        topic.partitions.extend(new)
        return new

    def change_partition(
        self,
        topic: Topic,
        partition: PartitionState,
        *,
        reason: str,
        leader: int | None = None,
        isr: list[int] | None = None,
        replicas: list[int] | None = None,
        adding_replicas: list[int] | None = None,
        removing_replicas: list[int] | None = None,
        bump_leader_epoch: bool = False,
    ) -> bool:
        """Change one partition's leader, ISR or replicas, as Kafka's controller commits a
        PartitionChangeRecord: the metadata quorum first (`metadata_sink`), then the state,
        then the `partition_listeners`. A new leader (NO_LEADER included) starts a new leader
        epoch; every change grows the partition epoch. *reason* says why, for the log and the
        trace ("controlled shutdown of broker 1", "replica 2 caught up", ...).
        *bump_leader_epoch* starts a new leader epoch even when the leader stays (Kafka does
        so when the replica list loses a member).

        Returns False, changing nothing, when the quorum cannot commit the change; True when
        it was made (or there was nothing to change).
        """
        changes: dict[str, Any] = {}
        if leader is not None and leader != partition.leader_id:
            changes["leader"] = leader
        elif bump_leader_epoch:
            changes["leader"] = partition.leader_id
        for name, value in (
            ("isr", isr), ("replicas", replicas),
            ("adding_replicas", adding_replicas), ("removing_replicas", removing_replicas),
        ):
            if value is not None and list(value) != getattr(partition, name):
                changes[name] = list(value)
        if not changes:
            return True
        record = {"topic_id": str(topic.topic_id), "partition_id": partition.partition_index, **changes}
        if self.metadata_sink is not None and not self.metadata_sink("PartitionChangeRecord", record):
            log.info("%s-%d: change not committed, no metadata quorum (%s)", topic.name, partition.partition_index, reason)
            return False
        before = (partition.leader_id, partition.leader_epoch, list(partition.isr))
        if "leader" in changes:  # a new leader, or the same one in a new epoch
            partition.leader_id = changes["leader"]
            partition.leader_epoch += 1
        for name in ("isr", "replicas", "adding_replicas", "removing_replicas"):
            if name in changes:
                setattr(partition, name, changes[name])
        partition.partition_epoch += 1
        log.info(
            "%s-%d: leader %d -> %d (epoch %d -> %d), ISR %s -> %s: %s",
            topic.name, partition.partition_index, before[0], partition.leader_id, before[1],
            partition.leader_epoch, before[2], partition.isr, reason,
        )
        for listener in list(self.partition_listeners):
            listener(topic, partition, reason)
        return True

    def topics_led_by(self, node_id: int) -> Iterable[tuple[Topic, PartitionState]]:
        for topic in self.topics.values():
            for partition in topic.partitions:
                if partition.leader_id == node_id:
                    yield topic, partition
