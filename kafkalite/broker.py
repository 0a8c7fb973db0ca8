"""The broker's shared state, handed to every handler through its `RequestContext`.

`Broker` owns the cluster model and (as the storage, produce and group layers arrive) the
partition logs and the group coordinator. Handlers change topics only through its methods,
so that everything a topic change implies (logs, persistence) happens in one place.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import attrs

from kafkalite.cluster import ClusterState, PartitionState, Topic, new_cluster_id
from kafkalite.config import BrokerConfig

log = logging.getLogger("kafkalite.broker")


@attrs.define(eq=False)
class Broker:
    config: BrokerConfig
    cluster: ClusterState
    started_at: float = attrs.field(factory=time.time)

    @classmethod
    def create(cls, config: BrokerConfig) -> Broker:
        cluster = ClusterState(
            cluster_id=config.cluster_id or new_cluster_id(),
            node_ids=[config.node_id + i for i in range(config.brokers)],
        )
        return cls(config=config, cluster=cluster)

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
        if num_partitions == -1:
            num_partitions = self.config.num_partitions
        if replication_factor == -1:
            replication_factor = self.config.default_replication_factor
        topic = self.cluster.create_topic(
            name, num_partitions, replication_factor, assignments, configs
        )
        log.info("created topic %s with %d partition(s)", name, len(topic.partitions))
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
        if num_partitions == -1:
            num_partitions = self.config.num_partitions
        if replication_factor == -1:
            replication_factor = self.config.default_replication_factor
        self.cluster.check_new_topic(name, num_partitions, replication_factor, assignments, configs)

    def delete_topic(self, name: str) -> Topic:
        topic = self.cluster.delete_topic(name)
        log.info("deleted topic %s", name)
        return topic

    def add_partitions(
        self, name: str, total: int, assignments: list[list[int]] | None = None
    ) -> list[PartitionState]:
        new = self.cluster.add_partitions(name, total, assignments)
        log.info("topic %s now has %d partitions", name, total)
        return new

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace the config overrides of topic *name* (already validated)."""
        topic = self.cluster.topics[name]
        topic.configs = dict(configs)
