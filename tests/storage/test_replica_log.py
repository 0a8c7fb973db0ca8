"""A follower's copy: batches appended as the leader wrote them, truncation, the high
watermark set from outside (kafkalite.storage.replica)."""

from __future__ import annotations

import pytest

from kafkalite.storage import KafkaStorageError, LogConfig, MemoryFiles, MemoryLog
from kafkalite.storage.txn_index import AbortedTxn
from kafkalite.wire.batch import CorruptBatchError, iter_batches, parse_batch_header

from .helpers import batch, batches_in


def _leader_with(open_log, epochs: list[int], config: LogConfig = LogConfig()):
    """A leader log with one 2-record batch per epoch in *epochs*, and its bytes."""
    leader = MemoryLog(config, directory=__import__("pathlib").Path("/leader"))
    for i, epoch in enumerate(epochs):
        leader.append(batch(2, tag=i), leader_epoch=epoch)
    return leader


def _copy(leader, follower) -> None:
    for chunk in leader.read(follower.log_end_offset, 1 << 20):
        follower.append_as_follower(chunk)


def test_append_as_follower_keeps_offsets_epochs_and_bytes(open_log):
    leader = _leader_with(open_log, [0, 0, 3])
    follower = open_log()
    _copy(leader, follower)
    assert follower.log_end_offset == 6
    assert follower.leader_epochs == [(0, 0), (3, 4)]
    ours = b"".join(bytes(c) for c in follower.read(0, 1 << 20))
    theirs = b"".join(bytes(c) for c in leader.read(0, 1 << 20))
    assert ours == theirs


def test_append_as_follower_refuses_a_gap(open_log):
    leader = _leader_with(open_log, [0, 0])
    follower = open_log()
    second = leader.read(2, 1 << 20)[0]
    with pytest.raises(CorruptBatchError, match="where 0 was expected"):
        follower.append_as_follower(second)
    assert follower.log_end_offset == 0


def test_append_as_follower_checks_the_crc(open_log):
    leader = _leader_with(open_log, [0])
    data = bytearray(leader.read(0, 1 << 20)[0])
    data[-1] ^= 0xFF
    follower = open_log()
    with pytest.raises(CorruptBatchError, match="CRC"):
        follower.append_as_follower(data)
    assert follower.log_end_offset == 0


def test_epochs_learned_from_batches_survive_a_reopen(open_log):
    leader = _leader_with(open_log, [1, 2])
    follower = open_log()
    _copy(leader, follower)
    follower.close()
    assert open_log().leader_epochs == [(1, 0), (2, 2)]


def test_truncate_to_cuts_batches_epochs_and_high_watermark(open_log):
    leader = _leader_with(open_log, [0, 1, 2])
    follower = open_log()
    _copy(leader, follower)
    follower.set_high_watermark(6)
    assert follower.truncate_to(3)  # inside the second batch: the whole batch goes
    assert follower.log_end_offset == 2
    assert follower.leader_epochs == [(0, 0)]
    assert follower.high_watermark == 2
    assert [h.base_offset for _, h in iter_batches(b"".join(bytes(c) for c in follower.read(0, 1 << 20)))] == [0]
    assert not follower.truncate_to(5)  # past the end: nothing to do


def test_truncate_to_removes_whole_segments_and_appends_go_on(open_log):
    follower = open_log(LogConfig(segment_bytes=200))
    for i in range(6):
        follower.append(batch(1, value_size=100, tag=i), leader_epoch=0)
    assert follower.segment_count > 2
    follower.truncate_to(2)
    assert follower.log_end_offset == 2
    assert follower.segment_base_offsets[-1] <= 2
    assert follower.max_timestamp[1] <= 1
    follower.append(batch(1, tag=9), leader_epoch=1)
    assert follower.log_end_offset == 3
    follower.close()
    reopened = open_log(LogConfig(segment_bytes=200))
    assert reopened.log_end_offset == 3
    assert reopened.leader_epochs == [(0, 0), (1, 2)]


def test_truncate_to_drops_aborted_transactions_past_it(open_log):
    log = open_log()
    for i in range(4):
        log.append(batch(1, tag=i), leader_epoch=0)
    log.append_aborted_txn(AbortedTxn(producer_id=7, first_offset=0, last_offset=1, last_stable_offset=2))
    log.append_aborted_txn(AbortedTxn(producer_id=8, first_offset=2, last_offset=3, last_stable_offset=4))
    log.truncate_to(2)
    assert [e.producer_id for e in log.txn_index_entries()] == [7]


def test_high_watermark_is_the_log_end_offset_until_set_and_never_goes_back(open_log):
    log = open_log()
    log.append(batch(3))
    assert log.high_watermark == 3 and not log.is_replicated
    assert log.set_high_watermark(1)
    assert log.is_replicated and log.high_watermark == 1
    log.append(batch(2))
    assert log.high_watermark == 1
    assert not log.set_high_watermark(0)
    assert log.set_high_watermark(99)  # capped at the log end offset
    assert log.high_watermark == 5


def test_reads_and_delete_records_are_bounded_by_the_high_watermark(open_log):
    from kafkalite.storage import OffsetOutOfRange

    log = open_log()
    log.append(batch(3))
    log.set_high_watermark(1)
    with pytest.raises(OffsetOutOfRange):
        log.delete_records(2)
    assert log.delete_records(-1) == 1


def test_advance_log_start_follows_the_leader(open_log):
    log = open_log(LogConfig(segment_bytes=120))
    for i in range(4):
        log.append(batch(1, value_size=60, tag=i))
    assert log.advance_log_start(2)
    assert log.log_start_offset == 2
    assert log.segment_base_offsets[0] >= 1
    assert not log.advance_log_start(1)


def test_abandon_writes_nothing_more_and_reopening_recovers():
    files = MemoryFiles()
    log = MemoryLog(files=files)
    log.append(batch(2))
    log.abandon()
    with pytest.raises(ValueError):
        log.append(batch(1))
    assert MemoryLog(files=files).log_end_offset == 2


def test_append_as_follower_on_a_failed_log_raises(open_log):
    leader = _leader_with(open_log, [0])
    follower = open_log()
    follower._failed = "test"
    with pytest.raises(KafkaStorageError):
        _copy(leader, follower)
    assert parse_batch_header(leader.read(0, 100)[0]).base_offset == 0
    assert batches_in(leader.read(0, 1 << 20))
