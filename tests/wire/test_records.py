"""Records in a RecordBatch v2: building, decoding, malformed records, control batches.

Cross-checked against two independent implementations: kafka-python's
``kafka.record.default_records`` (builder and reader, gzip included) and kio's
``kio.records`` reader (uncompressed).
"""

from __future__ import annotations

import struct
import time

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatch
from kio.records.readers import read_batch as kio_read_batch

from kafkalite.wire.batch import CorruptBatchError, batch_crc_ok, iter_batches, parse_batch_header
from kafkalite.wire.compression import Compression
from kafkalite.wire.primitives import DecodeError, write_varint
from kafkalite.wire.records import (
    ControlRecordType,
    NewRecord,
    Record,
    build_batch,
    build_control_batch,
    decode_records,
    parse_control_record,
    record_timestamp,
)

from .helpers import (
    BASE_TS,
    SAMPLE,
    kp_build,
    records_section,
    sample_batch,
    three_batches,
    with_records_section,
)


# -- every decoder fed three ways ------------------------------------------------------------


def test_decode_records_fed_whole_bytewise_and_with_trailing_bytes():
    batch = sample_batch(compression=Compression.GZIP)
    for cut in range(len(batch)):
        with pytest.raises(CorruptBatchError):
            decode_records(memoryview(batch)[:cut])
    assert decode_records(batch) == SAMPLE
    trailing = bytearray(batch + sample_batch())
    before = bytes(trailing)
    assert decode_records(trailing) == SAMPLE
    assert bytes(trailing) == before


# -- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [Compression.NONE, Compression.GZIP])
def test_build_decode_round_trip(compression):
    assert decode_records(sample_batch(compression=compression)) == SAMPLE


def test_key_value_pairs_get_consecutive_offsets_at_base_timestamp():
    batch = build_batch([(b"a", b"1"), (None, None), (b"c", b"")], base_timestamp=BASE_TS)
    assert decode_records(batch) == [
        Record(0, 0, b"a", b"1"), Record(1, 0, None, None), Record(2, 0, b"c", b""),
    ]
    header = parse_batch_header(batch)
    assert header.max_timestamp == BASE_TS and header.last_offset_delta == 2


def test_new_records_take_absolute_timestamps():
    batch = build_batch([
        NewRecord(b"a", b"1", timestamp=BASE_TS + 10),
        NewRecord(b"b", b"2", timestamp=BASE_TS + 5, headers=[("h", b"x")]),
        NewRecord(b"c", b"3"),
    ])
    header = parse_batch_header(batch)
    assert header.base_timestamp == BASE_TS + 10  # the first timestamp, as Kafka's producer
    assert header.max_timestamp == BASE_TS + 10
    records = decode_records(batch)
    assert [record_timestamp(header, r) for r in records] == [
        BASE_TS + 10, BASE_TS + 5, BASE_TS + 10,
    ]
    assert records[1].headers == (("h", b"x"),)


def test_explicit_base_timestamp_with_new_records():
    batch = build_batch([NewRecord(b"a", b"1", timestamp=BASE_TS)], base_timestamp=BASE_TS - 3)
    header = parse_batch_header(batch)
    assert decode_records(batch)[0].timestamp_delta == 3
    assert header.base_timestamp == BASE_TS - 3 and header.max_timestamp == BASE_TS


def test_base_timestamp_defaults_to_now(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1234.5678)
    header = parse_batch_header(build_batch([(b"k", b"v")]))
    assert header.base_timestamp == header.max_timestamp == 1_234_567


def test_records_keep_explicit_offset_deltas_with_gaps():
    records = [Record(0, 0, b"a", None), Record(7, 1, b"b", None)]
    batch = build_batch(records, base_offset=100, base_timestamp=BASE_TS)
    header = parse_batch_header(batch)
    assert header.last_offset_delta == 7 and header.records_count == 2
    assert header.last_offset == 107
    assert decode_records(batch) == records


def test_record_attributes_are_carried_through():
    records = [Record(0, 0, b"a", None, attributes=-128), Record(1, 0, b"b", None, attributes=5)]
    assert decode_records(build_batch(records, base_timestamp=0)) == records


def test_record_headers_converted_to_tuple_of_pairs():
    record = Record(0, 0, None, None, headers=[["a", b"1"], ("b", None)])
    assert record.headers == (("a", b"1"), ("b", None))


def test_unicode_header_keys():
    records = [Record(0, 0, None, b"v", headers=(("clé-ключ-🔑", b"\x00\xff"),))]
    assert decode_records(build_batch(records, base_timestamp=0)) == records


@pytest.mark.parametrize(
    ("records", "match"),
    [
        ([], "at least one record"),
        ([Record(-1, 0, None, None)], "offset_delta -1"),
        ([Record(1, 0, None, None), Record(1, 0, None, None)], "offset_delta 1"),
        ([Record(2, 0, None, None), Record(1, 0, None, None)], "offset_delta 1"),
        ([Record(2**31, 0, None, None)], "int32"),
    ],
)
def test_build_rejects_bad_offset_deltas(records, match):
    with pytest.raises(ValueError, match=match):
        build_batch(records, base_timestamp=0)


def test_decode_records_at_nonzero_position():
    batches = three_batches()
    record_set = b"".join(batches)
    decoded = [decode_records(record_set, pos) for pos, _ in iter_batches(record_set)]
    assert decoded[1] == SAMPLE
    assert [r.key for r in decoded[2]] == [b"c", b"d"]


# -- malformed records -----------------------------------------------------------------------


def test_records_section_cut_at_every_point_is_corrupt():
    batch = sample_batch()
    section = records_section(batch)
    for cut in range(len(section)):
        with pytest.raises(CorruptBatchError):
            decode_records(with_records_section(batch, section[:cut]))


def test_left_over_bytes_after_the_records_are_corrupt():
    batch = sample_batch()
    with pytest.raises(CorruptBatchError, match="3 bytes left over"):
        decode_records(with_records_section(batch, records_section(batch) + b"\x00\x00\x00"))


def test_records_count_larger_than_records_is_corrupt():
    batch = sample_batch()
    with pytest.raises(CorruptBatchError, match="record 4 of 5"):
        decode_records(with_records_section(batch, records_section(batch), records_count=5))


def test_records_count_smaller_than_records_is_corrupt():
    batch = sample_batch()
    with pytest.raises(CorruptBatchError, match="left over"):
        decode_records(with_records_section(batch, records_section(batch), records_count=3))


def test_negative_records_count_is_corrupt():
    batch = sample_batch()
    with pytest.raises(CorruptBatchError, match="records_count -1"):
        decode_records(with_records_section(batch, records_section(batch), records_count=-1))


def encode_raw_record(fields: bytes) -> bytes:
    """A record with the given body bytes and a correct length prefix."""
    out = bytearray()
    write_varint(out, len(fields))
    return bytes(out) + fields


def test_record_length_not_matching_its_fields_is_corrupt():
    body = bytes([0, 0, 0, 1, 1, 0])  # attrs, ts, offset, null key, null value, 0 headers
    batch = build_batch([(b"k", b"v")], base_timestamp=0)
    assert decode_records(with_records_section(batch, encode_raw_record(body))) == [
        Record(0, 0, None, None)
    ]
    padded = bytearray(encode_raw_record(body + b"\x00"))
    with pytest.raises(CorruptBatchError, match="declares 7 bytes but its fields take 6"):
        decode_records(with_records_section(batch, bytes(padded)))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (bytes([0, 0, 0, 1, 1, 1]), "negative header count"),
        (bytes([0, 0, 0, 1, 1, 2, 1, 1]), "header key is null"),
        (bytes([0, 0, 0, 1, 1, 2, 2, 0xFF, 1]), "not valid UTF-8"),
        (bytes([0, 0, 0, 0x7E, 1, 0]), "key of 63 bytes at offset 5 runs past"),
    ],
)
def test_malformed_record_fields_are_corrupt(body, match):
    batch = build_batch([(b"k", b"v")], base_timestamp=0)
    with pytest.raises(CorruptBatchError, match=match):
        decode_records(with_records_section(batch, encode_raw_record(body)))


def test_negative_lengths_other_than_minus_one_read_as_null():
    # Kafka's DefaultRecord.readFrom treats any negative key/value size as null.
    body = bytes([0, 0, 0, 3, 5, 0])  # key length -2, value length -3
    batch = build_batch([(b"k", b"v")], base_timestamp=0)
    assert decode_records(with_records_section(batch, encode_raw_record(body))) == [
        Record(0, 0, None, None)
    ]


# -- control batches -------------------------------------------------------------------------


@pytest.mark.parametrize("control_type", list(ControlRecordType))
def test_control_batch_round_trip(control_type):
    batch = build_control_batch(
        control_type, producer_id=77, producer_epoch=4, coordinator_epoch=9, base_offset=30,
        timestamp=BASE_TS,
    )
    header = parse_batch_header(batch)
    assert header.is_control and header.is_transactional
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (77, 4, -1)
    assert (header.base_offset, header.records_count, header.base_timestamp) == (30, 1, BASE_TS)
    assert batch_crc_ok(batch, 0, header)
    (record,) = decode_records(batch)
    assert record.key == struct.pack(">hh", 0, control_type)
    assert record.value == struct.pack(">hi", 0, 9)
    assert parse_control_record(record) == (control_type, 9)


@pytest.mark.parametrize("control_type", list(ControlRecordType))
def test_control_batch_read_by_kafka_python(control_type):
    batch = DefaultRecordBatch(
        build_control_batch(control_type, producer_id=1, producer_epoch=0, timestamp=BASE_TS)
    )
    assert batch.validate_crc()
    assert batch.is_control_batch and batch.is_transactional
    (record,) = list(batch)
    assert (record.version, record.type) == (0, control_type)
    assert record.commit == (control_type == ControlRecordType.COMMIT)


def test_parse_control_record_accepts_newer_versions_with_extra_bytes():
    record = Record(0, 0, struct.pack(">hhx", 1, 1), struct.pack(">hixx", 3, 12))
    assert parse_control_record(record) == (ControlRecordType.COMMIT, 12)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        (None, b"\x00" * 6, "key must have 4 bytes, got null"),
        (b"\x00\x00\x00", b"\x00" * 6, "got 3"),
        (struct.pack(">hh", -1, 0), b"\x00" * 6, "key version -1"),
        (struct.pack(">hh", 0, 2), b"\x00" * 6, "type 2 is not a transaction marker"),
        (struct.pack(">hh", 0, 1), None, "value must have 6 bytes, got null"),
        (struct.pack(">hh", 0, 1), b"\x00" * 5, "got 5"),
        (struct.pack(">hh", 0, 1), struct.pack(">hi", -2, 0), "value version -2"),
    ],
)
def test_parse_control_record_rejects_malformed(key, value, match):
    with pytest.raises(CorruptBatchError, match=match):
        parse_control_record(Record(0, 0, key, value))


# -- cross-checks with kafka-python and kio --------------------------------------------------


KP_ITEMS = [
    (0, BASE_TS, b"key-0", b"value-0" * 20, []),
    (1, BASE_TS + 50, None, b"value-1" * 20, [("h1", b"v1"), ("h2", None)]),
    (2, BASE_TS - 20, b"key-2", None, []),
    (3, BASE_TS + 10, b"", b"", [("ünï", b"")]),
]


@pytest.mark.parametrize("compression", [0, 1], ids=["none", "gzip"])
def test_kafka_python_built_batch_parses_and_decodes(compression):
    raw = kp_build(KP_ITEMS, compression=compression, transactional=True, producer_id=500,
                   producer_epoch=2, base_sequence=10)
    header = parse_batch_header(raw)
    theirs = DefaultRecordBatch(raw)
    assert header.compression == compression
    assert (header.base_offset, header.partition_leader_epoch, header.crc) == (
        theirs.base_offset, theirs.leader_epoch, theirs.crc)
    assert (header.base_timestamp, header.max_timestamp) == (BASE_TS, BASE_TS + 50)
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (500, 2, 10)
    assert header.is_transactional and header.last_offset_delta == 3
    assert header.records_count == 4 and header.size == len(raw)
    assert batch_crc_ok(raw, 0, header)
    records = decode_records(raw)
    assert [
        (header.base_offset + r.offset_delta, record_timestamp(header, r), r.key, r.value,
         list(r.headers))
        for r in records
    ] == KP_ITEMS


@pytest.mark.parametrize("compression", [Compression.NONE, Compression.GZIP])
def test_our_batch_read_by_kafka_python(compression):
    batch = sample_batch(base_offset=40, partition_leader_epoch=3, compression=compression,
                         producer_id=8, producer_epoch=1, base_sequence=0)
    theirs = DefaultRecordBatch(batch)
    assert theirs.validate_crc()
    assert (theirs.base_offset, theirs.leader_epoch, theirs.compression_type) == (40, 3,
                                                                                   compression)
    assert (theirs.producer_id, theirs.producer_epoch, theirs.base_sequence) == (8, 1, 0)
    assert (theirs.last_offset_delta, theirs.records_count) == (3, 4)
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in theirs] == [
        (40 + r.offset_delta, BASE_TS + r.timestamp_delta, r.key, r.value, list(r.headers))
        for r in SAMPLE
    ]


def test_our_batch_read_by_kio():
    batch = sample_batch(base_offset=40, partition_leader_epoch=3)
    theirs, size = kio_read_batch(batch, 0)  # kio checks the CRC and every length
    assert size == len(batch)
    assert (theirs.base_offset, theirs.crc, theirs.max_timestamp) == (
        40, parse_batch_header(batch).crc, BASE_TS + 100)
    assert [(r.offset, r.key, r.value) for r in theirs.records] == [
        (40 + r.offset_delta, r.key, r.value) for r in SAMPLE
    ]
    assert [[(h.key.decode(), h.value) for h in r.headers] for r in theirs.records] == [
        list(r.headers) for r in SAMPLE
    ]


# -- property tests --------------------------------------------------------------------------


nullable_bytes = st.none() | st.binary(max_size=40)


header_lists = st.lists(
    st.tuples(st.text(st.characters(codec="utf-8"), max_size=8), nullable_bytes), max_size=3
)


record_fields = st.tuples(
    nullable_bytes, nullable_bytes, header_lists,
    st.integers(-(2**40), 2**40),  # timestamp delta
    st.integers(1, 1000),  # gap to the previous offset delta
    st.integers(-128, 127),  # attributes
)


@st.composite
def record_lists(draw):
    fields = draw(st.lists(record_fields, min_size=1, max_size=8))
    records, offset_delta = [], draw(st.integers(0, 5)) - 1
    for key, value, headers, ts_delta, gap, attributes in fields:
        offset_delta += gap
        records.append(Record(offset_delta, ts_delta, key, value, headers, attributes))
    return records


@settings(max_examples=150, deadline=None)
@given(
    record_lists(),
    st.integers(0, 2**50),
    st.integers(-1, 2**40),
    st.sampled_from([Compression.NONE, Compression.GZIP]),
    st.booleans(),
)
def test_property_build_then_decode(records, base_offset, base_timestamp, compression,
                                    transactional):
    batch = build_batch(records, base_offset=base_offset, base_timestamp=base_timestamp,
                        compression=compression, transactional=transactional,
                        producer_id=3 if transactional else -1,
                        producer_epoch=0 if transactional else -1)
    header = parse_batch_header(batch)
    assert header.size == len(batch)
    assert batch_crc_ok(batch, 0, header)
    assert header.last_offset_delta == records[-1].offset_delta
    assert header.records_count == len(records)
    assert header.max_timestamp == max(base_timestamp + r.timestamp_delta for r in records)
    assert decode_records(batch) == records
    assert [(p, h) for p, h in iter_batches(batch + batch)] == [(0, header), (len(batch), header)]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(nullable_bytes, nullable_bytes, header_lists,
                       st.integers(0, 2**41)), min_size=1, max_size=8),
    st.sampled_from([0, 1]),
)
def test_property_kafka_python_builds_we_decode(items, compression):
    kp_items = [(i, ts, k, v, h) for i, (k, v, h, ts) in enumerate(items)]
    raw = kp_build(kp_items, compression=compression)
    header = parse_batch_header(raw)
    assert batch_crc_ok(raw, 0, header)
    assert [
        (r.offset_delta, record_timestamp(header, r), r.key, r.value, list(r.headers))
        for r in decode_records(raw)
    ] == kp_items


@settings(max_examples=100, deadline=None)
@given(record_lists(), st.sampled_from([Compression.NONE, Compression.GZIP]))
def test_property_kafka_python_reads_what_we_build(records, compression):
    # kafka-python reads record attributes as a varint, not an int8; Kafka always writes 0.
    records = [attrs.evolve(r, attributes=0) for r in records]
    batch = build_batch(records, base_offset=10, base_timestamp=BASE_TS, compression=compression)
    theirs = DefaultRecordBatch(batch)
    assert theirs.validate_crc()
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in theirs] == [
        (10 + r.offset_delta, BASE_TS + r.timestamp_delta, r.key, r.value, list(r.headers))
        for r in records
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(-1, 10))
def test_property_arbitrary_records_section_raises_only_decode_errors(section, count):
    batch = with_records_section(sample_batch(), section, records_count=count)
    try:
        records = decode_records(batch)
    except DecodeError:
        return
    assert len(records) == count
