"""Retention (time, size), DeleteRecords, and offsets never reused."""

from __future__ import annotations

import pytest

from kafkalite.storage import LogConfig, OffsetOutOfRange

from .helpers import batch, batches_in

SIZE = len(batch(1))


def _fill(log, n, timestamp=1000):
    for i in range(n):
        log.append(batch(1, timestamp=timestamp + i))


def test_retention_ms_deletes_old_closed_segments(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=1000))
    _fill(log, 6, timestamp=1000)  # segments [0,1] [2,3] [4,5]; max ts 1001 1003 1005
    assert log.apply_retention(now_ms=2002) == 1
    assert log.log_start_offset == 2 and log.segment_base_offsets == [2, 4]
    assert log.apply_retention(now_ms=2003) == 0
    with pytest.raises(OffsetOutOfRange):
        log.read(1, 100)


def test_retention_ms_rolls_and_deletes_an_expired_active_segment(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=1000))
    _fill(log, 5)
    assert log.apply_retention(now_ms=1_000_000) == 3
    assert log.segment_base_offsets == [5]
    assert (log.log_start_offset, log.log_end_offset) == (5, 5)
    assert log.append(batch(1)).base_offset == 5


def test_retention_minus_one_keeps_everything(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE, retention_ms=-1))
    _fill(log, 4, timestamp=0)
    assert log.apply_retention(now_ms=10**12) == 0


def test_retention_bytes_deletes_oldest_while_log_stays_above_limit(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=-1, retention_bytes=SIZE * 3))
    _fill(log, 7)  # 4 segments: 2+2+2+1 batches = 7 * SIZE
    assert log.apply_retention(now_ms=0) == 2
    assert log.segment_base_offsets == [4, 6]
    assert log.size_in_bytes == SIZE * 3


def test_retention_bytes_zero_empties_the_log_but_keeps_offsets(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=-1, retention_bytes=0))
    _fill(log, 3)
    assert log.apply_retention(now_ms=0) == 2
    assert (log.log_start_offset, log.log_end_offset) == (3, 3)
    assert log.read(3, 100) == []


def test_offsets_never_reused_after_everything_is_deleted_and_reopened(open_log):
    config = LogConfig(segment_bytes=SIZE * 2, retention_ms=10)
    log = open_log(config)
    _fill(log, 5)
    log.apply_retention(now_ms=10**9)
    assert log.log_end_offset == 5
    log.close()
    log = open_log(config)
    assert (log.log_start_offset, log.log_end_offset) == (5, 5)
    assert log.append(batch(1)).base_offset == 5


def test_delete_records_moves_log_start_and_deletes_whole_segments(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2))
    _fill(log, 6)
    assert log.delete_records(3) == 3
    assert log.segment_base_offsets == [2, 4]
    with pytest.raises(OffsetOutOfRange):
        log.read(2, 100)
    assert batches_in(log.read(3, 100))[0][0] == 3
    assert log.delete_records(1) == 3  # never moves back
    log.close()
    assert open_log(LogConfig(segment_bytes=SIZE * 2)).log_start_offset == 3


def test_delete_records_above_high_watermark_raises(open_log):
    log = open_log()
    _fill(log, 2)
    with pytest.raises(OffsetOutOfRange):
        log.delete_records(3)
    assert log.delete_records(-1) == 2  # -1: the high watermark, as Kafka
    assert log.read(2, 100) == []


def test_delete_records_inside_a_batch_reads_from_that_batch(open_log):
    log = open_log()
    log.append(batch(5))
    log.delete_records(3)
    assert batches_in(log.read(3, 100))[0][:2] == (0, 4)
    assert log.offset_for_timestamp(0) == (3, 1004)


def test_log_start_beyond_recovered_end_starts_empty_there(tmp_path):
    from kafkalite.storage import PartitionLog

    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, LogConfig())
    _fill(log, 4)
    log.delete_records(4)
    log.close()
    (directory / f"{0:020d}.log").write_bytes(b"")  # the data is gone
    log = PartitionLog.open(directory, LogConfig())
    assert (log.log_start_offset, log.log_end_offset) == (4, 4)
    assert log.append(batch(1)).base_offset == 4
    log.close()


def test_retention_drops_leader_epochs_below_log_start(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=-1))
    log.append(batch(1), leader_epoch=1)
    log.append(batch(1), leader_epoch=2)
    log.append(batch(1), leader_epoch=3)
    log.delete_records(2)
    assert log.leader_epochs == [(3, 2)]


# -- the deletion bound (the first offset an open transaction still needs) --


def test_retention_ms_keeps_segments_at_or_past_the_deletion_bound(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=1000))
    _fill(log, 6)  # [0,1] [2,3] [4,5]
    log.deletion_bound = lambda: 3  # a transaction open since offset 3
    assert log.apply_retention(now_ms=10**9) == 1
    assert log.segment_base_offsets == [2, 4] and log.log_start_offset == 2
    log.deletion_bound = lambda: 4  # segment [2,3] ends at the bound: it may go
    assert log.apply_retention(now_ms=10**9) == 1
    assert log.segment_base_offsets == [4]
    log.deletion_bound = lambda: None  # the transaction ended: nothing holds retention back
    assert log.apply_retention(now_ms=10**9) == 1
    assert (log.log_start_offset, log.log_end_offset) == (6, 6)


def test_retention_bytes_keeps_segments_at_or_past_the_deletion_bound(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=-1, retention_bytes=0))
    _fill(log, 6)
    log.deletion_bound = lambda: 2
    assert log.apply_retention(now_ms=0) == 1
    assert log.segment_base_offsets == [2, 4]
    log.deletion_bound = lambda: 0
    assert log.apply_retention(now_ms=0) == 0


def test_a_bound_at_the_log_end_lets_retention_take_everything(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=10))
    _fill(log, 5)
    log.deletion_bound = lambda: log.log_end_offset
    assert log.apply_retention(now_ms=10**9) == 3
    assert log.segment_base_offsets == [5]


def test_delete_records_stops_at_the_deletion_bound(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2))
    _fill(log, 6)
    log.deletion_bound = lambda: 3
    assert log.delete_records(5) == 3  # the low watermark says where it stopped
    assert log.segment_base_offsets == [2, 4]
    assert log.delete_records(-1) == 3
    with pytest.raises(OffsetOutOfRange):
        log.delete_records(7)  # past the high watermark is still an error
    log.deletion_bound = None
    assert log.delete_records(-1) == 6
