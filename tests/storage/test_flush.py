"""fsync policy: fsync, flush.messages, flush.ms; sequential reads after appends."""

from __future__ import annotations

import pytest

from kafkalite.storage import LogConfig, MemoryLog
from kafkalite.storage.files import MemoryFile

from .helpers import batch, batches_in


@pytest.fixture
def fsyncs(monkeypatch):
    calls = []
    monkeypatch.setattr(MemoryFile, "fsync", lambda self: calls.append(self.path.name))
    return calls


def test_default_config_never_fsyncs_on_append(fsyncs):
    log = MemoryLog()
    for _ in range(5):
        log.append(batch(1))
    assert fsyncs == []


def test_fsync_true_fsyncs_every_append(fsyncs):
    log = MemoryLog(LogConfig(fsync=True))
    for _ in range(3):
        log.append(batch(1))
    assert fsyncs == [f"{0:020d}.log"] * 3


def test_flush_messages_counts_records(fsyncs):
    log = MemoryLog(LogConfig(flush_messages=3))
    for _ in range(7):
        log.append(batch(1))
    assert len(fsyncs) == 2
    log.append(batch(5))
    assert len(fsyncs) == 3


def test_flush_ms_fsyncs_at_append_or_maybe_flush(fsyncs):
    log = MemoryLog(LogConfig(flush_ms=100), now_ms=0)
    log.append(batch(1), now_ms=50)
    assert fsyncs == []
    log.append(batch(1), now_ms=100)
    assert len(fsyncs) == 1
    log.append(batch(1), now_ms=150)
    assert log.maybe_flush(now_ms=199) is False
    assert log.maybe_flush(now_ms=200) is True
    assert len(fsyncs) == 2
    assert log.maybe_flush(now_ms=1000) is False  # nothing new


def test_tailing_reads_see_each_new_append(open_log):
    log = open_log(LogConfig(segment_bytes=500))
    offset = 0
    for i in range(20):
        log.append(batch(1 + i % 3, tag=i))
        got = batches_in(log.read(offset, 1 << 20))
        assert got[0][0] == offset and got[-1][1] == log.log_end_offset - 1
        offset = log.log_end_offset
        assert log.read(offset, 100) == []
