"""The group coordinator: every classic consumer group of the broker, and committed offsets.

What happens, and when, follows Kafka's classic group coordinator (``GroupMetadataManager``
and ``OffsetMetadataManager``); the per-group bookkeeping is in `kafkalite.groups.group`, the
state table in `kafkalite.groups.state`. This module adds the parts that need trio and
storage:

* **Parked requests.** A JoinGroup waits until the join phase completes, a follower's
  SyncGroup until the leader's assignment is stored. Each waits on a `Waiter` (a trio event
  plus a result) kept on the member; whoever completes the phase completes the waiters. No
  polling: a handler awaits exactly one event.
* **Deadlines** (`kafkalite.groups.timers`) on trio's clock: a member's session (or, for a
  member that joined but is not yet in a generation, the 5-minute new-member timeout), the
  join phase (``group.initial.rebalance.delay.ms`` for a new group, else the largest
  rebalance timeout), the pending syncs, and the periodic offsets cleanup.
* **Durability.** Offset commits, group metadata (written when a generation's assignment is
  stored, when a group becomes empty, when a static member is replaced) and tombstones are
  records of ``__consumer_offsets`` (`kafkalite.groups.records`), appended to the group's
  partition with ``build_batch``. `GroupCoordinator.load` replays that topic at start, so a
  restarted broker has the same committed offsets and groups; groups with members come back
  Stable and their members keep their generation as long as they heartbeat in time.

Every method that changes state is synchronous: trio runs one task at a time, so a change
and its storage write are atomic with respect to other requests. Only ``join_group`` and
``sync_group`` await, after the change, on their waiter.

Deviation from Kafka: a parked JoinGroup or SyncGroup that is superseded by a newer request
of the same member (Kafka drops the old one, and the client times it out) is answered
REBALANCE_IN_PROGRESS, so that no handler task waits forever.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

import attrs
import trio

from kafkalite.groups.group import (
    Group,
    Member,
    OffsetAndMetadata,
    Protocols,
    TopicPartition,
    new_member_id,
)
from kafkalite.groups.records import (
    GroupMetadataRecord,
    GroupMetadataValue,
    MemberMetadata,
    OffsetCommitRecord,
    group_metadata_key,
    group_metadata_value,
    offset_commit_key,
    offset_commit_value,
    parse_record,
    partition_for,
)
from kafkalite.groups.state import GroupEvent, GroupState
from kafkalite.groups.timers import Timers
from kafkalite.storage import KafkaStorageError, OffsetOutOfRange
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.records import NewRecord, build_batch, decode_records

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

log = logging.getLogger("kafkalite.groups")

OFFSETS_TOPIC = "__consumer_offsets"
#: Kafka's group.classic.new.member.join.timeout: a member parked in its first JoinGroup is
#: dropped if the join phase has not completed by then.
NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000
#: Topic configs Kafka gives __consumer_offsets.
OFFSETS_TOPIC_CONFIGS = {
    "cleanup.policy": "compact",
    "compression.type": "producer",
    "segment.bytes": "104857600",
}
GROUP_TYPE_CLASSIC = "classic"


def _wall_ms() -> int:
    return int(time.time() * 1000)


def client_host(peer: str) -> str:
    """A member's client_host as Kafka shows it (``/127.0.0.1``) from a "host:port" peer."""
    host = peer.rsplit(":", 1)[0] if ":" in peer else peer
    return "/" + host


# -- request and result values ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JoinRequest:
    """A JoinGroup, as the coordinator needs it (the handler fills in version rules)."""

    group_id: str
    member_id: str
    group_instance_id: str | None
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: Protocols
    client_id: str
    client_host: str
    #: JoinGroup v4+: a dynamic member's first join answers MEMBER_ID_REQUIRED (KIP-394).
    require_known_member_id: bool
    #: JoinGroup v9+: a rejoining static leader may be told to skip the assignment (KIP-814).
    supports_skip_assignment: bool
    reason: str | None = None


@attrs.frozen
class JoinResult:
    error: ErrorCode
    member_id: str
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str = ""
    skip_assignment: bool = False
    #: (member id, group instance id, metadata): the leader's view of the members.
    members: tuple[tuple[str, str | None, bytes], ...] = ()


@attrs.frozen(kw_only=True)
class SyncRequest:
    group_id: str
    member_id: str
    group_instance_id: str | None
    generation_id: int
    protocol_type: str | None
    protocol_name: str | None
    assignments: tuple[tuple[str, bytes], ...]


@attrs.frozen
class SyncResult:
    error: ErrorCode
    protocol_type: str | None = None
    protocol_name: str | None = None
    assignment: bytes = b""


@attrs.frozen
class CommitRequest:
    """One partition of an OffsetCommit."""

    topic: str
    partition: int
    offset: int
    leader_epoch: int
    metadata: str | None


@attrs.frozen
class FetchedOffset:
    partition: int
    offset: int
    leader_epoch: int
    metadata: str
    error: ErrorCode = ErrorCode.NONE


@attrs.frozen
class MemberSummary:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@attrs.frozen
class GroupSummary:
    group_id: str
    state: GroupState
    protocol_type: str
    protocol_data: str
    members: tuple[MemberSummary, ...]


class Waiter:
    """What a parked JoinGroup / SyncGroup awaits: an event and the result set with it."""

    __slots__ = ("_event", "result")

    def __init__(self) -> None:
        self._event = trio.Event()
        self.result: Any = None

    def complete(self, result: Any) -> bool:
        """Set the result (once); return whether this call set it."""
        if self._event.is_set():
            return False
        self.result = result
        self._event.set()
        return True

    @property
    def done(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> Any:
        await self._event.wait()
        return self.result


def _store_error(error: ErrorCode) -> ErrorCode:
    """Kafka's mapping of a failed append to the error a group request answers."""
    if error in (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT):
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if error in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.KAFKA_STORAGE_ERROR):
        return ErrorCode.NOT_COORDINATOR
    return error


# -- the coordinator -------------------------------------------------------------------------


@attrs.define(eq=False)
class GroupCoordinator:
    """All groups of the broker. Create with `load`; run `run` in the server's nursery."""

    broker: Broker
    num_partitions: int
    initial_rebalance_delay_ms: int = 0
    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1_800_000
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000
    offsets_retention_check_interval_ms: int = 600_000
    offset_metadata_max_bytes: int = 4096
    group_max_size: int = 2**31 - 1
    #: Wall clock in ms, for commit and state timestamps (replaceable in tests).
    wall_ms: Callable[[], int] = _wall_ms
    groups: dict[str, Group] = attrs.Factory(dict)
    timers: Timers = attrs.Factory(Timers)
    _running: bool = attrs.field(init=False, default=False)

    # -- start-up ------------------------------------------------------------------------

    @classmethod
    def load(cls, broker: Broker) -> GroupCoordinator:
        """Create __consumer_offsets if missing, then rebuild groups and offsets from it."""
        config = broker.config
        topic = broker.cluster.topic(OFFSETS_TOPIC)
        if topic is None:
            topic = broker.create_topic(
                OFFSETS_TOPIC,
                num_partitions=config.offsets_topic_partitions,
                replication_factor=min(3, len(broker.cluster.node_ids)),
                configs=dict(OFFSETS_TOPIC_CONFIGS),
            )
        elif len(topic.partitions) != config.offsets_topic_partitions:
            log.warning(
                "%s has %d partitions, not the configured %d: keeping %d (groups map to partitions by hash)",
                OFFSETS_TOPIC, len(topic.partitions), config.offsets_topic_partitions, len(topic.partitions),
            )
        coordinator = cls(
            broker=broker,
            num_partitions=len(topic.partitions),
            initial_rebalance_delay_ms=config.group_initial_rebalance_delay_ms,
            min_session_timeout_ms=config.group_min_session_timeout_ms,
            max_session_timeout_ms=config.group_max_session_timeout_ms,
            offsets_retention_ms=config.offsets_retention_minutes * 60_000,
            offsets_retention_check_interval_ms=config.offsets_retention_check_interval_ms,
            offset_metadata_max_bytes=config.offset_metadata_max_bytes,
            group_max_size=config.group_max_size,
        )
        coordinator._replay_all()
        return coordinator

    def _replay_all(self) -> None:
        count = 0
        for partition in range(self.num_partitions):
            plog = self.broker.log_for(OFFSETS_TOPIC, partition)
            if plog is None:
                continue
            try:
                batches = plog.batches_from(plog.log_start_offset)
                for header, view in batches:
                    if header.is_control or header.is_transactional:
                        continue  # transactional offset commits are not supported
                    try:
                        records = decode_records(view)
                    except DecodeError as exc:
                        log.warning("%s-%d: skipping undecodable batch at %d: %s",
                                    OFFSETS_TOPIC, partition, header.base_offset, exc)
                        continue
                    for record in records:
                        try:
                            self._replay(record.key, record.value)
                            count += 1
                        except DecodeError as exc:
                            log.warning("%s-%d: skipping undecodable record at %d: %s", OFFSETS_TOPIC,
                                        partition, header.base_offset + record.offset_delta, exc)
            except (KafkaStorageError, OffsetOutOfRange) as exc:
                log.error("%s-%d: cannot read group state: %s", OFFSETS_TOPIC, partition, exc)
        for group in self.groups.values():
            group.subscribed_topics = group.compute_subscribed_topics()
        if self.groups:
            log.info("loaded %d group(s) from %d record(s) of %s", len(self.groups), count, OFFSETS_TOPIC)

    def _replay(self, key: bytes | None, value: bytes | None) -> None:
        record = parse_record(key, value)
        if isinstance(record, OffsetCommitRecord):
            tp = (record.topic, record.partition)
            if record.value is None:
                group = self.groups.get(record.group)
                if group is not None:
                    group.offsets.pop(tp, None)
                return
            v: Any = record.value
            group = self.groups.get(record.group)
            if group is None:
                group = self.groups[record.group] = Group(record.group)
            group.offsets[tp] = OffsetAndMetadata(
                committed_offset=v.offset,
                leader_epoch=v.leader_epoch,
                metadata=v.metadata,
                commit_timestamp=v.commit_timestamp,
                expire_timestamp=None if v.expire_timestamp < 0 else v.expire_timestamp,
            )
        elif isinstance(record, GroupMetadataRecord):
            old = self.groups.pop(record.group, None)
            if record.value is None:
                if old is not None and old.offsets:
                    # Offsets outlived the group record: keep them in a simple group.
                    self.groups[record.group] = Group(record.group, offsets=old.offsets)
                return
            self.groups[record.group] = self._group_from_record(record.group, record.value, old)

    @staticmethod
    def _group_from_record(group_id: str, value: Any, old: Group | None) -> Group:
        members = value.members
        group = Group(
            group_id,
            state=GroupState.STABLE if members else GroupState.EMPTY,
            state_timestamp=None if value.current_state_timestamp < 0 else value.current_state_timestamp,
            generation_id=value.generation,
            protocol_type=value.protocol_type or None,
            protocol_name=value.protocol,
            offsets=old.offsets if old is not None else {},
        )
        for m in members:
            member = Member(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                # v0 had no rebalance timeout: the session timeout stood in for it.
                rebalance_timeout_ms=m.rebalance_timeout if m.rebalance_timeout > 0 else m.session_timeout,
                session_timeout_ms=m.session_timeout,
                protocol_type=group.protocol_type or "",
                protocols=((value.protocol or "", m.subscription),),
                assignment=m.assignment,
            )
            group.add(member)
        group.leader_id = value.leader if value.leader in group.members else next(iter(group.members), None)
        return group

    async def run(self) -> None:
        """Fire the coordinator's deadlines until cancelled. Start it in the server's nursery."""
        self._running = True
        # Members loaded from the log must heartbeat within their session from now on.
        for group in list(self.groups.values()):
            for member in list(group.members.values()):
                if self._hb_key(group, member.member_id) not in self.timers:
                    self._reschedule_heartbeat(group, member)
        self._schedule_cleanup()
        await self.timers.run()

    # -- coordinator lookup --------------------------------------------------------------

    def partition_for(self, key: str) -> int:
        return partition_for(key, self.num_partitions)

    def coordinator_node(self, key: str) -> int | None:
        """The node leading *key*'s __consumer_offsets partition, or None if there is none."""
        state = self.broker.cluster.partition(OFFSETS_TOPIC, self.partition_for(key))
        if state is None or state.leader_id not in self.broker.cluster.nodes:
            return None
        return state.leader_id

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
        if not records:
            return ErrorCode.NONE
        partition = self.partition_for(group_id)
        state = self.broker.cluster.partition(OFFSETS_TOPIC, partition)
        plog = self.broker.log_for(OFFSETS_TOPIC, partition)
        if state is None or plog is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        now = self.wall_ms()
        batch = build_batch([NewRecord(key, value, timestamp=now) for key, value in records], base_timestamp=now)
        try:
            plog.append(batch, leader_epoch=state.leader_epoch)
        except KafkaStorageError as exc:
            log.error("group %s: cannot write to %s-%d: %s", group_id, OFFSETS_TOPIC, partition, exc)
            return _store_error(ErrorCode.KAFKA_STORAGE_ERROR)
        self.broker.notify(OFFSETS_TOPIC, partition)
        return ErrorCode.NONE

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

    def _schedule_cleanup(self) -> None:
        self.timers.schedule(("cleanup",), self.offsets_retention_check_interval_ms, self._cleanup_tick)

    def _cleanup_tick(self) -> None:
        self._schedule_cleanup()
        self.cleanup_group_metadata()

    # -- JoinGroup -----------------------------------------------------------------------

    async def join_group(self, request: JoinRequest) -> JoinResult:
        """Handle a JoinGroup; returns when the join phase completes (or at once on error)."""
        waiter = Waiter()
        self._join(request, waiter)
        return await waiter.wait()

    def _join(self, r: JoinRequest, waiter: Waiter) -> None:
        def fail(error: ErrorCode, member_id: str = r.member_id) -> None:
            waiter.complete(JoinResult(error, member_id))

        if not r.group_id:
            return fail(ErrorCode.INVALID_GROUP_ID)
        if not self.min_session_timeout_ms <= r.session_timeout_ms <= self.max_session_timeout_ms:
            return fail(ErrorCode.INVALID_SESSION_TIMEOUT)
        group = self.groups.get(r.group_id)
        if group is None:
            if r.member_id:
                return fail(ErrorCode.UNKNOWN_MEMBER_ID)
            group = self.groups[r.group_id] = Group(r.group_id, state_timestamp=self.wall_ms())
        if not self._accept_joining_member(group, r.member_id):
            removed = group.remove(r.member_id)
            if removed is not None:
                self._cancel_heartbeat(group, removed.member_id)
            return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, "")
        if not r.member_id:
            self._join_new_member(group, r, waiter)
        else:
            self._join_existing_member(group, r, waiter)

    def _accept_joining_member(self, group: Group, member_id: str) -> bool:
        if group.is_in(GroupState.EMPTY, GroupState.DEAD):
            return True
        if group.is_in(GroupState.PREPARING_REBALANCE):
            member = group.members.get(member_id)
            return (member is not None and member.awaiting_join) or group.num_awaiting_join < self.group_max_size
        return member_id in group.members or len(group.members) < self.group_max_size

    def _join_new_member(self, group: Group, r: JoinRequest, waiter: Waiter) -> None:
        if group.is_in(GroupState.DEAD):
            waiter.complete(JoinResult(ErrorCode.COORDINATOR_NOT_AVAILABLE, ""))
        elif not group.supports_protocols(r.protocol_type, [name for name, _ in r.protocols]):
            waiter.complete(JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, ""))
        else:
            member_id = new_member_id(r.client_id, r.group_instance_id)
            if r.group_instance_id is not None:
                existing = group.static_member_id(r.group_instance_id)
                if existing is None:
                    self._add_member_and_rebalance(group, r, member_id, waiter)
                else:
                    self._update_static_member(group, r, existing, member_id, waiter)
            elif r.require_known_member_id:
                # KIP-394: hand out the id and wait for the member to join with it; until it
                # does (or its session times out) the join phase cannot complete.
                group.pending_members.add(member_id)
                group_id = group.group_id
                self.timers.schedule(
                    self._hb_key(group, member_id), r.session_timeout_ms,
                    lambda: self._expire_heartbeat(group_id, member_id),
                )
                waiter.complete(JoinResult(ErrorCode.MEMBER_ID_REQUIRED, member_id))
            else:
                self._add_member_and_rebalance(group, r, member_id, waiter)

    def _join_existing_member(self, group: Group, r: JoinRequest, waiter: Waiter) -> None:
        member_id = r.member_id
        if group.is_in(GroupState.DEAD):
            waiter.complete(JoinResult(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id))
            return
        if not group.supports_protocols(r.protocol_type, [name for name, _ in r.protocols]):
            waiter.complete(JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id))
            return
        if group.is_pending_member(member_id):
            if r.group_instance_id is not None:
                # A pending member id is only ever given to a dynamic member.
                waiter.complete(JoinResult(ErrorCode.UNKNOWN_SERVER_ERROR, member_id))
                return
            self._add_member_and_rebalance(group, r, member_id, waiter)
            return
        error = group.validate_member(member_id, r.group_instance_id)
        if error is not None:
            waiter.complete(JoinResult(error, member_id))
            return
        member = group.members[member_id]
        if group.is_in(GroupState.PREPARING_REBALANCE):
            self._update_member_and_rebalance(group, member, r, waiter)
        elif group.is_in(GroupState.COMPLETING_REBALANCE):
            if member.matches(r.protocols):
                # It missed the JoinGroup response: answer again with the current generation.
                waiter.complete(self._current_join_result(group, member_id, with_members=group.is_leader(member_id)))
            else:
                self._update_member_and_rebalance(group, member, r, waiter)
        elif group.is_in(GroupState.STABLE):
            if group.is_leader(member_id) or not member.matches(r.protocols):
                # The leader rejoining forces a rebalance (it may have seen metadata change).
                self._update_member_and_rebalance(group, member, r, waiter)
            else:
                waiter.complete(self._current_join_result(group, member_id, with_members=False))
        else:
            waiter.complete(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id))

    def _current_join_result(self, group: Group, member_id: str, *, with_members: bool) -> JoinResult:
        return JoinResult(
            ErrorCode.NONE,
            member_id,
            generation_id=group.generation_id,
            protocol_type=group.protocol_type,
            protocol_name=group.protocol_name,
            leader_id=group.leader_id or "",
            members=tuple(group.current_member_metadata()) if with_members else (),
        )

    def _member_from(self, r: JoinRequest, member_id: str) -> Member:
        return Member(
            member_id=member_id,
            group_instance_id=r.group_instance_id,
            client_id=r.client_id,
            client_host=r.client_host,
            rebalance_timeout_ms=r.rebalance_timeout_ms,
            session_timeout_ms=r.session_timeout_ms,
            protocol_type=r.protocol_type,
            protocols=tuple(r.protocols),
            is_new=True,
        )

    def _add_member_and_rebalance(self, group: Group, r: JoinRequest, member_id: str, waiter: Waiter) -> None:
        member = self._member_from(r, member_id)
        if group.is_in(GroupState.PREPARING_REBALANCE) and group.previous_state is GroupState.EMPTY:
            group.new_member_added = True  # extends the initial rebalance delay
        group.add(member, waiter)
        # Sockets are busy while JoinGroup is parked, so a new member cannot heartbeat; it gets
        # a long timeout instead, and is dropped if the join phase outlasts it.
        self._reschedule_heartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS)
        self._maybe_prepare_rebalance_or_complete_join(group, f"adding new member {member_id}")

    def _update_member_and_rebalance(self, group: Group, member: Member, r: JoinRequest, waiter: Waiter) -> None:
        replaced = group.update_member(member, r.protocols, r.rebalance_timeout_ms, r.session_timeout_ms, waiter)
        if replaced is not None:
            replaced.complete(JoinResult(ErrorCode.REBALANCE_IN_PROGRESS, member.member_id))
        self._maybe_prepare_rebalance_or_complete_join(group, f"member {member.member_id} rejoining")

    def _update_static_member(
        self, group: Group, r: JoinRequest, old_member_id: str, new_member_id_: str, waiter: Waiter
    ) -> None:
        """A known group.instance.id joins again with no member id: a restarted static member.

        It takes over the old member's place (and assignment) under a new member id; the old
        id is fenced. In a Stable group whose protocol does not change this is done without
        a rebalance (KIP-345).
        """
        current_leader = group.leader_id or ""
        old = group.members[old_member_id]
        fenced_join, fenced_sync = old.join_waiter, old.sync_waiter
        group.pending_sync.discard(old_member_id)
        self._cancel_heartbeat(group, old_member_id)
        new = group.replace_static_member(r.group_instance_id or "", old_member_id, new_member_id_)
        if fenced_join is not None:
            fenced_join.complete(JoinResult(ErrorCode.FENCED_INSTANCE_ID, old_member_id))
        if fenced_sync is not None:
            fenced_sync.complete(SyncResult(ErrorCode.FENCED_INSTANCE_ID))
        self._reschedule_heartbeat(group, new)
        old_protocols = new.protocols
        old_timeouts = (new.rebalance_timeout_ms, new.session_timeout_ms)
        group.update_member(new, r.protocols, r.rebalance_timeout_ms, r.session_timeout_ms, waiter)

        if group.is_in(GroupState.STABLE):
            if group.protocol_name == group.select_protocol():
                error = self._store_group(group, {m.member_id: m.assignment for m in group.members.values()})
                if error is not ErrorCode.NONE:
                    # Undo: the old member id stays the group's.
                    group.update_member(new, old_protocols, old_timeouts[0], old_timeouts[1], None)
                    self._cancel_heartbeat(group, new.member_id)
                    restored = group.replace_static_member(r.group_instance_id or "", new.member_id, old_member_id)
                    self._reschedule_heartbeat(group, restored)
                    waiter.complete(JoinResult(
                        _store_error(error), "", generation_id=group.generation_id,
                        protocol_type=group.protocol_type, protocol_name=group.protocol_name,
                        leader_id=current_leader,
                    ))
                    return
                new.join_waiter = None
                if r.supports_skip_assignment:
                    # KIP-814: a static leader learns the members but must not reassign.
                    is_leader = group.is_leader(new.member_id)
                    waiter.complete(JoinResult(
                        ErrorCode.NONE, new.member_id, generation_id=group.generation_id,
                        protocol_type=group.protocol_type, protocol_name=group.protocol_name,
                        leader_id=group.leader_id or "", skip_assignment=is_leader,
                        members=tuple(group.current_member_metadata()) if is_leader else (),
                    ))
                else:
                    # Older clients are told the old leader id, which is not theirs, so that a
                    # restarted static leader does not compute an assignment nobody would get.
                    waiter.complete(JoinResult(
                        ErrorCode.NONE, new.member_id, generation_id=group.generation_id,
                        protocol_type=group.protocol_type, protocol_name=group.protocol_name,
                        leader_id=current_leader,
                    ))
            else:
                self._maybe_prepare_rebalance_or_complete_join(
                    group, f"static member {new.member_id} joined with a change of protocol"
                )
        elif group.is_in(GroupState.COMPLETING_REBALANCE):
            # The leader may already have the old member id in its assignment: rebalance.
            self._prepare_rebalance(group, f"updating metadata of static member {new.member_id}")
        elif group.is_in(GroupState.PREPARING_REBALANCE):
            self._maybe_complete_join_phase(group)
        else:
            raise AssertionError(f"static member rejoined group {group.group_id} in state {group.state.value}")

    # -- rebalance -----------------------------------------------------------------------

    def _maybe_prepare_rebalance_or_complete_join(self, group: Group, reason: str) -> None:
        if group.can_rebalance:
            self._prepare_rebalance(group, reason)
        else:
            self._maybe_complete_join_phase(group)

    def _maybe_complete_join_phase(self, group: Group) -> None:
        if not group.is_in(GroupState.PREPARING_REBALANCE):
            return
        if group.previous_state is GroupState.EMPTY:
            return  # the initial rebalance completes when its delay runs out
        if group.has_all_members_joined():
            self._complete_join(group)

    def _prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.is_in(GroupState.COMPLETING_REBALANCE):
            self._reset_and_propagate_assignment_error(group, ErrorCode.REBALANCE_IN_PROGRESS)
        self._remove_sync_expiration(group)
        initial = group.is_in(GroupState.EMPTY)
        group.transition(GroupEvent.REBALANCE, self.wall_ms())
        log.info("group %s: preparing to rebalance, generation %d (%s)", group.group_id, group.generation_id, reason)
        if initial:
            delay = self.initial_rebalance_delay_ms
            remaining = max(group.rebalance_timeout_ms - delay, 0)
            if delay <= 0:
                self._complete_join(group)
            else:
                self._schedule_initial_join(group, delay, remaining)
        elif group.has_all_members_joined():
            self._complete_join(group)
        else:
            self._schedule_join(group, group.rebalance_timeout_ms)

    def _schedule_join(self, group: Group, delay_ms: int) -> None:
        group_id = group.group_id
        self.timers.schedule(("join", group_id), delay_ms, lambda: self._complete_join_by_id(group_id))

    def _schedule_initial_join(self, group: Group, delay_ms: int, remaining_ms: int) -> None:
        group_id = group.group_id
        self.timers.schedule(
            ("join", group_id), delay_ms, lambda: self._initial_join_expired(group_id, delay_ms, remaining_ms)
        )

    def _initial_join_expired(self, group_id: str, delay_ms: int, remaining_ms: int) -> None:
        group = self.groups.get(group_id)
        if group is None:
            return
        if group.new_member_added and remaining_ms != 0:
            # Someone joined during the delay: wait another delay, up to the rebalance timeout.
            group.new_member_added = False
            self._schedule_initial_join(
                group, min(self.initial_rebalance_delay_ms, remaining_ms), max(remaining_ms - delay_ms, 0)
            )
        else:
            self._complete_join(group)

    def _complete_join_by_id(self, group_id: str) -> None:
        group = self.groups.get(group_id)
        if group is not None:
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        """End the join phase: drop dynamic members that did not rejoin, start a generation."""
        self.timers.cancel(("join", group.group_id))
        if not group.is_in(GroupState.PREPARING_REBALANCE):
            return
        for member in group.not_yet_rejoined():
            if not member.is_static:
                self._remove_member_quietly(group, member)
                log.info("group %s: removed member %s, which did not rejoin", group.group_id, member.member_id)
        if not group.maybe_elect_new_joined_leader() and group.members:
            # Only static members that have not rejoined are left: wait for them (their
            # sessions remove them if they are gone).
            log.warning("group %s: no member rejoined; waiting another rebalance timeout", group.group_id)
            self._schedule_join(group, group.rebalance_timeout_ms)
            return
        group.init_next_generation(self.wall_ms())
        if group.is_in(GroupState.EMPTY):
            log.info("group %s: generation %d is empty", group.group_id, group.generation_id)
            error = self._store_group(group, {})
            if error is not ErrorCode.NONE:
                log.warning("group %s: cannot write empty group metadata: %s", group.group_id, error.name)
            return
        log.info("group %s: generation %d with %d member(s), protocol %s", group.group_id,
                 group.generation_id, len(group.members), group.protocol_name)
        members = tuple(group.current_member_metadata())
        for member in group.members.values():
            if member.join_waiter is not None:
                member.join_waiter.complete(JoinResult(
                    ErrorCode.NONE,
                    member.member_id,
                    generation_id=group.generation_id,
                    protocol_type=group.protocol_type,
                    protocol_name=group.protocol_name,
                    leader_id=group.leader_id or "",
                    members=members if group.is_leader(member.member_id) else (),
                ))
                member.join_waiter = None
            self._reschedule_heartbeat(group, member)
            member.is_new = False
            group.pending_sync.add(member.member_id)
        group_id, generation = group.group_id, group.generation_id
        self.timers.schedule(
            ("sync", group_id), group.rebalance_timeout_ms, lambda: self._expire_pending_sync(group_id, generation)
        )

    def _remove_sync_expiration(self, group: Group) -> None:
        group.pending_sync.clear()
        self.timers.cancel(("sync", group.group_id))

    def _remove_pending_sync_member(self, group: Group, member_id: str) -> None:
        group.pending_sync.discard(member_id)
        if group.is_in(GroupState.DEAD, GroupState.EMPTY, GroupState.PREPARING_REBALANCE) or not group.pending_sync:
            self.timers.cancel(("sync", group.group_id))

    def _expire_pending_sync(self, group_id: str, generation_id: int) -> None:
        group = self.groups.get(group_id)
        if group is None or group.generation_id != generation_id:
            return
        if group.is_in(GroupState.COMPLETING_REBALANCE, GroupState.STABLE) and group.pending_sync:
            missing = sorted(group.pending_sync)
            for member_id in missing:
                member = group.members.get(member_id)
                if member is not None:
                    self._remove_member_quietly(group, member)
            log.info("group %s: removed member(s) %s, which did not send SyncGroup in time", group_id, missing)
            self._prepare_rebalance(group, f"members {missing} did not sync")

    def _reset_and_propagate_assignment_error(self, group: Group, error: ErrorCode) -> None:
        assert group.is_in(GroupState.COMPLETING_REBALANCE)
        for member in group.members.values():
            member.assignment = b""
        self._propagate_assignment(group, error)

    def _set_and_propagate_assignment(self, group: Group, assignment: dict[str, bytes]) -> None:
        assert group.is_in(GroupState.COMPLETING_REBALANCE)
        for member in group.members.values():
            member.assignment = assignment.get(member.member_id, b"")
        self._propagate_assignment(group, ErrorCode.NONE)

    def _propagate_assignment(self, group: Group, error: ErrorCode) -> None:
        ok = error is ErrorCode.NONE
        for member in group.members.values():
            if member.sync_waiter is not None:
                member.sync_waiter.complete(SyncResult(
                    error,
                    group.protocol_type if ok else None,
                    group.protocol_name if ok else None,
                    member.assignment,
                ))
                member.sync_waiter = None
                # Sessions may have lapsed while waiting for the leader: start them afresh.
                self._reschedule_heartbeat(group, member)

    # -- member removal ------------------------------------------------------------------

    def _remove_member_quietly(self, group: Group, member: Member) -> None:
        """Remove *member*, answering its parked requests UNKNOWN_MEMBER_ID; no rebalance."""
        self._cancel_heartbeat(group, member.member_id)
        if member.join_waiter is not None:
            member.join_waiter.complete(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, ""))
            member.join_waiter = None
        if member.sync_waiter is not None:
            member.sync_waiter.complete(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
            member.sync_waiter = None
        group.remove(member.member_id)

    def _remove_member_and_update_group(self, group: Group, member: Member, reason: str) -> None:
        self._remove_member_quietly(group, member)
        log.info("group %s: %s", group.group_id, reason)
        if group.is_in(GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance_or_complete_join(group, reason)
        elif group.is_in(GroupState.PREPARING_REBALANCE) and group.has_all_members_joined():
            self._complete_join(group)

    def _expire_heartbeat(self, group_id: str, member_id: str) -> None:
        group = self.groups.get(group_id)
        if group is None or group.is_in(GroupState.DEAD):
            return
        if group.is_pending_member(member_id):
            log.info("group %s: pending member %s did not join within its session", group_id, member_id)
            group.remove(member_id)
            if group.is_in(GroupState.PREPARING_REBALANCE) and group.has_all_members_joined():
                self._complete_join(group)
            return
        member = group.members.get(member_id)
        if member is not None and not member.has_satisfied_heartbeat():
            self._remove_member_and_update_group(
                group, member, f"member {member_id} failed (session timeout), removing it"
            )

    # -- SyncGroup -----------------------------------------------------------------------

    async def sync_group(self, request: SyncRequest) -> SyncResult:
        """Handle a SyncGroup; a follower's returns once the leader's assignment is stored."""
        waiter = Waiter()
        self._sync(request, waiter)
        return await waiter.wait()

    def _sync(self, r: SyncRequest, waiter: Waiter) -> None:
        if not r.group_id:
            waiter.complete(SyncResult(ErrorCode.INVALID_GROUP_ID))
            return
        group = self.groups.get(r.group_id)
        if group is None or group.is_in(GroupState.EMPTY):
            waiter.complete(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
            return
        error = self._validate_sync(group, r)
        if error is not None:
            waiter.complete(SyncResult(error))
        elif group.is_in(GroupState.PREPARING_REBALANCE):
            waiter.complete(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        elif group.is_in(GroupState.COMPLETING_REBALANCE):
            member = group.members[r.member_id]
            if member.sync_waiter is not None and member.sync_waiter is not waiter:
                member.sync_waiter.complete(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
            member.sync_waiter = waiter
            self._remove_pending_sync_member(group, r.member_id)
            if group.is_leader(r.member_id):
                assignment = dict(r.assignments)
                for member_id in group.members:
                    assignment.setdefault(member_id, b"")
                store_error = self._store_group(group, assignment)
                if store_error is not ErrorCode.NONE:
                    self._reset_and_propagate_assignment_error(group, _store_error(store_error))
                    self._maybe_prepare_rebalance_or_complete_join(group, f"cannot store assignment: {store_error.name}")
                else:
                    self._set_and_propagate_assignment(group, assignment)
                    group.transition(GroupEvent.ASSIGNMENT_STORED, self.wall_ms())
                    log.info("group %s: generation %d is stable", group.group_id, group.generation_id)
        elif group.is_in(GroupState.STABLE):
            self._remove_pending_sync_member(group, r.member_id)
            member = group.members[r.member_id]
            self._reschedule_heartbeat(group, member)
            waiter.complete(SyncResult(ErrorCode.NONE, group.protocol_type, group.protocol_name, member.assignment))
        else:
            raise AssertionError(f"SyncGroup for group {group.group_id} in state {group.state.value}")

    @staticmethod
    def _validate_sync(group: Group, r: SyncRequest) -> ErrorCode | None:
        if group.is_in(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        error = group.validate_member(r.member_id, r.group_instance_id)
        if error is not None:
            return error
        if r.generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        if _inconsistent(r.protocol_type, group.protocol_type) or _inconsistent(r.protocol_name, group.protocol_name):
            return ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        return None

    # -- Heartbeat -----------------------------------------------------------------------

    def heartbeat(self, group_id: str, member_id: str, group_instance_id: str | None, generation_id: int) -> ErrorCode:
        """Handle a Heartbeat; REBALANCE_IN_PROGRESS tells the member to rejoin."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.is_in(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        error = group.validate_member(member_id, group_instance_id)
        if error is not None:
            return error
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        if group.is_in(GroupState.EMPTY):
            return ErrorCode.UNKNOWN_MEMBER_ID
        self._reschedule_heartbeat(group, group.members[member_id])
        if group.is_in(GroupState.PREPARING_REBALANCE):
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    # -- LeaveGroup ----------------------------------------------------------------------

    def leave_group(
        self, group_id: str, members: Iterable[tuple[str, str | None, str | None]]
    ) -> tuple[ErrorCode, list[ErrorCode]]:
        """Handle a LeaveGroup of (member id, group instance id, reason) entries.

        Returns a top-level error (then the member list is empty) or one error per member.
        An empty member id with a group instance id removes that static member (the admin
        client's removeMembersFromConsumerGroup).
        """
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, []
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID, []
        if group.is_in(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, []
        errors: list[ErrorCode] = []
        left: list[str] = []
        for member_id, instance_id, reason in members:
            if not member_id:
                current = group.static_member_id(instance_id)
                if current is None:
                    errors.append(ErrorCode.UNKNOWN_MEMBER_ID)
                    continue
                member_id = current
            elif group.is_pending_member(member_id):
                group.remove(member_id)
                self._cancel_heartbeat(group, member_id)
                errors.append(ErrorCode.NONE)
                left.append(member_id)
                continue
            else:
                error = group.validate_member(member_id, instance_id)
                if error is not None:
                    errors.append(error)
                    continue
            self._remove_member_quietly(group, group.members[member_id])
            log.info("group %s: member %s left (reason: %s)", group_id, member_id, reason or "not provided")
            errors.append(ErrorCode.NONE)
            left.append(member_id)
        if left:
            reason = f"member(s) {', '.join(left)} left"
            if group.is_in(GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
                self._maybe_prepare_rebalance_or_complete_join(group, reason)
            elif group.is_in(GroupState.PREPARING_REBALANCE):
                self._maybe_complete_join_phase(group)
        return ErrorCode.NONE, errors

    # -- offsets -------------------------------------------------------------------------

    def commit_offsets(
        self,
        group_id: str,
        member_id: str,
        group_instance_id: str | None,
        generation_id: int,
        partitions: list[CommitRequest],
        *,
        retention_time_ms: int = -1,
        api_version: int = 9,
    ) -> list[ErrorCode]:
        """Handle the (existing) partitions of an OffsetCommit; one error per partition.

        Generation -1 with no member id commits for a group without members (assign()
        consumers, admin tools), creating a "simple" group if needed.
        """
        def all_failed(error: ErrorCode) -> list[ErrorCode]:
            return [error] * len(partitions)

        group = self.groups.get(group_id)
        if group is None:
            if generation_id >= 0:
                # v9+ can say so; older clients only understand a stale generation.
                return all_failed(ErrorCode.GROUP_ID_NOT_FOUND if api_version >= 9 else ErrorCode.ILLEGAL_GENERATION)
            group = self.groups[group_id] = Group(group_id, state_timestamp=self.wall_ms())
            log.info("group %s: created as a simple group by an offset commit", group_id)
        error = group.validate_offset_commit(member_id, group_instance_id, generation_id)
        if error is not None:
            return all_failed(error)
        if group.is_in(GroupState.STABLE, GroupState.PREPARING_REBALANCE):
            member = group.members.get(member_id)
            if member is not None:
                self._reschedule_heartbeat(group, member)  # a commit keeps the session alive
        now = self.wall_ms()
        expire = None if retention_time_ms == -1 else now + retention_time_ms
        errors: list[ErrorCode] = []
        records: list[tuple[bytes, bytes | None]] = []
        pending: list[tuple[TopicPartition, OffsetAndMetadata]] = []
        for p in partitions:
            if p.metadata is not None and len(p.metadata) > self.offset_metadata_max_bytes:
                errors.append(ErrorCode.OFFSET_METADATA_TOO_LARGE)
                continue
            errors.append(ErrorCode.NONE)
            committed = OffsetAndMetadata(p.offset, p.leader_epoch, p.metadata or "", now, expire)
            pending.append(((p.topic, p.partition), committed))
            records.append((
                offset_commit_key(group_id, p.topic, p.partition),
                offset_commit_value(p.offset, p.leader_epoch, committed.metadata, now, expire),
            ))
        store_error = self._append(group_id, records)
        if store_error is not ErrorCode.NONE:
            mapped = _store_error(store_error)
            return [mapped if e is ErrorCode.NONE else e for e in errors]
        for tp, committed in pending:
            group.offsets[tp] = committed
        return errors

    def fetch_offsets(
        self, group_id: str, topics: list[tuple[str, list[int]]] | None
    ) -> list[tuple[str, list[FetchedOffset]]]:
        """Committed offsets of *topics* (None: every committed offset of the group).

        A partition without a committed offset (or of an unknown group) answers offset -1,
        leader epoch -1, metadata "". kafkalite has no transactional offsets, so there is
        never a pending commit: require_stable needs no wait.
        """
        group = self.groups.get(group_id)
        offsets = {} if group is None or group.is_in(GroupState.DEAD) else group.offsets
        if topics is None:
            by_topic: dict[str, list[FetchedOffset]] = {}
            for (topic, partition), o in sorted(offsets.items()):
                by_topic.setdefault(topic, []).append(
                    FetchedOffset(partition, o.committed_offset, o.leader_epoch, o.metadata)
                )
            return list(by_topic.items())
        result = []
        for topic, partitions in topics:
            fetched = []
            for partition in partitions:
                o = offsets.get((topic, partition))
                if o is None:
                    fetched.append(FetchedOffset(partition, -1, -1, ""))
                else:
                    fetched.append(FetchedOffset(partition, o.committed_offset, o.leader_epoch, o.metadata))
            result.append((topic, fetched))
        return result

    def delete_offsets(
        self, group_id: str, topics: list[tuple[str, list[int]]]
    ) -> tuple[ErrorCode, list[tuple[str, list[tuple[int, ErrorCode]]]]]:
        """Handle an OffsetDelete of existing partitions: a top-level error or per partition."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, []
        group = self.groups.get(group_id)
        if group is None or group.is_in(GroupState.DEAD):
            return ErrorCode.GROUP_ID_NOT_FOUND, []
        if not group.is_in(GroupState.EMPTY) and not group.uses_consumer_protocol():
            return ErrorCode.NON_EMPTY_GROUP, []
        result = []
        records: list[tuple[bytes, bytes | None]] = []
        deleted: list[TopicPartition] = []
        for topic, partitions in topics:
            if group.is_subscribed_to_topic(topic):
                result.append((topic, [(p, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC) for p in partitions]))
                continue
            result.append((topic, [(p, ErrorCode.NONE) for p in partitions]))
            for p in partitions:
                if (topic, p) in group.offsets:
                    records.append((offset_commit_key(group_id, topic, p), None))
                    deleted.append((topic, p))
        error = self._append(group_id, records)
        if error is not ErrorCode.NONE:
            return _store_error(error), []
        for tp in deleted:
            group.offsets.pop(tp, None)
        return ErrorCode.NONE, result

    # -- admin ---------------------------------------------------------------------------

    def describe_group(self, group_id: str) -> GroupSummary | None:
        """The group as DescribeGroups shows it, or None if there is no such group."""
        group = self.groups.get(group_id)
        if group is None or group.is_in(GroupState.DEAD):
            return None
        stable = group.is_in(GroupState.STABLE)
        members = tuple(
            MemberSummary(
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                m.metadata(group.protocol_name) if stable else b"",
                m.assignment if stable else b"",
            )
            for m in group.members.values()
        )
        return GroupSummary(
            group_id,
            group.state,
            group.protocol_type or "",
            (group.protocol_name or "") if stable else "",
            members,
        )

    def list_groups(self, states: Iterable[str] = (), types: Iterable[str] = ()) -> list[Group]:
        """Groups whose state (and type) is among the filters, compared case-insensitively."""
        wanted_states = {s.strip().lower() for s in states}
        wanted_types = {t.strip().lower() for t in types}
        result = []
        for group in self.groups.values():
            if group.is_in(GroupState.DEAD):
                continue
            if wanted_states and group.state.value.lower() not in wanted_states:
                continue
            if wanted_types and GROUP_TYPE_CLASSIC not in wanted_types:
                continue
            result.append(group)
        return result

    def delete_groups(self, group_ids: Iterable[str]) -> list[tuple[str, ErrorCode]]:
        """Delete empty groups with their offsets (tombstones); one error per group."""
        results = []
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if group is None or group.is_in(GroupState.DEAD):
                results.append((group_id, ErrorCode.GROUP_ID_NOT_FOUND))
                continue
            if not group.is_in(GroupState.EMPTY):
                results.append((group_id, ErrorCode.NON_EMPTY_GROUP))
                continue
            error = self._delete_group(group, list(group.offsets))
            results.append((group_id, error))
        return results

    def _delete_group(self, group: Group, offsets: list[TopicPartition]) -> ErrorCode:
        records: list[tuple[bytes, bytes | None]] = [
            (offset_commit_key(group.group_id, topic, partition), None) for topic, partition in offsets
        ]
        records.append((group_metadata_key(group.group_id), None))
        error = self._append(group.group_id, records)
        if error is not ErrorCode.NONE:
            return _store_error(error)
        group.transition(GroupEvent.DELETE, self.wall_ms())
        del self.groups[group.group_id]
        for member_id in list(group.pending_members):
            self._cancel_heartbeat(group, member_id)
        self.timers.cancel(("join", group.group_id))
        self.timers.cancel(("sync", group.group_id))
        log.info("group %s: deleted with %d offset(s)", group.group_id, len(offsets))
        return ErrorCode.NONE

    def clear(self) -> None:
        """Forget every group, answering parked requests UNKNOWN_MEMBER_ID (their clients
        rejoin from scratch) and cancelling the groups' deadlines. Writes nothing: the caller
        empties __consumer_offsets itself (used to reset an in-process broker between tests).
        """
        for group in list(self.groups.values()):
            for member in list(group.members.values()):
                if member.join_waiter is not None:
                    member.join_waiter.complete(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member.member_id))
                    member.join_waiter = None
                if member.sync_waiter is not None:
                    member.sync_waiter.complete(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
                    member.sync_waiter = None
                self._cancel_heartbeat(group, member.member_id)
            for member_id in list(group.pending_members):
                self._cancel_heartbeat(group, member_id)
            self.timers.cancel(("join", group.group_id))
            self.timers.cancel(("sync", group.group_id))
        self.groups.clear()

    # -- expiry and topic deletion -------------------------------------------------------

    def cleanup_group_metadata(self) -> int:
        """Expire offsets past offsets.retention.minutes and delete empty groups left with
        none (KIP-211); return the number of tombstones written."""
        now = self.wall_ms()
        written = 0
        for group in list(self.groups.values()):
            expired = group.expired_offsets(now, self.offsets_retention_ms)
            all_expired = len(expired) == len(group.offsets)
            if all_expired and group.is_in(GroupState.EMPTY) and not group.pending_members:
                if self._delete_group(group, expired) is ErrorCode.NONE:
                    written += len(expired) + 1
                continue
            if expired:
                records: list[tuple[bytes, bytes | None]] = [
                    (offset_commit_key(group.group_id, topic, partition), None) for topic, partition in expired
                ]
                if self._append(group.group_id, records) is ErrorCode.NONE:
                    for tp in expired:
                        group.offsets.pop(tp, None)
                    written += len(records)
                    log.info("group %s: expired %d offset(s)", group.group_id, len(expired))
        return written

    def on_topic_deleted(self, topic: str) -> None:
        """Drop (with tombstones) every committed offset of a deleted topic, as Kafka does."""
        for group in list(self.groups.values()):
            gone = [tp for tp in group.offsets if tp[0] == topic]
            if not gone:
                continue
            records: list[tuple[bytes, bytes | None]] = [(offset_commit_key(group.group_id, t, p), None) for t, p in gone]
            if self._append(group.group_id, records) is ErrorCode.NONE:
                for tp in gone:
                    group.offsets.pop(tp, None)


def _inconsistent(requested: str | None, current: str | None) -> bool:
    return requested is not None and current is not None and requested != current
