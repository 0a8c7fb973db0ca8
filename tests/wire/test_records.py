"""RecordBatch v2: header parsing, record sets, CRC, in-place patches, records, codecs.

Cross-checked against two independent implementations: kafka-python's
``kafka.record.default_records`` (builder and reader, gzip included) and kio's
``kio.records`` reader (uncompressed).
"""

from __future__ import annotations

import importlib

import struct
import sys
import time
import types
import zlib

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kio.records.readers import read_batch as kio_read_batch

from kafkalite.wire import records as rec
from kafkalite.wire.crc32c import crc32c
from kafkalite.wire.primitives import DecodeError, write_varint
from kafkalite.wire.records import (
    ATTRIBUTES_OFFSET,
    BATCH_HEADER_SIZE,
    CRC_OFFSET,
    RECORDS_OFFSET,
    BatchHeader,
    Compression,
    ControlRecordType,
    CorruptBatchError,
    NewRecord,
    Record,
    TimestampType,
    UnsupportedCompressionError,
    UnsupportedMagicError,
    batch_crc_ok,
    build_batch,
    build_control_batch,
    decode_records,
    iter_batches,
    parse_batch_header,
    parse_control_record,
    patch_base_offset,
    patch_partition_leader_epoch,
    record_timestamp,
    scan_batches,
    set_log_append_time,
)

BASE_TS = 1_700_000_000_000

SAMPLE = [
    Record(0, 0, b"key-0", b"value-0"),
    Record(1, 5, None, b"value-1", headers=(("trace", b"abc"), ("empty", b""))),
    Record(2, -3, b"", None, headers=(("null", None),)),
    Record(3, 100, b"k" * 200, b"v" * 300),
]


def sample_batch(**kwargs) -> bytes:
    kwargs.setdefault("base_timestamp", BASE_TS)
    return build_batch(SAMPLE, **kwargs)


def with_records_section(batch: bytes, section: bytes, records_count: int | None = None) -> bytes:
    """*batch*'s header over a replacement records section, with length and CRC made valid."""
    out = bytearray(batch[:RECORDS_OFFSET] + section)
    struct.pack_into(">i", out, 8, len(out) - 12)
    if records_count is not None:
        struct.pack_into(">i", out, 57, records_count)
    struct.pack_into(">I", out, CRC_OFFSET, crc32c(bytes(out[ATTRIBUTES_OFFSET:])))
    return bytes(out)


def set_attributes(batch: bytes, attributes: int) -> bytes:
    out = bytearray(batch)
    struct.pack_into(">h", out, ATTRIBUTES_OFFSET, attributes)
    struct.pack_into(">I", out, CRC_OFFSET, crc32c(bytes(out[ATTRIBUTES_OFFSET:])))
    return bytes(out)


def kp_build(
    items, *, compression=0, transactional=False, producer_id=-1, producer_epoch=-1,
    base_sequence=-1,
) -> bytes:
    """Build a batch with kafka-python: items are (offset, timestamp, key, value, headers)."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=compression, is_transactional=transactional,
        producer_id=producer_id, producer_epoch=producer_epoch, base_sequence=base_sequence,
        batch_size=1 << 30,
    )
    for offset, timestamp, key, value, headers in items:
        assert builder.append(offset, timestamp, key, value, headers) is not None
    return bytes(builder.build())


# -- header layout ---------------------------------------------------------------------------


def test_header_is_61_bytes_with_kafka_field_offsets():
    assert BATCH_HEADER_SIZE == 61
    layout = [
        ("BASE_OFFSET_OFFSET", "q"), ("BATCH_LENGTH_OFFSET", "i"),
        ("PARTITION_LEADER_EPOCH_OFFSET", "i"), ("MAGIC_OFFSET", "b"), ("CRC_OFFSET", "I"),
        ("ATTRIBUTES_OFFSET", "h"), ("LAST_OFFSET_DELTA_OFFSET", "i"),
        ("BASE_TIMESTAMP_OFFSET", "q"), ("MAX_TIMESTAMP_OFFSET", "q"),
        ("PRODUCER_ID_OFFSET", "q"), ("PRODUCER_EPOCH_OFFSET", "h"),
        ("BASE_SEQUENCE_OFFSET", "i"), ("RECORDS_COUNT_OFFSET", "i"),
    ]
    fmt = ">"
    for name, code in layout:
        assert getattr(rec, name) == struct.calcsize(fmt), name
        fmt += code
    assert struct.calcsize(fmt) == rec.RECORDS_OFFSET == BATCH_HEADER_SIZE
    assert rec.LOG_OVERHEAD == 12 and rec.MIN_BATCH_LENGTH == 49


def test_build_then_parse_header_fields():
    batch = sample_batch(
        base_offset=1234, partition_leader_epoch=7, producer_id=99, producer_epoch=3,
        base_sequence=42,
    )
    header = parse_batch_header(batch)
    assert header == BatchHeader(
        base_offset=1234, batch_length=len(batch) - 12, partition_leader_epoch=7, magic=2,
        crc=header.crc, attributes=0, last_offset_delta=3, base_timestamp=BASE_TS,
        max_timestamp=BASE_TS + 100, producer_id=99, producer_epoch=3, base_sequence=42,
        records_count=4,
    )
    assert header.crc == crc32c(batch[21:])


def test_header_properties():
    header = parse_batch_header(
        sample_batch(base_offset=10, compression=Compression.GZIP, transactional=True,
                     producer_id=5, producer_epoch=0, base_sequence=0)
    )
    assert header.compression == Compression.GZIP
    assert header.timestamp_type == TimestampType.CREATE_TIME
    assert header.is_transactional and not header.is_control
    assert header.last_offset == 13
    assert header.next_offset == 14
    assert header.size == header.batch_length + 12


@pytest.mark.parametrize("codec", list(range(8)))
def test_compression_property_reads_bits_0_to_2(codec):
    header = attrs.evolve(parse_batch_header(sample_batch()), attributes=0x38 | codec)
    assert header.compression == codec
    assert header.timestamp_type == 1 and header.is_transactional and header.is_control


def test_header_is_frozen():
    header = parse_batch_header(sample_batch())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        header.base_offset = 5  # type: ignore[misc]


def test_parse_header_at_nonzero_position():
    batch = sample_batch(base_offset=77)
    assert parse_batch_header(b"junk" + batch, 4).base_offset == 77


@pytest.mark.parametrize("magic", [0, 1, 3, -1])
def test_parse_rejects_other_magic_naming_it(magic):
    batch = bytearray(sample_batch())
    batch[16] = magic & 0xFF
    with pytest.raises(UnsupportedMagicError, match=f"magic {magic}") as info:
        parse_batch_header(batch)
    assert info.value.magic == magic
    assert isinstance(info.value, DecodeError)


def test_parse_reports_old_magic_even_when_shorter_than_a_v2_header():
    # A magic-1 message with an empty key and value is 34 bytes with its log overhead.
    legacy = struct.pack(">qiIbbqii", 0, 22, 0, 1, 0, 0, -1, -1)
    assert len(legacy) == 34
    with pytest.raises(UnsupportedMagicError, match="magic 1"):
        parse_batch_header(legacy)
    with pytest.raises(UnsupportedMagicError):
        list(iter_batches(legacy))


def test_parse_short_header_is_corrupt():
    batch = sample_batch()
    with pytest.raises(CorruptBatchError, match="truncated: 60 of 61"):
        parse_batch_header(batch[:60])


@pytest.mark.parametrize("batch_length", [-1, 0, 48])
def test_parse_batch_length_below_minimum_is_corrupt(batch_length):
    batch = bytearray(sample_batch())
    struct.pack_into(">i", batch, 8, batch_length)
    with pytest.raises(CorruptBatchError, match=f"batch_length {batch_length}"):
        parse_batch_header(batch)
    with pytest.raises(CorruptBatchError):
        list(iter_batches(batch))


def test_parse_batch_length_past_end_is_corrupt():
    batch = sample_batch()
    with pytest.raises(CorruptBatchError, match=f"declares {len(batch)} bytes but only"):
        parse_batch_header(batch[:-1])


def test_header_errors_are_decode_errors():
    assert issubclass(CorruptBatchError, DecodeError)
    assert issubclass(UnsupportedMagicError, DecodeError)
    assert issubclass(UnsupportedCompressionError, DecodeError)


# -- every decoder fed three ways ------------------------------------------------------------


def test_parse_header_fed_whole_bytewise_and_with_trailing_bytes():
    batch = sample_batch()
    for cut in range(len(batch)):
        with pytest.raises(CorruptBatchError):
            parse_batch_header(memoryview(batch)[:cut])
    whole = parse_batch_header(batch)
    trailing = bytearray(batch + b"\x00trailing")
    before = bytes(trailing)
    assert parse_batch_header(trailing) == whole
    assert bytes(trailing) == before


def test_iter_batches_fed_one_byte_at_a_time_yields_nothing_until_the_last_byte():
    batch = sample_batch()
    for cut in range(len(batch)):
        assert list(iter_batches(memoryview(batch)[:cut])) == []
    assert [pos for pos, _ in iter_batches(batch)] == [0]


def test_iter_batches_with_trailing_bytes_leaves_them():
    batch = sample_batch()
    buf = bytearray(batch + b"\x01\x02\x03")
    before = bytes(buf)
    assert [(pos, h.size) for pos, h in iter_batches(buf)] == [(0, len(batch))]
    assert bytes(buf) == before


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


# -- record sets -----------------------------------------------------------------------------


def three_batches() -> list[bytes]:
    return [
        build_batch([(b"a", b"1")], base_offset=0, base_timestamp=BASE_TS),
        sample_batch(base_offset=1, compression=Compression.GZIP),
        build_batch([(b"c", b"3"), (b"d", b"4")], base_offset=5, base_timestamp=BASE_TS),
    ]


def test_iter_batches_yields_each_batch_position_and_header():
    batches = three_batches()
    record_set = b"".join(batches)
    found = list(iter_batches(record_set))
    positions = [0, len(batches[0]), len(batches[0]) + len(batches[1])]
    assert [pos for pos, _ in found] == positions
    assert [h.base_offset for _, h in found] == [0, 1, 5]
    assert all(batch_crc_ok(record_set, pos, h) for pos, h in found)


def test_iter_batches_of_empty_record_set_yields_nothing():
    assert list(iter_batches(b"")) == []
    assert scan_batches(b"") == rec.BatchScan(batches=(), valid_bytes=0, partial_tail=False)


def test_scan_batches_at_every_cut_point():
    batches = three_batches()
    record_set = b"".join(batches)
    boundaries = [0]
    for batch in batches:
        boundaries.append(boundaries[-1] + len(batch))
    for cut in range(len(record_set) + 1):
        scan = scan_batches(memoryview(record_set)[:cut])
        whole = [b for b in boundaries[1:] if b <= cut]
        assert len(scan.batches) == len(whole)
        assert scan.valid_bytes == (whole[-1] if whole else 0)
        assert scan.partial_tail == (cut not in boundaries)


def test_iter_batches_raises_at_malformed_batch_after_yielding_good_ones():
    good = sample_batch()
    bad = bytearray(sample_batch())
    bad[16] = 1
    gen = iter_batches(good + bytes(bad))
    assert next(gen)[0] == 0
    with pytest.raises(UnsupportedMagicError):
        next(gen)


# -- CRC -------------------------------------------------------------------------------------


def test_crc_ok_on_built_batch_in_every_buffer_type():
    batch = sample_batch()
    header = parse_batch_header(batch)
    for buf in (batch, bytearray(batch), memoryview(batch), memoryview(bytearray(batch))):
        assert batch_crc_ok(buf, 0, header)


def test_crc_detects_every_single_flipped_bit_in_covered_range():
    batch = build_batch([(b"k", b"v"), (None, b"xy")], base_timestamp=BASE_TS)
    header = parse_batch_header(batch)
    buf = bytearray(batch)
    for byte in range(ATTRIBUTES_OFFSET, len(buf)):
        for bit in range(8):
            buf[byte] ^= 1 << bit
            assert not batch_crc_ok(buf, 0, header), (byte, bit)
            buf[byte] ^= 1 << bit
    assert batch_crc_ok(buf, 0, header)


def test_crc_detects_a_changed_crc_field():
    batch = sample_batch()
    header = parse_batch_header(batch)
    for bit in range(32):
        assert not batch_crc_ok(batch, 0, attrs.evolve(header, crc=header.crc ^ (1 << bit)))


def test_crc_does_not_cover_base_offset_or_leader_epoch():
    buf = bytearray(sample_batch())
    for byte in range(0, 16):
        if 8 <= byte < 12:
            continue  # batch_length: changing it changes the covered range
        buf[byte] ^= 0xFF
    assert batch_crc_ok(buf, 0, parse_batch_header(buf))


def test_crc_of_batch_inside_larger_buffer():
    batch = sample_batch()
    buf = bytearray(b"prefix" + batch + b"suffix")
    assert batch_crc_ok(buf, 6, parse_batch_header(buf, 6))


# -- in-place patches ------------------------------------------------------------------------


def test_patch_base_offset_keeps_crc_valid():
    buf = bytearray(sample_batch())
    patch_base_offset(buf, 0, 2**40 + 5)
    header = parse_batch_header(buf)
    assert header.base_offset == 2**40 + 5
    assert header.next_offset == 2**40 + 9
    assert batch_crc_ok(buf, 0, header)


def test_patch_partition_leader_epoch_keeps_crc_valid():
    buf = bytearray(sample_batch())
    patch_partition_leader_epoch(buf, 0, 12)
    header = parse_batch_header(buf)
    assert header.partition_leader_epoch == 12
    assert batch_crc_ok(buf, 0, header)


def test_patches_touch_only_their_field_in_a_writable_memoryview():
    first, second = sample_batch(), sample_batch(base_offset=4)
    buf = bytearray(first + second)
    view = memoryview(buf)
    before = bytes(buf)
    pos = len(first)
    patch_base_offset(view, pos, 100)
    patch_partition_leader_epoch(view, pos, 3)
    changed = [i for i in range(len(buf)) if buf[i] != before[i]]
    assert all(pos <= i < pos + 16 for i in changed)
    assert [h.base_offset for _, h in iter_batches(buf)] == [0, 100]
    assert all(batch_crc_ok(buf, p, h) for p, h in iter_batches(buf))


def test_patch_on_read_only_buffer_raises():
    with pytest.raises(TypeError):
        patch_base_offset(sample_batch(), 0, 1)


def test_set_log_append_time_sets_bit_max_timestamp_and_crc():
    buf = bytearray(sample_batch(compression=Compression.GZIP, transactional=True,
                                 producer_id=1, producer_epoch=0, base_sequence=0))
    set_log_append_time(buf, 0, BASE_TS + 99_999)
    header = parse_batch_header(buf)
    assert header.timestamp_type == TimestampType.LOG_APPEND_TIME
    assert header.max_timestamp == BASE_TS + 99_999
    assert header.base_timestamp == BASE_TS  # Kafka leaves base_timestamp alone
    assert header.compression == Compression.GZIP and header.is_transactional
    assert batch_crc_ok(buf, 0, header)
    records = decode_records(buf)
    assert records == SAMPLE  # records are not rewritten
    assert {record_timestamp(header, r) for r in records} == {BASE_TS + 99_999}


def test_set_log_append_time_read_by_kafka_python():
    buf = bytearray(sample_batch())
    set_log_append_time(buf, 0, BASE_TS + 7)
    batch = DefaultRecordBatch(bytes(buf))
    assert batch.validate_crc()
    assert batch.timestamp_type == 1
    assert [r.timestamp for r in batch] == [BASE_TS + 7] * len(SAMPLE)


def test_set_log_append_time_inside_larger_buffer_leaves_neighbours():
    first, second = sample_batch(), sample_batch(base_offset=4)
    buf = bytearray(first + second)
    set_log_append_time(memoryview(buf), len(first), 5)
    assert bytes(buf[: len(first)]) == first
    headers = [h for _, h in iter_batches(buf)]
    assert [h.timestamp_type for h in headers] == [0, 1]
    assert all(batch_crc_ok(buf, p, h) for p, h in iter_batches(buf))


def test_set_log_append_time_is_a_no_op_when_already_set_to_that_time():
    # As Kafka's setMaxTimestamp: nothing is written, not even the CRC.
    buf = bytearray(sample_batch())
    set_log_append_time(buf, 0, 5)
    buf[CRC_OFFSET] ^= 0xFF  # would be repaired if the CRC were recomputed
    before = bytes(buf)
    set_log_append_time(buf, 0, 5)
    assert bytes(buf) == before
    set_log_append_time(buf, 0, 6)
    assert batch_crc_ok(buf, 0, parse_batch_header(buf))


# -- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [Compression.NONE, Compression.GZIP])
def test_build_decode_round_trip(compression):
    assert decode_records(sample_batch(compression=compression)) == SAMPLE


def test_gzip_batch_is_actually_compressed():
    plain, gzipped = sample_batch(), sample_batch(compression=Compression.GZIP)
    assert parse_batch_header(gzipped).compression == Compression.GZIP
    assert len(gzipped) < len(plain)
    assert zlib.decompress(gzipped[RECORDS_OFFSET:], 31)  # a gzip stream


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


@pytest.mark.parametrize("codec", [5, 6, 7, 8])
def test_build_rejects_unknown_codec_id(codec):
    with pytest.raises(UnsupportedCompressionError, match=f"unknown codec id {codec}"):
        build_batch([(b"k", b"v")], base_timestamp=0, compression=codec)


@pytest.mark.parametrize("codec", [5, 6, 7])
def test_decode_rejects_unknown_codec_id(codec):
    batch = set_attributes(sample_batch(), codec)
    with pytest.raises(CorruptBatchError, match=f"unknown compression codec id {codec}"):
        decode_records(batch)


def test_decode_records_at_nonzero_position():
    batches = three_batches()
    record_set = b"".join(batches)
    decoded = [decode_records(record_set, pos) for pos, _ in iter_batches(record_set)]
    assert decoded[1] == SAMPLE
    assert [r.key for r in decoded[2]] == [b"c", b"d"]


# -- malformed records -----------------------------------------------------------------------


def records_section(batch: bytes) -> bytes:
    return batch[RECORDS_OFFSET:]


def test_records_section_cut_at_every_point_is_corrupt():
    batch = sample_batch()
    section = records_section(batch)
    for cut in range(len(section)):
        with pytest.raises(CorruptBatchError):
            decode_records(with_records_section(batch, section[:cut]))


def test_gzip_section_cut_at_every_point_is_corrupt():
    batch = sample_batch(compression=Compression.GZIP)
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


def test_truncated_gzip_stream_is_corrupt():
    batch = build_batch([(b"k", b"v" * 100)], base_timestamp=0)
    stream = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = stream.compress(records_section(batch)) + stream.flush()
    gz = set_attributes(with_records_section(batch, data[:-9]), Compression.GZIP)
    with pytest.raises(CorruptBatchError, match="gzip"):
        decode_records(gz)


def test_garbage_gzip_data_is_corrupt():
    batch = set_attributes(build_batch([(b"k", b"v")], base_timestamp=0), Compression.GZIP)
    with pytest.raises(CorruptBatchError, match="gzip data does not decompress"):
        decode_records(batch)


def test_concatenated_gzip_members_decode():
    batch = sample_batch()
    section = records_section(batch)

    def gzip_member(data: bytes) -> bytes:
        stream = zlib.compressobj(6, zlib.DEFLATED, 31)
        return stream.compress(data) + stream.flush()

    two = gzip_member(section[:40]) + gzip_member(section[40:])
    assert decode_records(set_attributes(with_records_section(batch, two), 1)) == SAMPLE


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


# -- optional codecs -------------------------------------------------------------------------


def fake_module(monkeypatch, name, **attributes):
    module = types.ModuleType(name)
    for attr, value in attributes.items():
        setattr(module, attr, value)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def block_missing(monkeypatch, *names):
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail


@pytest.mark.parametrize(
    ("codec", "name", "modules"),
    [
        (Compression.SNAPPY, "snappy", ["snappy"]),
        (Compression.LZ4, "lz4", ["lz4.frame"]),
        (Compression.ZSTD, "zstd", ["compression.zstd", "zstandard"]),
    ],
)
def test_missing_codec_module_raises_unsupported_compression(monkeypatch, codec, name, modules):
    block_missing(monkeypatch, *modules)
    batch = set_attributes(sample_batch(), codec)
    with pytest.raises(UnsupportedCompressionError, match=f"cannot handle {name}") as info:
        decode_records(batch)
    assert info.value.codec == codec
    with pytest.raises(UnsupportedCompressionError, match=name):
        build_batch([(b"k", b"v")], base_timestamp=0, compression=codec)


def reversing_snappy(monkeypatch):
    # Stands in for python-snappy: a reversible transform, so the framing can be checked.
    return fake_module(
        monkeypatch, "snappy",
        compress=lambda data: b"S" + bytes(data)[::-1],
        decompress=lambda data: bytes(data)[1:][::-1],
    )


def test_snappy_is_written_in_xerial_framing_with_32k_blocks(monkeypatch):
    reversing_snappy(monkeypatch)
    records = [Record(0, 0, None, bytes(range(256)) * 300)]  # > 64 KiB of records
    batch = build_batch(records, base_timestamp=0, compression=Compression.SNAPPY)
    section = records_section(batch)
    assert section[:16] == b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    pos, blocks = 16, []
    while pos < len(section):
        (length,) = struct.unpack_from(">i", section, pos)
        blocks.append(section[pos + 4 : pos + 4 + length])
        pos += 4 + length
    assert [len(b) - 1 for b in blocks[:-1]] == [32 * 1024] * (len(blocks) - 1)
    assert len(blocks) == 3
    assert decode_records(batch) == records


def test_snappy_raw_stream_without_xerial_framing_decodes(monkeypatch):
    snappy = reversing_snappy(monkeypatch)
    batch = sample_batch()
    raw = set_attributes(
        with_records_section(batch, snappy.compress(records_section(batch))), 2
    )
    assert decode_records(raw) == SAMPLE


def test_snappy_xerial_block_past_end_is_corrupt(monkeypatch):
    reversing_snappy(monkeypatch)
    batch = sample_batch(compression=Compression.SNAPPY)
    section = records_section(batch)
    with pytest.raises(CorruptBatchError, match="xerial"):
        decode_records(with_records_section(batch, section[:-1]))


def test_lz4_frames_have_independent_blocks(monkeypatch):
    calls = []

    def compress(data, **kwargs):
        calls.append(kwargs)
        return b"L" + data

    fake_module(monkeypatch, "lz4.frame", compress=compress, decompress=lambda d: d[1:])
    batch = sample_batch(compression=Compression.LZ4)
    assert calls == [{"block_linked": False}]
    assert decode_records(batch) == SAMPLE


def test_codec_library_errors_become_corrupt_batch(monkeypatch):
    def decompress(data):
        raise RuntimeError("bad lz4 frame")

    fake_module(monkeypatch, "lz4.frame", compress=lambda d, **k: d, decompress=decompress)
    with pytest.raises(CorruptBatchError, match="lz4 data does not decompress"):
        decode_records(set_attributes(sample_batch(), Compression.LZ4))


# Real codecs, when their modules are installed (they are optional dependencies).
REAL_CODECS = [
    pytest.param(Compression.SNAPPY, "snappy", id="snappy"),
    pytest.param(Compression.LZ4, "lz4.frame", id="lz4"),
    pytest.param(Compression.ZSTD, "zstandard", id="zstd"),
]


@pytest.mark.parametrize(("codec", "module"), REAL_CODECS)
def test_real_codec_round_trip_and_kafka_python_cross_check(codec, module):
    # The codec modules are pinned test dependencies: a missing one is a failure, not a skip.
    importlib.import_module(module)
    ours = sample_batch(compression=codec)
    assert decode_records(ours) == SAMPLE
    assert [(r.key, r.value) for r in DefaultRecordBatch(ours)] == [
        (r.key, r.value) for r in SAMPLE
    ]
    theirs = kp_build(
        [(i, BASE_TS, b"k%d" % i, b"value" * 50, []) for i in range(5)], compression=codec
    )
    assert parse_batch_header(theirs).compression == codec
    assert [r.value for r in decode_records(theirs)] == [b"value" * 50] * 5


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


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_property_arbitrary_record_set_raises_only_decode_errors(data):
    try:
        scan = scan_batches(data)
    except DecodeError:
        return
    assert scan.valid_bytes <= len(data)
