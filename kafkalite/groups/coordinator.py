"""The group coordinator: every classic consumer group of the broker, and committed offsets.

What happens, and when, follows Kafka's classic group coordinator (``GroupMetadataManager``
and ``OffsetMetadataManager``). The parts:

* `kafkalite.groups.state`: the state table; `kafkalite.groups.group`: one group's bookkeeping;
* `kafkalite.groups.core`: settings, coordinator lookup, writes to ``__consumer_offsets``
  through the `kafkalite.groups.port.OffsetsTopic` port, session deadlines;
* `kafkalite.groups.membership`: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, rebalances;
* `kafkalite.groups.consumer_membership`: ConsumerGroupHeartbeat, the consumer group
  protocol (KIP-848), over `kafkalite.groups.consumer_group` and `kafkalite.groups.assignors`;
* `kafkalite.groups.mixed_membership`: classic members in consumer groups, online upgrade
  and downgrade (over `kafkalite.groups.migration`);
* `kafkalite.groups.offsets`: commits, fetches, deletion and expiry of offsets;
* `kafkalite.groups.replay`: rebuilding all of it from ``__consumer_offsets`` at start;
* this module: the coordinator as a whole, its deadline task, the admin views and `reset`.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from kafkalite.groups.consumer_group import ConsumerGroup
from kafkalite.groups.mixed_membership import MixedMembership
from kafkalite.groups.offsets import OffsetManagement
from kafkalite.groups.port import OffsetsTopic
from kafkalite.groups.replay import replay_groups
from kafkalite.groups.requests import GroupSummary, JoinResult, MemberSummary, SyncResult
from kafkalite.groups.group import Group
from kafkalite.groups.state import GroupState
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.groups")

GROUP_TYPE_CLASSIC = "classic"
GROUP_TYPE_CONSUMER = "consumer"


class GroupCoordinator(MixedMembership, OffsetManagement):
    """All groups of the broker. Create with `open`; run `run` in the server's nursery."""

    @classmethod
    def open(cls, offsets_topic: OffsetsTopic, **settings: Any) -> GroupCoordinator:
        """A coordinator over *offsets_topic*, with the groups and offsets its records hold.

        *settings* are the plain values of `kafkalite.groups.core.CoordinatorCore`. A broker
        without the topic yet starts with no groups; the topic is created when first needed.
        """
        coordinator = cls(offsets_topic, **settings)
        if offsets_topic.exists():
            coordinator.groups.update(
                replay_groups(offsets_topic, coordinator.num_partitions, coordinator.consumer_groups)
            )
        return coordinator

    async def run(self) -> None:
        """Fire the coordinator's deadlines until cancelled. Start it in the server's nursery."""
        # Members loaded from the log must heartbeat within their session from now on.
        for group in list(self.groups.values()):
            for member in list(group.members.values()):
                if self._hb_key(group, member.member_id) not in self.timers:
                    self._reschedule_heartbeat(group, member)
        for consumer_group in list(self.consumer_groups.values()):
            for consumer_member in list(consumer_group.members.values()):
                if self._session_key(consumer_group.group_id, consumer_member.member_id) not in self.timers:
                    self._reschedule_session(consumer_group, consumer_member)
        self._schedule_cleanup()
        await self.timers.run()


    # -- admin ---------------------------------------------------------------------------

    def consumer_group(self, group_id: str) -> ConsumerGroup | None:
        """The consumer group (KIP-848) *group_id*, or None if there is none."""
        return self.consumer_groups.get(group_id)

    def make_room_for_classic(self, group_id: str) -> bool:
        """Whether a classic member may join *group_id*: yes unless a consumer group with
        members has the id; an empty consumer group gives way (its offsets stay), as in Kafka."""
        consumer_group = self.consumer_groups.get(group_id)
        if consumer_group is None:
            return True
        if consumer_group.members:
            return False
        self.delete_consumer_group(group_id)
        return True

    def group(self, group_id: str) -> Group | None:
        """The live group *group_id* (None if there is none, or it is being deleted)."""
        group = self.groups.get(group_id)
        return None if group is None or group.is_in(GroupState.DEAD) else group

    def describe_group(self, group_id: str) -> GroupSummary | None:
        """The group as DescribeGroups shows it, or None if there is no such classic group
        (a consumer group is not one: Kafka's DescribeGroups describes classic groups only)."""
        group = self.groups.get(group_id)
        if group is None or group.is_in(GroupState.DEAD) or group_id in self.consumer_groups:
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
            if group.is_in(GroupState.DEAD) or group.group_id in self.consumer_groups:
                continue
            if wanted_states and group.state.value.lower() not in wanted_states:
                continue
            if wanted_types and GROUP_TYPE_CLASSIC not in wanted_types:
                continue
            result.append(group)
        return result

    def list_consumer_groups(self, states: Iterable[str] = (), types: Iterable[str] = ()) -> list[ConsumerGroup]:
        """Consumer groups (KIP-848) whose state (and type) is among the filters, compared
        case-insensitively, as `list_groups` does for classic ones."""
        wanted_states = {s.strip().lower() for s in states}
        wanted_types = {t.strip().lower() for t in types}
        if wanted_types and GROUP_TYPE_CONSUMER not in wanted_types:
            return []
        return [
            g for g in self.consumer_groups.values()
            if not wanted_states or g.state.value.lower() in wanted_states
        ]

    def delete_groups(self, group_ids: Iterable[str]) -> list[tuple[str, ErrorCode]]:
        """Delete empty groups with their offsets (tombstones); one error per group."""
        results = []
        for group_id in group_ids:
            consumer_group = self.consumer_groups.get(group_id)
            if consumer_group is not None:
                if consumer_group.members:
                    results.append((group_id, ErrorCode.NON_EMPTY_GROUP))
                    continue
                error = self.delete_consumer_group(group_id)
                if error is not ErrorCode.NONE or group_id not in self.groups:
                    results.append((group_id, error))
                    continue
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

    def reset(self) -> None:
        """Forget every group, answering parked requests UNKNOWN_MEMBER_ID (their clients
        rejoin from scratch) and cancelling the groups' deadlines. Writes nothing: the broker
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
        for consumer_group in self.consumer_groups.values():
            for member_id in consumer_group.members:
                self._cancel_consumer_timers(consumer_group.group_id, member_id)
        self.consumer_groups.clear()
