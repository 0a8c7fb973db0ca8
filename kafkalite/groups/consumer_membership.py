"""ConsumerGroupHeartbeat: joining, heartbeating in and leaving a consumer group (KIP-848).

What happens follows Kafka's ``GroupMetadataManager.consumerGroupHeartbeat``:

1. the request is validated field by field (INVALID_REQUEST, INVALID_REGULAR_EXPRESSION,
   UNSUPPORTED_ASSIGNOR); a heartbeat with epoch 0 may create the group (or take over an
   empty classic group: its committed offsets stay; a classic group with members is
   converted by `kafkalite.groups.mixed_membership`), any other needs it (GROUP_ID_NOT_FOUND);
2. the member is found or created (UNKNOWN_MEMBER_ID, GROUP_MAX_SIZE_REACHED,
   FENCED_MEMBER_EPOCH, and for static members UNRELEASED_INSTANCE_ID / FENCED_INSTANCE_ID);
   a static member rejoining after leaving with epoch -2 takes over its old assignment;
3. a changed subscription, assignor or rack, or a change of the subscribed topics
   (created, deleted, grown), bumps the group epoch; a group epoch past the assignment
   epoch recomputes the target assignment with the group's assignor;
4. the member reconciles towards its target (`kafkalite.groups.consumer_group.reconcile`);
   its session deadline is reset, and a rebalance deadline runs while it has partitions to
   revoke.

A member that misses its session, or does not revoke within its rebalance timeout, is fenced:
removed from the group, which bumps the group epoch so that the others take its partitions.
"""

from __future__ import annotations

import base64
import collections
import logging
import uuid

import attrs

from kafkalite.groups import consumer_records
from kafkalite.groups.assignors import ASSIGNORS, DEFAULT_ASSIGNOR, Assignment
from kafkalite.groups.consumer_group import (
    LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    ConsumerGroup,
    ConsumerMember,
    MemberState,
    OwnedPartitions,
    TopicMetadata,
    assignment_of,
    reconcile,
)
from kafkalite.groups.core import CoordinatorCore
from kafkalite.groups.state import GroupState
from kafkalite.groups.topic_regex import InvalidRegex, compile_topic_regex
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.groups")

#: ConsumerGroupHeartbeat v1 and later: the client generates its member id (Kafka 4.1).
CLIENT_GENERATED_MEMBER_ID_VERSION = 1


@attrs.frozen
class ConsumerHeartbeat:
    """A ConsumerGroupHeartbeat request, as the coordinator reads it (None: unchanged)."""

    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    subscribed_topic_names: tuple[str, ...] | None = None
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    topic_partitions: OwnedPartitions = None
    client_id: str = ""
    client_host: str = ""
    api_version: int = 1


@attrs.frozen
class ConsumerHeartbeatResult:
    error: ErrorCode = ErrorCode.NONE
    error_message: str | None = None
    member_id: str | None = None
    member_epoch: int = 0
    heartbeat_interval_ms: int = 0
    #: None: unchanged since the last response
    assignment: list[tuple[uuid.UUID, list[int]]] | None = None


class HeartbeatError(Exception):
    def __init__(self, error: ErrorCode, message: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def _member_metadata(member: ConsumerMember) -> tuple[object, ...]:
    """What ConsumerGroupMemberMetadata records of a member."""
    return (member.instance_id, member.rack_id, member.client_id, member.client_host, member.subscribed_topic_names,
            member.subscribed_topic_regex, member.rebalance_timeout_ms, member.server_assignor, member.classic)


def _current(member: ConsumerMember) -> tuple[object, ...]:
    """What ConsumerGroupCurrentMemberAssignment records of a member."""
    return (member.member_epoch, member.previous_member_epoch, member.state, member.assigned, member.pending_revocation)


def new_member_id() -> str:
    """A member id as Kafka generates them: a random UUID in URL-safe base64, 22 characters."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _blank(value: str | None) -> bool:
    return value is not None and not value.strip()


class ConsumerMembership(CoordinatorCore):
    """The consumer-protocol half of `kafkalite.groups.coordinator.GroupCoordinator`."""

    # -- validation ----------------------------------------------------------------------

    def _validate_heartbeat(self, req: ConsumerHeartbeat) -> None:
        """Kafka's checks of each field, in Kafka's order; raises HeartbeatError."""
        def invalid(message: str) -> HeartbeatError:
            return HeartbeatError(ErrorCode.INVALID_REQUEST, message)

        if _blank(req.group_id) or not req.group_id:
            raise invalid("GroupId can't be empty.")
        if _blank(req.instance_id):
            raise invalid("InstanceId can't be empty.")
        if _blank(req.rack_id):
            raise invalid("RackId can't be empty.")
        if req.api_version >= CLIENT_GENERATED_MEMBER_ID_VERSION and not req.member_id.strip():
            raise invalid("MemberId can't be empty.")
        if req.member_epoch > 0 or req.member_epoch == LEAVE_GROUP_MEMBER_EPOCH:
            if not req.member_id.strip():
                raise invalid("MemberId can't be empty.")
        elif req.member_epoch == 0:
            if req.rebalance_timeout_ms == -1:
                raise invalid("RebalanceTimeoutMs must be provided in first request.")
            if req.topic_partitions is None or req.topic_partitions:
                raise invalid("TopicPartitions must be empty when (re-)joining.")
            if not req.subscribed_topic_names and not req.subscribed_topic_regex:
                raise invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
        elif req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
            if not req.member_id.strip():
                raise invalid("MemberId can't be empty.")
            if req.instance_id is None:
                raise invalid("InstanceId can't be null.")
        else:
            raise invalid("MemberEpoch is invalid.")
        if req.subscribed_topic_regex is not None:
            try:
                compile_topic_regex(req.subscribed_topic_regex)
            except InvalidRegex as exc:
                raise HeartbeatError(
                    ErrorCode.INVALID_REGULAR_EXPRESSION,
                    f"SubscribedTopicRegex `{req.subscribed_topic_regex}` is not a valid regular expression: {exc}.",
                ) from None
        if req.server_assignor is not None and req.server_assignor not in self.consumer_assignors:
            raise HeartbeatError(
                ErrorCode.UNSUPPORTED_ASSIGNOR,
                f"ServerAssignor {req.server_assignor} is not supported. Supported assignors: "
                f"{', '.join(self.consumer_assignors)}.",
            )

    # -- the heartbeat -------------------------------------------------------------------

    def consumer_heartbeat(self, req: ConsumerHeartbeat, topics: dict[str, TopicMetadata]) -> ConsumerHeartbeatResult:
        """Handle one ConsumerGroupHeartbeat; *topics* are the cluster's topics by name
        (internal topics left out: a regex never matches them)."""
        try:
            self._validate_heartbeat(req)
            if req.member_epoch in (LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH):
                return self._leave(req)
            return self._heartbeat(req, topics)
        except HeartbeatError as exc:
            return ConsumerHeartbeatResult(exc.error, exc.message, heartbeat_interval_ms=0)

    def _consumer_group(self, group_id: str, create: bool) -> ConsumerGroup:
        group = self.consumer_groups.get(group_id)
        if group is not None:
            return group
        classic = self.groups.get(group_id)
        if classic is not None and not classic.is_in(GroupState.DEAD) and not classic.is_in(GroupState.EMPTY):
            # A live classic group that was not converted (a joining heartbeat converts it
            # first, see kafkalite.groups.mixed_membership): not a consumer group.
            raise HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a consumer group")
        if not create:
            raise HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, f"Consumer group {group_id} not found.")
        # An empty classic group (committed offsets only) gives way; its offsets stay.
        group = self.consumer_groups[group_id] = ConsumerGroup(group_id)
        log.info("consumer group %s: created", group_id)
        return group

    def _member_for(self, group: ConsumerGroup, req: ConsumerHeartbeat) -> tuple[ConsumerMember, bool, bool]:
        """The member the heartbeat is about, whether it is new to the group, and whether it
        replaces a static member (new to the log, not to the group)."""
        joining = req.member_epoch == 0
        member_id = req.member_id or new_member_id()
        if req.instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                if not joining:
                    raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group.group_id}.")
                self._check_group_size(group, member_id)
                return ConsumerMember(member_id), True, False
            self._check_member_epoch(member, req)
            return member, False, False
        existing = group.static_member(req.instance_id)
        if joining:
            if existing is None:
                if member_id not in group.members:
                    self._check_group_size(group, member_id)
                known = group.members.get(member_id)
                return known or ConsumerMember(member_id), known is None, False
            if existing.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH:
                raise HeartbeatError(
                    ErrorCode.UNRELEASED_INSTANCE_ID,
                    f"Static member {member_id} with instance id {req.instance_id} cannot join the group "
                    f"because the instance id is owned by {existing.member_id} member.",
                )
            # The returning static member takes the place (and assignment) of the old one.
            replacement = attrs.evolve(existing, member_id=member_id, member_epoch=0, previous_member_epoch=0)
            target = group.target.get(existing.member_id, {})
            self._remove_member(group, existing, bump=False)
            group.target[member_id] = target
            group.members[member_id] = replacement
            log.info("consumer group %s: static member %s rejoins as %s", group.group_id, req.instance_id, member_id)
            return replacement, False, True
        if existing is None:
            raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {req.instance_id} is unknown.")
        if existing.member_id != member_id:
            raise HeartbeatError(
                ErrorCode.FENCED_INSTANCE_ID,
                f"Static member {member_id} with instance id {req.instance_id} was fenced by member {existing.member_id}.",
            )
        self._check_member_epoch(existing, req)
        return existing, False, False

    def _check_group_size(self, group: ConsumerGroup, member_id: str) -> None:
        if len(group.members) >= self.consumer_max_size and member_id not in group.members:
            raise HeartbeatError(
                ErrorCode.GROUP_MAX_SIZE_REACHED,
                f"The consumer group has reached its maximum capacity of {self.consumer_max_size} members.",
            )

    @staticmethod
    def _check_member_epoch(member: ConsumerMember, req: ConsumerHeartbeat) -> None:
        """FENCED_MEMBER_EPOCH unless the epoch is the member's, or its previous one with a
        subset of its assignment (the response with the new epoch may have been lost)."""
        received = req.member_epoch
        if received > member.member_epoch:
            raise HeartbeatError(
                ErrorCode.FENCED_MEMBER_EPOCH,
                f"The consumer group member has a greater member epoch ({received}) than the one known by the "
                f"group coordinator ({member.member_epoch}). The member must abandon all its partitions and rejoin.",
            )
        if received < member.member_epoch:
            owned = req.topic_partitions
            subset = owned is not None and all(
                p in member.assigned.get(topic_id, ()) for topic_id, ps in owned for p in ps
            )
            if received != member.previous_member_epoch or not subset:
                raise HeartbeatError(
                    ErrorCode.FENCED_MEMBER_EPOCH,
                    f"The consumer group member has a smaller member epoch ({received}) than the one known by the "
                    f"group coordinator ({member.member_epoch}). The member must abandon all its partitions and rejoin.",
                )

    def _heartbeat(self, req: ConsumerHeartbeat, topics: dict[str, TopicMetadata]) -> ConsumerHeartbeatResult:
        group = self._consumer_group(req.group_id, create=req.member_epoch == 0)
        member, is_new, replaced = self._member_for(group, req)
        before = (member.subscription(), dict(member.assigned))
        stored_before = (_member_metadata(member), _current(member), group.group_epoch, group.assignment_epoch)
        targets_before = dict(group.target)
        if req.instance_id is not None:
            member.instance_id = req.instance_id
        if req.rack_id is not None:
            member.rack_id = req.rack_id
        if req.rebalance_timeout_ms != -1:
            member.rebalance_timeout_ms = req.rebalance_timeout_ms
        if req.server_assignor is not None:
            member.server_assignor = req.server_assignor
        if req.subscribed_topic_names is not None:
            member.subscribed_topic_names = tuple(req.subscribed_topic_names)
        if req.subscribed_topic_regex is not None:
            member.subscribed_topic_regex = req.subscribed_topic_regex or None
        member.client_id, member.client_host = req.client_id, req.client_host
        group.members[member.member_id] = member
        self._advance_group(group, is_new or member.subscription() != before[0], topics)
        if not (member.state is MemberState.STABLE and member.member_epoch == group.assignment_epoch):
            state_before = (member.member_epoch, member.state, dict(member.assigned))
            reconcile(group, member, req.topic_partitions)
            if (member.member_epoch, member.state, member.assigned) != state_before:
                self._schedule_rebalance_timeout(group, member)
        self._reschedule_session(group, member)
        error = self._store_heartbeat(group, member, is_new or replaced, stored_before, targets_before)
        if error is not ErrorCode.NONE:
            return ConsumerHeartbeatResult(error)
        full = req.member_epoch == 0 or (
            req.rebalance_timeout_ms != -1 and req.subscribed_topic_names is not None and req.topic_partitions is not None
        )
        changed = member.assigned != before[1] or is_new
        return ConsumerHeartbeatResult(
            member_id=member.member_id,
            member_epoch=member.member_epoch,
            heartbeat_interval_ms=self._heartbeat_interval_ms(group.group_id),
            assignment=assignment_of(member) if full or changed else None,
        )

    def _store_heartbeat(
        self,
        group: ConsumerGroup,
        member: ConsumerMember,
        unstored: bool,
        before: tuple[object, object, int, int],
        targets_before: dict[str, Assignment],
    ) -> ErrorCode:
        """Write what the heartbeat changed, as Kafka's records (see consumer_records)."""
        records = []
        if unstored or _member_metadata(member) != before[0]:
            records.append(consumer_records.member_records(group, member)[0])
        if group.group_epoch != before[2]:
            records.append(consumer_records.group_epoch_record(group))
        if group.assignment_epoch != before[3]:
            records.extend(
                consumer_records.target_record(group, member_id)
                for member_id, target in group.target.items()
                if targets_before.get(member_id) != target or (unstored and member_id == member.member_id)
            )
            records.append(consumer_records.assignment_epoch_record(group))
        elif unstored:
            records.append(consumer_records.target_record(group, member.member_id))
        if unstored or _current(member) != before[1]:
            records.append(consumer_records.current_assignment_record(group, member))
        return self._append(group.group_id, records)

    def _leave(self, req: ConsumerHeartbeat) -> ConsumerHeartbeatResult:
        group = self._consumer_group(req.group_id, create=False)
        if req.instance_id is None:
            member = group.members.get(req.member_id)
            if member is None:
                raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {req.member_id} is not a member of group {group.group_id}.")
        else:
            member = group.static_member(req.instance_id)
            if member is None:
                raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {req.instance_id} is unknown.")
            if member.member_id != req.member_id:
                raise HeartbeatError(
                    ErrorCode.FENCED_INSTANCE_ID,
                    f"Static member {req.member_id} with instance id {req.instance_id} was fenced by member {member.member_id}.",
                )
        if req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
            # A static member that will come back keeps its partitions (no one else gets
            # them) until its session runs out.
            member.previous_member_epoch, member.member_epoch = member.member_epoch, LEAVE_GROUP_STATIC_MEMBER_EPOCH
            self.timers.cancel(self._rebalance_key(group.group_id, member.member_id))
            error = self._append(group.group_id, [consumer_records.current_assignment_record(group, member)])
            if error is not ErrorCode.NONE:
                return ConsumerHeartbeatResult(error)
            log.info("consumer group %s: static member %s left temporarily", group.group_id, member.instance_id)
        else:
            self._remove_member(group, member)
            log.info("consumer group %s: member %s left", group.group_id, member.member_id)
        return ConsumerHeartbeatResult(member_id=req.member_id, member_epoch=req.member_epoch)

    # -- target assignment ---------------------------------------------------------------

    def _subscribed_names(self, member: ConsumerMember, topics: dict[str, TopicMetadata]) -> set[str]:
        names = {t for t in member.subscribed_topic_names if t in topics}
        if member.subscribed_topic_regex:
            regex = compile_topic_regex(member.subscribed_topic_regex)
            names.update(t for t in topics if regex.fullmatch(t))
        return names

    def _advance_group(self, group: ConsumerGroup, changed: bool, topics: dict[str, TopicMetadata]) -> None:
        """Bump the group epoch if a member's subscription *changed* or the subscribed topics'
        metadata did, and compute a new target assignment when the epoch is ahead of it."""
        metadata = self._subscription_metadata(group, topics)
        if metadata != group.subscription_metadata:
            group.subscription_metadata = metadata
            changed = True
        if changed:
            group.group_epoch += 1
            log.info("consumer group %s: epoch %d", group.group_id, group.group_epoch)
        if group.group_epoch > group.assignment_epoch:
            self._compute_target(group)

    def _subscription_metadata(self, group: ConsumerGroup, topics: dict[str, TopicMetadata]) -> dict[str, TopicMetadata]:
        names: set[str] = set()
        for member in group.members.values():
            names |= self._subscribed_names(member, topics)
        return {name: topics[name] for name in sorted(names)}

    def group_assignor(self, group: ConsumerGroup) -> str:
        """The assignor most members ask for (Kafka's rule), else the first configured."""
        wanted = collections.Counter(m.server_assignor for m in group.members.values() if m.server_assignor)
        if not wanted:
            return self.consumer_assignors[0] if self.consumer_assignors else DEFAULT_ASSIGNOR
        top = max(wanted.values())
        return min(name for name, count in wanted.items() if count == top)

    def _compute_target(self, group: ConsumerGroup) -> None:
        metadata = group.subscription_metadata
        subscriptions = {
            m.member_id: frozenset(metadata[t].topic_id for t in self._subscribed_names(m, metadata))
            for m in group.members.values()
        }
        counts = {t.topic_id: t.num_partitions for t in metadata.values()}
        name = self.group_assignor(group)
        static = {m.member_id: m.instance_id for m in group.members.values() if m.instance_id is not None}
        group.target = ASSIGNORS[name](subscriptions, counts, group.target, static)
        group.assignor_name = name
        group.assignment_epoch = group.group_epoch

    # -- removal and deadlines -----------------------------------------------------------

    def _remove_member(self, group: ConsumerGroup, member: ConsumerMember, *, bump: bool = True) -> None:
        group.members.pop(member.member_id, None)
        group.target.pop(member.member_id, None)
        self.timers.cancel(self._session_key(group.group_id, member.member_id))
        self.timers.cancel(self._rebalance_key(group.group_id, member.member_id))
        records = consumer_records.member_tombstones(group.group_id, member.member_id)
        if bump:
            group.group_epoch += 1
            records.append(consumer_records.group_epoch_record(group))
            if not group.members:
                # Nothing left to assign: the (empty) target is current.
                group.assignment_epoch = group.group_epoch
                group.subscription_metadata = {}
                records.append(consumer_records.assignment_epoch_record(group))
        # A failed write is logged by _append; the member is gone all the same (Kafka
        # fences it in memory too, and a restart would bring back a member that then
        # misses its session again).
        self._append(group.group_id, records)

    @staticmethod
    def _session_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("consumer-session", group_id, member_id)

    @staticmethod
    def _rebalance_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("consumer-rebalance", group_id, member_id)

    def _session_timeout_ms(self, group_id: str) -> int:
        """The group's consumer.session.timeout.ms if set (a GROUP config), else the broker's."""
        value = self.group_configs(group_id).get("consumer.session.timeout.ms")
        return self.consumer_session_timeout_ms if value is None else int(value)

    def _heartbeat_interval_ms(self, group_id: str) -> int:
        """The group's consumer.heartbeat.interval.ms if set (a GROUP config), else the broker's."""
        value = self.group_configs(group_id).get("consumer.heartbeat.interval.ms")
        return self.consumer_heartbeat_interval_ms if value is None else int(value)

    def _reschedule_session(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        group_id, member_id = group.group_id, member.member_id
        self.timers.schedule(
            self._session_key(group_id, member_id),
            self._session_timeout_ms(group_id),
            lambda: self._fence(group_id, member_id, None, "its session timed out"),
        )

    def _schedule_rebalance_timeout(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        key = self._rebalance_key(group.group_id, member.member_id)
        if member.state is not MemberState.UNREVOKED_PARTITIONS:
            self.timers.cancel(key)
            return
        group_id, member_id, epoch = group.group_id, member.member_id, member.member_epoch
        self.timers.schedule(
            key,
            max(member.rebalance_timeout_ms, 0),
            lambda: self._fence(group_id, member_id, epoch, "it did not revoke its partitions in time"),
        )

    def _fence(self, group_id: str, member_id: str, epoch: int | None, why: str) -> None:
        group = self.consumer_groups.get(group_id)
        member = None if group is None else group.members.get(member_id)
        if group is None or member is None or (epoch is not None and member.member_epoch != epoch):
            return
        log.info("consumer group %s: member %s removed: %s", group_id, member_id, why)
        self._remove_member(group, member)

