"""What every part of the group coordinator shares: its settings and groups, the lookup of
a group's coordinator, writes to ``__consumer_offsets`` and the members' session deadlines.

`kafkalite.groups.membership` (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and
`kafkalite.groups.offsets` (commits, fetches, deletion, expiry) build on it;
`kafkalite.groups.coordinator` puts them together.

Every method that changes state is synchronous: trio runs one task at a time, so a change
and its storage write are atomic with respect to other requests.
"""

from __future__ import annotations

import logging
from typing import Callable, Mapping

import attrs

from kafkalite.clock import BrokerClock
from kafkalite.groups.consumer_group import ConsumerGroup
from kafkalite.groups.consumer_records import group_tombstones
from kafkalite.groups.group import Group, Member
from kafkalite.groups.port import OFFSETS_TOPIC, OffsetsTopic, store_error
from kafkalite.groups.records import (
    GroupMetadataValue,
    MemberMetadata,
    group_metadata_key,
    group_metadata_value,
    partition_for,
)
from kafkalite.timers import Timers
from kafkalite.storage import KafkaStorageError
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.records import NewRecord, build_batch

log = logging.getLogger("kafkalite.groups")

#: Kafka's group.classic.new.member.join.timeout: a member parked in its first JoinGroup is
#: dropped if the join phase has not completed by then.
NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000


def _no_group_configs(group_id: str) -> Mapping[str, str]:
    return {}


@attrs.define(eq=False)
class CoordinatorCore:
    """Settings (plain values, from the broker's configuration), groups and deadlines."""

    offsets_topic: OffsetsTopic
    initial_rebalance_delay_ms: int = 0
    #: Cap on a new group's whole initial wait, extensions included (Kafka's cap is the
    #: rebalance timeout alone; kafkalite's is the smaller of the two).
    initial_rebalance_delay_max_ms: int = 2**31 - 1
    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1_800_000
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000
    offsets_retention_check_interval_ms: int = 600_000
    offset_metadata_max_bytes: int = 4096
    group_max_size: int = 2**31 - 1
    #: The consumer group protocol (KIP-848): Kafka's group.consumer.* settings.
    consumer_heartbeat_interval_ms: int = 5000
    consumer_session_timeout_ms: int = 45_000
    consumer_max_size: int = 2**31 - 1
    consumer_assignors: tuple[str, ...] = ("uniform", "range")
    #: group.consumer.migration.policy: disabled, upgrade, downgrade or bidirectional.
    consumer_migration_policy: str = "bidirectional"
    #: The configs set on a group (GROUP resources, KIP-848), read at each use as Kafka's
    #: GroupConfigManager is: ``consumer.*`` ones override the settings above for that group.
    group_configs: Callable[[str], Mapping[str, str]] = _no_group_configs
    #: The broker's clock: deadlines (`timers`) and wall-clock times (`wall_ms`) read it.
    clock: BrokerClock = attrs.field(factory=BrokerClock, kw_only=True)
    #: Wall clock in ms, for commit and state timestamps: the clock's, unless a test gives its own.
    wall_ms: Callable[[], int] = attrs.field(
        default=attrs.Factory(lambda self: self.clock.wall_ms, takes_self=True), kw_only=True
    )
    groups: dict[str, Group] = attrs.Factory(dict)
    consumer_groups: dict[str, ConsumerGroup] = attrs.Factory(dict)
    timers: Timers = attrs.field(
        default=attrs.Factory(lambda self: Timers(self.clock), takes_self=True), kw_only=True
    )
    _num_partitions: int | None = attrs.field(default=None, kw_only=True)

    # -- coordinator lookup --------------------------------------------------------------

    @property
    def num_partitions(self) -> int:
        """Partitions of __consumer_offsets; asking creates the topic if it does not exist."""
        if self._num_partitions is None:
            self._num_partitions = self.offsets_topic.partition_count()
        return self._num_partitions

    def ensure_offsets_topic(self) -> None:
        """Create __consumer_offsets now, if it does not exist yet."""
        _ = self.num_partitions

    def partition_for(self, key: str) -> int:
        return partition_for(key, self.num_partitions)

    def coordinator_node(self, key: str) -> int | None:
        """The node leading *key*'s __consumer_offsets partition, or None if there is none."""
        try:
            partition = self.partition_for(key)
        except KafkaStorageError as exc:
            # Kafka answers so while __consumer_offsets cannot be created; clients retry.
            log.error("cannot create %s: %s", OFFSETS_TOPIC, exc)
            return None
        return self.offsets_topic.leader(partition)

    def check_coordinator(self, group_id: str, node_id: int) -> ErrorCode | None:
        """NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE when *node_id* cannot serve the group."""
        leader = self.coordinator_node(group_id)
        if leader is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if leader != node_id:
            return ErrorCode.NOT_COORDINATOR
        return None

    # -- storage -------------------------------------------------------------------------

    def _append(self, group_id: str, records: list[tuple[bytes, bytes | None]]) -> ErrorCode:
        """Append *records* (key, value) as one batch to the group's partition."""
        return self._append_batch(group_id, records)[0]

    def _append_batch(
        self,
        group_id: str,
        records: list[tuple[bytes, bytes | None]],
        *,
        producer_id: int = -1,
        producer_epoch: int = -1,
    ) -> tuple[ErrorCode, int]:
        """Append *records* as one batch (transactional when *producer_id* is given, as
        Kafka writes a TxnOffsetCommit); return the error a group request answers and the
        batch's base offset (-1 when nothing was written)."""
        if not records:
            return ErrorCode.NONE, -1
        partition = self.partition_for(group_id)
        now = self.wall_ms()
        batch = build_batch(
            [NewRecord(key, value, timestamp=now) for key, value in records],
            base_timestamp=now,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            transactional=producer_id >= 0,
        )
        error, base_offset = self.offsets_topic.append(partition, batch)
        if error is not ErrorCode.NONE:
            log.error("group %s: cannot write to %s-%d: %s", group_id, OFFSETS_TOPIC, partition, error.name)
        return store_error(error), base_offset

    def _group_record(self, group: Group, assignment: dict[str, bytes]) -> tuple[bytes, bytes]:
        value = GroupMetadataValue(
            protocol_type=group.protocol_type or "",
            generation=group.generation_id,
            protocol=group.protocol_name,
            leader=group.leader_id,
            current_state_timestamp=-1 if group.state_timestamp is None else group.state_timestamp,
            members=[
                MemberMetadata(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    rebalance_timeout=m.rebalance_timeout_ms,
                    session_timeout=m.session_timeout_ms,
                    subscription=m.metadata(group.protocol_name),
                    assignment=assignment.get(m.member_id, b""),
                )
                for m in group.members.values()
            ],
        )
        return group_metadata_key(group.group_id), group_metadata_value(value)

    def _store_group(self, group: Group, assignment: dict[str, bytes]) -> ErrorCode:
        return self._append(group.group_id, [self._group_record(group, assignment)])

    def delete_consumer_group(self, group_id: str) -> ErrorCode:
        """Forget the empty consumer group (KIP-848) *group_id*, writing its tombstones."""
        self.consumer_groups.pop(group_id, None)
        return self._append(group_id, group_tombstones(group_id))

    # -- timers --------------------------------------------------------------------------

    @staticmethod
    def _hb_key(group: Group, member_id: str) -> tuple[str, str, str]:
        return ("heartbeat", group.group_id, member_id)

    def _reschedule_heartbeat(self, group: Group, member: Member, timeout_ms: int | None = None) -> None:
        group_id, member_id = group.group_id, member.member_id
        self.timers.schedule(
            self._hb_key(group, member_id),
            member.session_timeout_ms if timeout_ms is None else timeout_ms,
            lambda: self._expire_heartbeat(group_id, member_id),
        )

    def _cancel_heartbeat(self, group: Group, member_id: str) -> None:
        self.timers.cancel(self._hb_key(group, member_id))
