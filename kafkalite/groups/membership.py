"""Group membership: JoinGroup, SyncGroup, Heartbeat and LeaveGroup, and the rebalances they
drive, as Kafka's classic group coordinator (``GroupMetadataManager``) does them.

* **Parked requests.** A JoinGroup waits until the join phase completes, a follower's
  SyncGroup until the leader's assignment is stored. Each waits on a `Waiter` (a trio event
  plus a result) kept on the member; whoever completes the phase completes the waiters. No
  polling: a handler awaits exactly one event.
* **Deadlines** (`kafkalite.timers`) on the broker's clock: a member's session (or, for a
  member that joined but is not yet in a generation, the 5-minute new-member timeout), the
  join phase (``group.initial.rebalance.delay.ms`` for a new group, else the largest
  rebalance timeout) and the pending syncs.
* **Durability.** Group metadata is written when a generation's assignment is stored, when a
  group becomes empty and when a static member is replaced.

Only ``join_group`` and ``sync_group`` await, after the change, on their waiter.

Deviation from Kafka: a parked JoinGroup or SyncGroup that is superseded by a newer request
of the same member (Kafka drops the old one, and the client times it out) is answered
REBALANCE_IN_PROGRESS, so that no handler task waits forever.
"""

from __future__ import annotations

import logging
from typing import Iterable

from kafkalite.groups.core import NEW_MEMBER_JOIN_TIMEOUT_MS, CoordinatorCore
from kafkalite.groups.group import Group, Member, new_member_id
from kafkalite.groups.port import store_error
from kafkalite.groups.requests import JoinRequest, JoinResult, SyncRequest, SyncResult, Waiter
from kafkalite.groups.state import GroupEvent, GroupState
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.groups")


class Membership(CoordinatorCore):
    """The membership half of `kafkalite.groups.coordinator.GroupCoordinator`."""

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
                if self._in_initial_delay(group):
                    # One round trip from joining: it extends the initial delay as a member
                    # that joined would (Kafka counts only full joins; with a delay of a few
                    # tens of ms, a member can straddle the end of the window between its two
                    # JoinGroups).
                    group.new_member_added = True
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

    @staticmethod
    def _in_initial_delay(group: Group) -> bool:
        return group.is_in(GroupState.PREPARING_REBALANCE) and group.previous_state is GroupState.EMPTY

    def _add_member_and_rebalance(self, group: Group, r: JoinRequest, member_id: str, waiter: Waiter) -> None:
        member = self._member_from(r, member_id)
        if self._in_initial_delay(group):
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
                        store_error(error), "", generation_id=group.generation_id,
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
            group.new_member_added = False  # not left over from an earlier initial rebalance
            remaining = max(min(group.rebalance_timeout_ms, self.initial_rebalance_delay_max_ms) - delay, 0)
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
                error = self._store_group(group, assignment)
                if error is not ErrorCode.NONE:
                    self._reset_and_propagate_assignment_error(group, store_error(error))
                    self._maybe_prepare_rebalance_or_complete_join(group, f"cannot store assignment: {error.name}")
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


def _inconsistent(requested: str | None, current: str | None) -> bool:
    return requested is not None and current is not None and requested != current
