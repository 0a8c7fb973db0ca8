"""Disk errors become KafkaStorageError; the log stays readable and consistent."""

from __future__ import annotations

import os

import pytest

from kafkalite.storage import (
    FaultyFiles,
    KafkaStorageError,
    LogConfig,
    MemoryFiles,
    MemoryLog,
    OsFiles,
    PartitionLog,
)

from .helpers import batch, batches_in

SIZE = len(batch(1))


def test_full_disk_mid_write_undoes_the_torn_bytes():
    faulty = FaultyFiles(MemoryFiles())
    log = MemoryLog(files=faulty)
    log.append(batch(1))
    faulty.write_budget = SIZE // 2
    with pytest.raises(KafkaStorageError, match="No space left"):
        log.append(batch(1))
    assert log.log_end_offset == 1
    assert [b[0] for b in batches_in(log.read(0, 1000))] == [0]
    faulty.write_budget = None  # space freed
    assert log.append(batch(1)).base_offset == 1
    assert [b[0] for b in batches_in(log.read(0, 1000))] == [0, 1]


def test_failed_undo_refuses_appends_but_still_reads():
    faulty = FaultyFiles(MemoryFiles())
    log = MemoryLog(files=faulty)
    log.append(batch(1))
    faulty.write_budget = 10
    faulty.failing.add("truncate")
    with pytest.raises(KafkaStorageError):
        log.append(batch(1))
    faulty.write_budget = None
    with pytest.raises(KafkaStorageError, match="refuses appends"):
        log.append(batch(1))
    assert [b[0] for b in batches_in(log.read(0, 1000))] == [0]


def test_failed_fsync_surfaces_and_stops_appends():
    faulty = FaultyFiles(MemoryFiles())
    log = MemoryLog(LogConfig(fsync=True), files=faulty)
    log.append(batch(1))
    faulty.failing.add("fsync")
    with pytest.raises(KafkaStorageError, match="fsync"):
        log.append(batch(1))
    with pytest.raises(KafkaStorageError):
        log.append(batch(1))


def test_read_error_is_a_storage_error():
    faulty = FaultyFiles(MemoryFiles())
    log = MemoryLog(files=faulty)
    log.append(batch(1))
    faulty.failing.add("read")
    with pytest.raises(KafkaStorageError):
        log.read(0, 100)
    faulty.failing.clear()
    assert log.read(0, 100)


def test_roll_failure_is_a_storage_error_and_log_keeps_working():
    faulty = FaultyFiles(MemoryFiles())
    log = MemoryLog(LogConfig(segment_bytes=SIZE), files=faulty)
    log.append(batch(1))
    faulty.failing.add("open")
    with pytest.raises(KafkaStorageError):
        log.append(batch(1))
    faulty.failing.clear()
    assert log.append(batch(1)).base_offset == 1
    assert log.segment_count == 2


def test_permission_denied_on_open_is_a_storage_error():
    faulty = FaultyFiles(MemoryFiles(), failing={"open"})
    with pytest.raises(KafkaStorageError, match="Permission denied"):
        MemoryLog(files=faulty)


def test_unusable_directory_on_disk_is_a_storage_error(tmp_path):
    # A real OS error that root cannot bypass (unlike permissions): the partition
    # "directory" is a plain file.
    directory = tmp_path / "t-0"
    directory.write_text("not a directory")
    with pytest.raises(KafkaStorageError):
        PartitionLog.open(directory, LogConfig())


def test_os_files_short_writev_is_completed(tmp_path, monkeypatch):
    calls = []
    real = os.writev

    def short_writev(fd, buffers):
        calls.append(sum(len(b) for b in buffers))
        return real(fd, [memoryview(buffers[0])[:3]]) if len(calls) == 1 else real(fd, buffers)

    monkeypatch.setattr(os, "writev", short_writev)
    handle = OsFiles().open(tmp_path / "f")
    handle.append([b"hello", b" world"])
    handle.close()
    assert (tmp_path / "f").read_bytes() == b"hello world"
    assert calls == [11, 8]
