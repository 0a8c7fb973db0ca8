"""Online migration between classic groups and consumer groups (KIP-848), as Kafka does it.

* The policy (``group.consumer.migration.policy``) says which conversions are allowed:
  ``disabled``, ``upgrade``, ``downgrade`` or ``bidirectional`` (Kafka 4's default).
* Upgrade (`consumer_group_from_classic`, Kafka's ``ConsumerGroup.fromClassicGroup``): the
  classic group's members become classic-protocol members of a consumer group whose group
  and assignment epochs are the classic generation; each member keeps its last assignment
  as both its target and its current assignment, at that epoch, Stable.
* Downgrade (`classic_members_from`, Kafka's ``ClassicGroup.fromConsumerGroup``): the
  remaining members (all classic-protocol) become members of a Stable classic group at the
  group epoch, each given its target assignment in the consumer protocol's encoding; the
  coordinator then starts a rebalance.

Pure: no trio, no storage. Topic ids and names are mapped through the topics given.
"""

from __future__ import annotations

import uuid

from kafkalite.groups.assignors import Assignment
from kafkalite.groups.consumer_group import ClassicMemberMetadata, ConsumerGroup, ConsumerMember, TopicMetadata
from kafkalite.groups.consumer_protocol import (
    ConsumerProtocolError,
    assigned_partitions,
    assignment_user_data,
    encode_assignment,
    parse_subscription,
)
from kafkalite.groups.group import CONSUMER_PROTOCOL_TYPE, Group, Member

POLICIES = ("disabled", "upgrade", "downgrade", "bidirectional")


class CustomAssignorInUse(ValueError):
    """A member's assignment carries user data, which a custom client assignor would lose
    in a consumer group: Kafka refuses the upgrade."""


def upgrade_enabled(policy: str) -> bool:
    return policy in ("upgrade", "bidirectional")


def downgrade_enabled(policy: str) -> bool:
    return policy in ("downgrade", "bidirectional")


def to_topic_ids(partitions: dict[str, list[int]], topics: dict[str, TopicMetadata]) -> Assignment:
    """Named partitions as an assignment by topic id; unknown topics are left out."""
    result: dict[uuid.UUID, frozenset[int]] = {}
    for name, indexes in partitions.items():
        topic = topics.get(name)
        if topic is not None and indexes:
            result[topic.topic_id] = result.get(topic.topic_id, frozenset()) | frozenset(indexes)
    return result


def to_topic_names(assignment: Assignment, topics: dict[str, TopicMetadata]) -> dict[str, list[int]]:
    """An assignment by topic id as named partitions (sorted); unknown ids are left out."""
    names = {t.topic_id: t.name for t in topics.values()}
    return {names[t]: sorted(ps) for t, ps in sorted(assignment.items(), key=lambda x: str(x[0])) if t in names and ps}


def protocol_version(classic: ClassicMemberMetadata) -> int:
    """The consumer protocol version of the member's preferred protocol (0 if unreadable):
    assignments sent to it use that version."""
    try:
        return parse_subscription(classic.protocols[0][1]).version
    except (ConsumerProtocolError, IndexError):
        return 0


def classic_assignment(assignment: Assignment, classic: ClassicMemberMetadata, topics: dict[str, TopicMetadata]) -> bytes:
    """A ConsumerProtocolAssignment of *assignment* for a classic-protocol member."""
    return encode_assignment(to_topic_names(assignment, topics), protocol_version(classic))


def consumer_group_from_classic(group: Group, topics: dict[str, TopicMetadata]) -> ConsumerGroup:
    """The consumer group an upgrade makes of the classic *group* (which has members).

    Raises:
        ConsumerProtocolError: a member's subscription or assignment is not the consumer
            protocol's.
        CustomAssignorInUse: an assignment has user data.
    """
    epoch = group.generation_id
    converted = ConsumerGroup(group.group_id, group_epoch=epoch, assignment_epoch=epoch)
    for m in group.members.values():
        metadata = m.metadata(group.protocol_name) if group.protocol_name else m.protocols[0][1]
        subscription = parse_subscription(metadata)
        assigned = to_topic_ids(assigned_partitions(m.assignment), topics) if m.assignment else {}
        if m.assignment and assignment_user_data(m.assignment):
            raise CustomAssignorInUse(f"userData from a custom assignor would be lost (member {m.member_id})")
        member = ConsumerMember(
            m.member_id,
            instance_id=m.group_instance_id,
            rack_id=subscription.rack_id,
            client_id=m.client_id,
            client_host=m.client_host,
            rebalance_timeout_ms=m.rebalance_timeout_ms,
            subscribed_topic_names=subscription.topics,
            member_epoch=epoch,
            previous_member_epoch=epoch,
            assigned=assigned,
            classic=ClassicMemberMetadata(m.session_timeout_ms, tuple(m.protocols)),
        )
        converted.members[member.member_id] = member
        converted.target[member.member_id] = dict(assigned)
    return converted


def classic_members_from(
    group: ConsumerGroup, leaving_member_id: str, topics: dict[str, TopicMetadata]
) -> list[tuple[Member, bytes]]:
    """The classic members (with their assignments) a downgrade makes of *group*'s members
    other than *leaving_member_id*; every one of them uses the classic protocol."""
    members = []
    for member in group.members.values():
        if member.member_id == leaving_member_id:
            continue
        classic = member.classic
        assert classic is not None, "a downgraded group has only classic-protocol members"
        converted = Member(
            member_id=member.member_id,
            group_instance_id=member.instance_id,
            client_id=member.client_id,
            client_host=member.client_host,
            rebalance_timeout_ms=member.rebalance_timeout_ms,
            session_timeout_ms=classic.session_timeout_ms,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
            protocols=classic.protocols,
        )
        target = group.target.get(member.member_id, {})
        members.append((converted, classic_assignment(target, classic, topics)))
    return members
