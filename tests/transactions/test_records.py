"""__transaction_state records in Kafka's layouts (TransactionLogKey.json,
TransactionLogValue.json), checked against bytes built by hand from those layouts."""

from __future__ import annotations

import struct

import pytest

from kafkalite.wire.hashing import java_string_hash

from kafkalite.groups.records import partition_for as group_partition_for
from kafkalite.transactions.records import (
    PartitionsSchema,
    TransactionLogRecord,
    TransactionLogValue,
    decode_value,
    format_record,
    parse_record,
    partition_for,
    partitions_schema,
    transaction_log_key,
    transaction_log_value,
    value_partitions,
)
from kafkalite.transactions.state import TxnState
from kafkalite.wire.primitives import DecodeError


def s16(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def compact(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 127
    return bytes([len(raw) + 1]) + raw


def ongoing_value(**overrides: object) -> object:
    fields: dict[str, object] = dict(
        producer_id=4000,
        producer_epoch=3,
        transaction_timeout_ms=60000,
        transaction_status=int(TxnState.ONGOING),
        transaction_partitions=[PartitionsSchema(topic="out", partition_ids=[0, 2])],
        transaction_last_update_timestamp_ms=1_700_000_000_123,
        transaction_start_timestamp_ms=1_700_000_000_100,
    )
    fields.update(overrides)
    return TransactionLogValue(**fields)


# -- byte-exact ------------------------------------------------------------------------------


def test_key_is_version_0_and_the_transactional_id() -> None:
    assert transaction_log_key("my-txn") == struct.pack(">h", 0) + s16("my-txn")


def test_value_version_0_layout() -> None:
    raw = transaction_log_value(ongoing_value(), version=0)
    expected = (
        struct.pack(">h", 0)
        + struct.pack(">qhib", 4000, 3, 60000, 1)
        + struct.pack(">i", 1) + s16("out") + struct.pack(">iii", 2, 0, 2)
        + struct.pack(">qq", 1_700_000_000_123, 1_700_000_000_100)
    )
    assert raw == expected


def test_value_version_0_of_an_empty_transaction_has_null_partitions() -> None:
    raw = transaction_log_value(
        ongoing_value(transaction_status=0, transaction_partitions=None, transaction_start_timestamp_ms=-1), version=0
    )
    assert raw[2 + 15 : 2 + 19] == b"\xff\xff\xff\xff"


def test_value_version_1_is_flexible_with_default_tags_left_out() -> None:
    raw = transaction_log_value(ongoing_value(), version=1)
    expected = (
        struct.pack(">h", 1)
        + struct.pack(">qhib", 4000, 3, 60000, 1)
        + bytes([2]) + compact("out") + bytes([3]) + struct.pack(">ii", 0, 2) + b"\x00"  # one topic, no tags
        + struct.pack(">qq", 1_700_000_000_123, 1_700_000_000_100)
        + b"\x00"  # no tagged fields
    )
    assert raw == expected


def test_value_version_1_writes_its_tagged_fields_in_tag_order() -> None:
    value = ongoing_value(
        transaction_partitions=None, transaction_status=0, previous_producer_id=3999, next_producer_id=4001,
        client_transaction_version=2,
    )
    raw = transaction_log_value(value, version=1)
    tags = (
        b"\x03"
        + b"\x00\x08" + struct.pack(">q", 3999)
        + b"\x01\x08" + struct.pack(">q", 4001)
        + b"\x02\x02" + struct.pack(">h", 2)
    )
    assert raw.endswith(struct.pack(">qq", 1_700_000_000_123, 1_700_000_000_100) + tags)
    assert raw[2 + 15] == 0  # null compact array
    assert decode_value(raw) == value


# -- round trips and parsing ---------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
def test_value_round_trip(version: int) -> None:
    value = ongoing_value()
    assert decode_value(transaction_log_value(value, version=version)) == value


def test_version_0_reads_tags_as_their_defaults() -> None:
    decoded = decode_value(transaction_log_value(ongoing_value(previous_producer_id=7), version=0))
    assert decoded.previous_producer_id == -1 and decoded.next_producer_id == -1  # type: ignore[attr-defined]
    assert decoded.client_transaction_version == 0  # type: ignore[attr-defined]


def test_parse_record_gives_the_id_and_value() -> None:
    value = ongoing_value()
    record = parse_record(transaction_log_key("t"), transaction_log_value(value))
    assert record == TransactionLogRecord("t", value)


def test_a_null_value_is_a_tombstone() -> None:
    assert parse_record(transaction_log_key("t"), None) == TransactionLogRecord("t", None)


def test_an_unknown_key_version_is_skipped() -> None:
    assert parse_record(struct.pack(">h", 1) + s16("t"), b"whatever") is None


@pytest.mark.parametrize("key", [None, b"", b"\x00"])
def test_a_record_without_a_key_version_is_an_error(key: bytes | None) -> None:
    with pytest.raises(DecodeError):
        parse_record(key, None)


def test_an_unknown_value_version_is_an_error() -> None:
    with pytest.raises(DecodeError, match="version 2"):
        decode_value(struct.pack(">h", 2) + transaction_log_value(ongoing_value())[2:])


def test_an_unknown_transaction_status_is_an_error() -> None:
    with pytest.raises(DecodeError, match="status 9"):
        decode_value(transaction_log_value(ongoing_value(transaction_status=9)))


@pytest.mark.parametrize("version", [0, 1])
def test_every_truncation_of_a_value_is_an_error(version: int) -> None:
    raw = transaction_log_value(ongoing_value(), version=version)
    for end in range(len(raw)):
        with pytest.raises(DecodeError):
            decode_value(raw[:end])


def test_partitions_are_grouped_by_topic_and_sorted() -> None:
    groups = partitions_schema({("b", 1), ("a", 2), ("b", 0)})
    assert groups == [PartitionsSchema(topic="a", partition_ids=[2]), PartitionsSchema(topic="b", partition_ids=[0, 1])]


def test_an_empty_transaction_has_no_partitions_whatever_the_value_says() -> None:
    assert value_partitions(ongoing_value()) == {("out", 0), ("out", 2)}
    assert value_partitions(ongoing_value(transaction_status=0)) == frozenset()


# -- dump-log ------------------------------------------------------------------------------


def test_format_record_reads_like_kafkas_dump_log() -> None:
    key_text, value_text = format_record(transaction_log_key("t"), transaction_log_value(ongoing_value()))
    assert key_text == "transaction_metadata::transactionalId=t"
    assert value_text == (
        "producerId:4000,producerEpoch:3,state=Ongoing,partitions=[out-0,out-2],"
        "txnLastUpdateTimestamp=1700000000123,txnTimeoutMs=60000"
    )


def test_format_record_of_a_tombstone_and_an_unknown_key() -> None:
    assert format_record(transaction_log_key("t"), None) == ("transaction_metadata::transactionalId=t", "<DELETE>")
    assert format_record(struct.pack(">h", 5), b"") == ("unknown::version=5", None)


# -- partitioning --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("", 0), ("a", 97), ("hello", 99162322), ("polygenelubricants", -(2**31))])
def test_java_string_hash_known_values(text: str, expected: int) -> None:
    assert java_string_hash(text) == expected


@pytest.mark.parametrize("text", ["txn-1", "my-transactional-id", "\u00e9t\u00e9", "emoji-\U0001f600", "x" * 40])
def test_partitions_agree_with_the_group_coordinators(text: str) -> None:
    assert partition_for(text, 50) == group_partition_for(text, 50)


def test_partition_for_takes_kafkas_abs_of_negative_hashes() -> None:
    text = next(t for t in (f"txn-{i}" for i in range(1000)) if java_string_hash(t) < 0)
    assert partition_for(text, 50) == (-java_string_hash(text)) % 50


def test_partition_for_maps_integer_min_value_to_partition_0() -> None:
    assert partition_for("polygenelubricants", 50) == 0
    assert partition_for("hello", 50) == 99162322 % 50
