"""One segment: a ``.log`` file of concatenated RecordBatch v2 bytes and its indexes.

Files are named by the segment's base offset, 20 digits zero-padded, as Kafka names them:
``00000000000000000042.log``, ``.index``, ``.timeindex``, and ``.txnindex`` once the segment
holds an aborted transaction's marker (`kafkalite.storage.txn_index`). Only the last segment
of a partition (the active one) is appended to; the others are closed and never change.

Loading a segment checks it:

* the active segment is scanned whole (length, magic, CRC-32C, consecutive offsets); a bad
  or torn tail is cut off and logged, and its indexes are rebuilt from what is left;
* a closed segment's indexes are loaded and sanity-checked, and the batches after the last
  offset-index entry are scanned (so the file must end on a batch boundary); a missing or
  damaged index is rebuilt by a full scan; a bad batch in a closed segment raises
  `CorruptSegmentError` (it is reported, never silently dropped);
* the ``.txnindex`` of either is loaded and its entries checked against the segment's
  offsets: entries at or past the (recovered) end are dropped with a warning, and so is a
  damaged tail.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from kafkalite.storage.errors import CorruptSegmentError
from kafkalite.storage.files import FileHandle, Files
from kafkalite.storage.index import OFFSET_ENTRY_SIZE, TIME_ENTRY_SIZE, OffsetIndex, TimeIndex
from kafkalite.storage.txn_index import TransactionIndex
from kafkalite.wire.batch import (
    LOG_OVERHEAD,
    MIN_BATCH_LENGTH,
    BatchHeader,
    CorruptBatchError,
    UnsupportedMagicError,
    batch_crc_ok,
    parse_batch_header,
)

__all__ = [
    "BadBatch",
    "Segment",
    "close_segments",
    "iter_file_batches",
    "next_offset_after",
    "segment_path",
]

logger = logging.getLogger("kafkalite.storage")

#: base_offset, batch_length, last_offset_delta: what a walk over batch headers needs.
_WALK = struct.Struct(">qi11xi")
_WALK_SIZE = _WALK.size  # 27
_unpack_walk = _WALK.unpack_from
_LENGTH = struct.Struct(">i")
_unpack_length = _LENGTH.unpack_from
_SCAN_CHUNK = 1 << 20
_INT32_MAX = 2**31 - 1

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
TXN_INDEX_SUFFIX = ".txnindex"


def segment_path(directory: Path, base_offset: int, suffix: str) -> Path:
    return directory / f"{base_offset:020d}{suffix}"


def next_offset_after(records: memoryview) -> int:
    """The offset after the last batch of *records*: one or more whole batches, as
    `Segment.read` returns them (-1 for no batch). Walks the batch headers."""
    position, end = 0, len(records)
    next_offset = -1
    while position + _WALK_SIZE <= end:
        base_offset, batch_length, last_offset_delta = _unpack_walk(records, position)
        next_offset = base_offset + last_offset_delta + 1
        position += batch_length + LOG_OVERHEAD
    return next_offset


class BadBatch(Exception):
    """Bytes at *position* of a segment file that are not a valid next batch."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"at position {position}: {reason}")
        self.position = position
        self.reason = reason


def iter_file_batches(
    fh: FileHandle,
    start: int,
    end: int,
    *,
    check_crc: bool,
    expected_offset: int | None = None,
    gaps: bool = False,
) -> Iterator[tuple[int, BatchHeader, memoryview]]:
    """Yield ``(position, header, bytes)`` for each batch in ``[start, end)`` of *fh*.

    Reads in chunks of 1 MiB (or one batch, if larger). Each batch is checked for framing
    (length, magic), and, with *check_crc*, its CRC; with *expected_offset*, its base offset
    must be that and each next batch must follow the one before without a gap; with *gaps*,
    at least that and after the one before (a closed segment the cleaner rewrote has gaps
    between batches, as in Kafka; the active segment is never cleaned, so never has any). The yielded memoryview stays valid after the iteration moves on.

    Raises:
        BadBatch: at the first batch that fails, after yielding the ones before it;
            including a tail of fewer bytes than a whole batch.
    """
    buf = b""
    buf_start = start
    pos = start
    while pos < end:
        off = pos - buf_start
        if end - pos < LOG_OVERHEAD:
            raise BadBatch(pos, f"{end - pos} trailing bytes, too few for a batch header")
        if len(buf) - off < LOG_OVERHEAD:
            buf = fh.pread(min(_SCAN_CHUNK, end - pos), pos)
            buf_start, off = pos, 0
            if len(buf) < LOG_OVERHEAD:
                raise BadBatch(pos, "the file ends earlier than its size said")
        batch_length = _unpack_length(buf, off + 8)[0]
        if batch_length < MIN_BATCH_LENGTH:
            raise BadBatch(pos, f"batch_length {batch_length} is below the minimum {MIN_BATCH_LENGTH}")
        size = batch_length + LOG_OVERHEAD
        if pos + size > end:
            raise BadBatch(
                pos, f"a batch of {size} bytes is cut off: only {end - pos} bytes are left"
            )
        if len(buf) - off < size:
            buf = fh.pread(min(max(_SCAN_CHUNK, size), end - pos), pos)
            buf_start, off = pos, 0
            if len(buf) < size:
                raise BadBatch(pos, "the file ends earlier than its size said")
        try:
            header = parse_batch_header(buf, off)
        except (CorruptBatchError, UnsupportedMagicError) as exc:
            raise BadBatch(pos, str(exc)) from None
        if check_crc and not batch_crc_ok(buf, off, header):
            raise BadBatch(pos, f"CRC mismatch in the batch of {size} bytes (stored {header.crc:#010x})")
        if header.last_offset_delta < 0:
            raise BadBatch(pos, f"negative last_offset_delta {header.last_offset_delta}")
        if expected_offset is not None and (
            header.base_offset < expected_offset if gaps else header.base_offset != expected_offset
        ):
            raise BadBatch(
                pos, f"base offset {header.base_offset} where {expected_offset}"
                f"{' or more' if gaps else ''} was expected"
            )
        if expected_offset is not None:
            expected_offset = header.next_offset
        yield pos, header, memoryview(buf)[off : off + size]
        pos += size


@attrs.define(eq=False)
class Segment:
    """One segment's files and in-memory state. Owned by a `PartitionLog`."""

    directory: Path
    base_offset: int
    files: Files
    log_file: FileHandle
    offset_index: OffsetIndex
    time_index: TimeIndex
    txn_index: TransactionIndex
    index_interval_bytes: int
    created_ms: int
    #: Bytes of whole batches in the .log (the file may briefly hold more after a torn write).
    size: int = 0
    #: The offset after this segment's last batch (the base offset when empty).
    next_offset: int = -1
    max_timestamp: int = -1
    offset_of_max_timestamp: int = -1
    #: Max timestamp of the first batch: what segment.ms is measured from (as Kafka).
    rolling_timestamp: int | None = None
    bytes_since_last_index_entry: int = 0
    #: Whether everything written is known to be fsynced.
    synced: bool = True
    #: (epoch, start offset) where the partition leader epoch grew, found by a recovery scan.
    epoch_starts: list[tuple[int, int]] = attrs.field(factory=list)
    #: offset -> position of batches known to start there (see `remember`).
    _hints: dict[int, int] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.next_offset < 0:
            self.next_offset = self.base_offset

    # -- files --

    @property
    def log_path(self) -> Path:
        return segment_path(self.directory, self.base_offset, LOG_SUFFIX)

    @property
    def index_path(self) -> Path:
        return segment_path(self.directory, self.base_offset, INDEX_SUFFIX)

    @property
    def time_index_path(self) -> Path:
        return segment_path(self.directory, self.base_offset, TIME_INDEX_SUFFIX)

    @property
    def txn_index_path(self) -> Path:
        return segment_path(self.directory, self.base_offset, TXN_INDEX_SUFFIX)

    @classmethod
    def _new(
        cls, files: Files, directory: Path, base_offset: int, index_bytes: int,
        index_interval_bytes: int, now_ms: int,
    ) -> Segment:
        log_file = files.open(segment_path(directory, base_offset, LOG_SUFFIX))
        return cls(
            directory=directory,
            base_offset=base_offset,
            files=files,
            log_file=log_file,
            offset_index=OffsetIndex(base_offset, index_bytes // OFFSET_ENTRY_SIZE),
            time_index=TimeIndex(base_offset, index_bytes // TIME_ENTRY_SIZE),
            txn_index=TransactionIndex(
                segment_path(directory, base_offset, TXN_INDEX_SUFFIX), base_offset
            ),
            index_interval_bytes=index_interval_bytes,
            created_ms=now_ms,
        )

    @classmethod
    def create(
        cls, files: Files, directory: Path, base_offset: int, *, index_bytes: int,
        index_interval_bytes: int, now_ms: int,
    ) -> Segment:
        """Create the three files of a new, empty segment (no ``.txnindex`` until it is
        needed). Raises OSError."""
        segment = cls._new(files, directory, base_offset, index_bytes, index_interval_bytes, now_ms)
        try:
            if segment.log_file.size():
                # A leftover file from before a crash (an empty active segment that was cut
                # back): start it afresh, aborted transactions included.
                segment.log_file.truncate(0)
                files.remove(segment.txn_index_path)
            segment.write_indexes(durable=False)
        except BaseException:
            segment.log_file.close()
            raise
        return segment

    @classmethod
    def load(
        cls, files: Files, directory: Path, base_offset: int, *, active: bool, index_bytes: int,
        index_interval_bytes: int, now_ms: int, has_txn_index: bool = True,
        has_indexes: bool = True,
    ) -> Segment:
        """Open an existing segment and check it (see the module docstring).

        *has_txn_index* False says there is no ``.txnindex`` to look for (the caller listed
        the folder), saving a failed open per segment at start-up. *has_indexes* False
        builds a closed segment's indexes from its batches without looking for them (a
        cleaned segment just swapped in).

        Raises:
            CorruptSegmentError: a closed segment holds a bad batch.
            OSError: from the file layer.
        """
        segment = cls._new(files, directory, base_offset, index_bytes, index_interval_bytes, now_ms)
        try:
            if active:
                segment._recover_active()
            else:
                segment._load_closed(has_indexes)
            if has_txn_index:
                segment._load_txn_index()
        except BaseException:
            segment.log_file.close()
            raise
        return segment

    def _reset(self) -> None:
        self.offset_index = OffsetIndex(self.base_offset, self.offset_index.max_entries)
        self.time_index = TimeIndex(self.base_offset, self.time_index.max_entries)
        self.size = 0
        self.next_offset = self.base_offset
        self.max_timestamp = self.offset_of_max_timestamp = -1
        self.rolling_timestamp = None
        self.bytes_since_last_index_entry = 0
        self.epoch_starts = []
        self._hints.clear()

    def _full_scan(self, gaps: bool = False) -> BadBatch | None:
        """Rebuild all in-memory state from the .log; return the first bad batch, if any."""
        self._reset()
        file_size = self.log_file.size()
        epoch = -1
        try:
            for position, header, _ in iter_file_batches(
                self.log_file, 0, file_size, check_crc=True, expected_offset=self.base_offset,
                gaps=gaps,
            ):
                self.track_batch(
                    position, header.base_offset, header.last_offset, header.max_timestamp,
                    header.size,
                )
                if header.partition_leader_epoch > epoch:
                    epoch = header.partition_leader_epoch
                    self.epoch_starts.append((epoch, header.base_offset))
                self.size = position + header.size
        except BadBatch as bad:
            return bad
        return None

    def _recover_active(self) -> None:
        file_size = self.log_file.size()
        bad = self._full_scan()
        if bad is not None:
            kept = (
                f"offsets {self.base_offset} to {self.next_offset - 1} are intact and kept"
                if self.next_offset > self.base_offset
                else "no whole batch before it"
            )
            logger.warning(
                "%s: recovery truncates %d bytes at position %d of %d, everything from offset "
                "%d on (%s): %s",
                self.log_path, file_size - bad.position, bad.position, file_size,
                self.next_offset, kept, bad.reason,
            )
            self.log_file.truncate(bad.position)
        self.write_indexes(durable=False)

    def _load_closed(self, has_indexes: bool = True) -> None:
        file_size = self.log_file.size()
        try:
            if has_indexes:
                self._load_indexes(file_size)
                self._check_tail(file_size)
                return
        except (ValueError, BadBatch) as exc:
            logger.warning(
                "%s: index does not match the log (%s); rebuilding the indexes from the log",
                self.index_path, exc,
            )
        bad = self._full_scan(gaps=True)
        if bad is not None:
            message = (
                f"{self.log_path}: closed segment is corrupt at position {bad.position} of "
                f"{file_size} bytes (after offset {self.next_offset - 1}): {bad.reason}"
            )
            logger.error("%s", message)
            raise CorruptSegmentError(message)
        self.time_index.maybe_append(
            self.max_timestamp, self.offset_of_max_timestamp, skip_full_check=True
        )
        self.write_indexes(durable=False)

    def _load_txn_index(self) -> None:
        self.txn_index, problem = TransactionIndex.load(
            self.files, self.txn_index_path, self.base_offset, self.next_offset
        )
        if problem is not None:
            logger.warning(
                "%s: %s; keeping the %d entries before it (the broker rebuilds the rest from "
                "the transaction markers in the log)",
                self.txn_index_path, problem, len(self.txn_index),
            )

    def _load_indexes(self, file_size: int) -> None:
        data = self.files.read_bytes(self.index_path)
        if data is None:
            raise ValueError("the offset index is missing")
        self.offset_index = OffsetIndex.decode(
            self.base_offset, self.offset_index.max_entries, data, file_size
        )
        data = self.files.read_bytes(self.time_index_path)
        if data is None:
            raise ValueError("the time index is missing")
        self.time_index = TimeIndex.decode(self.base_offset, self.time_index.max_entries, data)

    def _check_tail(self, file_size: int) -> None:
        """Scan from the last index entry to the end of the file: sets size, next_offset."""
        last = self.offset_index.last_entry()
        start = last[1] if last else 0
        expected = None if last else self.base_offset
        first = True
        max_timestamp, offset_of_max = self.time_index.last_entry() or (-1, -1)
        next_offset = self.base_offset
        for position, header, _ in iter_file_batches(
            self.log_file, start, file_size, check_crc=True, expected_offset=expected, gaps=True
        ):
            if first and last and header.last_offset != last[0]:
                raise ValueError(
                    f"last entry says offset {last[0]} at position {last[1]}, the batch there "
                    f"ends at offset {header.last_offset}"
                )
            first = False
            if header.max_timestamp > max_timestamp:
                max_timestamp, offset_of_max = header.max_timestamp, header.last_offset
            next_offset = header.next_offset
        if last and first:
            raise ValueError("the last entry points past the last batch")
        time_last = self.time_index.last_entry()
        if time_last and time_last[1] >= next_offset:
            raise ValueError(f"time index entry for offset {time_last[1]} is past the log end")
        self.size = file_size
        self.next_offset = next_offset
        self.max_timestamp, self.offset_of_max_timestamp = max_timestamp, offset_of_max

    def write_indexes(self, *, durable: bool) -> None:
        """Write both index files whole, each atomically (temp file and rename); bring the
        ``.txnindex`` up to date (see `TransactionIndex.flush`)."""
        self.files.write_atomic(self.index_path, self.offset_index.encode(), durable=durable)
        self.offset_index.persisted = len(self.offset_index)
        self.files.write_atomic(self.time_index_path, self.time_index.encode(), durable=durable)
        self.time_index.persisted = len(self.time_index)
        self.txn_index.flush(self.files, durable=durable)

    def flush_indexes(self, *, durable: bool) -> None:
        """Write the index files if entries were added since they were last written."""
        if (
            self.offset_index.persisted != len(self.offset_index)
            or self.time_index.persisted != len(self.time_index)
        ):
            self.files.write_atomic(self.index_path, self.offset_index.encode(), durable=durable)
            self.files.write_atomic(self.time_index_path, self.time_index.encode(), durable=durable)
            self.offset_index.persisted = len(self.offset_index)
            self.time_index.persisted = len(self.time_index)
        self.txn_index.flush(self.files, durable=durable)

    def close(self) -> None:
        try:
            self.txn_index.close()
        finally:
            self.log_file.close()

    def delete_files(self) -> None:
        """Close and remove the files, .log first (an orphan index is cleaned up on open)."""
        self.close()
        self.files.remove(self.log_path)
        self.files.remove(self.index_path)
        self.files.remove(self.time_index_path)
        self.files.remove(self.txn_index_path)

    # -- append --

    def track_batch(
        self, position: int, base_offset: int, last_offset: int, max_timestamp: int, size: int
    ) -> None:
        """Account for a batch written at *position*: timestamps, indexes, next offset.

        The same code runs on append and on a recovery scan, so a rebuilt index is the index
        that appends built. As Kafka's ``LogSegment.append``: an offset index entry (the
        batch's last offset, its position) once more than index.interval.bytes were written
        since the last entry, and with it a time index entry if the max timestamp grew.
        """
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
            self.offset_of_max_timestamp = last_offset
        if self.rolling_timestamp is None:
            self.rolling_timestamp = max_timestamp
        if self.bytes_since_last_index_entry > self.index_interval_bytes:
            self.offset_index.append(last_offset, position)
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
            self.bytes_since_last_index_entry = 0
        self.bytes_since_last_index_entry += size
        self.next_offset = last_offset + 1

    def can_hold_relative(self, last_offset: int) -> bool:
        return last_offset - self.base_offset <= _INT32_MAX

    # -- reads --

    def _locate(self, offset: int) -> tuple[int, bytes, int] | None:
        """Find the batch holding *offset*: (file position, buffer, position in buffer).

        Strategy: the offset index gives the position of a batch at or before the target (its
        entries hold batches' last offsets, so usually the batch just before it); from there
        walk batch headers through small windows (about one index interval), so that
        stepping over a large batch does not read it. The buffer holds at least the found
        batch's first 27 bytes; `read` then reads exactly the bytes it returns.
        None when *offset* is past this segment's batches.
        """
        size = self.size
        position = self.offset_index.lookup(offset)
        window = min(max(2 * self.index_interval_bytes, 16384), 262144)
        buf = b""
        off = 0
        while position < size:
            if len(buf) - off < _WALK_SIZE:
                buf = self.log_file.pread(min(size - position, window), position)
                off = 0
                if len(buf) < _WALK_SIZE:
                    raise OSError(f"{self.log_path}: short read at position {position}")
            base_offset, batch_length, last_offset_delta = _unpack_walk(buf, off)
            if base_offset + last_offset_delta >= offset:
                return position, buf, off
            position += batch_length + LOG_OVERHEAD
            off += batch_length + LOG_OVERHEAD
        return None

    def read(
        self, offset: int | None, budget: int, *, must_take_one: bool, max_offset: int
    ) -> tuple[memoryview | None, bool]:
        """Whole batches from the one holding *offset* (None: from the start), within *budget*.

        The first batch is taken whatever its size when *must_take_one*. Batches at or past
        *max_offset* are left out. Returns (bytes or None, whether the read reached the end of
        the segment, so the caller may continue in the next one).
        """
        size = self.size
        hint = None if offset is None else self._hints.get(offset)
        if offset is None or hint is not None:
            # From a known batch start: one read of exactly the budget (or the first batch).
            start = 0 if offset is None else hint
            if start >= size:
                return None, True
            # A large budget reads the first header alone first: if that batch is larger than
            # the budget, the data is still read once, not twice.
            head = _WALK_SIZE if budget > 65536 else max(budget, _WALK_SIZE)
            buf = self.log_file.pread(min(size - start, head), start)
            off = 0
            if len(buf) < _WALK_SIZE:
                raise OSError(f"{self.log_path}: short read at position {start}")
        else:
            found = self._locate(offset)
            if found is None:
                return None, True
            start, buf, off = found
        base_offset, batch_length, last_offset_delta = _unpack_walk(buf, off)
        first_size = batch_length + LOG_OVERHEAD
        if base_offset >= max_offset or (first_size > budget and not must_take_one):
            return None, False
        want = min(size - start, max(budget, first_size))
        if len(buf) - off >= want:
            data = memoryview(buf)[off : off + want]
        else:
            data = memoryview(self.log_file.pread(want, start))
            if len(data) < want:
                raise OSError(f"{self.log_path}: short read at position {start}")
        end = first_size
        next_offset = base_offset + last_offset_delta + 1
        limit = len(data)
        at_end = False
        while True:
            if end + _WALK_SIZE > limit:
                at_end = start + end >= size
                break
            base_offset, batch_length, last_offset_delta = _unpack_walk(data, end)
            if base_offset >= max_offset or end + batch_length + LOG_OVERHEAD > limit:
                break
            end += batch_length + LOG_OVERHEAD
            next_offset = base_offset + last_offset_delta + 1
        self.remember(next_offset, start + end)
        return data[:end], at_end

    def remember(self, offset: int, position: int) -> None:
        """Note that the batch at *offset* starts at *position* (a consumer's next fetch, or
        the next append): a sequential reader then skips the index lookup and header walk."""
        hints = self._hints
        if len(hints) >= 64:
            hints.clear()
        hints[offset] = position

    def iter_batches_from(self, offset: int) -> Iterator[tuple[BatchHeader, memoryview]]:
        """Batches from the one holding *offset* to the current end of the segment."""
        found = self._locate(offset)
        if found is None:
            return
        position = found[0]
        for _, header, view in iter_file_batches(self.log_file, position, self.size, check_crc=False):
            yield header, view

    def find_timestamp(self, timestamp: int, min_offset: int) -> tuple[int, int] | None:
        """(base offset, max timestamp) of the first batch from *min_offset* on whose max
        timestamp is >= *timestamp*, or None."""
        if self.max_timestamp < timestamp:
            return None
        start = max(self.time_index.lookup(timestamp), min_offset)
        for header, _ in self.iter_batches_from(start):
            if header.max_timestamp >= timestamp:
                return header.base_offset, header.max_timestamp
        return None

    def largest_timestamp(self) -> int:
        """What retention.ms measures from: the max timestamp, else the file's mtime."""
        if self.max_timestamp >= 0:
            return self.max_timestamp
        return self.files.mtime_ms(self.log_path)

    def append(self, buffers: list[Any]) -> None:
        """Write *buffers* at the end of the .log (one write call). Raises OSError."""
        self.log_file.append(buffers)
        self.synced = False

    def fsync(self) -> None:
        self.log_file.fsync()
        self.txn_index.flush(self.files, durable=True)
        self.synced = True


def close_segments(segments: Iterable[Segment]) -> None:
    """Close every segment's .log file. A failure is logged and the others are still closed:
    what was written is on disk or is recovery's business at the next open."""
    for segment in segments:
        try:
            segment.close()
        except OSError as exc:
            logger.warning("%s: close failed: %s", segment.log_path, exc)
