"""The broker's side of the coordinators' ports: an internal topic (``__consumer_offsets``,
``__transaction_state``) as the coordinator that owns it sees it.

A coordinator asks for its topic's partition count when it first needs the topic; that is
when the broker creates it, with the configured partition count and the configs Kafka gives
it, as Kafka's auto-creation of internal topics does.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Protocol

from kafkalite.broker.cluster import ClusterState, Topic, UnknownTopic
from kafkalite.storage import KafkaStorageError
from kafkalite.wire.batch import BatchHeader
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.broker")


class TopicsAndLogs(Protocol):
    """What the port uses of `kafkalite.broker.state.Broker`."""

    cluster: ClusterState

    def create_topic(self, name: str, num_partitions: int = -1, replication_factor: int = -1,
                     assignments: Any = None, configs: dict[str, str] | None = None) -> Topic: ...

    def append(self, topic: str, partition: int, batch: bytes) -> Any: ...

    def log_for(self, topic: str, partition: int) -> Any: ...


class InternalTopic:
    """An internal topic behind a coordinator's port (`kafkalite.groups.port.OffsetsTopic`
    and its transactions twin): created when first needed, appended to through the broker's
    one append path."""

    def __init__(self, broker: TopicsAndLogs, name: str, partitions: int, configs: dict[str, str]) -> None:
        self._broker = broker
        self.name = name
        self._partitions = partitions
        self._configs = configs

    def exists(self) -> bool:
        return self._broker.cluster.topic(self.name) is not None

    def partition_count(self) -> int:
        broker = self._broker
        topic = broker.cluster.topic(self.name)
        if topic is None:
            topic = broker.create_topic(
                self.name,
                num_partitions=self._partitions,
                replication_factor=min(3, len(broker.cluster.node_ids)),
                configs=dict(self._configs),
            )
        elif len(topic.partitions) != self._partitions:
            log.warning(
                "%s has %d partitions, not the configured %d: keeping %d (keys map to partitions by hash)",
                self.name, len(topic.partitions), self._partitions, len(topic.partitions),
            )
        return len(topic.partitions)

    def leader(self, partition: int) -> int | None:
        cluster = self._broker.cluster
        state = cluster.partition(self.name, partition)
        # No leader, or one that stopped (a change the metadata quorum could not commit yet):
        # no coordinator, and clients are told COORDINATOR_NOT_AVAILABLE until there is one.
        if state is None or state.leader_id not in cluster.nodes or state.leader_id not in cluster.live_nodes:
            return None
        return state.leader_id

    def leader_epoch(self, partition: int) -> int:
        state = self._broker.cluster.partition(self.name, partition)
        return -1 if state is None else state.leader_epoch

    def append(self, partition: int, batch: bytes) -> tuple[ErrorCode, int]:
        try:
            info = self._broker.append(self.name, partition, batch)
        except UnknownTopic:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1
        except KafkaStorageError as exc:
            log.error("cannot append to %s-%d: %s", self.name, partition, exc)
            return ErrorCode.KAFKA_STORAGE_ERROR, -1
        return ErrorCode.NONE, info.base_offset

    def batches(self, partition: int) -> Iterable[tuple[BatchHeader, memoryview]]:
        plog = self._broker.log_for(self.name, partition)
        if plog is None:
            return ()
        return plog.batches_from(plog.log_start_offset)
