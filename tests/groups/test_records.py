"""__consumer_offsets records in Kafka's layouts, checked against bytes built by hand."""

from __future__ import annotations

import struct

import pytest

from kafkalite.wire.hashing import java_string_hash

from kafkalite.groups.records import (
    GroupMetadataRecord,
    GroupMetadataValue,
    MemberMetadata,
    OffsetCommitRecord,
    group_metadata_key,
    group_metadata_value,
    offset_commit_key,
    offset_commit_value,
    parse_record,
    partition_for,
)
from kafkalite.wire.primitives import DecodeError


def s16(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def b32(raw: bytes) -> bytes:
    return struct.pack(">i", len(raw)) + raw


def test_offset_commit_key_is_version_1_group_topic_partition() -> None:
    assert offset_commit_key("g", "t", 3) == struct.pack(">h", 1) + s16("g") + s16("t") + struct.pack(">i", 3)


def test_offset_commit_value_is_version_3_with_leader_epoch() -> None:
    raw = offset_commit_value(42, 5, "meta", 1700000000000, None)
    assert raw == struct.pack(">hqi", 3, 42, 5) + s16("meta") + struct.pack(">q", 1700000000000)


def test_offset_commit_value_with_expiry_is_version_1() -> None:
    raw = offset_commit_value(42, 5, "", 1000, 2000)
    assert raw == struct.pack(">hq", 1, 42) + s16("") + struct.pack(">qq", 1000, 2000)


def test_group_metadata_key_is_version_2() -> None:
    assert group_metadata_key("grp") == struct.pack(">h", 2) + s16("grp")


def test_group_metadata_value_is_version_3() -> None:
    value = GroupMetadataValue(
        protocol_type="consumer",
        generation=7,
        protocol="range",
        leader="m1",
        current_state_timestamp=123,
        members=[
            MemberMetadata(
                member_id="m1", group_instance_id="i1", client_id="c", client_host="/127.0.0.1",
                rebalance_timeout=300000, session_timeout=45000, subscription=b"sub", assignment=b"asg",
            )
        ],
    )
    expected = (
        struct.pack(">h", 3) + s16("consumer") + struct.pack(">i", 7) + s16("range") + s16("m1")
        + struct.pack(">q", 123) + struct.pack(">i", 1)
        + s16("m1") + s16("i1") + s16("c") + s16("/127.0.0.1") + struct.pack(">ii", 300000, 45000)
        + b32(b"sub") + b32(b"asg")
    )
    assert group_metadata_value(value) == expected


@pytest.mark.parametrize("key_version", [0, 1])
def test_offset_commit_keys_0_and_1_parse(key_version: int) -> None:
    key = struct.pack(">h", key_version) + s16("g") + s16("t") + struct.pack(">i", 2)
    record = parse_record(key, offset_commit_value(9, -1, "", 5, None))
    assert isinstance(record, OffsetCommitRecord)
    assert (record.group, record.topic, record.partition) == ("g", "t", 2)
    assert record.value.offset == 9 and record.value.leader_epoch == -1


def test_offset_commit_value_v0_parses() -> None:
    raw = struct.pack(">hq", 0, 11) + s16("m") + struct.pack(">q", 77)
    record = parse_record(offset_commit_key("g", "t", 0), raw)
    assert (record.value.offset, record.value.metadata, record.value.commit_timestamp) == (11, "m", 77)
    assert record.value.leader_epoch == -1 and record.value.expire_timestamp == -1


def test_offset_commit_value_v4_flexible_parses() -> None:
    # v4: the first flexible version: compact string, then an empty tag buffer.
    raw = struct.pack(">hqi", 4, 12, 3) + bytes([len("md") + 1]) + b"md" + struct.pack(">q", 88) + b"\x00"
    record = parse_record(offset_commit_key("g", "t", 0), raw)
    assert (record.value.offset, record.value.leader_epoch, record.value.metadata) == (12, 3, "md")


def test_group_metadata_value_v0_parses() -> None:
    raw = (
        struct.pack(">h", 0) + s16("consumer") + struct.pack(">i", 2) + s16("range") + s16("m1")
        + struct.pack(">i", 1) + s16("m1") + s16("c") + s16("/h") + struct.pack(">i", 10000)
        + b32(b"s") + b32(b"a")
    )
    record = parse_record(group_metadata_key("g"), raw)
    assert isinstance(record, GroupMetadataRecord)
    member = record.value.members[0]
    assert (member.member_id, member.session_timeout, member.group_instance_id) == ("m1", 10000, None)
    assert record.value.current_state_timestamp == -1


def test_tombstones_parse_with_a_null_value() -> None:
    assert parse_record(offset_commit_key("g", "t", 1), None).value is None
    assert parse_record(group_metadata_key("g"), None).value is None


def test_other_record_types_are_ignored() -> None:
    # Key type 3 and above: KIP-848 consumer group records.
    assert parse_record(struct.pack(">h", 3) + s16("g"), b"\x00\x00") is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (None, None),
        (b"\x00", None),
        (struct.pack(">h", 1) + s16("g"), None),
        (group_metadata_key("g"), b"\x00"),
        (group_metadata_key("g"), struct.pack(">h", 9)),
        (group_metadata_key("g"), struct.pack(">h", 3) + s16("consumer")),
    ],
)
def test_malformed_records_raise_decode_error(key: bytes | None, value: bytes | None) -> None:
    with pytest.raises(DecodeError):
        parse_record(key, value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 97),
        ("ab", 97 * 31 + 98),
        ("hello", 99162322),
        ("polygenelubricants", -(2**31)),  # Integer.MIN_VALUE
        ("\U0001f600", 0xD83D * 31 + 0xDE00),  # two UTF-16 code units
    ],
)
def test_java_string_hash(text: str, expected: int) -> None:
    assert java_string_hash(text) == expected


def test_partition_for_uses_kafkas_abs() -> None:
    # Utils.abs(Integer.MIN_VALUE) is 0, not MIN_VALUE.
    assert partition_for("polygenelubricants", 50) == 0
    assert partition_for("hello", 50) == 99162322 % 50
    negative = next(t for t in (f"consumer-group-{i}" for i in range(1000)) if java_string_hash(t) < 0)
    assert partition_for(negative, 50) == abs(java_string_hash(negative)) % 50
