"""The aborted transaction index (.txnindex): layout, append, collect, recovery, deletion."""

from __future__ import annotations

import logging
import struct

import pytest

from kafkalite.storage import (
    AbortedTxn,
    FaultyFiles,
    KafkaStorageError,
    LogConfig,
    MemoryFiles,
    MemoryLog,
)
from kafkalite.storage.txn_index import TXN_ENTRY_SIZE, decode_txn_index

from .helpers import batch

SIZE = len(batch(1))


def _txn_path(log, base_offset=0):
    return log.directory / f"{base_offset:020d}.txnindex"


def _fill(log, n):
    for i in range(n):
        log.append(batch(1, timestamp=1000 + i))


def test_entry_layout_is_kafkas_34_bytes():
    entry = AbortedTxn(producer_id=7, first_offset=10, last_offset=20, last_stable_offset=15)
    data = entry.encode()
    assert len(data) == TXN_ENTRY_SIZE == 34
    assert data == struct.pack(">hqqqq", 0, 7, 10, 20, 15)
    assert decode_txn_index(data) == ([entry], None)


def test_the_file_holds_the_entries_in_kafkas_layout(open_log):
    log = open_log()
    _fill(log, 6)
    first, second = AbortedTxn(1, 0, 2, 3), AbortedTxn(2, 1, 5, 6)
    log.append_aborted_txn(first)
    log.append_aborted_txn(second)
    assert log.files.read_bytes(_txn_path(log)) == first.encode() + second.encode()
    assert log.txn_index_entries(0) == [first, second]


def test_no_file_until_a_transaction_is_aborted(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2))
    _fill(log, 5)
    log.flush()
    assert not any(name.endswith(".txnindex") for name in log.files.listdir(log.directory))
    log.append_aborted_txn(AbortedTxn(1, 3, 4, 5))
    assert [n for n in log.files.listdir(log.directory) if n.endswith(".txnindex")] == [
        "00000000000000000004.txnindex"
    ]


def test_entry_goes_to_the_segment_holding_its_marker(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2))
    _fill(log, 3)  # segments [0,1] [2]
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))  # a closed segment's entry (a late call)
    log.append_aborted_txn(AbortedTxn(2, 1, 2, 3))
    assert log.txn_index_entries(0) == [AbortedTxn(1, 0, 1, 2)]
    assert log.txn_index_entries(2) == [AbortedTxn(2, 1, 2, 3)]
    assert log.txn_index_entries() == [AbortedTxn(1, 0, 1, 2), AbortedTxn(2, 1, 2, 3)]


def test_append_refuses_what_cannot_be_right(open_log):
    log = open_log()
    _fill(log, 4)
    log.append_aborted_txn(AbortedTxn(1, 0, 2, 3))
    with pytest.raises(ValueError, match="does not come after"):
        log.append_aborted_txn(AbortedTxn(2, 0, 2, 3))
    with pytest.raises(ValueError, match="outside the log"):
        log.append_aborted_txn(AbortedTxn(2, 0, 4, 5))
    assert log.txn_index_entries() == [AbortedTxn(1, 0, 2, 3)]


def test_collect_takes_entries_overlapping_the_range(open_log):
    log = open_log()
    _fill(log, 30)
    a = AbortedTxn(1, 0, 5, 2)  # another transaction from 2 was open when this one ended
    b = AbortedTxn(2, 2, 10, 11)
    c = AbortedTxn(3, 12, 20, 21)
    for entry in (a, b, c):
        log.append_aborted_txn(entry)
    assert log.collect_aborted_txns(0, 30) == [a, b, c]
    assert log.collect_aborted_txns(6, 30) == [b, c]  # a ended before the range
    assert log.collect_aborted_txns(6, 12) == [b]  # c starts at the range's end
    assert log.collect_aborted_txns(11, 12) == []
    assert log.collect_aborted_txns(21, 30) == []
    assert log.collect_aborted_txns(5, 5) == []  # an empty range


def test_collect_spans_segments_until_an_entry_says_complete(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 4))
    _fill(log, 16)  # segments [0..3] [4..7] [8..11] [12..15]
    # Producer 1's transaction 1..9 is open while producer 2's 2..3 is aborted (LSO 1).
    early = AbortedTxn(2, 2, 3, 1)
    long = AbortedTxn(1, 1, 9, 10)
    late = AbortedTxn(3, 10, 13, 14)
    for entry in (early, long, late):
        log.append_aborted_txn(entry)
    # From offset 2 up to 4: segment 0 lists early (its LSO 1 < 4: not complete), segment 1
    # has no index, segment 2 lists long (first offset 1 < 4) and says complete (LSO 10).
    assert log.collect_aborted_txns(2, 4) == [early, long]
    assert log.collect_aborted_txns(4, 8) == [long]
    assert log.collect_aborted_txns(10, 16) == [late]


def test_aborted_txns_for_fetch_bounds_the_range_by_what_was_read(open_log):
    log = open_log()
    _fill(log, 10)
    entry = AbortedTxn(1, 5, 7, 8)
    log.append_aborted_txn(entry)
    assert log.aborted_txns_for_fetch(0, log.read(0, SIZE * 5)) == []  # offsets 0..4 only
    assert log.aborted_txns_for_fetch(0, log.read(0, SIZE * 6)) == [entry]
    assert log.aborted_txns_for_fetch(8, log.read(8, 10_000)) == []  # after the last entry
    assert log.aborted_txns_for_fetch(10, log.read(10, 10_000)) == []  # no records


def test_entries_survive_a_reopen(open_log):
    config = LogConfig(segment_bytes=SIZE * 3)
    log = open_log(config)
    _fill(log, 7)  # [0..2] [3..5] [6]
    entries = [AbortedTxn(1, 0, 2, 3), AbortedTxn(2, 3, 4, 5), AbortedTxn(3, 4, 6, 7)]
    for entry in entries:
        log.append_aborted_txn(entry)
    log.close()
    log = open_log(config)
    assert log.txn_index_entries() == entries
    assert log.collect_aborted_txns(3, 7) == entries[1:]
    _fill(log, 1)
    log.append_aborted_txn(AbortedTxn(4, 7, 7, 8))  # appends after the reopened file's entries
    log.close()
    assert open_log(config).txn_index_entries() == [*entries, AbortedTxn(4, 7, 7, 8)]


def test_recovery_drops_entries_past_the_recovered_log_end(open_log, caplog):
    config = LogConfig(segment_bytes=SIZE * 3)
    log = open_log(config)
    _fill(log, 5)  # [0..2] [3..4]
    log.append_aborted_txn(AbortedTxn(1, 0, 3, 4))
    log.append_aborted_txn(AbortedTxn(2, 2, 4, 5))
    active = log.directory / f"{3:020d}.log"
    log.close()
    # The last batch is torn (as by a crash): recovery cuts offset 4 off the log.
    data = log.files.read_bytes(active)
    log.files.write_atomic(active, data[: SIZE + 10])
    with caplog.at_level(logging.WARNING, logger="kafkalite.storage"):
        log = open_log(config)
    assert log.log_end_offset == 4
    assert log.txn_index_entries() == [AbortedTxn(1, 0, 3, 4)]
    assert log.files.read_bytes(_txn_path(log, 3)) == AbortedTxn(1, 0, 3, 4).encode()
    assert "txnindex" in caplog.text


def test_a_damaged_file_is_cut_at_the_damage_and_rebuilt_by_reconcile(open_log, caplog):
    config = LogConfig(segment_bytes=SIZE * 4)
    log = open_log(config)
    _fill(log, 6)  # [0..3] [4..5]
    entries = [AbortedTxn(1, 0, 1, 2), AbortedTxn(2, 2, 3, 4)]
    for entry in entries:
        log.append_aborted_txn(entry)
    log.close()
    path = _txn_path(log, 0)
    damaged = bytearray(log.files.read_bytes(path))
    damaged[TXN_ENTRY_SIZE + 1] = 9  # version 9 in the second entry
    log.files.write_atomic(path, bytes(damaged))
    with caplog.at_level(logging.WARNING, logger="kafkalite.storage"):
        log = open_log(config)
    assert "version" in caplog.text
    assert log.txn_index_entries() == entries[:1]
    assert log.reconcile_txn_indexes(entries) == [0]
    assert log.txn_index_entries() == entries
    assert log.files.read_bytes(path) == b"".join(e.encode() for e in entries)
    assert log.reconcile_txn_indexes(entries) == []  # now they agree


def test_a_torn_last_entry_is_dropped(open_log):
    log = open_log()
    _fill(log, 3)
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))
    log.close()
    path = _txn_path(log)
    log.files.write_atomic(path, log.files.read_bytes(path) + AbortedTxn(2, 1, 2, 3).encode()[:20])
    log = open_log()
    assert log.txn_index_entries() == [AbortedTxn(1, 0, 1, 2)]
    assert log.files.read_bytes(path) == AbortedTxn(1, 0, 1, 2).encode()


def test_reconcile_restores_a_missing_file_and_drops_stale_entries(open_log):
    config = LogConfig(segment_bytes=SIZE * 3)
    log = open_log(config)
    _fill(log, 7)  # [0..2] [3..5] [6]
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))
    log.append_aborted_txn(AbortedTxn(9, 5, 6, 7))  # not what the log's markers say
    log.close()
    log.files.remove(_txn_path(log, 0))
    log = open_log(config)
    assert log.txn_index_entries() == [AbortedTxn(9, 5, 6, 7)]
    scanned = [AbortedTxn(1, 0, 1, 2), AbortedTxn(2, 2, 4, 5)]
    assert log.reconcile_txn_indexes(scanned) == [0, 3, 6]
    assert log.txn_index_entries() == scanned
    assert not log.files.exists(_txn_path(log, 6))  # no entries left: no file
    log.close()
    assert open_log(config).txn_index_entries() == scanned


def test_reconcile_keeps_entries_below_the_log_start_offset(open_log):
    log = open_log()
    _fill(log, 6)
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))
    log.append_aborted_txn(AbortedTxn(2, 3, 4, 5))
    log.delete_records(3)
    # A scan from the log start offset cannot see the marker at offset 1.
    assert log.reconcile_txn_indexes([AbortedTxn(2, 3, 4, 5)]) == []
    assert log.txn_index_entries() == [AbortedTxn(1, 0, 1, 2), AbortedTxn(2, 3, 4, 5)]
    with pytest.raises(ValueError):
        log.reconcile_txn_indexes([AbortedTxn(2, 3, 6, 7)])  # past the log end


def test_rebuild_replaces_one_segments_index(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 3))
    _fill(log, 5)  # [0..2] [3..4]
    log.rebuild_txn_index(3, [AbortedTxn(1, 1, 3, 4), AbortedTxn(2, 2, 4, 5)])
    assert log.txn_index_entries(3) == [AbortedTxn(1, 1, 3, 4), AbortedTxn(2, 2, 4, 5)]
    assert log.collect_aborted_txns(4, 5) == [AbortedTxn(2, 2, 4, 5)]
    with pytest.raises(ValueError, match="outside"):
        log.rebuild_txn_index(0, [AbortedTxn(1, 1, 3, 4)])
    with pytest.raises(ValueError, match="no segment"):
        log.rebuild_txn_index(1, [])
    log.rebuild_txn_index(3, [])
    assert not log.files.exists(_txn_path(log, 3))
    assert log.collect_aborted_txns(0, 5) == []


def test_retention_deletes_the_txn_index_with_its_segment(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2, retention_ms=1000))
    _fill(log, 5)  # [0,1] [2,3] [4]
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))
    log.append_aborted_txn(AbortedTxn(2, 2, 3, 4))
    assert log.apply_retention(now_ms=2002) == 1
    assert not log.files.exists(_txn_path(log, 0))
    assert log.files.exists(_txn_path(log, 2))
    assert log.txn_index_entries() == [AbortedTxn(2, 2, 3, 4)]
    assert log.apply_retention(now_ms=10**9) == 2
    assert not log.files.exists(_txn_path(log, 2))
    assert log.collect_aborted_txns(5, 10) == []


def test_delete_records_deletes_the_txn_index_with_its_segment(open_log):
    log = open_log(LogConfig(segment_bytes=SIZE * 2))
    _fill(log, 5)
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))
    log.delete_records(3)
    assert not log.files.exists(_txn_path(log, 0))
    assert log.txn_index_entries() == []


def test_topic_deletion_removes_the_txn_index(open_log):
    log = open_log()
    _fill(log, 2)
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))
    log.delete()
    assert not log.files.exists(_txn_path(log))


def test_an_orphan_txn_index_is_removed_at_open(open_log):
    log = open_log()
    _fill(log, 2)
    log.close()
    orphan = log.directory / f"{7:020d}.txnindex"
    log.files.write_atomic(orphan, AbortedTxn(1, 7, 8, 9).encode())
    log = open_log()
    assert not log.files.exists(orphan)
    assert log.segment_base_offsets == [0]


def test_memory_log_keeps_its_txn_index_in_memory():
    files = MemoryFiles()
    log = MemoryLog(LogConfig(), files=files)
    log.append(batch(3))
    log.append_aborted_txn(AbortedTxn(1, 0, 2, 3))
    assert files.read_bytes(_txn_path(log)) == AbortedTxn(1, 0, 2, 3).encode()
    # A kill -9 right now: the entry was written before append_aborted_txn returned.
    reopened = MemoryLog(LogConfig(), files=files.snapshot())
    assert reopened.txn_index_entries() == [AbortedTxn(1, 0, 2, 3)]


def test_a_failed_write_keeps_the_entry_and_rewrites_the_file_later():
    files = FaultyFiles()
    log = MemoryLog(LogConfig(), files=files)
    log.append(batch(4))
    files.failing.add("write")
    with pytest.raises(KafkaStorageError):
        log.append_aborted_txn(AbortedTxn(1, 0, 2, 3))
    # In effect for read_committed fetches all the same: the marker is in the log.
    assert log.collect_aborted_txns(0, 4) == [AbortedTxn(1, 0, 2, 3)]
    files.failing.clear()
    log.append_aborted_txn(AbortedTxn(2, 3, 3, 4))
    log.flush()
    assert files.read_bytes(_txn_path(log)) == (
        AbortedTxn(1, 0, 2, 3).encode() + AbortedTxn(2, 3, 3, 4).encode()
    )


def test_fsync_config_fsyncs_the_txn_index():
    files = FaultyFiles()
    log = MemoryLog(LogConfig(fsync=True), files=files)
    log.append(batch(2))
    files.failing.add("fsync")
    with pytest.raises(KafkaStorageError, match="txnindex"):
        log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))


class _FsyncRecordingFiles(MemoryFiles):
    """MemoryFiles that note the name of every file fsynced through a handle."""

    def __init__(self) -> None:
        super().__init__()
        self.fsynced: list[str] = []

    def open(self, path):
        return _RecordingHandle(super().open(path), self.fsynced)


class _RecordingHandle:
    def __init__(self, inner, fsynced) -> None:
        self._inner, self._fsynced = inner, fsynced

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def fsync(self) -> None:
        self._fsynced.append(self._inner.path.name)
        self._inner.fsync()


def test_flush_fsyncs_the_txn_index_of_a_segment_rolled_since():
    files = _FsyncRecordingFiles()
    log = MemoryLog(LogConfig(), files=files)
    log.append(batch(2))
    log.append_aborted_txn(AbortedTxn(1, 0, 1, 2))
    log.roll()  # not durable: nothing fsynced, the txn index's handle closed
    assert files.fsynced == []
    log.flush()
    assert "00000000000000000000.txnindex" in files.fsynced
