"""`PartitionLog`: one partition's commit log, a series of segments; `MemoryLog`: the same
with its files in memory.

A partition folder holds, as in Kafka::

    00000000000000000000.log  .index  .timeindex     one segment per base offset
    00000000000000004711.log  .index  .timeindex     (the last one is the active segment)
    leader-epoch-checkpoint                          Kafka's format: version, count, entries
    log-start-offset-checkpoint                      the log start offset (same format)

Kafka keeps the log start offsets of all partitions in one ``log-start-offset-checkpoint``
per data dir; here each partition folder has its own, so a log can be opened on its own.

Offsets start at 0, only grow and are never reused: retention never deletes the active
segment without rolling first (as Kafka does), so the newest segment's name keeps the log
end offset, and the log start offset is checkpointed whenever it moves.

Durability: every append reaches the OS with one write call before `append` returns, so a
kill -9 loses nothing that was acknowledged. Power-loss durability is per config: ``fsync``
(every append), ``flush_messages`` (every N records) or ``flush_ms`` (when that long has
passed at an append or a `maybe_flush`). Indexes are written at roll, flush and close;
opening a log always rebuilds the active segment's indexes from its batches.
"""

from __future__ import annotations

import logging
import re
import time
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from kafkalite.storage.config import LogConfig
from kafkalite.storage.errors import CorruptSegmentError, KafkaStorageError, OffsetOutOfRange
from kafkalite.storage.files import OS_FILES, Files, MemoryFiles
from kafkalite.storage.segment import Segment
from kafkalite.wire.records import (
    BATCH_HEADER_SIZE,
    BatchHeader,
    CorruptBatchError,
    parse_batch_header,
    patch_base_offset,
    patch_partition_leader_epoch,
    set_log_append_time,
)

__all__ = ["AppendInfo", "MemoryLog", "PartitionLog"]

logger = logging.getLogger("kafkalite.storage")

LOG_START_CHECKPOINT = "log-start-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
_SEGMENT_FILE = re.compile(r"^(\d{20})\.(log|index|timeindex)$")


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@attrs.frozen
class AppendInfo:
    """What one append did.

    ``max_timestamp`` is the largest batch max_timestamp of the append (after LogAppendTime
    stamping, if asked) and ``offset_of_max_timestamp`` the last offset of the first batch
    that has it (Kafka's "shallow" offset of the max timestamp).
    """

    base_offset: int
    last_offset: int
    max_timestamp: int
    offset_of_max_timestamp: int


def _encode_checkpoint(entries: list[tuple[int, ...]]) -> bytes:
    lines = ["0", str(len(entries))] + [" ".join(str(v) for v in entry) for entry in entries]
    return ("\n".join(lines) + "\n").encode()


def _decode_checkpoint(data: bytes, width: int) -> list[tuple[int, ...]]:
    """Kafka's checkpoint file: version 0, entry count, one entry per line. Raises ValueError."""
    lines = data.decode("ascii").splitlines()
    if len(lines) < 2 or lines[0].strip() != "0":
        raise ValueError("not a version 0 checkpoint file")
    count = int(lines[1])
    entries = [tuple(int(v) for v in line.split()) for line in lines[2 : 2 + count]]
    if len(entries) != count or any(len(e) != width for e in entries):
        raise ValueError(f"expected {count} entries of {width} numbers")
    return entries


@attrs.define(eq=False)
class PartitionLog:
    """The commit log of one partition. Open with `PartitionLog.open`; close with `close`.

    Not thread-safe: the broker calls it from trio tasks, one call at a time. Every method
    that touches files raises `KafkaStorageError` when the OS refuses.
    """

    directory: Path
    config: LogConfig
    files: Any = OS_FILES
    _segments: list[Segment] = attrs.field(init=False, factory=list)
    _bases: list[int] = attrs.field(init=False, factory=list)
    _log_start_offset: int = attrs.field(init=False, default=0)
    #: (leader epoch, start offset) for each epoch seen, in order (Kafka's leader epoch cache).
    _epochs: list[tuple[int, int]] = attrs.field(init=False, factory=list)
    _max_timestamp: tuple[int, int] = attrs.field(init=False, default=(-1, -1))
    _unflushed_messages: int = attrs.field(init=False, default=0)
    _last_flush_ms: int = attrs.field(init=False, default=0)
    #: Why appends are refused (a write that could not be undone), or None.
    _failed: str | None = attrs.field(init=False, default=None)
    _closed: bool = attrs.field(init=False, default=False)

    # -- opening (recovery) --

    @classmethod
    def open(
        cls, directory: Path, config: LogConfig, now_ms: int | None = None, *,
        files: Files | None = None,
    ) -> PartitionLog:
        """Open the log in *directory*, creating the folder if missing. Opening is recovery.

        Every batch of the active segment is checked (length, magic, CRC, offsets); a torn or
        corrupt tail is truncated and logged (logger ``kafkalite.storage``); missing or
        damaged indexes are rebuilt. *now_ms* (default: the wall clock) is the creation time
        of a new segment. *files* replaces the file layer (tests, memory mode).

        Raises:
            CorruptSegmentError: a closed segment holds a bad batch (logged as an error).
            KafkaStorageError: the folder or its files cannot be read or written.
        """
        log = cls(directory=Path(directory), config=config, files=files or OS_FILES)
        log._recover(now_ms)
        return log

    def _recover(self, now_ms: int | None) -> None:
        now = _wall_ms() if now_ms is None else now_ms
        self._last_flush_ms = now
        try:
            self._recover_files(now)
        except CorruptSegmentError:
            self._close_segments()
            raise
        except OSError as exc:
            self._close_segments()
            raise KafkaStorageError(f"{self.directory}: cannot open the log: {exc}") from exc

    def _recover_files(self, now: int) -> None:
        files, directory = self.files, self.directory
        files.makedirs(directory)
        names = files.listdir(directory)
        segment_files: dict[int, set[str]] = {}
        for name in names:
            if name.endswith(".tmp"):
                files.remove(directory / name)  # an atomic write cut short
                continue
            match = _SEGMENT_FILE.match(name)
            if match:
                segment_files.setdefault(int(match[1]), set()).add(match[2])
        bases = []
        for base, kinds in sorted(segment_files.items()):
            if "log" in kinds:
                bases.append(base)
            else:  # indexes left behind by a segment deletion cut short
                for kind in kinds:
                    files.remove(directory / f"{base:020d}.{kind}")

        self._log_start_offset = self._read_log_start_checkpoint()
        self._epochs = self._read_epoch_checkpoint()

        for i, base in enumerate(bases):
            segment = Segment.load(
                files, directory, base, active=i == len(bases) - 1,
                index_bytes=self.config.segment_index_bytes,
                index_interval_bytes=self.config.index_interval_bytes, now_ms=now,
            )
            if self._segments and base < self._segments[-1].next_offset:
                segment.close()
                message = (
                    f"{segment.log_path}: segment starts at offset {base}, inside the segment "
                    f"before it, which ends at offset {self._segments[-1].next_offset - 1}"
                )
                logger.error("%s", message)
                raise CorruptSegmentError(message)
            self._add_segment(segment)
        if not self._segments:
            self._add_segment(self._create_segment(self._log_start_offset, now))

        end = self.log_end_offset
        if self._log_start_offset > end:
            # The checkpoint is ahead of the data (the tail was lost or cut): as Kafka's
            # truncateFullyAndStartAt, start afresh at the log start, reusing no offset.
            logger.warning(
                "%s: log start offset %d is past the recovered log end %d; starting an empty "
                "log at %d", directory, self._log_start_offset, end, self._log_start_offset,
            )
            for segment in self._segments:
                segment.delete_files()
            self._segments.clear()
            self._bases.clear()
            self._add_segment(self._create_segment(self._log_start_offset, now))
        start = max(self._log_start_offset, self._segments[0].base_offset)
        if start != self._log_start_offset:
            self._log_start_offset = start
            self._write_log_start_checkpoint()

        # Leader epochs: the checkpoint, cut back to the recovered end, plus what the active
        # segment's batches say (the checkpoint may lag the last append before a crash).
        epochs = [(e, s) for e, s in self._epochs if s < self.log_end_offset]
        for epoch, offset in self._segments[-1].epoch_starts:
            if not epochs or epoch > epochs[-1][0]:
                epochs.append((epoch, offset))
        changed = epochs != self._epochs
        self._epochs = epochs
        self._truncate_epochs_from_start()
        if changed:
            self._write_epoch_checkpoint()
        self._recompute_max_timestamp()

    def _read_log_start_checkpoint(self) -> int:
        path = self.directory / LOG_START_CHECKPOINT
        data = self.files.read_bytes(path)
        if data is None:
            return 0
        try:
            return _decode_checkpoint(data, 1)[0][0]
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            logger.warning("%s: unreadable (%s); using the first segment's base offset", path, exc)
            return 0

    def _write_log_start_checkpoint(self) -> None:
        self.files.write_atomic(
            self.directory / LOG_START_CHECKPOINT, _encode_checkpoint([(self._log_start_offset,)])
        )

    def _read_epoch_checkpoint(self) -> list[tuple[int, int]]:
        path = self.directory / LEADER_EPOCH_CHECKPOINT
        data = self.files.read_bytes(path)
        if data is None:
            return []
        try:
            return [(e, s) for e, s in _decode_checkpoint(data, 2)]
        except (ValueError, UnicodeDecodeError) as exc:
            logger.warning("%s: unreadable (%s); rebuilding from the active segment", path, exc)
            return []

    def _write_epoch_checkpoint(self) -> None:
        self.files.write_atomic(
            self.directory / LEADER_EPOCH_CHECKPOINT, _encode_checkpoint(self._epochs),
            durable=self._durable,
        )

    def _create_segment(self, base_offset: int, now: int) -> Segment:
        return Segment.create(
            self.files, self.directory, base_offset,
            index_bytes=self.config.segment_index_bytes,
            index_interval_bytes=self.config.index_interval_bytes, now_ms=now,
        )

    def _add_segment(self, segment: Segment) -> None:
        self._segments.append(segment)
        self._bases.append(segment.base_offset)

    # -- state --

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset

    @property
    def high_watermark(self) -> int:
        """The log end offset: with one replica everything appended is committed."""
        return self._segments[-1].next_offset

    @property
    def max_timestamp(self) -> tuple[int, int]:
        """(timestamp, offset) of the batch with the largest max_timestamp, for ListOffsets
        -3; the offset is that batch's last offset (Kafka's shallow offset; the earliest
        batch wins a tie). (-1, -1) when the log has no timestamped batch."""
        return self._max_timestamp

    @property
    def size_in_bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    @property
    def segment_base_offsets(self) -> list[int]:
        return list(self._bases)

    @property
    def leader_epochs(self) -> list[tuple[int, int]]:
        """(epoch, start offset) of each leader epoch in the log, oldest first."""
        return list(self._epochs)

    @property
    def _durable(self) -> bool:
        c = self.config
        return c.fsync or c.flush_messages is not None or c.flush_ms is not None

    def _recompute_max_timestamp(self) -> None:
        best = (-1, -1)
        for segment in self._segments:
            if segment.max_timestamp > best[0]:
                best = (segment.max_timestamp, segment.offset_of_max_timestamp)
        self._max_timestamp = best

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self.directory}: the log is closed")

    # -- append --

    def append(
        self,
        records: bytes | bytearray | memoryview,
        *,
        leader_epoch: int = 0,
        now_ms: int | None = None,
        log_append_time_ms: int | None = None,
    ) -> AppendInfo:
        """Append one or more whole RecordBatch v2, already validated by the caller.

        Patches each batch's base offset (consecutive from the log end offset) and partition
        leader epoch (a writable *records* - bytearray, writable memoryview - is patched in
        place, a read-only one is copied, or for a single batch only its 61-byte header) and
        writes the bytes with one write call, rolling first when the active segment would
        pass segment.bytes, is older than segment.ms (measured, as Kafka, from its first
        batch's max timestamp to this append's, or by the clock without timestamps), or has
        a full index. *log_append_time_ms* stamps each batch as LogAppendTime (CRC
        recomputed). *now_ms* defaults to the wall clock.

        Raises:
            KafkaStorageError: the write failed; nothing of the append is in the log.
            CorruptBatchError: *records* is not whole batches (a caller bug).
        """
        self._check_open()
        if self._failed is not None:
            raise KafkaStorageError(f"{self.directory}: log refuses appends: {self._failed}")
        total = len(records) if not isinstance(records, memoryview) else records.nbytes
        if total == 0:
            raise CorruptBatchError("append needs at least one record batch")
        now = _wall_ms() if now_ms is None else now_ms

        headers: list[tuple[int, BatchHeader]] = []
        position = 0
        while position < total:
            header = parse_batch_header(records, position)
            headers.append((position, header))
            position += header.size

        writable = isinstance(records, bytearray) or (
            isinstance(records, memoryview) and not records.readonly
        )
        if not writable and (len(headers) > 1 or log_append_time_ms is not None):
            records = bytearray(records)
            writable = True

        base_offset = next_offset = self.log_end_offset
        batches: list[tuple[int, int, int, int, int]] = []  # position, base, last, max ts, size
        for position, header in headers:
            last = next_offset + header.last_offset_delta
            max_ts = header.max_timestamp if log_append_time_ms is None else log_append_time_ms
            batches.append((position, next_offset, last, max_ts, header.size))
            next_offset = last + 1
        if writable:
            for (position, _), (_, base, _, _, _) in zip(headers, batches):
                patch_base_offset(records, position, base)
                patch_partition_leader_epoch(records, position, leader_epoch)
                if log_append_time_ms is not None:
                    set_log_append_time(records, position, log_append_time_ms)
            buffers = [records]
        else:
            # One read-only batch: patch a copy of its header, write the body as it came.
            head = bytearray(memoryview(records)[:BATCH_HEADER_SIZE])
            patch_base_offset(head, 0, base_offset)
            patch_partition_leader_epoch(head, 0, leader_epoch)
            buffers = [head, memoryview(records)[BATCH_HEADER_SIZE:]]
        last_offset = next_offset - 1
        max_timestamp = max(b[3] for b in batches)

        segment = self._segments[-1]
        if self._should_roll(segment, total, max_timestamp, last_offset, now):
            try:
                self._roll(now)
            except OSError as exc:
                raise KafkaStorageError(f"{self.directory}: roll failed: {exc}") from exc
            segment = self._segments[-1]

        start = segment.size
        try:
            segment.append(buffers)
        except OSError as exc:
            self._undo_append(segment, start, exc)
            raise KafkaStorageError(f"{segment.log_path}: append failed: {exc}") from exc
        segment.size = start + total
        offset_of_max = -1
        for position, base, last, max_ts, size in batches:
            segment.track_batch(start + position, base, last, max_ts, size)
            if max_ts == max_timestamp and offset_of_max < 0:
                offset_of_max = last
        segment.remember(last_offset + 1, segment.size)
        if max_timestamp > self._max_timestamp[0]:
            self._max_timestamp = (max_timestamp, offset_of_max)

        if not self._epochs or leader_epoch > self._epochs[-1][0]:
            self._epochs.append((leader_epoch, base_offset))
            try:
                self._write_epoch_checkpoint()
            except OSError as exc:
                # The batches are in the log, which recovery reads epochs back from.
                logger.warning("%s: cannot write the leader epoch checkpoint: %s", self.directory, exc)

        self._unflushed_messages += last_offset - base_offset + 1
        c = self.config
        if (
            c.fsync
            or (c.flush_messages is not None and self._unflushed_messages >= c.flush_messages)
            or (c.flush_ms is not None and now - self._last_flush_ms >= c.flush_ms)
        ):
            try:
                self._fsync_segments(now)
            except OSError as exc:
                # As Kafka, a failed fsync leaves the state of the file unknown: stop taking
                # appends until the log is reopened (recovery checks every batch).
                self._failed = f"fsync failed: {exc}"
                raise KafkaStorageError(f"{segment.log_path}: fsync failed: {exc}") from exc
        return AppendInfo(base_offset, last_offset, max_timestamp, offset_of_max)

    def _undo_append(self, segment: Segment, start: int, exc: OSError) -> None:
        try:
            segment.log_file.truncate(start)
        except OSError as exc2:
            self._failed = (
                f"a failed write ({exc}) left bytes after position {start} that could not be "
                f"truncated ({exc2})"
            )
            logger.error("%s: %s", segment.log_path, self._failed)

    def _should_roll(
        self, segment: Segment, size: int, max_timestamp: int, last_offset: int, now: int
    ) -> bool:
        # Kafka's LogSegment.shouldRoll, except that an empty segment is never rolled: a
        # batch larger than segment.bytes goes alone into a segment of its own.
        if segment.size == 0:
            return False
        if segment.size + size > self.config.segment_bytes:
            return True
        if segment.offset_index.is_full or segment.time_index.is_full:
            return True
        if not segment.can_hold_relative(last_offset):
            return True
        rolling = segment.rolling_timestamp
        if rolling is not None and rolling >= 0 and max_timestamp >= 0:
            waited = max_timestamp - rolling
        else:
            waited = now - segment.created_ms
        return waited > self.config.segment_ms

    # -- roll, flush, close --

    def roll(self, now_ms: int | None = None) -> None:
        """Close the active segment and start a new one at the log end offset.

        Nothing happens when the active segment is empty.

        Raises:
            KafkaStorageError: a file could not be written or created.
        """
        self._check_open()
        try:
            self._roll(_wall_ms() if now_ms is None else now_ms)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: roll failed: {exc}") from exc

    def _roll(self, now: int) -> None:
        old = self._segments[-1]
        if old.size == 0:
            return
        durable = self._durable
        # The final time index entry, as Kafka's onBecomeInactiveSegment: a closed segment's
        # max timestamp is its time index's last entry.
        old.time_index.maybe_append(old.max_timestamp, old.offset_of_max_timestamp, skip_full_check=True)
        old.write_indexes(durable=durable)
        if durable:
            old.fsync()
        segment = self._create_segment(old.next_offset, now)
        if durable:
            self.files.fsync_dir(self.directory)
        self._add_segment(segment)
        logger.debug("%s: rolled a new segment at offset %d", self.directory, segment.base_offset)

    def _fsync_segments(self, now: int) -> None:
        for segment in self._segments:
            if not segment.synced:
                segment.fsync()
        self._unflushed_messages = 0
        self._last_flush_ms = now

    def flush(self, now_ms: int | None = None) -> None:
        """fsync every segment written since the last flush and write the indexes.

        Raises:
            KafkaStorageError: the OS refused.
        """
        self._check_open()
        try:
            self._segments[-1].flush_indexes(durable=True)
            self._fsync_segments(_wall_ms() if now_ms is None else now_ms)
            self.files.fsync_dir(self.directory)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: flush failed: {exc}") from exc

    def maybe_flush(self, now_ms: int | None = None) -> bool:
        """flush if flush.ms has passed since the last one (for a periodic task).

        Returns whether it flushed.
        """
        now = _wall_ms() if now_ms is None else now_ms
        c = self.config
        if c.flush_ms is None or self._unflushed_messages == 0 or now - self._last_flush_ms < c.flush_ms:
            return False
        self.flush(now)
        return True

    def close(self) -> None:
        """Write the indexes (fsync everything if the config asks for durability) and close
        the files. Calling it again does nothing.

        Raises:
            KafkaStorageError: the indexes could not be written (the files are closed anyway;
                the next open rebuilds them).
        """
        if self._closed:
            return
        try:
            active = self._segments[-1]
            if self._failed is None:
                active.flush_indexes(durable=self._durable)
                if self._durable:
                    self._fsync_segments(_wall_ms())
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: close failed: {exc}") from exc
        finally:
            self._close_segments()

    def _close_segments(self) -> None:
        self._closed = True
        for segment in self._segments:
            try:
                segment.close()
            except OSError as exc:
                logger.warning("%s: close failed: %s", segment.log_path, exc)

    def delete(self) -> None:
        """Close the log and remove its folder with everything in it.

        Raises:
            KafkaStorageError: the files could not be removed.
        """
        self._close_segments()
        try:
            self.files.remove_tree(self.directory)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: delete failed: {exc}") from exc

    def update_config(self, config: LogConfig) -> None:
        """Use *config* from now on (topic configs altered at run time).

        A smaller segment.bytes or segment.index.bytes rolls at the next append; retention
        changes apply at the next `apply_retention`.
        """
        self.config = config
        active = self._segments[-1]
        active.index_interval_bytes = config.index_interval_bytes
        active.offset_index.max_entries = config.segment_index_bytes // 8
        active.time_index.max_entries = config.segment_index_bytes // 12

    # -- reads --

    def _segment_index(self, offset: int) -> int:
        return max(bisect_right(self._bases, offset) - 1, 0)

    def _check_range(self, offset: int) -> None:
        if offset < self._log_start_offset or offset > self.log_end_offset:
            raise OffsetOutOfRange(
                f"offset {offset} is outside the log [{self._log_start_offset}, "
                f"{self.log_end_offset}]",
                log_start_offset=self._log_start_offset,
                log_end_offset=self.log_end_offset,
            )

    def read(
        self, offset: int, max_bytes: int, *, max_offset: int | None = None
    ) -> list[memoryview]:
        """Return whole batches starting at the batch containing *offset*.

        Always returns at least one batch if *offset* is below the high watermark, even if
        it is larger than *max_bytes*; clients rely on this to make progress. Otherwise the
        total is at most *max_bytes*. Each item of the list is one or more whole, consecutive
        batches (one item per segment read); their concatenation is the record set. Batches
        whose base offset is at or past *max_offset* (e.g. the last stable offset) are left
        out. Returns [] when *offset* is the log end offset.

        The bytes come from one positioned read per segment (no other copy); the views keep
        that buffer alive, not the file.

        Raises:
            OffsetOutOfRange: *offset* is below the log start or above the high watermark.
            KafkaStorageError: the file could not be read.
        """
        self._check_open()
        self._check_range(offset)
        limit = self.log_end_offset if max_offset is None else min(max_offset, self.log_end_offset)
        if offset >= limit:
            return []
        out: list[memoryview] = []
        i = self._segment_index(offset)
        budget = max_bytes
        first = True
        try:
            while i < len(self._segments):
                data, at_end = self._segments[i].read(
                    offset if first else None, budget, must_take_one=first, max_offset=limit
                )
                if data is not None:
                    out.append(data)
                    budget -= len(data)
                    first = False
                if not at_end or budget <= 0 and not first:
                    break
                i += 1
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: read failed: {exc}") from exc
        return out

    def batches_from(self, offset: int) -> Iterator[tuple[BatchHeader, memoryview]]:
        """Yield (header, bytes) of every batch from the one containing *offset* to the end
        of the log as it is when each segment is reached (for rebuilding state at start).

        Raises:
            OffsetOutOfRange: as `read`.
            KafkaStorageError: the files could not be read.
        """
        self._check_open()
        self._check_range(offset)
        return self._batches_from(offset)

    def _batches_from(self, offset: int) -> Iterator[tuple[BatchHeader, memoryview]]:
        i = self._segment_index(offset)
        try:
            while i < len(self._segments):
                yield from self._segments[i].iter_batches_from(offset)
                i += 1
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: read failed: {exc}") from exc

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) for ListOffsets with a timestamp: the first batch whose max
        timestamp is >= *timestamp_ms*, via the time index.

        Batch granularity, as Kafka gives for compressed batches: the offset is the batch's
        base offset (or the log start offset, if that is inside the batch) and the timestamp
        its max timestamp. Records are not decoded. None when no batch is that recent.

        Raises:
            KafkaStorageError: the files could not be read.
        """
        self._check_open()
        try:
            for segment in self._segments:
                if segment.next_offset <= self._log_start_offset:
                    continue
                found = segment.find_timestamp(timestamp_ms, self._log_start_offset)
                if found is not None:
                    return max(found[0], self._log_start_offset), found[1]
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: read failed: {exc}") from exc
        return None

    def leader_epoch_end_offset(self, epoch: int) -> tuple[int, int]:
        """(epoch, end offset) for OffsetForLeaderEpoch.

        The largest epoch <= *epoch* that appears in the log, and the start offset of the next
        epoch (the log end offset for the latest one). A log with no epoch yet counts as
        epoch 0 from its start. Below the first epoch: (*epoch*, first epoch's start offset),
        as Kafka. *epoch* -1 (undefined): (-1, -1).
        """
        if epoch < 0:
            return -1, -1
        epochs = self._epochs or [(0, self._log_start_offset)]
        i = bisect_right(epochs, (epoch, float("inf"))) - 1
        if i < 0:
            return epoch, epochs[0][1]
        end = epochs[i + 1][1] if i + 1 < len(epochs) else self.log_end_offset
        return epochs[i][0], end

    # -- deletion --

    def delete_records(self, before_offset: int) -> int:
        """Move the log start offset up to *before_offset* (DeleteRecords); return the new
        log start offset (the low watermark). -1 means the high watermark, as Kafka.

        Closed segments wholly below the new start are deleted at once. Never moves back.

        Raises:
            OffsetOutOfRange: *before_offset* is above the high watermark or negative.
            KafkaStorageError: the checkpoint or a segment could not be written or removed.
        """
        self._check_open()
        if before_offset == -1:
            before_offset = self.high_watermark
        if before_offset < 0 or before_offset > self.high_watermark:
            raise OffsetOutOfRange(
                f"cannot delete records before offset {before_offset}: the high watermark is "
                f"{self.high_watermark}",
                log_start_offset=self._log_start_offset,
                log_end_offset=self.log_end_offset,
            )
        if before_offset > self._log_start_offset:
            try:
                self._log_start_offset = before_offset
                self._write_log_start_checkpoint()
                self._truncate_epochs_from_start(write=True)
                self._delete_oldest(self._count_deletable(self._below_log_start), _wall_ms())
            except OSError as exc:
                raise KafkaStorageError(f"{self.directory}: delete records failed: {exc}") from exc
        return self._log_start_offset

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Delete whole segments as retention.ms, retention.bytes and the log start offset
        say, oldest first; return how many were deleted.

        As Kafka's UnifiedLog.deleteOldSegments: a segment is past retention.ms when *now_ms*
        minus its largest timestamp exceeds it; retention.bytes deletes the oldest segments
        while the log stays at or above it without them; a closed segment wholly below the
        log start offset goes. Deletion stops at the first segment to keep. When every
        segment, the active one included, is to go, the log rolls first, so an empty active
        segment at the log end offset remains and no offset is ever reused. The log start
        offset moves to the first remaining segment's base offset and is checkpointed.

        Raises:
            KafkaStorageError: a file could not be removed or written.
        """
        self._check_open()
        now = _wall_ms() if now_ms is None else now_ms
        deleted = 0
        c = self.config
        try:
            if c.retention_ms >= 0:
                def past_time(segment: Segment, is_last: bool) -> bool:
                    return now - segment.largest_timestamp() > c.retention_ms

                deleted += self._delete_oldest(self._count_deletable(past_time), now)
            if c.retention_bytes >= 0:
                excess = self.size_in_bytes - c.retention_bytes

                def past_size(segment: Segment, is_last: bool) -> bool:
                    nonlocal excess
                    if excess - segment.size >= 0:
                        excess -= segment.size
                        return True
                    return False

                deleted += self._delete_oldest(self._count_deletable(past_size), now)
            deleted += self._delete_oldest(self._count_deletable(self._below_log_start), now)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: retention failed: {exc}") from exc
        return deleted

    def _below_log_start(self, segment: Segment, is_last: bool) -> bool:
        return not is_last and segment.next_offset <= self._log_start_offset

    def _count_deletable(self, predicate: Any) -> int:
        n = 0
        last = len(self._segments) - 1
        for i, segment in enumerate(self._segments):
            is_last = i == last
            if is_last and segment.size == 0:
                break
            if not predicate(segment, is_last):
                break
            n += 1
        return n

    def _delete_oldest(self, n: int, now: int) -> int:
        if n == 0:
            return 0
        if n == len(self._segments):
            self._roll(now)
        victims = self._segments[:n]
        del self._segments[:n]
        del self._bases[:n]
        new_start = max(self._log_start_offset, self._segments[0].base_offset)
        if new_start != self._log_start_offset:
            self._log_start_offset = new_start
            self._write_log_start_checkpoint()
            self._truncate_epochs_from_start(write=True)
        for segment in victims:
            logger.info(
                "%s: deleting segment %d (offsets %d to %d, %d bytes)", self.directory,
                segment.base_offset, segment.base_offset, segment.next_offset - 1, segment.size,
            )
            segment.delete_files()
        self._recompute_max_timestamp()
        return n

    def _truncate_epochs_from_start(self, *, write: bool = False) -> None:
        # As Kafka's LeaderEpochFileCache.truncateFromStart: entries wholly below the log
        # start go, the one the log start is in now starts there.
        start = self._log_start_offset
        epochs = self._epochs
        i = 0
        while i + 1 < len(epochs) and epochs[i + 1][1] <= start:
            i += 1
        new = epochs[i:]
        if new and new[0][1] < start:
            new[0] = (new[0][0], start)
        if new != epochs:
            self._epochs = new
            if write:
                self._write_epoch_checkpoint()


class MemoryLog(PartitionLog):
    """A `PartitionLog` whose files are in memory (`MemoryFiles`): ``--memory`` and tests.

    Same code, same behaviour, same errors; nothing touches the disk. Pass *files* (a
    `MemoryFiles` or `FaultyFiles`) to share or inspect them, e.g. to reopen the log from a
    `MemoryFiles.snapshot` as after a crash.
    """

    def __init__(
        self,
        config: LogConfig = LogConfig(),  # noqa: B008 - frozen, so sharing it is safe
        *,
        now_ms: int | None = None,
        files: Files | None = None,
        directory: Path = Path("/memory/log"),
    ) -> None:
        super().__init__(directory=directory, config=config, files=files or MemoryFiles())
        self._recover(now_ms)
