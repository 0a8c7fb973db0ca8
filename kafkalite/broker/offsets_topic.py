"""The broker's side of the group coordinator's port: ``__consumer_offsets`` as a topic.

The coordinator asks for the topic's partition count when a group first needs it; that is
when the broker creates the topic, with ``offsets.topic.num.partitions`` partitions and the
configs Kafka gives it, as Kafka's auto-creation of internal topics does.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Protocol

from kafkalite.broker.cluster import ClusterState, Topic, UnknownTopic
from kafkalite.broker.settings import BrokerConfig
from kafkalite.groups.port import OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS
from kafkalite.storage import KafkaStorageError
from kafkalite.wire.batch import BatchHeader
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.broker")


class TopicsAndLogs(Protocol):
    """What the port uses of `kafkalite.broker.state.Broker`."""

    config: BrokerConfig
    cluster: ClusterState

    def create_topic(self, name: str, num_partitions: int = -1, replication_factor: int = -1,
                     assignments: Any = None, configs: dict[str, str] | None = None) -> Topic: ...

    def append(self, topic: str, partition: int, batch: bytes) -> Any: ...

    def log_for(self, topic: str, partition: int) -> Any: ...


class BrokerOffsetsTopic:
    """`kafkalite.groups.port.OffsetsTopic` over a broker's topics and logs."""

    def __init__(self, broker: TopicsAndLogs) -> None:
        self._broker = broker

    def exists(self) -> bool:
        return self._broker.cluster.topic(OFFSETS_TOPIC) is not None

    def partition_count(self) -> int:
        broker = self._broker
        topic = broker.cluster.topic(OFFSETS_TOPIC)
        configured = broker.config.offsets_topic_partitions
        if topic is None:
            topic = broker.create_topic(
                OFFSETS_TOPIC,
                num_partitions=configured,
                replication_factor=min(3, len(broker.cluster.node_ids)),
                configs=dict(OFFSETS_TOPIC_CONFIGS),
            )
        elif len(topic.partitions) != configured:
            log.warning(
                "%s has %d partitions, not the configured %d: keeping %d (groups map to partitions by hash)",
                OFFSETS_TOPIC, len(topic.partitions), configured, len(topic.partitions),
            )
        return len(topic.partitions)

    def leader(self, partition: int) -> int | None:
        cluster = self._broker.cluster
        state = cluster.partition(OFFSETS_TOPIC, partition)
        if state is None or state.leader_id not in cluster.nodes:
            return None
        return state.leader_id

    def append(self, partition: int, batch: bytes) -> tuple[ErrorCode, int]:
        try:
            info = self._broker.append(OFFSETS_TOPIC, partition, batch)
        except UnknownTopic:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1
        except KafkaStorageError as exc:
            log.error("cannot append to %s-%d: %s", OFFSETS_TOPIC, partition, exc)
            return ErrorCode.KAFKA_STORAGE_ERROR, -1
        return ErrorCode.NONE, info.base_offset

    def batches(self, partition: int) -> Iterable[tuple[BatchHeader, memoryview]]:
        plog = self._broker.log_for(OFFSETS_TOPIC, partition)
        if plog is None:
            return ()
        return plog.batches_from(plog.log_start_offset)
