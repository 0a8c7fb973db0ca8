"""PartitionLog and MemoryLog basics: append, read, offsets, timestamps, epochs."""

from __future__ import annotations

import pytest

from kafkalite.storage import LogConfig, MemoryLog, OffsetOutOfRange
from kafkalite.wire.batch import CorruptBatchError, iter_batches, parse_batch_header
from kafkalite.wire.records import build_batch

from .helpers import batch, batches_in


def test_empty_log_offsets(open_log):
    log = open_log()
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark) == (0, 0, 0)
    assert log.max_timestamp == (-1, -1)
    assert log.read(0, 1000) == []


def test_append_assigns_consecutive_offsets(open_log):
    log = open_log()
    first = log.append(batch(3, timestamp=100))
    second = log.append(batch(2, timestamp=200))
    assert (first.base_offset, first.last_offset) == (0, 2)
    assert (second.base_offset, second.last_offset) == (3, 4)
    assert second.max_timestamp == 201 and second.offset_of_max_timestamp == 4
    assert log.log_end_offset == log.high_watermark == 5


def test_append_patches_base_offset_and_leader_epoch_and_keeps_crc(open_log):
    log = open_log()
    log.append(batch(2))
    log.append(batch(1), leader_epoch=7)
    data = b"".join(log.read(2, 1 << 20))
    header = parse_batch_header(data)
    assert header.base_offset == 2 and header.partition_leader_epoch == 7
    assert header.crc == parse_batch_header(batch(1)).crc


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_append_accepts_bytes_bytearray_and_memoryview(open_log, kind):
    log = open_log()
    log.append(kind(batch(1, tag=1)))
    log.append(kind(batch(2, tag=2) + batch(3, tag=3)))
    assert [b[:2] for b in batches_in(log.read(0, 1 << 20))] == [(0, 0), (1, 2), (3, 5)]


def test_append_patches_a_bytearray_in_place_and_leaves_bytes_alone(open_log):
    log = open_log()
    log.append(batch(1))
    original = batch(1)
    log.append(original)
    assert parse_batch_header(original).base_offset == 0
    writable = bytearray(batch(1))
    log.append(writable)
    assert parse_batch_header(writable).base_offset == 2


def test_append_rejects_partial_batches(open_log):
    log = open_log()
    with pytest.raises(CorruptBatchError):
        log.append(batch(1)[:-1])
    with pytest.raises(CorruptBatchError):
        log.append(b"")
    assert log.log_end_offset == 0


def test_log_append_time_stamps_batches(open_log):
    log = open_log()
    info = log.append(batch(2, timestamp=5), log_append_time_ms=9_999)
    assert info.max_timestamp == 9_999
    header = parse_batch_header(b"".join(log.read(0, 1000)))
    assert header.timestamp_type == 1 and header.max_timestamp == 9_999
    assert log.max_timestamp == (9_999, 1)


def test_read_out_of_range_raises(open_log):
    log = open_log()
    log.append(batch(2))
    with pytest.raises(OffsetOutOfRange):
        log.read(3, 100)
    with pytest.raises(OffsetOutOfRange):
        log.read(-1, 100)
    assert log.read(2, 100) == []


def test_read_starts_at_the_batch_containing_the_offset(open_log):
    log = open_log()
    for _ in range(5):
        log.append(batch(3))
    assert batches_in(log.read(7, 1 << 20))[0][:2] == (6, 8)
    assert batches_in(log.read(6, 1 << 20))[0][:2] == (6, 8)
    assert batches_in(log.read(8, 1 << 20))[0][:2] == (6, 8)


def test_read_returns_the_first_batch_whole_even_above_max_bytes(open_log):
    log = open_log()
    log.append(batch(1, value_size=5000))
    log.append(batch(1))
    got = batches_in(log.read(0, 10))
    assert len(got) == 1 and got[0][3] > 5000


def test_read_stays_within_max_bytes(open_log):
    log = open_log()
    for _ in range(10):
        log.append(batch(1, value_size=100))
    size = len(batch(1, value_size=100))
    views = log.read(0, 3 * size + size // 2)
    assert sum(len(v) for v in views) == 3 * size
    assert [b[0] for b in batches_in(views)] == [0, 1, 2]


def test_read_stops_before_max_offset(open_log):
    log = open_log()
    for _ in range(5):
        log.append(batch(2))
    assert [b[0] for b in batches_in(log.read(0, 1 << 20, max_offset=5))] == [0, 2, 4]
    assert log.read(6, 1 << 20, max_offset=6) == []


def test_read_continues_across_segments(open_log):
    size = len(batch(1, value_size=100))
    log = open_log(LogConfig(segment_bytes=size * 3))
    for _ in range(10):
        log.append(batch(1, value_size=100))
    assert log.segment_count == 4
    assert [b[0] for b in batches_in(log.read(1, 1 << 20))] == list(range(1, 10))
    assert [b[0] for b in batches_in(log.read(2, size * 4))] == [2, 3, 4, 5]


def test_batches_from_yields_every_batch_from_the_offset(open_log):
    log = open_log(LogConfig(segment_bytes=300))
    for i in range(12):
        log.append(batch(2, tag=i))
    got = [(h.base_offset, len(view)) for h, view in log.batches_from(5)]
    assert [o for o, _ in got] == list(range(4, 24, 2))
    assert all(n == h for (_, n), h in zip(got, [len(batch(2))] * 10))


def test_max_timestamp_is_the_batch_with_the_largest_timestamp(open_log):
    log = open_log(LogConfig(segment_bytes=300))
    for ts in [100, 500, 300, 500, 200]:
        log.append(batch(2, timestamp=ts))
    assert log.max_timestamp == (501, 3)  # the first batch reaching 501; its last offset
    log.close()
    assert open_log(LogConfig(segment_bytes=300)).max_timestamp == (501, 3)


def test_offset_for_timestamp_finds_first_batch_at_or_after(open_log):
    log = open_log(LogConfig(segment_bytes=400, index_interval_bytes=0))
    for ts in range(0, 3000, 100):
        log.append(batch(2, timestamp=ts))  # max timestamps ts + 1
    assert log.offset_for_timestamp(0) == (0, 1)
    assert log.offset_for_timestamp(1001) == (20, 1001)
    assert log.offset_for_timestamp(1002) == (22, 1101)
    assert log.offset_for_timestamp(2901) == (58, 2901)
    assert log.offset_for_timestamp(2902) is None


def test_offset_for_timestamp_with_timestamps_out_of_order(open_log):
    log = open_log(LogConfig(index_interval_bytes=0))
    for ts in [50, 10, 70, 20, 90]:
        log.append(batch(1, timestamp=ts))
    assert log.offset_for_timestamp(60) == (2, 70)
    assert log.offset_for_timestamp(80) == (4, 90)
    assert log.offset_for_timestamp(15) == (0, 50)


def test_leader_epoch_end_offset(open_log):
    log = open_log()
    assert log.leader_epoch_end_offset(0) == (0, 0)
    log.append(batch(3))
    assert log.leader_epoch_end_offset(0) == (0, 3)
    assert log.leader_epoch_end_offset(5) == (0, 3)
    log.append(batch(2), leader_epoch=2)
    log.append(batch(2), leader_epoch=4)
    assert log.leader_epochs == [(0, 0), (2, 3), (4, 5)]
    assert log.leader_epoch_end_offset(0) == (0, 3)
    assert log.leader_epoch_end_offset(1) == (0, 3)
    assert log.leader_epoch_end_offset(3) == (2, 5)
    assert log.leader_epoch_end_offset(4) == (4, 7)
    assert log.leader_epoch_end_offset(-1) == (-1, -1)
    log.close()
    assert open_log().leader_epoch_end_offset(3) == (2, 5)


def test_leader_epochs_recovered_from_active_segment_without_checkpoint(tmp_path):
    from kafkalite.storage import PartitionLog

    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    log.append(batch(1))
    log.append(batch(1), leader_epoch=3)
    log.close()
    (tmp_path / "t-0" / "leader-epoch-checkpoint").unlink()
    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    assert log.leader_epochs == [(0, 0), (3, 1)]
    log.close()


def test_memory_log_default_construction():
    log = MemoryLog()
    log.append(batch(1))
    assert batches_in(log.read(0, 100))[0][0] == 0
    log.close()


def test_closed_log_refuses_calls(open_log):
    log = open_log()
    log.close()
    log.close()
    with pytest.raises(ValueError):
        log.append(batch(1))


def test_multi_batch_append_returns_whole_range(open_log):
    log = open_log()
    records = b"".join(batch(2, timestamp=t) for t in (10, 30, 20))
    info = log.append(records)
    assert (info.base_offset, info.last_offset) == (0, 5)
    assert (info.max_timestamp, info.offset_of_max_timestamp) == (31, 3)
    assert [h.base_offset for _, h in iter_batches(b"".join(log.read(0, 1 << 20)))] == [0, 2, 4]


def test_build_batch_roundtrip_is_stored_byte_for_byte(open_log):
    log = open_log()
    raw = build_batch([(b"a", b"b")], base_timestamp=42)
    log.append(raw)
    assert bytes(b"".join(log.read(0, 1000))) == raw  # base offset 0, epoch 0: unchanged
