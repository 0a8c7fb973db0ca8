"""The metadata records of ``__cluster_metadata``, framed as Kafka's KRaft controller writes
them, and the LeaderChangeMessage control record of an election.

Each record's value is: frame version (unsigned varint, 1), record type (unsigned varint, the
record's api key), record version (unsigned varint), then the record's fields in the flexible
encoding (compact strings and arrays, tagged fields last). Record keys are null. A batch of
them is an ordinary RecordBatch v2 with no producer id.

An election's first batch is a control batch: one record whose key is (version 0, type 2 =
LEADER_CHANGE) and whose value is a LeaderChangeMessage (its own version field, the leader,
the voters, the voters that granted the vote).

Only the records kafkalite writes are declared, each at the version it writes, and read at
any version their declaration covers.
"""

from __future__ import annotations

import struct as _struct
import uuid
from typing import Any

import attrs

from kafkalite.wire import primitives as p
from kafkalite.wire.records import NewRecord, Record, build_batch
from kafkalite.wire.schema import array, field, reader_for, struct, writer_for

FRAME_VERSION = 1
#: A control record's key type for a new leader of the metadata log (Kafka's ControlRecordType).
LEADER_CHANGE = 2
_CONTROL_KEY = _struct.Struct(">hh")

TopicRecord = struct(
    "TopicRecord",
    field("name", "string", "0+"),
    field("topic_id", "uuid", "0+"),
)

PartitionRecord = struct(
    "PartitionRecord",
    field("partition_id", "int32", "0+", default=-1),
    field("topic_id", "uuid", "0+"),
    field("replicas", array("int32"), "0+"),
    field("isr", array("int32"), "0+"),
    field("removing_replicas", array("int32"), "0+"),
    field("adding_replicas", array("int32"), "0+"),
    field("leader", "int32", "0+", default=-1),
    field("leader_recovery_state", "int8", "0+", tag=0, default=0),
    field("leader_epoch", "int32", "0+", default=-1),
    field("partition_epoch", "int32", "0+", default=-1),
    field("directories", array("uuid"), "1+"),
)

PartitionChangeRecord = struct(
    "PartitionChangeRecord",
    field("partition_id", "int32", "0+", default=-1),
    field("topic_id", "uuid", "0+"),
    field("isr", array("int32"), "0+", nullable="0+", tag=0, default=None),
    field("leader", "int32", "0+", tag=1, default=-2),
    field("replicas", array("int32"), "0+", nullable="0+", tag=2, default=None),
    field("removing_replicas", array("int32"), "0+", nullable="0+", tag=3, default=None),
    field("adding_replicas", array("int32"), "0+", nullable="0+", tag=4, default=None),
    field("leader_recovery_state", "int8", "0+", tag=5, default=-1),
)

RemoveTopicRecord = struct(
    "RemoveTopicRecord",
    field("topic_id", "uuid", "0+"),
)

ConfigRecord = struct(
    "ConfigRecord",
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("name", "string", "0+"),
    field("value", "string", "0+", nullable="0+", default=None),
)

BrokerEndpoint = struct(
    "BrokerEndpoint",
    field("name", "string", "0+"),
    field("host", "string", "0+"),
    field("port", "uint16", "0+"),
    field("security_protocol", "int16", "0+"),
)

BrokerFeature = struct(
    "BrokerFeature",
    field("name", "string", "0+"),
    field("min_supported_version", "int16", "0+"),
    field("max_supported_version", "int16", "0+"),
)

RegisterBrokerRecord = struct(
    "RegisterBrokerRecord",
    field("broker_id", "int32", "0+"),
    field("is_migrating_zk_broker", "bool", "2+", default=False),
    field("incarnation_id", "uuid", "0+"),
    field("broker_epoch", "int64", "0+"),
    field("end_points", array(BrokerEndpoint), "0+"),
    field("features", array(BrokerFeature), "0+"),
    field("rack", "string", "0+", nullable="0+", default=None),
    field("fenced", "bool", "0+", default=True),
    field("in_controlled_shutdown", "bool", "1+", default=False),
    field("log_dirs", array("uuid"), "3+", tag=0),
)

FenceBrokerRecord = struct(
    "FenceBrokerRecord",
    field("id", "int32", "0+"),
    field("epoch", "int64", "0+"),
)

UnfenceBrokerRecord = struct(
    "UnfenceBrokerRecord",
    field("id", "int32", "0+"),
    field("epoch", "int64", "0+"),
)

Voter = struct(
    "Voter",
    field("voter_id", "int32", "0+"),
    field("voter_directory_id", "uuid", "1+"),
)

LeaderChangeMessage = struct(
    "LeaderChangeMessage",
    field("version", "int16", "0+"),
    field("leader_id", "int32", "0+"),
    field("voters", array(Voter), "0+"),
    field("granting_voters", array(Voter), "0+"),
)

#: record class -> (record type, the version kafkalite writes, the versions it reads)
RECORD_TYPES: dict[type, tuple[int, int, range]] = {
    RegisterBrokerRecord: (0, 3, range(0, 4)),
    TopicRecord: (2, 0, range(0, 1)),
    PartitionRecord: (3, 0, range(0, 2)),
    ConfigRecord: (4, 0, range(0, 1)),
    PartitionChangeRecord: (5, 0, range(0, 1)),
    FenceBrokerRecord: (7, 0, range(0, 1)),
    UnfenceBrokerRecord: (8, 0, range(0, 1)),
    RemoveTopicRecord: (9, 0, range(0, 1)),
}
_BY_TYPE = {record_type: (cls, versions) for cls, (record_type, _, versions) in RECORD_TYPES.items()}
_BY_NAME = {cls.__name__: cls for cls in RECORD_TYPES}


class UnknownMetadataRecord(ValueError):
    """A record type or version this module does not declare."""


def record(name: str, fields: dict[str, Any]) -> Any:
    """The record of type *name* ("TopicRecord", ...) with *fields* (snake_case names; a
    ``topic_id`` may be given as a string)."""
    cls = _BY_NAME[name]
    if isinstance(fields.get("topic_id"), str):
        fields = {**fields, "topic_id": uuid.UUID(fields["topic_id"])}
    return cls(**fields)


def encode_record(value: Any) -> bytes:
    """The framed bytes of one metadata record (a record's value in the log)."""
    record_type, version, _ = RECORD_TYPES[type(value)]
    out = bytearray()
    p.write_uvarint(out, FRAME_VERSION)
    p.write_uvarint(out, record_type)
    p.write_uvarint(out, version)
    writer_for(type(value), version, True)(out, value)
    return bytes(out)


def decode_record(data: bytes | memoryview) -> tuple[Any, int]:
    """(record, version) of the framed bytes of one metadata record.

    Raises:
        UnknownMetadataRecord: a frame version, record type or version not declared here.
        DecodeError: the bytes end early.
    """
    buf = memoryview(data)
    frame, pos = p.read_uvarint(buf, 0)
    if frame != FRAME_VERSION:
        raise UnknownMetadataRecord(f"unknown frame version {frame}")
    record_type, pos = p.read_uvarint(buf, pos)
    version, pos = p.read_uvarint(buf, pos)
    if record_type not in _BY_TYPE:
        raise UnknownMetadataRecord(f"record type {record_type} is not one kafkalite reads")
    cls, versions = _BY_TYPE[record_type]
    if version not in versions:
        raise UnknownMetadataRecord(f"{cls.__name__} version {version} is not one kafkalite reads")
    value, _ = reader_for(cls, version, True)(buf, pos)
    return value, version


def build_metadata_batch(values: list[Any], *, leader_epoch: int, timestamp: int) -> bytes:
    """One RecordBatch of metadata records, at the metadata log leader's *leader_epoch*."""
    return build_batch(
        [NewRecord(None, encode_record(v), timestamp=timestamp) for v in values],
        partition_leader_epoch=leader_epoch,
        base_timestamp=timestamp,
    )


def build_leader_change_batch(
    leader_id: int, voters: list[int], granting: list[int], *, leader_epoch: int, timestamp: int
) -> bytes:
    """The control batch a new leader of the metadata log writes first in its epoch."""
    message = LeaderChangeMessage(
        version=0,
        leader_id=leader_id,
        voters=[Voter(voter_id=v) for v in voters],
        granting_voters=[Voter(voter_id=v) for v in granting],
    )
    out = bytearray()
    writer_for(LeaderChangeMessage, 0, True)(out, message)
    return build_batch(
        [NewRecord(_CONTROL_KEY.pack(0, LEADER_CHANGE), bytes(out), timestamp=timestamp)],
        partition_leader_epoch=leader_epoch,
        base_timestamp=timestamp,
        control=True,
    )


def parse_leader_change(rec: Record) -> Any | None:
    """The LeaderChangeMessage of a control record, or None for another control type."""
    if rec.key is None or len(rec.key) < _CONTROL_KEY.size or rec.value is None:
        return None
    _, control_type = _CONTROL_KEY.unpack_from(rec.key)
    if control_type != LEADER_CHANGE:
        return None
    value, _ = reader_for(LeaderChangeMessage, 0, True)(memoryview(rec.value), 0)
    return value


def as_dict(value: Any) -> dict[str, Any]:
    """A record's fields as plain data (uuids as strings), for logs and dump-log."""
    def plain(v: Any) -> Any:
        if isinstance(v, uuid.UUID):
            return str(v)
        if isinstance(v, list):
            return [plain(x) for x in v]
        if attrs.has(type(v)):
            return as_dict(v)
        return v

    return {
        a.name: plain(getattr(value, a.name))
        for a in attrs.fields(type(value))
        if a.name != "unknown_tagged_fields"
    }
