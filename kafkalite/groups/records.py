"""The records of ``__consumer_offsets``, in Kafka's own key and value layouts.

Every record key starts with an int16 that says what the record is (Kafka calls it the key
version; the new coordinator calls it the record type):

* 0 or 1: an offset commit, key ``group, topic, partition``; value ``OffsetCommitValue``
  (int16 version, then v0-4 fields). kafkalite writes key 1 with value v3, or value v1 when
  the commit carried an explicit retention time (OffsetCommit v2-4), as Kafka does.
* 2: group metadata, key ``group``; value ``GroupMetadataValue`` (int16 version, v0-4).
  kafkalite writes v3 (static members' group.instance.id included).
* anything else: records of the KIP-848 consumer protocol and share groups, which kafkalite
  neither writes nor reads back (they are skipped when loading).

A null value is a tombstone: the offset (or the group) is deleted. The layouts are declared
with the same schema codec as the protocol messages; value v4 is the first flexible version.

The group's partition is ``abs(groupId.hashCode()) % partitions`` with Java's String hash,
so a group lives in the same partition number as on a real Kafka cluster.
"""

from __future__ import annotations

import struct

import attrs

from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.schema import array, field, reader_for, struct as declare, writer_for
from kafkalite.wire.hashing import coordinator_partition

OFFSET_COMMIT_KEY_VERSION = 1
GROUP_METADATA_KEY_VERSION = 2
OFFSET_COMMIT_VALUE_VERSION = 3
OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1
GROUP_METADATA_VALUE_VERSION = 3

_i16 = struct.Struct(">h")

OffsetCommitKey = declare(
    "OffsetCommitKey",
    field("group", "string", "0+"),
    field("topic", "string", "0+"),
    field("partition", "int32", "0+"),
)

OffsetCommitValue = declare(
    "OffsetCommitValue",
    field("offset", "int64", "0+"),
    field("leader_epoch", "int32", "3+", default=-1),
    field("metadata", "string", "0+"),
    field("commit_timestamp", "int64", "0+"),
    field("expire_timestamp", "int64", "1", default=-1),
)

GroupMetadataKey = declare(
    "GroupMetadataKey",
    field("group", "string", "0+"),
)

MemberMetadata = declare(
    "MemberMetadata",
    field("member_id", "string", "0+"),
    field("group_instance_id", "string", "3+", nullable="3+", default=None),
    field("client_id", "string", "0+"),
    field("client_host", "string", "0+"),
    field("rebalance_timeout", "int32", "1+"),
    field("session_timeout", "int32", "0+"),
    field("subscription", "bytes", "0+"),
    field("assignment", "bytes", "0+"),
)

GroupMetadataValue = declare(
    "GroupMetadataValue",
    field("protocol_type", "string", "0+"),
    field("generation", "int32", "0+"),
    field("protocol", "string", "0+", nullable="0+", default=None),
    field("leader", "string", "0+", nullable="0+", default=None),
    field("current_state_timestamp", "int64", "2+", default=-1),
    field("members", array(MemberMetadata), "0+"),
)

_FLEXIBLE_FROM = 4
_MAX_VALUE_VERSION = 4


@attrs.frozen
class OffsetCommitRecord:
    group: str
    topic: str
    partition: int
    value: object | None  # an OffsetCommitValue, or None for a tombstone


@attrs.frozen
class GroupMetadataRecord:
    group: str
    value: object | None  # a GroupMetadataValue, or None for a tombstone


# -- writing ---------------------------------------------------------------------------------


def _encode(version: int, cls: type, obj: object) -> bytes:
    out = bytearray(_i16.pack(version))
    writer_for(cls, version, version >= _FLEXIBLE_FROM)(out, obj)
    return bytes(out)


def offset_commit_key(group: str, topic: str, partition: int) -> bytes:
    return _encode(OFFSET_COMMIT_KEY_VERSION, OffsetCommitKey, OffsetCommitKey(group=group, topic=topic, partition=partition))


def offset_commit_value(
    offset: int, leader_epoch: int, metadata: str, commit_timestamp: int, expire_timestamp: int | None
) -> bytes:
    """Value v3, or v1 when the commit has an explicit expire timestamp (as Kafka writes)."""
    value = OffsetCommitValue(
        offset=offset,
        leader_epoch=leader_epoch,
        metadata=metadata,
        commit_timestamp=commit_timestamp,
        expire_timestamp=-1 if expire_timestamp is None else expire_timestamp,
    )
    version = OFFSET_COMMIT_VALUE_VERSION if expire_timestamp is None else OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY
    return _encode(version, OffsetCommitValue, value)


def group_metadata_key(group: str) -> bytes:
    return _encode(GROUP_METADATA_KEY_VERSION, GroupMetadataKey, GroupMetadataKey(group=group))


def group_metadata_value(value: object) -> bytes:
    return _encode(GROUP_METADATA_VALUE_VERSION, GroupMetadataValue, value)


# -- reading ---------------------------------------------------------------------------------


def _decode_value(cls: type, raw: bytes, what: str) -> object:
    if len(raw) < 2:
        raise DecodeError(f"{what} value of {len(raw)} bytes has no version")
    version = _i16.unpack_from(raw, 0)[0]
    if not 0 <= version <= _MAX_VALUE_VERSION:
        raise DecodeError(f"unknown {what} value version {version}")
    value, _end = reader_for(cls, version, version >= _FLEXIBLE_FROM)(memoryview(raw), 2)
    return value


def parse_record(key: bytes | None, value: bytes | None) -> OffsetCommitRecord | GroupMetadataRecord | None:
    """Decode one record of __consumer_offsets; None for record types kafkalite ignores.

    Raises:
        DecodeError: a malformed key or value.
    """
    if key is None or len(key) < 2:
        raise DecodeError("__consumer_offsets record without a key version")
    version = _i16.unpack_from(key, 0)[0]
    view = memoryview(key)
    if version in (0, 1):
        k, _ = reader_for(OffsetCommitKey, 0, False)(view, 2)
        decoded = None if value is None else _decode_value(OffsetCommitValue, value, "offset commit")
        return OffsetCommitRecord(k.group, k.topic, k.partition, decoded)
    if version == 2:
        k, _ = reader_for(GroupMetadataKey, 0, False)(view, 2)
        decoded = None if value is None else _decode_value(GroupMetadataValue, value, "group metadata")
        return GroupMetadataRecord(k.group, decoded)
    return None


# -- partitioning ----------------------------------------------------------------------------


def partition_for(key: str, partitions: int) -> int:
    """The partition of the coordinator's topic that holds *key* (as Kafka)."""
    return coordinator_partition(key, partitions)