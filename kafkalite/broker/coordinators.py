"""The broker's coordinators (groups, transactions), each set up when first needed.

A coordinator knows nothing of the broker: it gets its internal topic through a port
(`kafkalite.broker.internal_topics.InternalTopic`), plain settings from the broker's
configuration, and for transactions the markers port below. `Coordinators` creates each one
on first use (a broker that never sees a group or a transaction never loads either) on the
broker's clock (its deadlines and timestamps), starts its deadline task in the server's
nursery, and forwards topic deletions and resets.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

from kafkalite.broker.cluster import UnknownTopic
from kafkalite.broker.dynamic_store import DynamicConfigStore
from kafkalite.broker.internal_topics import InternalTopic, TopicsAndLogs
from kafkalite.broker.settings import BrokerConfig
from kafkalite.clock import BrokerClock
from kafkalite.groups.port import OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS
from kafkalite.storage import KafkaStorageError
from kafkalite.transactions.port import TRANSACTION_STATE_TOPIC, transaction_state_topic_configs
from kafkalite.wire.error_codes import ErrorCode

if TYPE_CHECKING:
    from kafkalite.groups.coordinator import GroupCoordinator
    from kafkalite.transactions.coordinator import TransactionCoordinator

log = logging.getLogger("kafkalite.broker")

Spawn = Callable[[Callable[[], Awaitable[None]]], None]


class Broker(TopicsAndLogs, Protocol):
    """What the coordinators' ports use of `kafkalite.broker.state.Broker`."""

    config: BrokerConfig
    dynamic: DynamicConfigStore
    clock: BrokerClock

    def new_producer_id(self) -> int: ...

    def write_marker(
        self, topic: str, partition: int, producer_id: int, producer_epoch: int, coordinator_epoch: int, commit: bool
    ) -> ErrorCode: ...


def group_settings(config: BrokerConfig) -> dict[str, object]:
    """The group coordinator's settings, as plain values, from the broker's configuration."""
    return {
        "initial_rebalance_delay_ms": config.group_initial_rebalance_delay_ms,
        "initial_rebalance_delay_max_ms": config.group_initial_rebalance_delay_max_ms,
        "min_session_timeout_ms": config.group_min_session_timeout_ms,
        "max_session_timeout_ms": config.group_max_session_timeout_ms,
        "offsets_retention_ms": config.offsets_retention_minutes * 60_000,
        "offsets_retention_check_interval_ms": config.offsets_retention_check_interval_ms,
        "offset_metadata_max_bytes": config.offset_metadata_max_bytes,
        "group_max_size": config.group_max_size,
        "consumer_heartbeat_interval_ms": config.group_consumer_heartbeat_interval_ms,
        "consumer_session_timeout_ms": config.group_consumer_session_timeout_ms,
        "consumer_max_size": config.group_consumer_max_size,
        "consumer_assignors": config.group_consumer_assignors,
        "consumer_migration_policy": config.group_consumer_migration_policy,
    }


def transaction_settings(config: BrokerConfig) -> dict[str, int]:
    """The transaction coordinator's settings, as plain values."""
    return {
        "transaction_max_timeout_ms": config.transaction_max_timeout_ms,
        "transactional_id_expiration_ms": config.transactional_id_expiration_ms,
        "abort_timed_out_transaction_cleanup_interval_ms": config.transaction_abort_timed_out_interval_ms,
        "remove_expired_transactional_ids_cleanup_interval_ms": config.transaction_remove_expired_interval_ms,
    }


class Coordinators:
    """The group and transaction coordinators of one broker."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._groups: GroupCoordinator | None = None
        self._transactions: TransactionCoordinator | None = None
        self._spawn: Spawn | None = None

    @property
    def groups(self) -> GroupCoordinator:
        if self._groups is None:
            from kafkalite.groups.coordinator import GroupCoordinator

            config = self._broker.config
            topic = InternalTopic(self._broker, OFFSETS_TOPIC, config.offsets_topic_partitions, OFFSETS_TOPIC_CONFIGS)
            # Group configs are read at each use, so a change applies from the next heartbeat.
            self._groups = GroupCoordinator.open(
                topic, group_configs=self._broker.dynamic.group, clock=self._broker.clock, **group_settings(config)
            )
            if self._spawn is not None:
                self._spawn(self._groups.run)
        return self._groups

    @property
    def transactions(self) -> TransactionCoordinator:
        if self._transactions is None:
            from kafkalite.transactions.coordinator import TransactionCoordinator

            broker = self._broker
            config = broker.config
            # One copy of each partition here, so no more in-sync replicas may be asked for.
            replicas = min(3, len(broker.cluster.node_ids))
            configs = transaction_state_topic_configs(min_insync_replicas=min(2, replicas))
            topic = InternalTopic(broker, TRANSACTION_STATE_TOPIC, config.transaction_state_partitions, configs)
            self._transactions = TransactionCoordinator.open(
                topic, Markers(broker), broker, clock=broker.clock, **transaction_settings(config)
            )
            if self._spawn is not None:
                self._spawn(self._transactions.run)
        return self._transactions

    def open_existing(self) -> None:
        """Set up now the coordinators whose topic exists (groups with members, transactions
        to complete: their deadlines run from the start)."""
        if self._broker.cluster.topic(OFFSETS_TOPIC) is not None:
            _ = self.groups
        if self._broker.cluster.topic(TRANSACTION_STATE_TOPIC) is not None:
            _ = self.transactions

    def start_background(self, spawn: Spawn) -> None:
        """Run the coordinators' deadline tasks with *spawn* (the server's
        ``nursery.start_soon``): now for those that exist, on creation for the others."""
        self._spawn = spawn
        for coordinator in (self._groups, self._transactions):
            if coordinator is not None:
                spawn(coordinator.run)

    def on_topic_deleted(self, name: str) -> None:
        if self._groups is not None:
            self._groups.on_topic_deleted(name)

    def reset(self) -> None:
        for coordinator in (self._groups, self._transactions):
            if coordinator is not None:
                coordinator.reset()


class Markers:
    """`kafkalite.transactions.port.TransactionMarkers` over the broker: what Kafka's
    WriteTxnMarkers does on each partition's leader, in process."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    def write_markers(
        self, producer_id: int, producer_epoch: int, coordinator_epoch: int, commit: bool, partitions: list[tuple[str, int]]
    ) -> dict[tuple[str, int], ErrorCode]:
        results = {}
        for topic, partition in partitions:
            try:
                results[(topic, partition)] = self._broker.write_marker(
                    topic, partition, producer_id, producer_epoch, coordinator_epoch, commit
                )
            except UnknownTopic:
                results[(topic, partition)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            except KafkaStorageError as exc:
                log.error("cannot write a transaction marker to %s-%d: %s", topic, partition, exc)
                results[(topic, partition)] = ErrorCode.KAFKA_STORAGE_ERROR
        return results
