"""RecordBatch v2 framing: header parsing, record sets, CRC, in-place patches.

Cross-checked against kafka-python's ``kafka.record.default_records`` reader.
"""

from __future__ import annotations

import struct

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatch

from kafkalite.wire import batch as batch_module
from kafkalite.wire.batch import (
    ATTRIBUTES_OFFSET,
    BATCH_HEADER_SIZE,
    CRC_OFFSET,
    BatchHeader,
    BatchScan,
    CorruptBatchError,
    TimestampType,
    UnsupportedMagicError,
    batch_crc_ok,
    iter_batches,
    parse_batch_header,
    patch_base_offset,
    patch_partition_leader_epoch,
    scan_batches,
    set_log_append_time,
)
from kafkalite.wire.compression import Compression, UnsupportedCompressionError
from kafkalite.wire.crc32c import crc32c
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.records import build_batch, decode_records, record_timestamp

from .helpers import BASE_TS, SAMPLE, sample_batch, three_batches


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
        assert getattr(batch_module, name) == struct.calcsize(fmt), name
        fmt += code
    assert struct.calcsize(fmt) == batch_module.RECORDS_OFFSET == BATCH_HEADER_SIZE
    assert batch_module.LOG_OVERHEAD == 12 and batch_module.MIN_BATCH_LENGTH == 49


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


# -- record sets -----------------------------------------------------------------------------


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
    assert scan_batches(b"") == BatchScan(batches=(), valid_bytes=0, partial_tail=False)


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


# -- property tests --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_property_arbitrary_record_set_raises_only_decode_errors(data):
    try:
        scan = scan_batches(data)
    except DecodeError:
        return
    assert scan.valid_bytes <= len(data)
