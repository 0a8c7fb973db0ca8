"""Segment files, Kafka's index formats, and rolling."""

from __future__ import annotations

import struct
import time

from kafkalite.storage import LogConfig, PartitionLog
from kafkalite.wire.batch import iter_batches

from .helpers import batch, batches_in


def _names(path):
    return sorted(p.name for p in path.iterdir())


def test_segment_files_are_named_by_20_digit_base_offset(tmp_path):
    size = len(batch(1))
    log = PartitionLog.open(tmp_path / "t-3", LogConfig(segment_bytes=size * 2))
    for _ in range(5):
        log.append(batch(1))
    log.close()
    names = _names(tmp_path / "t-3")
    for base in (0, 2, 4):
        for suffix in (".log", ".index", ".timeindex"):
            assert f"{base:020d}{suffix}" in names


def test_log_file_is_the_concatenated_batches(tmp_path):
    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    for i in range(3):
        log.append(batch(2, tag=i))
    log.close()
    data = (tmp_path / "t-0" / f"{0:020d}.log").read_bytes()
    assert [h.base_offset for _, h in iter_batches(data)] == [0, 2, 4]
    assert len(data) == 3 * len(batch(2))


def test_offset_index_is_sparse_kafka_format(tmp_path):
    size = len(batch(1, value_size=100))
    log = PartitionLog.open(tmp_path / "t-0", LogConfig(index_interval_bytes=size * 2))
    for _ in range(20):
        log.append(batch(1, value_size=100))
    log.close()
    raw = (tmp_path / "t-0" / f"{0:020d}.index").read_bytes()
    entries = list(struct.iter_unpack(">ii", raw))
    # An entry once more than index.interval.bytes were written since the last (Kafka's rule):
    # the batch's last offset (relative) and its position.
    assert entries[:3] == [(3, 3 * size), (6, 6 * size), (9, 9 * size)]
    times = list(struct.iter_unpack(">qi", (tmp_path / "t-0" / f"{0:020d}.timeindex").read_bytes()))
    assert times == [(1000, 0)]  # all batches share one timestamp: reached at offset 0


def test_roll_when_segment_would_exceed_segment_bytes(open_log):
    size = len(batch(1))
    log = open_log(LogConfig(segment_bytes=size * 3))
    for _ in range(7):
        log.append(batch(1))
    assert log.segment_base_offsets == [0, 3, 6]


def test_batch_larger_than_segment_bytes_gets_its_own_segment(open_log):
    log = open_log(LogConfig(segment_bytes=100))
    log.append(batch(1, value_size=500))
    log.append(batch(1, value_size=500))
    assert log.segment_base_offsets == [0, 1]
    assert [b[0] for b in batches_in(log.read(0, 1 << 20))] == [0, 1]


def test_roll_by_segment_ms_uses_batch_timestamps(open_log):
    log = open_log(LogConfig(segment_ms=1000))
    log.append(batch(1, timestamp=10_000))
    log.append(batch(1, timestamp=10_900))
    assert log.segment_count == 1
    log.append(batch(1, timestamp=11_001))
    assert log.segment_base_offsets == [0, 2]


def test_roll_by_segment_ms_uses_clock_without_timestamps(open_log):
    log = open_log(LogConfig(segment_ms=1000), now_ms=5_000)
    log.append(batch(1, timestamp=-1), now_ms=5_000)
    log.append(batch(1, timestamp=-1), now_ms=6_000)
    assert log.segment_count == 1
    log.append(batch(1, timestamp=-1), now_ms=6_001)
    assert log.segment_base_offsets == [0, 2]


def test_roll_when_offset_index_is_full(open_log):
    # 16 bytes of index: 2 offset entries (8 bytes) and 1 time entry (12 bytes).
    log = open_log(LogConfig(index_interval_bytes=0, segment_index_bytes=16))
    for i in range(6):
        log.append(batch(1, timestamp=1000 + i))
    # time index full after the second batch (its first entry): roll before the third.
    assert log.segment_base_offsets == [0, 2, 4]


def test_explicit_roll_and_empty_roll_is_a_no_op(open_log):
    log = open_log()
    log.roll()
    assert log.segment_count == 1
    log.append(batch(1))
    log.roll()
    log.roll()
    assert log.segment_base_offsets == [0, 1]
    log.append(batch(1))
    assert [b[0] for b in batches_in(log.read(0, 1000))] == [0, 1]


def test_update_config_applies_to_next_append(open_log):
    size = len(batch(1))
    log = open_log()
    for _ in range(3):
        log.append(batch(1))
    log.update_config(LogConfig(segment_bytes=size * 3))
    log.append(batch(1))
    assert log.segment_base_offsets == [0, 3]


def test_reads_through_sparse_index_find_every_offset(open_log):
    log = open_log(LogConfig(index_interval_bytes=200, segment_bytes=3000))
    expected = []
    for i in range(60):
        info = log.append(batch(1 + i % 4, tag=i))
        expected.append((info.base_offset, info.last_offset))
    log.close()
    log = open_log(LogConfig(index_interval_bytes=200, segment_bytes=3000))
    for base, last in expected:
        for offset in range(base, last + 1):
            assert batches_in(log.read(offset, 1))[0][:2] == (base, last)


def test_segment_times_give_each_segments_base_size_and_modification_time(open_log):
    # ListOffsets v0 answers from these (Kafka's legacyFetchOffsetsBefore).
    log = open_log()
    log.append(batch(2))
    log.roll()
    before = time.time_ns() // 1_000_000
    log.append(batch(3))
    after = time.time_ns() // 1_000_000
    (first, first_size, first_modified), (second, second_size, second_modified) = log.segment_times
    assert (first, second) == (0, 2)
    assert first_size == len(batch(2)) and second_size == len(batch(3))
    assert first_modified <= second_modified
    assert before - 1000 <= second_modified <= after + 1000  # file systems keep coarse mtimes
    log.roll()
    assert log.segment_times[-1][:2] == (5, 0)
