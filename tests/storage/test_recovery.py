"""Opening a log is recovery: torn tails, flipped bits, missing and damaged indexes."""

from __future__ import annotations

import logging
import os

import pytest

from kafkalite.storage import CorruptSegmentError, LogConfig, PartitionLog
from kafkalite.wire.batch import CRC_OFFSET

from .helpers import batch, batches_in

SIZE = len(batch(3, value_size=20))


def _log_path(directory, base=0, suffix=".log"):
    return directory / f"{base:020d}{suffix}"


def _write(directory, n, config=LogConfig(index_interval_bytes=50)):
    log = PartitionLog.open(directory, config)
    for i in range(n):
        log.append(batch(3, value_size=20, tag=i, timestamp=1000 + 10 * i))
    log.close()


def test_truncating_at_every_byte_of_the_last_batch_keeps_all_whole_batches(tmp_path, caplog):
    source = tmp_path / "source"
    _write(source, 4)
    data = _log_path(source).read_bytes()
    assert len(data) == 4 * SIZE
    for cut in range(3 * SIZE, 4 * SIZE):
        directory = tmp_path / f"cut-{cut}"
        directory.mkdir()
        for name in os.listdir(source):
            (directory / name).write_bytes((source / name).read_bytes())
        _log_path(directory).write_bytes(data[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="kafkalite.storage"):
            log = PartitionLog.open(directory, LogConfig(index_interval_bytes=50))
        assert log.log_end_offset == 9, cut
        assert [b[0] for b in batches_in(log.read(0, 1 << 20))] == [0, 3, 6]
        assert log.append(batch(1)).base_offset == 9
        log.close()
        assert len(_log_path(directory).read_bytes()) == 3 * SIZE + len(batch(1))
        if cut > 3 * SIZE:
            assert f"truncates {cut - 3 * SIZE} bytes at position {3 * SIZE}" in caplog.text
        else:
            assert "truncates" not in caplog.text


@pytest.mark.parametrize(
    "byte",
    [8, 11, 16, CRC_OFFSET, 22, 30, 40, 60, SIZE - 1],
    ids=lambda b: f"byte{b}",
)
def test_flipped_bit_in_the_last_batch_truncates_it(tmp_path, byte, caplog):
    directory = tmp_path / "t-0"
    _write(directory, 3)
    path = _log_path(directory)
    data = bytearray(path.read_bytes())
    data[2 * SIZE + byte] ^= 0x10
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="kafkalite.storage"):
        log = PartitionLog.open(directory, LogConfig())
    assert log.log_end_offset == 6
    assert f"at position {2 * SIZE}" in caplog.text
    log.close()


def test_flipped_bit_in_a_middle_batch_of_the_active_segment_cuts_from_there(tmp_path, caplog):
    directory = tmp_path / "t-0"
    _write(directory, 5)
    path = _log_path(directory)
    data = bytearray(path.read_bytes())
    data[SIZE + 45] ^= 1
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="kafkalite.storage"):
        log = PartitionLog.open(directory, LogConfig())
    assert log.log_end_offset == 3
    assert "CRC mismatch" in caplog.text and f"truncates {4 * SIZE} bytes" in caplog.text
    log.close()


def test_flipped_base_offset_is_caught_by_the_offset_check(tmp_path):
    directory = tmp_path / "t-0"
    _write(directory, 3)
    path = _log_path(directory)
    data = bytearray(path.read_bytes())
    data[2 * SIZE + 7] ^= 0x01  # base offset 6 -> 7 (not covered by the CRC)
    path.write_bytes(data)
    log = PartitionLog.open(directory, LogConfig())
    assert log.log_end_offset == 6
    log.close()


@pytest.mark.parametrize("which", [".index", ".timeindex"])
@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage"])
def test_missing_or_damaged_index_of_closed_segment_is_rebuilt(tmp_path, which, damage, caplog):
    directory = tmp_path / "t-0"
    config = LogConfig(segment_bytes=SIZE * 4, index_interval_bytes=50)
    _write(directory, 10, config)
    path = _log_path(directory, 0, which)
    original = path.read_bytes()
    assert original
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(original[:-3])
    else:
        path.write_bytes(os.urandom(len(original)))
    with caplog.at_level(logging.WARNING, logger="kafkalite.storage"):
        log = PartitionLog.open(directory, config)
    assert "rebuilding the indexes" in caplog.text
    assert path.read_bytes() == original
    assert log.log_end_offset == 30 and log.max_timestamp == (1092, 29)
    for offset in range(30):
        assert batches_in(log.read(offset, 1))[0][0] == offset // 3 * 3
    log.close()


def test_index_pointing_at_wrong_batch_is_rebuilt(tmp_path, caplog):
    import struct

    directory = tmp_path / "t-0"
    config = LogConfig(segment_bytes=SIZE * 4, index_interval_bytes=0)
    _write(directory, 8, config)
    path = _log_path(directory, 0, ".index")
    entries = list(struct.iter_unpack(">ii", path.read_bytes()))
    entries[-1] = (entries[-1][0] + 1, entries[-1][1])  # wrong offset, still increasing
    path.write_bytes(b"".join(struct.pack(">ii", *e) for e in entries))
    with caplog.at_level(logging.WARNING, logger="kafkalite.storage"):
        log = PartitionLog.open(directory, config)
    assert "rebuilding" in caplog.text
    assert log.log_end_offset == 24
    log.close()


def test_missing_index_of_active_segment_is_rebuilt(tmp_path):
    directory = tmp_path / "t-0"
    _write(directory, 6)
    _log_path(directory, 0, ".index").unlink()
    _log_path(directory, 0, ".timeindex").unlink()
    log = PartitionLog.open(directory, LogConfig(index_interval_bytes=50))
    assert log.offset_for_timestamp(1025) == (9, 1032)
    assert _log_path(directory, 0, ".index").read_bytes()
    log.close()


def test_corrupt_closed_segment_is_reported_not_dropped(tmp_path, caplog):
    directory = tmp_path / "t-0"
    config = LogConfig(segment_bytes=SIZE * 4)
    _write(directory, 10, config)
    path = _log_path(directory, 0)
    data = bytearray(path.read_bytes())
    data[SIZE + 50] ^= 0xFF
    path.write_bytes(data)
    _log_path(directory, 0, ".index").unlink()  # force a full scan
    with caplog.at_level(logging.ERROR, logger="kafkalite.storage"):
        with pytest.raises(CorruptSegmentError, match=f"corrupt at position {SIZE}"):
            PartitionLog.open(directory, config)
    assert "closed segment is corrupt" in caplog.text
    assert path.read_bytes() == data  # nothing was cut


def test_torn_tail_of_closed_segment_is_reported(tmp_path):
    directory = tmp_path / "t-0"
    config = LogConfig(segment_bytes=SIZE * 4)
    _write(directory, 10, config)
    path = _log_path(directory, 0)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CorruptSegmentError, match="cut off"):
        PartitionLog.open(directory, config)


def test_leftover_temp_and_orphan_index_files_are_removed(tmp_path):
    directory = tmp_path / "t-0"
    _write(directory, 2)
    (directory / "leader-epoch-checkpoint.tmp").write_bytes(b"junk")
    (directory / f"{99:020d}.index").write_bytes(b"")
    log = PartitionLog.open(directory, LogConfig())
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"{0:020d}.log", f"{0:020d}.index", f"{0:020d}.timeindex", "leader-epoch-checkpoint"]
    )
    log.close()


def test_recovery_of_torn_write_in_memory_file_layer():
    from kafkalite.storage import FaultyFiles, KafkaStorageError, MemoryFiles, MemoryLog

    memory = MemoryFiles()
    faulty = FaultyFiles(memory)
    log = MemoryLog(files=faulty)
    log.append(batch(2))
    faulty.write_budget = SIZE // 2
    faulty.failing.add("truncate")  # the undo fails too: the torn bytes stay
    with pytest.raises(KafkaStorageError):
        log.append(batch(3, value_size=20))
    crashed = memory.snapshot()  # kill -9 now
    log2 = MemoryLog(files=crashed)
    assert log2.log_end_offset == 2
    assert log2.append(batch(1)).base_offset == 2
