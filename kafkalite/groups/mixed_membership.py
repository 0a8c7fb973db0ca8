"""Classic and consumer protocols side by side (KIP-848's online upgrade and downgrade), as
Kafka's ``GroupMetadataManager`` does it.

* **Upgrade.** A ConsumerGroupHeartbeat joining (epoch 0) a classic group that has members
  converts it, when the migration policy allows, the group uses the consumer embedded
  protocol and fits the consumer group's maximum size (else GROUP_ID_NOT_FOUND with Kafka's
  message). Its members stay, as classic-protocol members of the consumer group, with their
  generation as epoch and their last assignment; parked JoinGroup / SyncGroup requests are
  answered REBALANCE_IN_PROGRESS. A tombstone of the classic group's record and the
  consumer group's records are written.
* **Classic members of a consumer group.** JoinGroup answers at once (no join phase): the
  member is created or updated from its subscription, the group epoch bumped if that
  changed, the target recomputed, and the member reconciled with the partitions its
  subscription says it owns; the generation is its member epoch, it is never the leader.
  SyncGroup answers its current assignment (consumer protocol encoding). Heartbeat answers
  REBALANCE_IN_PROGRESS while the member must rejoin (the group epoch moved, it has
  partitions to revoke, or partitions it waited for are free). LeaveGroup removes it and
  bumps the group epoch. Deadlines: its own session timeout, a join deadline once told to
  rejoin, a sync deadline after a join (both its rebalance timeout); a miss fences it.
* **Downgrade.** When the last consumer-protocol member leaves (or is fenced) and the others
  all use the classic protocol, the policy allows it and they fit the classic group maximum,
  the group becomes a Stable classic group at the group epoch, each member holding its
  target assignment, and a rebalance starts. The consumer group's tombstones and the
  classic group's record are written. A classic static member taking the place of the last
  consumer-protocol member (same instance id) downgrades the group too, keeping its
  assignment, without a rebalance.
"""

from __future__ import annotations

import logging
from typing import Iterable

import attrs

from kafkalite.groups import consumer_records
from kafkalite.groups.consumer_group import (
    ClassicMemberMetadata,
    ConsumerGroup,
    ConsumerMember,
    MemberState,
    TopicMetadata,
    reconcile,
)
from kafkalite.groups.consumer_membership import (
    ConsumerHeartbeat,
    ConsumerHeartbeatResult,
    ConsumerMembership,
    HeartbeatError,
    _current,
    _member_metadata,
    new_member_id,
)
from kafkalite.groups.consumer_protocol import ConsumerProtocolError, parse_subscription
from kafkalite.groups.group import CONSUMER_PROTOCOL_TYPE, Group
from kafkalite.groups.membership import Membership
from kafkalite.groups.migration import (
    CustomAssignorInUse,
    classic_assignment,
    classic_members_from,
    consumer_group_from_classic,
    downgrade_enabled,
    to_topic_ids,
    upgrade_enabled,
)
from kafkalite.groups.records import group_metadata_key
from kafkalite.groups.requests import JoinRequest, JoinResult, SyncRequest, SyncResult
from kafkalite.groups.state import GroupState
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.groups")


class MixedMembership(Membership, ConsumerMembership):
    """Classic members in consumer groups, and conversions between the two kinds."""

    # -- upgrade -------------------------------------------------------------------------

    def _heartbeat(self, req: ConsumerHeartbeat, topics: dict[str, TopicMetadata]) -> ConsumerHeartbeatResult:
        if req.member_epoch == 0 and req.group_id not in self.consumer_groups:
            classic = self.groups.get(req.group_id)
            if classic is not None and classic.members and not classic.is_in(GroupState.DEAD):
                self._upgrade(classic, topics)
        return super()._heartbeat(req, topics)

    def _validate_online_upgrade(self, classic: Group) -> None:
        group_id = classic.group_id
        if not upgrade_enabled(self.consumer_migration_policy):
            why = "online upgrade is disabled"
        elif not classic.uses_consumer_protocol():
            why = "the group does not use the consumer embedded protocol"
        elif len(classic.members) > self.consumer_max_size:
            why = "the group size exceeds the consumer group maximum size"
        else:
            return
        log.info("cannot upgrade classic group %s to consumer group: %s", group_id, why)
        raise HeartbeatError(
            ErrorCode.GROUP_ID_NOT_FOUND, f"Cannot upgrade classic group {group_id} to consumer group because {why}."
        )

    def _upgrade(self, classic: Group, topics: dict[str, TopicMetadata]) -> None:
        group_id = classic.group_id
        self._validate_online_upgrade(classic)
        try:
            converted = consumer_group_from_classic(classic, topics)
        except CustomAssignorInUse as exc:
            log.warning("cannot upgrade classic group %s: %s", group_id, exc)
            raise HeartbeatError(
                ErrorCode.GROUP_ID_NOT_FOUND,
                f"Cannot upgrade classic group {group_id} to consumer group because an unsupported custom assignor "
                f"is in use. Please refer to the documentation or switch to a default assignor before re-attempting "
                f"the upgrade.",
            ) from None
        except ConsumerProtocolError as exc:
            log.warning("cannot upgrade classic group %s: %s", group_id, exc)
            raise HeartbeatError(
                ErrorCode.GROUP_ID_NOT_FOUND,
                f"Cannot upgrade classic group {group_id} to consumer group because the embedded consumer "
                f"protocol is malformed.",
            ) from None
        # Parked requests learn of the new rebalance and rejoin (into the consumer group).
        for member in list(classic.members.values()):
            if member.join_waiter is not None:
                member.join_waiter.complete(JoinResult(ErrorCode.REBALANCE_IN_PROGRESS, member.member_id))
                member.join_waiter = None
            if member.sync_waiter is not None:
                member.sync_waiter.complete(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
                member.sync_waiter = None
            self._cancel_heartbeat(classic, member.member_id)
        for member_id in classic.pending_members:
            self._cancel_heartbeat(classic, member_id)
        self.timers.cancel(("join", group_id))
        self.timers.cancel(("sync", group_id))
        members = list(converted.members.values())
        records: list[tuple[bytes, bytes | None]] = [(group_metadata_key(group_id), None)]
        records += [consumer_records.member_records(converted, m)[0] for m in members]
        records.append(consumer_records.group_epoch_record(converted))
        records += [consumer_records.target_record(converted, m.member_id) for m in members]
        records.append(consumer_records.assignment_epoch_record(converted))
        records += [consumer_records.current_assignment_record(converted, m) for m in members]
        error = self._append(group_id, records)
        if error is not ErrorCode.NONE:
            raise HeartbeatError(error)
        # The committed offsets stay, in a memberless holder (as a replay of the tombstone).
        if classic.offsets or classic.pending_txn_offsets:
            self.groups[group_id] = Group(
                group_id, offsets=classic.offsets, pending_txn_offsets=classic.pending_txn_offsets,
                state_timestamp=self.wall_ms(),
            )
        else:
            self.groups.pop(group_id, None)
        self.consumer_groups[group_id] = converted
        for member in members:
            self._reschedule_session(converted, member)
        log.info("classic group %s upgraded to a consumer group at epoch %d with %d member(s)",
                 group_id, converted.group_epoch, len(members))

    # -- downgrade -----------------------------------------------------------------------

    def _remove_member(self, group: ConsumerGroup, member: ConsumerMember, *, bump: bool = True) -> None:
        self.timers.cancel(self._join_key(group.group_id, member.member_id))
        self.timers.cancel(self._sync_key(group.group_id, member.member_id))
        if bump and self._downgrade_allowed(group, member):
            self._downgrade(group, member)
            return
        super()._remove_member(group, member, bump=bump)

    def _downgrade_allowed(self, group: ConsumerGroup, leaving: ConsumerMember, *, replaced: bool = False) -> bool:
        """Kafka's validateOnlineDowngrade: *leaving* is the only consumer-protocol member
        (it leaves, or a classic static member with its instance id *replaced* it)."""
        others = [m for m in group.members.values() if m.member_id != leaving.member_id]
        if leaving.uses_classic_protocol or not all(m.uses_classic_protocol for m in others):
            return False
        if not others and not replaced:
            return False  # the group is just empty
        if not downgrade_enabled(self.consumer_migration_policy):
            log.info("cannot downgrade consumer group %s to classic group: the online downgrade is disabled",
                     group.group_id)
            return False
        if len(others) + (1 if replaced else 0) > self.group_max_size:
            log.info("cannot downgrade consumer group %s to classic group: its size is greater than the "
                     "classic group max size", group.group_id)
            return False
        return True

    def _downgrade(self, group: ConsumerGroup, leaving: ConsumerMember, *, rebalance: bool = True) -> None:
        """Turn *group* classic without *leaving*; a rebalance follows unless a static member
        took the leaving one's place (and assignment)."""
        group_id = group.group_id
        records: list[tuple[bytes, bytes | None]] = []
        for member_id in group.members:
            self._cancel_consumer_timers(group_id, member_id)
            records += consumer_records.member_tombstones(group_id, member_id)
        records += consumer_records.group_tombstones(group_id)
        holder = self.groups.get(group_id)
        classic = Group(group_id, state=GroupState.STABLE, state_timestamp=self.wall_ms(),
                        generation_id=group.group_epoch)
        if holder is not None:
            classic.offsets, classic.pending_txn_offsets = holder.offsets, holder.pending_txn_offsets
        for member, assignment in classic_members_from(group, leaving.member_id, group.subscription_metadata):
            classic.add(member)
            member.assignment = assignment
        classic.protocol_name = classic.select_protocol()
        classic.subscribed_topics = classic.compute_subscribed_topics()
        records.append(self._group_record(classic, {m.member_id: m.assignment for m in classic.members.values()}))
        self._append(group_id, records)
        del self.consumer_groups[group_id]
        self.groups[group_id] = classic
        log.info("consumer group %s downgraded to a classic group at generation %d (member %s left)",
                 group_id, classic.generation_id, leaving.member_id)
        for member in classic.members.values():
            self._reschedule_heartbeat(classic, member)
        if rebalance:
            self._prepare_rebalance(classic, f"Downgrade group {group_id} from consumer to classic.")

    def _cancel_consumer_timers(self, group_id: str, member_id: str) -> None:
        for key in (self._session_key, self._rebalance_key, self._join_key, self._sync_key):
            self.timers.cancel(key(group_id, member_id))

    # -- deadlines of classic members ----------------------------------------------------

    @staticmethod
    def _join_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("consumer-classic-join", group_id, member_id)

    @staticmethod
    def _sync_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("consumer-classic-sync", group_id, member_id)

    def _reschedule_session(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        if member.classic is None:
            super()._reschedule_session(group, member)
            return
        group_id, member_id = group.group_id, member.member_id
        self.timers.schedule(
            self._session_key(group_id, member_id),
            member.classic.session_timeout_ms,
            lambda: self._fence(group_id, member_id, None, "its session timed out"),
        )

    def _schedule_join_timeout_if_absent(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        key = self._join_key(group.group_id, member.member_id)
        if key in self.timers:
            return
        group_id, member_id = group.group_id, member.member_id
        self.timers.schedule(key, max(member.rebalance_timeout_ms, 0),
                             lambda: self._fence(group_id, member_id, None, "it did not rejoin in time"))

    def _schedule_sync_timeout(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        group_id, member_id = group.group_id, member.member_id
        self.timers.schedule(self._sync_key(group_id, member_id), max(member.rebalance_timeout_ms, 0),
                             lambda: self._fence(group_id, member_id, None, "it did not sync in time"))

    # -- JoinGroup -----------------------------------------------------------------------

    def classic_join_to_consumer_group(self, r: JoinRequest, topics: dict[str, TopicMetadata]) -> JoinResult:
        """A JoinGroup into a consumer group with members: answered at once."""
        if not r.group_id:
            return JoinResult(ErrorCode.INVALID_GROUP_ID, r.member_id)
        if not self.min_session_timeout_ms <= r.session_timeout_ms <= self.max_session_timeout_ms:
            return JoinResult(ErrorCode.INVALID_SESSION_TIMEOUT, r.member_id)
        group = self.consumer_groups[r.group_id]
        try:
            return self._classic_join(group, r, topics)
        except HeartbeatError as exc:
            log.info("consumer group %s: JoinGroup refused: %s", group.group_id, exc.message or exc.error.name)
            return JoinResult(exc.error, r.member_id)

    def _classic_join(self, group: ConsumerGroup, r: JoinRequest, topics: dict[str, TopicMetadata]) -> JoinResult:
        if self.consumer_migration_policy == "disabled":
            raise HeartbeatError(
                ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
                f"Cannot join the consumer group {group.group_id} with the classic protocol because the group "
                f"migration is disabled.",
            )
        member_id = r.member_id or new_member_id()
        self._check_group_size(group, member_id)
        if not self._supports_classic_protocols(group, r.protocol_type, [name for name, _ in r.protocols]):
            raise HeartbeatError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, f"Member {member_id}'s protocols are not supported.")
        if r.require_known_member_id and not r.member_id and r.group_instance_id is None:
            return JoinResult(ErrorCode.MEMBER_ID_REQUIRED, member_id)
        try:
            subscription = parse_subscription(r.protocols[0][1])
        except ConsumerProtocolError as exc:
            raise HeartbeatError(ErrorCode.UNKNOWN_SERVER_ERROR, f"Malformed embedded consumer protocol: {exc}") from None
        replacing = group.static_member(r.group_instance_id) if r.group_instance_id is not None and not r.member_id else None
        downgrade = replacing is not None and self._downgrade_allowed(group, replacing, replaced=True)
        member, is_new, replaced = self._classic_member_for(group, r, member_id)
        before = member.subscription()
        stored_before = (_member_metadata(member), _current(member), group.group_epoch, group.assignment_epoch)
        targets_before = dict(group.target)
        if r.group_instance_id is not None:
            member.instance_id = r.group_instance_id
        if subscription.rack_id is not None:
            member.rack_id = subscription.rack_id
        if r.rebalance_timeout_ms != -1:
            member.rebalance_timeout_ms = r.rebalance_timeout_ms
        member.subscribed_topic_names = subscription.topics
        member.client_id, member.client_host = r.client_id, r.client_host
        member.classic = ClassicMemberMetadata(r.session_timeout_ms, tuple(r.protocols))
        group.members[member.member_id] = member
        self._advance_group(group, is_new or member.subscription() != before, topics)
        if not (member.state is MemberState.STABLE and member.member_epoch == group.assignment_epoch):
            owned = list(to_topic_ids(subscription.owned_partitions, topics).items())
            reconcile(group, member, [(topic_id, sorted(ps)) for topic_id, ps in owned])
        error = self._store_heartbeat(group, member, is_new or replaced, stored_before, targets_before)
        if error is not ErrorCode.NONE:
            return JoinResult(error, member_id)
        self.timers.cancel(self._join_key(group.group_id, member.member_id))
        if downgrade and replacing is not None:
            # The last consumer-protocol member was replaced by this classic static member.
            self._downgrade(group, replacing, rebalance=False)
            return JoinResult(ErrorCode.NONE, member.member_id, generation_id=member.member_epoch,
                              protocol_type=CONSUMER_PROTOCOL_TYPE, protocol_name=r.protocols[0][0])
        self._reschedule_session(group, member)
        self._schedule_sync_timeout(group, member)
        return JoinResult(
            ErrorCode.NONE,
            member.member_id,
            generation_id=member.member_epoch,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
            protocol_name=r.protocols[0][0],
        )

    @staticmethod
    def _supports_classic_protocols(group: ConsumerGroup, protocol_type: str, names: list[str]) -> bool:
        """Kafka's rule: protocol type ``consumer``, and a protocol every classic member has."""
        if protocol_type != CONSUMER_PROTOCOL_TYPE or not names:
            return False
        classic = [m.classic for m in group.members.values() if m.classic is not None]
        return not classic or any(all(name in dict(c.protocols) for c in classic) for name in names)

    def _classic_member_for(self, group: ConsumerGroup, r: JoinRequest, member_id: str) -> tuple[ConsumerMember, bool, bool]:
        """The member the JoinGroup is about, whether it is new, and whether it replaces a
        static member (a restarted static member joins with no member id)."""
        if r.group_instance_id is None:
            member = group.members.get(member_id)
            return (ConsumerMember(member_id), True, False) if member is None else (member, False, False)
        existing = group.static_member(r.group_instance_id)
        if existing is None:
            member = group.members.get(member_id)
            return (ConsumerMember(member_id), True, False) if member is None else (member, False, False)
        if not r.member_id:
            replacement = attrs.evolve(existing, member_id=member_id, member_epoch=0, previous_member_epoch=0)
            target = group.target.get(existing.member_id, {})
            self._remove_member(group, existing, bump=False)
            group.target[member_id] = target
            group.members[member_id] = replacement
            log.info("consumer group %s: static member %s rejoins as %s", group.group_id, r.group_instance_id, member_id)
            return replacement, False, True
        if existing.member_id != member_id:
            raise HeartbeatError(
                ErrorCode.FENCED_INSTANCE_ID,
                f"Static member {member_id} with instance id {r.group_instance_id} was fenced by member {existing.member_id}.",
            )
        return existing, False, False

    # -- SyncGroup, Heartbeat, LeaveGroup ------------------------------------------------

    def _classic_member(self, group: ConsumerGroup, member_id: str, instance_id: str | None) -> ConsumerMember:
        """Kafka's validateConsumerGroupMember, then the member must use the classic protocol."""
        if instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group.group_id}.")
        else:
            member = group.static_member(instance_id)
            if member is None:
                raise HeartbeatError(
                    ErrorCode.UNKNOWN_MEMBER_ID,
                    f"Member with instance id {instance_id} is not a member of group {group.group_id}.",
                )
            if member_id and member.member_id != member_id:
                raise HeartbeatError(
                    ErrorCode.FENCED_INSTANCE_ID,
                    f"Static member {member_id} with instance id {instance_id} was fenced by member {member.member_id}.",
                )
        if not member.uses_classic_protocol:
            raise HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member.member_id} does not use the classic protocol.")
        return member

    async def sync_group(self, request: SyncRequest) -> SyncResult:
        group = self.consumer_groups.get(request.group_id) if request.group_id else None
        if group is None:
            return await super().sync_group(request)
        try:
            return self._classic_sync(group, request)
        except HeartbeatError as exc:
            return SyncResult(exc.error)

    def _classic_sync(self, group: ConsumerGroup, r: SyncRequest) -> SyncResult:
        member = self._classic_member(group, r.member_id, r.group_instance_id)
        assert member.classic is not None
        if r.generation_id != member.member_epoch:
            raise HeartbeatError(ErrorCode.ILLEGAL_GENERATION)
        if r.protocol_type is not None and r.protocol_type != CONSUMER_PROTOCOL_TYPE:
            raise HeartbeatError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if r.protocol_name is not None and r.protocol_name != member.classic.protocols[0][0]:
            raise HeartbeatError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if group.group_epoch > member.member_epoch and member.state is not MemberState.UNREVOKED_PARTITIONS:
            self._schedule_join_timeout_if_absent(group, member)
            raise HeartbeatError(ErrorCode.REBALANCE_IN_PROGRESS)
        self.timers.cancel(self._sync_key(group.group_id, member.member_id))
        self._reschedule_session(group, member)
        assignment = classic_assignment(member.assigned, member.classic, group.subscription_metadata)
        return SyncResult(ErrorCode.NONE, r.protocol_type, r.protocol_name, assignment)

    def heartbeat(self, group_id: str, member_id: str, group_instance_id: str | None, generation_id: int) -> ErrorCode:
        group = self.consumer_groups.get(group_id) if group_id else None
        if group is None:
            return super().heartbeat(group_id, member_id, group_instance_id, generation_id)
        try:
            member = self._classic_member(group, member_id, group_instance_id)
        except HeartbeatError as exc:
            return exc.error
        if generation_id != member.member_epoch:
            return ErrorCode.ILLEGAL_GENERATION
        self._reschedule_session(group, member)
        if (
            member.member_epoch < group.group_epoch
            or member.state is MemberState.UNREVOKED_PARTITIONS
            or (member.state is MemberState.UNRELEASED_PARTITIONS and not self._waiting_on_unreleased(group, member))
        ):
            self._schedule_join_timeout_if_absent(group, member)
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    @staticmethod
    def _waiting_on_unreleased(group: ConsumerGroup, member: ConsumerMember) -> bool:
        """Whether a target partition the member lacks is still held by another member."""
        for topic_id, partitions in group.target.get(member.member_id, {}).items():
            have = member.assigned.get(topic_id, frozenset())
            for p in partitions:
                if p not in have and group.partition_owner_epoch(topic_id, p, other_than=member.member_id) != -1:
                    return True
        return False

    def leave_group(
        self, group_id: str, members: Iterable[tuple[str, str | None, str | None]]
    ) -> tuple[ErrorCode, list[ErrorCode]]:
        group = self.consumer_groups.get(group_id) if group_id else None
        if group is None:
            return super().leave_group(group_id, members)
        errors: list[ErrorCode] = []
        left = False
        for member_id, instance_id, reason in members:
            try:
                member = self._classic_member(group, member_id, instance_id)
            except HeartbeatError as exc:
                errors.append(exc.error)
                continue
            log.info("consumer group %s: classic member %s left (reason: %s)", group_id, member.member_id,
                     reason or "not provided")
            self._remove_member(group, member, bump=False)
            errors.append(ErrorCode.NONE)
            left = True
        if left:
            group.subscription_metadata = self._subscription_metadata(group, group.subscription_metadata)
            group.group_epoch += 1
            records = [consumer_records.group_epoch_record(group)]
            if not group.members:
                group.assignment_epoch = group.group_epoch
                group.subscription_metadata = {}
                records.append(consumer_records.assignment_epoch_record(group))
            self._append(group_id, records)
        return ErrorCode.NONE, errors
