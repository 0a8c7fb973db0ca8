"""One classic consumer group: its members, generation, protocol and committed offsets.

Pure bookkeeping, as Kafka's ``ClassicGroup`` / ``ClassicGroupMember``: no trio, no storage.
The coordinator (`kafkalite.groups.coordinator`) decides when things happen and parks
requests; this module answers questions about a group (does it support these protocols, has
everybody rejoined, which error does this member get) and applies changes to it.

A member's ``join_waiter`` / ``sync_waiter`` are opaque here: the coordinator stores the
object a parked JoinGroup / SyncGroup waits on, and this module only asks whether one is set.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import attrs

from kafkalite.groups.consumer_protocol import ConsumerProtocolError, subscribed_topics
from kafkalite.groups.state import GroupEvent, GroupState, can_rebalance, next_state
from kafkalite.wire.error_codes import ErrorCode

CONSUMER_PROTOCOL_TYPE = "consumer"

Protocols = tuple[tuple[str, bytes], ...]
TopicPartition = tuple[str, int]


@attrs.frozen
class OffsetAndMetadata:
    """A committed offset as __consumer_offsets keeps it.

    ``leader_epoch`` -1 means none was committed; ``expire_timestamp`` is set only by
    OffsetCommit v2-4 with an explicit retention time.
    """

    committed_offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp: int = -1
    expire_timestamp: int | None = None
    #: Where the commit's record is in __consumer_offsets: of a regular and a transactional
    #: commit of one partition, the later record wins when the transaction commits.
    record_offset: int = -1


@attrs.define(eq=False)
class Member:
    """A member of a classic group (Kafka's ``ClassicGroupMember``)."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    #: (name, metadata) in the member's order of preference.
    protocols: Protocols
    assignment: bytes = b""
    #: Joined in the current rebalance and not yet part of a generation (KIP-394 timeout).
    is_new: bool = False
    #: Set while the member's JoinGroup / SyncGroup is parked (opaque to this module).
    join_waiter: Any = None
    sync_waiter: Any = None

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    @property
    def awaiting_join(self) -> bool:
        return self.join_waiter is not None

    @property
    def awaiting_sync(self) -> bool:
        return self.sync_waiter is not None

    @property
    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def matches(self, protocols: Protocols) -> bool:
        """Whether *protocols* are exactly the member's (names, metadata and order)."""
        return tuple(protocols) == tuple(self.protocols)

    def vote(self, candidates: set[str]) -> str:
        """The member's most preferred protocol among *candidates*."""
        for name, _ in self.protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")

    def metadata(self, protocol_name: str | None) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol_name:
                return metadata
        return b""

    def has_satisfied_heartbeat(self) -> bool:
        """Whether an expiring session timer may be ignored (Kafka's rule).

        New members may expire while parked in JoinGroup; other members waiting for a
        rebalance to finish are alive by definition.
        """
        if self.is_new:
            return False
        return self.awaiting_join or self.awaiting_sync


def new_member_id(client_id: str, group_instance_id: str | None) -> str:
    """``<client id or instance id>-<uuid>``, the member id format of Kafka."""
    prefix = group_instance_id if group_instance_id is not None else client_id
    return f"{prefix}-{uuid.uuid4()}"


@attrs.define(eq=False)
class Group:
    """A classic group and its committed offsets."""

    group_id: str
    state: GroupState = GroupState.EMPTY
    previous_state: GroupState | None = None
    #: Wall-clock ms of the last state change (GroupMetadataValue currentStateTimestamp).
    state_timestamp: int | None = None
    generation_id: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = attrs.Factory(dict)
    #: group.instance.id -> member id
    static_members: dict[str, str] = attrs.Factory(dict)
    #: Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet (KIP-394).
    pending_members: set[str] = attrs.Factory(set)
    #: Members of the current generation that have not sent SyncGroup yet.
    pending_sync: set[str] = attrs.Factory(set)
    #: A member joined during the initial rebalance delay, which then extends.
    new_member_added: bool = False
    #: Topics the members subscribe to, when the group uses the consumer protocol and every
    #: subscription parses; None when unknown.
    subscribed_topics: frozenset[str] | None = None
    offsets: dict[TopicPartition, OffsetAndMetadata] = attrs.Factory(dict)
    #: Transactional offset commits not yet committed or aborted, by producer id.
    pending_txn_offsets: dict[int, dict[TopicPartition, OffsetAndMetadata]] = attrs.Factory(dict)
    _supported: Counter[str] = attrs.field(init=False, factory=Counter)

    # -- state ---------------------------------------------------------------------------

    def transition(self, event: GroupEvent, now_ms: int) -> None:
        """Move along the state table. Raises `IllegalTransition` for a move it lacks."""
        target = next_state(self.state, event, self.group_id)
        self.previous_state = self.state
        self.state = target
        self.state_timestamp = now_ms

    def is_in(self, *states: GroupState) -> bool:
        return self.state in states

    @property
    def can_rebalance(self) -> bool:
        return can_rebalance(self.state)

    # -- members -------------------------------------------------------------------------

    def has_member(self, member_id: str) -> bool:
        return member_id in self.members

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    def is_pending_member(self, member_id: str) -> bool:
        return member_id in self.pending_members

    @property
    def num_awaiting_join(self) -> int:
        return sum(1 for m in self.members.values() if m.awaiting_join)

    def has_all_members_joined(self) -> bool:
        return self.num_awaiting_join == len(self.members) and not self.pending_members

    def not_yet_rejoined(self) -> list[Member]:
        return [m for m in self.members.values() if not m.awaiting_join]

    def add(self, member: Member, join_waiter: Any = None) -> None:
        """Add *member* (its protocols must be supported, see `supports_protocols`)."""
        if member.group_instance_id is not None:
            assert member.group_instance_id not in self.static_members, "static member added twice"
            self.static_members[member.group_instance_id] = member.member_id
        if not self.members:
            self.protocol_type = member.protocol_type
        assert self.protocol_type == member.protocol_type, "protocol type mismatch"
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        self._supported.update(member.protocol_names)
        member.join_waiter = join_waiter
        self.pending_members.discard(member.member_id)

    def remove(self, member_id: str) -> Member | None:
        """Remove a member (or a pending member id); return the member removed."""
        member = self.members.pop(member_id, None)
        if member is not None:
            self._supported.subtract(member.protocol_names)
            if member.group_instance_id is not None:
                self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        self.pending_members.discard(member_id)
        self.pending_sync.discard(member_id)
        return member

    def update_member(
        self,
        member: Member,
        protocols: Protocols,
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        join_waiter: Any,
    ) -> Any:
        """Replace the member's protocols and timeouts; return a join waiter it replaced."""
        self._supported.subtract(member.protocol_names)
        member.protocols = tuple(protocols)
        self._supported.update(member.protocol_names)
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        replaced = member.join_waiter
        member.join_waiter = join_waiter
        return replaced if replaced is not join_waiter else None

    def replace_static_member(self, group_instance_id: str, old_member_id: str, new_member_id: str) -> Member:
        """Give the static member *group_instance_id* a new member id, keeping the rest
        (protocols, timeouts, assignment); return the new member object.

        Parked requests of the old member id are not carried over: the caller answers them
        (FENCED_INSTANCE_ID) before replacing.
        """
        old = self.members.pop(old_member_id)
        new = attrs.evolve(old, member_id=new_member_id, join_waiter=None, sync_waiter=None, is_new=False)
        self.members[new_member_id] = new
        if self.leader_id == old_member_id:
            self.leader_id = new_member_id
        self.static_members[group_instance_id] = new_member_id
        self.pending_sync.discard(old_member_id)
        return new

    def static_member_id(self, group_instance_id: str | None) -> str | None:
        if group_instance_id is None:
            return None
        return self.static_members.get(group_instance_id)

    def is_static_member_fenced(self, group_instance_id: str | None, member_id: str) -> bool:
        existing = self.static_member_id(group_instance_id)
        return existing is not None and existing != member_id

    def maybe_elect_new_joined_leader(self) -> bool:
        """Keep the leader if it rejoined, else pick a member that did; False if none did."""
        if self.leader_id is None:
            return False
        leader = self.members.get(self.leader_id)
        if leader is not None and leader.awaiting_join:
            return True
        for member in self.members.values():
            if member.awaiting_join:
                self.leader_id = member.member_id
                return True
        return False

    @property
    def rebalance_timeout_ms(self) -> int:
        """The largest rebalance timeout of the members (0 without members)."""
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    # -- protocols -----------------------------------------------------------------------

    def candidate_protocols(self) -> set[str]:
        n = len(self.members)
        return {name for name, count in self._supported.items() if count == n and n}

    def supports_protocols(self, protocol_type: str, protocol_names: list[str]) -> bool:
        """Whether a member with these protocols may join (else INCONSISTENT_GROUP_PROTOCOL).

        An empty group takes any non-empty protocol type with at least one protocol; a group
        with members requires the same protocol type and one protocol every member supports.
        """
        if self.state is GroupState.EMPTY:
            return bool(protocol_type) and bool(protocol_names)
        n = len(self.members)
        return self.protocol_type == protocol_type and any(
            self._supported.get(name, 0) == n for name in protocol_names
        )

    def select_protocol(self) -> str:
        """The protocol every member supports with the most first-choice votes.

        Ties go to the protocol voted for first in member order (Kafka's choice among equals
        depends on hash order; any supported protocol is correct).
        """
        candidates = self.candidate_protocols()
        votes: Counter[str] = Counter()
        for member in self.members.values():
            votes[member.vote(candidates)] += 1
        best = max(votes.values())
        return next(name for name in votes if votes[name] == best)

    def compute_subscribed_topics(self) -> frozenset[str] | None:
        if self.protocol_type != CONSUMER_PROTOCOL_TYPE:
            return None
        if not self.members:
            return frozenset()
        if self.protocol_name is None:
            return None
        topics: set[str] = set()
        try:
            for member in self.members.values():
                topics.update(subscribed_topics(member.metadata(self.protocol_name)))
        except ConsumerProtocolError:
            return None
        return frozenset(topics)

    def uses_consumer_protocol(self) -> bool:
        return self.protocol_type == CONSUMER_PROTOCOL_TYPE

    def is_subscribed_to_topic(self, topic: str) -> bool:
        if self.subscribed_topics is None:
            return self.uses_consumer_protocol()
        return topic in self.subscribed_topics

    def init_next_generation(self, now_ms: int) -> None:
        """End the join phase: bump the generation, pick the protocol, change state."""
        self.generation_id += 1
        if self.members:
            self.protocol_name = self.select_protocol()
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition(GroupEvent.JOIN_COMPLETE, now_ms)
        else:
            self.protocol_name = None
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition(GroupEvent.JOIN_COMPLETE_EMPTY, now_ms)
        self.pending_sync.clear()

    def current_member_metadata(self) -> list[tuple[str, str | None, bytes]]:
        """(member id, instance id, metadata of the chosen protocol) of every member."""
        assert self.state not in (GroupState.DEAD, GroupState.PREPARING_REBALANCE)
        return [(m.member_id, m.group_instance_id, m.metadata(self.protocol_name)) for m in self.members.values()]

    # -- validation (which error a request gets) -----------------------------------------

    def validate_member(self, member_id: str, group_instance_id: str | None) -> ErrorCode | None:
        """UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID for a request naming a member, else None."""
        if group_instance_id is not None:
            existing = self.static_members.get(group_instance_id)
            if existing is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if existing != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
        if member_id not in self.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        return None

    def validate_offset_commit(
        self, member_id: str, group_instance_id: str | None, generation_id: int, *, transactional: bool = False
    ) -> ErrorCode | None:
        """The error an OffsetCommit (or a *transactional* TxnOffsetCommit) gets, or None if
        it may commit (Kafka's rules).

        Generation -1 with an empty member id is a "simple" consumer (assign(), admin
        tools): accepted while the group has no members. A member must be known, current
        (its generation) and not in CompletingRebalance (REBALANCE_IN_PROGRESS: it has the
        new generation but not yet its assignment). A transactional commit without member
        and generation is accepted whatever the group's state (old TxnOffsetCommit versions
        carry neither), and the group's state is not enforced for it.
        """
        if self.state is GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and self.state is GroupState.EMPTY:
            return None
        if generation_id >= 0 or member_id or group_instance_id is not None:
            error = self.validate_member(member_id, group_instance_id)
            if error is not None:
                return error
            if generation_id != self.generation_id:
                return ErrorCode.ILLEGAL_GENERATION
        elif not transactional and self.state is not GroupState.EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if not transactional and self.state is GroupState.COMPLETING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return None

    # -- offsets -------------------------------------------------------------------------

    def offset_expiry_base(self) -> Any:
        """How to date each offset for expiry, or None when none may expire now.

        KIP-211: an empty group's offsets expire ``offsets.retention.minutes`` after the group
        became empty; a stable consumer group's offsets of topics nobody subscribes to expire
        that long after their commit; a simple group's (no protocol type) likewise.
        """
        if self.protocol_type:
            if self.state is GroupState.EMPTY:
                since = self.state_timestamp
                return lambda o: since if since is not None else o.commit_timestamp
            if self.uses_consumer_protocol() and self.subscribed_topics is not None and self.state is GroupState.STABLE:
                return lambda o: o.commit_timestamp
            return None
        return lambda o: o.commit_timestamp

    def has_pending_offset(self, tp: TopicPartition) -> bool:
        """Whether an open transaction holds an offset commit of *tp* (OffsetFetch with
        require_stable then answers UNSTABLE_OFFSET_COMMIT)."""
        return any(tp in offsets for offsets in self.pending_txn_offsets.values())

    def complete_transaction(self, producer_id: int, commit: bool) -> int:
        """Apply (*commit*) or drop the pending offsets of *producer_id*; return how many were
        applied. A newer regular commit of a partition is kept (Kafka compares the records'
        offsets in __consumer_offsets)."""
        pending = self.pending_txn_offsets.pop(producer_id, None)
        if not pending or not commit:
            return 0
        applied = 0
        for tp, offset in pending.items():
            current = self.offsets.get(tp)
            if current is None or offset.record_offset > current.record_offset:
                self.offsets[tp] = offset
                applied += 1
        return applied

    def expired_offsets(self, now_ms: int, retention_ms: int) -> list[TopicPartition]:
        base = self.offset_expiry_base()
        if base is None:
            return []
        expired = []
        for tp, offset in self.offsets.items():
            if self.is_subscribed_to_topic(tp[0]):
                continue
            if offset.expire_timestamp is not None:
                if now_ms >= offset.expire_timestamp:
                    expired.append(tp)
            elif now_ms - base(offset) >= retention_ms:
                expired.append(tp)
        return expired
