"""The records of consumer groups (KIP-848) in ``__consumer_offsets``, in Kafka's layouts,
and their replay at start.

The key's leading int16 is the record type; the value starts with an int16 version (0, the
only one; flexible, so later tagged fields are skipped):

* 3 ConsumerGroupMetadata, key ``group``: the group epoch;
* 5 ConsumerGroupMemberMetadata, key ``group, member``: a member's subscription (instance
  id, rack, client id and host, topic names, regex, rebalance timeout, assignor; for a
  classic-protocol member, tagged field 0: its session timeout and JoinGroup protocols);
* 6 ConsumerGroupTargetAssignmentMetadata, key ``group``: the assignment epoch;
* 7 ConsumerGroupTargetAssignmentMember, key ``group, member``: a member's target;
* 8 ConsumerGroupCurrentMemberAssignment, key ``group, member``: a member's epochs, state,
  assigned partitions and partitions pending revocation.

A null value (tombstone) removes what the key names. Record type 4 (the subscribed topics'
metadata) is not written: at the first heartbeat after a restart kafkalite recomputes it from
the topics, which bumps the group epoch once (the sticky assignors then keep the assignment).
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

from kafkalite.groups.consumer_group import ClassicMemberMetadata, ConsumerGroup, ConsumerMember, MemberState
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.schema import array, field, reader_for, struct as declare, writer_for

GROUP_METADATA = 3
MEMBER_METADATA = 5
TARGET_ASSIGNMENT_METADATA = 6
TARGET_ASSIGNMENT_MEMBER = 7
CURRENT_MEMBER_ASSIGNMENT = 8
RECORD_TYPES = (GROUP_METADATA, MEMBER_METADATA, TARGET_ASSIGNMENT_METADATA, TARGET_ASSIGNMENT_MEMBER,
                CURRENT_MEMBER_ASSIGNMENT)

_i16 = struct.Struct(">h")
_STATE_CODES = {MemberState.STABLE: 0, MemberState.UNREVOKED_PARTITIONS: 1, MemberState.UNRELEASED_PARTITIONS: 2}
_STATES = {code: state for state, code in _STATE_CODES.items()}

GroupKey = declare("ConsumerGroupKey", field("group_id", "string", "0+"))
MemberKey = declare("ConsumerGroupMemberKey", field("group_id", "string", "0+"), field("member_id", "string", "0+"))
EpochValue = declare("ConsumerGroupEpochValue", field("epoch", "int32", "0+"))
ClassicProtocol = declare("ClassicProtocol", field("name", "string", "0+"), field("metadata", "bytes", "0+"))
ClassicMemberMetadataValue = declare(
    "ClassicMemberMetadata",
    field("session_timeout_ms", "int32", "0+"),
    field("supported_protocols", array(ClassicProtocol), "0+"),
)
MemberMetadataValue = declare(
    "ConsumerGroupMemberMetadataValue",
    field("instance_id", "string", "0+", nullable="0+", default=None),
    field("rack_id", "string", "0+", nullable="0+", default=None),
    field("client_id", "string", "0+"),
    field("client_host", "string", "0+"),
    field("subscribed_topic_names", array("string"), "0+"),
    field("subscribed_topic_regex", "string", "0+", nullable="0+", default=None),
    field("rebalance_timeout_ms", "int32", "0+", default=-1),
    field("server_assignor", "string", "0+", nullable="0+", default=None),
    field("classic_member_metadata", ClassicMemberMetadataValue, "0+", nullable="0+", default=None, tag=0),
)
TopicPartitions = declare(
    "ConsumerGroupRecordTopicPartitions",
    field("topic_id", "uuid", "0+"),
    field("partitions", array("int32"), "0+"),
)
TargetMemberValue = declare("ConsumerGroupTargetMemberValue", field("topic_partitions", array(TopicPartitions), "0+"))
CurrentAssignmentValue = declare(
    "ConsumerGroupCurrentMemberAssignmentValue",
    field("member_epoch", "int32", "0+"),
    field("previous_member_epoch", "int32", "0+"),
    field("state", "int8", "0+"),
    field("assigned_partitions", array(TopicPartitions), "0+"),
    field("partitions_pending_revocation", array(TopicPartitions), "0+"),
)

Record = tuple[bytes, "bytes | None"]


def _key(record_type: int, cls: type, obj: object) -> bytes:
    out = bytearray(_i16.pack(record_type))
    writer_for(cls, 0, False)(out, obj)
    return bytes(out)


def _value(cls: type, obj: object) -> bytes:
    out = bytearray(_i16.pack(0))
    writer_for(cls, 0, True)(out, obj)
    return bytes(out)


def _partitions(assignment: dict[uuid.UUID, frozenset[int]]) -> list[Any]:
    return [TopicPartitions(topic_id=t, partitions=sorted(ps)) for t, ps in sorted(assignment.items(), key=lambda x: str(x[0])) if ps]


def group_epoch_record(group: ConsumerGroup) -> Record:
    return _key(GROUP_METADATA, GroupKey, GroupKey(group_id=group.group_id)), _value(EpochValue, EpochValue(epoch=group.group_epoch))


def assignment_epoch_record(group: ConsumerGroup) -> Record:
    key = _key(TARGET_ASSIGNMENT_METADATA, GroupKey, GroupKey(group_id=group.group_id))
    return key, _value(EpochValue, EpochValue(epoch=group.assignment_epoch))


def member_records(group: ConsumerGroup, member: ConsumerMember) -> list[Record]:
    """The subscription, target and current assignment of *member*."""
    key = MemberKey(group_id=group.group_id, member_id=member.member_id)
    metadata = MemberMetadataValue(
        instance_id=member.instance_id, rack_id=member.rack_id, client_id=member.client_id,
        client_host=member.client_host, subscribed_topic_names=list(member.subscribed_topic_names),
        subscribed_topic_regex=member.subscribed_topic_regex, rebalance_timeout_ms=member.rebalance_timeout_ms,
        server_assignor=member.server_assignor, classic_member_metadata=_classic_value(member.classic),
    )
    return [(_key(MEMBER_METADATA, MemberKey, key), _value(MemberMetadataValue, metadata)),
            target_record(group, member.member_id), current_assignment_record(group, member)]


def _classic_value(classic: ClassicMemberMetadata | None) -> Any:
    if classic is None:
        return None
    return ClassicMemberMetadataValue(
        session_timeout_ms=classic.session_timeout_ms,
        supported_protocols=[ClassicProtocol(name=n, metadata=m) for n, m in classic.protocols],
    )


def target_record(group: ConsumerGroup, member_id: str) -> Record:
    key = _key(TARGET_ASSIGNMENT_MEMBER, MemberKey, MemberKey(group_id=group.group_id, member_id=member_id))
    value = TargetMemberValue(topic_partitions=_partitions(group.target.get(member_id, {})))
    return key, _value(TargetMemberValue, value)


def current_assignment_record(group: ConsumerGroup, member: ConsumerMember) -> Record:
    key = _key(CURRENT_MEMBER_ASSIGNMENT, MemberKey, MemberKey(group_id=group.group_id, member_id=member.member_id))
    value = CurrentAssignmentValue(
        member_epoch=member.member_epoch, previous_member_epoch=member.previous_member_epoch,
        state=_STATE_CODES[member.state], assigned_partitions=_partitions(member.assigned),
        partitions_pending_revocation=_partitions(member.pending_revocation),
    )
    return key, _value(CurrentAssignmentValue, value)


def member_tombstones(group_id: str, member_id: str) -> list[Record]:
    """Kafka's order: current assignment, target, then subscription."""
    key = MemberKey(group_id=group_id, member_id=member_id)
    return [(_key(t, MemberKey, key), None) for t in (CURRENT_MEMBER_ASSIGNMENT, TARGET_ASSIGNMENT_MEMBER, MEMBER_METADATA)]


def group_tombstones(group_id: str) -> list[Record]:
    key = GroupKey(group_id=group_id)
    return [(_key(t, GroupKey, key), None) for t in (TARGET_ASSIGNMENT_METADATA, GROUP_METADATA)]


# -- replay ----------------------------------------------------------------------------------


def _read_value(cls: type, raw: bytes) -> Any:
    if len(raw) < 2:
        raise DecodeError(f"consumer group record value of {len(raw)} bytes has no version")
    value, _end = reader_for(cls, 0, True)(memoryview(raw), 2)
    return value


def replay_consumer_record(groups: dict[str, ConsumerGroup], key: bytes, value: bytes | None) -> bool:
    """Apply one record of types 3-8 to *groups*; False for other types (left to the caller).

    Raises:
        DecodeError: a malformed key or value.
    """
    if len(key) < 2:
        return False
    record_type = _i16.unpack_from(key, 0)[0]
    if record_type not in RECORD_TYPES:
        return False
    view = memoryview(key)
    if record_type in (GROUP_METADATA, TARGET_ASSIGNMENT_METADATA):
        group_id = reader_for(GroupKey, 0, False)(view, 2)[0].group_id
        if value is None:
            if record_type == GROUP_METADATA:
                groups.pop(group_id, None)
            return True
        group = groups.setdefault(group_id, ConsumerGroup(group_id))
        epoch = _read_value(EpochValue, value).epoch
        if record_type == GROUP_METADATA:
            group.group_epoch = epoch
        else:
            group.assignment_epoch = epoch
        return True
    k = reader_for(MemberKey, 0, False)(view, 2)[0]
    group = groups.get(k.group_id)
    if value is None:
        if group is not None:
            if record_type == MEMBER_METADATA:
                group.members.pop(k.member_id, None)
            elif record_type == TARGET_ASSIGNMENT_MEMBER:
                group.target.pop(k.member_id, None)
        return True
    if group is None:
        group = groups[k.group_id] = ConsumerGroup(k.group_id)
    if record_type == TARGET_ASSIGNMENT_MEMBER:
        v = _read_value(TargetMemberValue, value)
        group.target[k.member_id] = {tp.topic_id: frozenset(tp.partitions) for tp in v.topic_partitions}
        return True
    member = group.members.get(k.member_id)
    if member is None:
        member = group.members[k.member_id] = ConsumerMember(k.member_id)
    if record_type == MEMBER_METADATA:
        v = _read_value(MemberMetadataValue, value)
        member.instance_id, member.rack_id = v.instance_id, v.rack_id
        member.client_id, member.client_host = v.client_id, v.client_host
        member.subscribed_topic_names = tuple(v.subscribed_topic_names)
        member.subscribed_topic_regex = v.subscribed_topic_regex
        member.rebalance_timeout_ms, member.server_assignor = v.rebalance_timeout_ms, v.server_assignor
        c = v.classic_member_metadata
        member.classic = None if c is None else ClassicMemberMetadata(
            c.session_timeout_ms, tuple((p.name, bytes(p.metadata)) for p in c.supported_protocols)
        )
    else:
        v = _read_value(CurrentAssignmentValue, value)
        member.member_epoch, member.previous_member_epoch = v.member_epoch, v.previous_member_epoch
        member.state = _STATES.get(v.state, MemberState.STABLE)
        member.assigned = {tp.topic_id: frozenset(tp.partitions) for tp in v.assigned_partitions}
        member.pending_revocation = {tp.topic_id: frozenset(tp.partitions) for tp in v.partitions_pending_revocation}
    return True
