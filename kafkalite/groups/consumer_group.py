"""One group of the consumer group protocol (KIP-848): members, epochs, target assignment,
and each member's reconciliation towards its target.

The group epoch counts changes of what the group wants (a member joins, leaves or changes
its subscription or assignor, a subscribed topic appears, disappears or grows); the target
assignment is computed for a group epoch (its assignment epoch); each member moves to it at
its own pace through `reconcile`, following Kafka's CurrentAssignmentBuilder:

* a member first gives up (revokes) what the target takes from it: it keeps its epoch and
  sits in ``unrevoked_partitions`` until a heartbeat no longer lists those partitions;
* it then takes the target epoch and the target's partitions that no other member still
  holds; partitions some other member still has (assigned, or not yet revoked) wait, and
  the member sits in ``unreleased_partitions`` until they are free.

So a partition never has two owners. Pure data and rules: no trio, no storage.
"""

from __future__ import annotations

import enum
import uuid
import attrs

from kafkalite.groups.assignors import Assignment
from kafkalite.wire.error_codes import ErrorCode

#: member_epoch of a request: leave the group; leave as a static member that will return.
LEAVE_GROUP_MEMBER_EPOCH = -1
LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2


class MemberState(enum.Enum):
    STABLE = "stable"
    UNREVOKED_PARTITIONS = "unrevoked_partitions"
    UNRELEASED_PARTITIONS = "unreleased_partitions"


class ConsumerGroupState(enum.Enum):
    """What ConsumerGroupDescribe, ListGroups and DescribeGroups show (Kafka's names)."""

    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"


@attrs.frozen
class TopicMetadata:
    """A topic as the group sees it: the id its assignments use and its partition count."""

    name: str
    topic_id: uuid.UUID
    num_partitions: int


@attrs.frozen
class ClassicMemberMetadata:
    """What a member that joined with the classic protocol (JoinGroup) keeps: its session
    timeout and its (name, metadata) protocols in order of preference."""

    session_timeout_ms: int
    protocols: tuple[tuple[str, bytes], ...]


@attrs.define(eq=False)
class ConsumerMember:
    """A member of a consumer group, as the coordinator keeps it."""

    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    rebalance_timeout_ms: int = -1
    server_assignor: str | None = None
    subscribed_topic_names: tuple[str, ...] = ()
    subscribed_topic_regex: str | None = None
    member_epoch: int = 0
    previous_member_epoch: int = -1
    state: MemberState = MemberState.STABLE
    assigned: Assignment = attrs.Factory(dict)
    pending_revocation: Assignment = attrs.Factory(dict)
    #: Set for a classic-protocol member (JoinGroup / SyncGroup / Heartbeat) of the group.
    classic: ClassicMemberMetadata | None = None

    @property
    def uses_classic_protocol(self) -> bool:
        return self.classic is not None

    def subscription(self) -> tuple[object, ...]:
        """What, when it changes, bumps the group epoch."""
        return (self.subscribed_topic_names, self.subscribed_topic_regex, self.server_assignor, self.rack_id)


@attrs.define(eq=False)
class ConsumerGroup:
    """A consumer group: its members by id, epochs and target assignment."""

    group_id: str
    group_epoch: int = 0
    assignment_epoch: int = 0
    members: dict[str, ConsumerMember] = attrs.Factory(dict)
    #: member id -> the target assignment of the assignment epoch
    target: dict[str, Assignment] = attrs.Factory(dict)
    #: the subscribed topics as they were when the group epoch was last set
    subscription_metadata: dict[str, TopicMetadata] = attrs.Factory(dict)
    #: the assignor that computed the target (ConsumerGroupDescribe's assignor_name)
    assignor_name: str = ""

    def static_member(self, instance_id: str) -> ConsumerMember | None:
        for member in self.members.values():
            if member.instance_id == instance_id:
                return member
        return None

    @property
    def state(self) -> ConsumerGroupState:
        """Kafka's rule: Empty without members, Assigning while the target lags the group
        epoch, Reconciling while some member is not at the assignment epoch, else Stable."""
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return ConsumerGroupState.ASSIGNING
        for member in self.members.values():
            if member.member_epoch != self.assignment_epoch or member.state is not MemberState.STABLE:
                return ConsumerGroupState.RECONCILING
        return ConsumerGroupState.STABLE

    def partition_owner_epoch(self, topic_id: uuid.UUID, partition: int, *, other_than: str) -> int:
        """The epoch of the member (other than *other_than*) that holds the partition,
        assigned or not yet revoked; -1 when it is free."""
        for member in self.members.values():
            if member.member_id == other_than:
                continue
            if partition in member.assigned.get(topic_id, ()) or partition in member.pending_revocation.get(topic_id, ()):
                return member.member_epoch
        return -1


OwnedPartitions = list[tuple[uuid.UUID, list[int]]] | None


def _owns_any(owned: OwnedPartitions, partitions: Assignment) -> bool:
    """Whether the heartbeat's owned partitions include any of *partitions* (an omitted
    list counts as owning them: nothing is acknowledged)."""
    if owned is None:
        return True
    return any(p in partitions.get(topic_id, ()) for topic_id, ps in owned for p in ps)


def reconcile(
    group: ConsumerGroup,
    member: ConsumerMember,
    owned: OwnedPartitions,
) -> None:
    """Move *member* towards the group's target assignment, as far as the rules allow.

    *owned* is the heartbeat's topic_partitions (None when the request left it out).
    """
    target_epoch = group.assignment_epoch
    if member.state is MemberState.STABLE:
        if member.member_epoch != target_epoch:
            _next_assignment(group, member, member.member_epoch, owned)
    elif member.state is MemberState.UNREVOKED_PARTITIONS:
        if not _owns_any(owned, member.pending_revocation):
            _next_assignment(group, member, member.member_epoch + 1, owned)
    else:
        _next_assignment(group, member, member.member_epoch, owned)


def _set_epoch(member: ConsumerMember, epoch: int) -> None:
    if epoch != member.member_epoch:
        member.previous_member_epoch = member.member_epoch
        member.member_epoch = epoch


def _next_assignment(group: ConsumerGroup, member: ConsumerMember, epoch: int, owned: OwnedPartitions) -> None:
    target = group.target.get(member.member_id, {})
    assigned: dict[uuid.UUID, set[int]] = {}
    revoking: dict[uuid.UUID, set[int]] = {}
    pending: dict[uuid.UUID, set[int]] = {}
    unreleased = False
    for topic_id in set(target) | set(member.assigned):
        wanted = target.get(topic_id, frozenset())
        current = member.assigned.get(topic_id, frozenset())
        keep = current & wanted
        if keep:
            assigned[topic_id] = set(keep)
        if current - keep:
            revoking[topic_id] = set(current - keep)
        new = set(wanted - keep)
        held = {p for p in new if group.partition_owner_epoch(topic_id, p, other_than=member.member_id) != -1}
        # A partition this member itself has yet to revoke is not free either.
        held |= new & member.pending_revocation.get(topic_id, frozenset())
        unreleased = unreleased or bool(held)
        if new - held:
            pending[topic_id] = new - held
    frozen_revoking = {t: frozenset(ps) for t, ps in revoking.items()}
    if frozen_revoking and _owns_any(owned, frozen_revoking):
        member.state = MemberState.UNREVOKED_PARTITIONS
        _set_epoch(member, epoch)
        member.assigned = {t: frozenset(ps) for t, ps in assigned.items()}
        member.pending_revocation = frozen_revoking
        return
    for topic_id, ps in pending.items():
        assigned.setdefault(topic_id, set()).update(ps)
    member.state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE
    _set_epoch(member, group.assignment_epoch)
    member.assigned = {t: frozenset(ps) for t, ps in assigned.items()}
    member.pending_revocation = {}


def assignment_of(member: ConsumerMember) -> list[tuple[uuid.UUID, list[int]]]:
    """The member's assigned partitions, sorted, as a heartbeat response lists them."""
    return sorted(((t, sorted(ps)) for t, ps in member.assigned.items() if ps), key=lambda tp: str(tp[0]))


def validate_offset_commit(
    group: ConsumerGroup, member_id: str, member_epoch: int, *, api_version: int, transactional: bool = False
) -> tuple[ErrorCode, str] | None:
    """Kafka's ConsumerGroup.validateOffsetCommit: None when the commit may go ahead, else
    the error and its message. Epoch -1 commits for a group without members (admin tools)."""
    if member_epoch < 0 and not group.members:
        return None
    member = group.members.get(member_id)
    if member is None:
        return ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group.group_id}."
    if member.uses_classic_protocol:
        return _check_generation(member, member_epoch)
    if not transactional and api_version < 9:
        return ErrorCode.UNSUPPORTED_VERSION, (
            "OffsetCommit version 9 or above must be used by members using the modern group protocol"
        )
    return _check_epoch(member, member_epoch)


def validate_offset_fetch(group: ConsumerGroup, member_id: str | None, member_epoch: int) -> tuple[ErrorCode, str] | None:
    """Kafka's ConsumerGroup.validateOffsetFetch: no member id and epoch -1 (admin tools,
    OffsetFetch before v9) may always fetch; a member must name its current epoch."""
    if member_id is None and member_epoch < 0:
        return None
    member = group.members.get(member_id or "")
    if member is None:
        return ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group.group_id}."
    if member.uses_classic_protocol:
        return _check_generation(member, member_epoch)
    return _check_epoch(member, member_epoch)


def _check_generation(member: ConsumerMember, generation_id: int) -> tuple[ErrorCode, str] | None:
    """A classic member names its member epoch as its generation: ILLEGAL_GENERATION if stale."""
    if generation_id != member.member_epoch:
        return ErrorCode.ILLEGAL_GENERATION, (
            f"The received generation id {generation_id} does not match the expected member epoch "
            f"{member.member_epoch}."
        )
    return None


def _check_epoch(member: ConsumerMember, member_epoch: int) -> tuple[ErrorCode, str] | None:
    if member_epoch != member.member_epoch:
        return ErrorCode.STALE_MEMBER_EPOCH, (
            f"The received member epoch {member_epoch} does not match the expected member epoch {member.member_epoch}."
        )
    return None
