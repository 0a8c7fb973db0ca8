"""`PartitionLog`: one partition's commit log, a series of segments; `MemoryLog`: the same
with its files in memory.

A partition folder holds, as in Kafka::

    00000000000000000000.log  .index  .timeindex     one segment per base offset
    00000000000000004711.log  .index  .timeindex     (the last one is the active segment)
                              .txnindex              aborted transactions, where there are any
    leader-epoch-checkpoint                          Kafka's format: version, count, entries
    log-start-offset-checkpoint                      the log start offset (same format)

Opening a log is recovery (`kafkalite.storage.recovery`). The segment list and what spans
segments is `kafkalite.storage.segments`; offset assignment and the roll decision are in
`kafkalite.storage.append`, the checkpoint files in `kafkalite.storage.checkpoints`, which
segments retention deletes in `kafkalite.storage.retention`.

Offsets start at 0, only grow and are never reused: retention never deletes the active
segment without rolling first (as Kafka does), so the newest segment's name keeps the log
end offset, and the log start offset is checkpointed whenever it moves.

Transactions: the log knows nothing of producers. The broker tells it which transactions
were aborted (`append_aborted_txn`, one ``.txnindex`` entry per ABORT marker), asks which
overlap a read_committed fetch (`aborted_txns_for_fetch`, `collect_aborted_txns`), repairs
the indexes from its start-up scan of the markers (`reconcile_txn_indexes`), and bounds
retention and DeleteRecords by the first offset an open transaction still needs
(`deletion_bound`). The last stable offset is the broker's; `read` takes it as *max_offset*.

Durability: every append reaches the OS with one write call before `append` returns, so a
kill -9 loses nothing that was acknowledged. Power-loss durability is per config: ``fsync``
(every append), ``flush_messages`` (every N records) or ``flush_ms`` (when that long has
passed at an append or a `maybe_flush`). Indexes are written at roll, flush and close;
opening a log always rebuilds the active segment's indexes from its batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from kafkalite.storage.append import AppendInfo, assign_offsets, should_roll
from kafkalite.storage.checkpoints import (
    LeaderEpochCache,
    write_leader_epochs,
    write_log_start_offset,
)
from kafkalite.storage.config import LogConfig
from kafkalite.storage.errors import CorruptSegmentError, KafkaStorageError, OffsetOutOfRange
from kafkalite.storage.files import OS_FILES, Files, MemoryFiles, system_wall_ms
from kafkalite.storage.recovery import recover_log
from kafkalite.storage.retention import (
    deletable_below_log_start,
    deletable_by_size,
    deletable_by_time,
)
from kafkalite.storage.segment import Segment
from kafkalite.storage.segments import LogSegments
from kafkalite.storage.log_aborted import AbortedTransactions
from kafkalite.storage.log_cleaned import CleanedSegments
from kafkalite.storage.replica import ReplicaLog
from kafkalite.wire.batch import BatchHeader

__all__ = ["MemoryLog", "PartitionLog"]

logger = logging.getLogger("kafkalite.storage")


@attrs.define(eq=False)
class PartitionLog(AbortedTransactions, CleanedSegments, ReplicaLog):
    """The commit log of one partition. Open with `PartitionLog.open`; close with `close`.

    Not thread-safe: the broker calls it from trio tasks, one call at a time. Every method
    that touches files raises `KafkaStorageError` when the OS refuses.
    """

    directory: Path
    config: LogConfig
    files: Any = OS_FILES
    #: The wall clock in ms every time-based rule reads (segment.ms, retention.ms, flush.ms,
    #: a new segment's creation time) when no *now_ms* is given: the broker's clock.
    clock: Callable[[], int] = attrs.field(default=system_wall_ms, kw_only=True)
    #: Set by recovery, which every way of opening a log starts with.
    _segments: LogSegments = attrs.field(init=False)
    _log_start_offset: int = attrs.field(init=False, default=0)
    #: (leader epoch, start offset) for each epoch seen, in order.
    _epochs: LeaderEpochCache = attrs.field(init=False, factory=LeaderEpochCache)
    _max_timestamp: tuple[int, int] = attrs.field(init=False, default=(-1, -1))
    _unflushed_messages: int = attrs.field(init=False, default=0)
    _last_flush_ms: int = attrs.field(init=False, default=0)
    #: Why appends are refused (a write that could not be undone), or None.
    _failed: str | None = attrs.field(init=False, default=None)
    _closed: bool = attrs.field(init=False, default=False)
    #: The largest last offset in the aborted transaction indexes (-1: none), so that a
    #: read_committed fetch past it needs no look at any index.
    _last_aborted_offset: int = attrs.field(init=False, default=-1)
    #: The high watermark of a replicated partition (`ReplicaLog.set_high_watermark`); None:
    #: the log end offset, everything appended being committed.
    _high_watermark: int | None = attrs.field(init=False, default=None)
    #: Set by the owner: a function giving the first offset that retention and DeleteRecords
    #: must keep (the partition's first unstable offset: the first offset of its earliest
    #: open transaction), or None when nothing holds them back. Called at each
    #: `apply_retention` and `delete_records`; None (the default) means no bound.
    deletion_bound: Callable[[], int | None] | None = attrs.field(init=False, default=None)

    # -- opening (recovery) --

    @classmethod
    def open(
        cls, directory: Path, config: LogConfig, now_ms: int | None = None, *,
        files: Files | None = None, clock: Callable[[], int] | None = None,
    ) -> PartitionLog:
        """Open the log in *directory*, creating the folder if missing. Opening is recovery.

        Every batch of the active segment is checked (length, magic, CRC, offsets); a torn or
        corrupt tail is truncated and logged (logger ``kafkalite.storage``); missing or
        damaged indexes are rebuilt. *now_ms* (default: *clock*) is the creation time of a
        new segment. *files* replaces the file layer (tests, memory mode); *clock* (ms since
        the epoch, default the system's) is the log's `clock`.

        Raises:
            CorruptSegmentError: a closed segment holds a bad batch (logged as an error).
            KafkaStorageError: the folder or its files cannot be read or written.
        """
        log = cls(directory=Path(directory), config=config, files=files or OS_FILES, clock=clock or system_wall_ms)
        log._recover(now_ms)
        return log

    def _recover(self, now_ms: int | None) -> None:
        now = self.clock() if now_ms is None else now_ms
        self._last_flush_ms = now
        try:
            recovered = recover_log(self.files, self.directory, self.config, now)
        except CorruptSegmentError:
            self._closed = True
            raise
        except OSError as exc:
            self._closed = True
            raise KafkaStorageError(f"{self.directory}: cannot open the log: {exc}") from exc
        self._segments = recovered.segments
        self._log_start_offset = recovered.log_start_offset
        self._epochs = recovered.epochs
        self._max_timestamp = self._segments.max_timestamp()
        self._last_aborted_offset = self._segments.last_aborted_offset()

    def _write_epoch_checkpoint(self) -> None:
        write_leader_epochs(self.files, self.directory, self._epochs, durable=self.config.durable)

    # -- state --

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._segments.log_end_offset

    @property
    def high_watermark(self) -> int:
        """The log end offset with one replica (everything appended is committed), else the
        offset the replicas all have (`ReplicaLog.set_high_watermark`)."""
        hw = self._high_watermark
        return self._segments.log_end_offset if hw is None else hw

    @property
    def max_timestamp(self) -> tuple[int, int]:
        """(timestamp, offset) of the batch with the largest max_timestamp, for ListOffsets
        -3; the offset is that batch's last offset (Kafka's shallow offset; the earliest
        batch wins a tie). (-1, -1) when the log has no timestamped batch."""
        return self._max_timestamp

    @property
    def size_in_bytes(self) -> int:
        return self._segments.size_in_bytes

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    @property
    def segment_base_offsets(self) -> list[int]:
        return self._segments.base_offsets

    @property
    def segment_times(self) -> list[tuple[int, int, int]]:
        """(base offset, size in bytes, last modified ms) of each segment, oldest first: what
        ListOffsets v0 answers from."""
        return [(s.base_offset, s.size, self.files.mtime_ms(s.log_path)) for s in self._segments]

    @property
    def leader_epochs(self) -> list[tuple[int, int]]:
        """(epoch, start offset) of each leader epoch in the log, oldest first."""
        return self._epochs.entries

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
        recomputed). *now_ms* defaults to the log's `clock`.

        Raises:
            KafkaStorageError: the write failed; nothing of the append is in the log.
            CorruptBatchError: *records* is not whole batches (a caller bug).
        """
        self._check_open()
        if self._failed is not None:
            raise KafkaStorageError(f"{self.directory}: log refuses appends: {self._failed}")
        prepared = assign_offsets(
            records, base_offset=self._segments.log_end_offset, leader_epoch=leader_epoch,
            log_append_time_ms=log_append_time_ms,
        )
        info = prepared.info
        now = self.clock() if now_ms is None else now_ms

        segment = self._segments.active
        if should_roll(segment, self.config, prepared.size, info.max_timestamp, info.last_offset, now):
            try:
                self._segments.roll(now, self.config)
            except OSError as exc:
                raise KafkaStorageError(f"{self.directory}: roll failed: {exc}") from exc
            segment = self._segments.active

        start = segment.size
        try:
            segment.append(prepared.buffers)
        except OSError as exc:
            self._undo_append(segment, start, exc)
            raise KafkaStorageError(f"{segment.log_path}: append failed: {exc}") from exc
        segment.size = start + prepared.size
        for position, base, last, max_ts, size in prepared.batches:
            segment.track_batch(start + position, base, last, max_ts, size)
        segment.remember(info.last_offset + 1, segment.size)
        if info.max_timestamp > self._max_timestamp[0]:
            self._max_timestamp = (info.max_timestamp, info.offset_of_max_timestamp)

        if self._epochs.assign(leader_epoch, info.base_offset):
            try:
                self._write_epoch_checkpoint()
            except OSError as exc:
                # The batches are in the log, which recovery reads epochs back from.
                logger.warning("%s: cannot write the leader epoch checkpoint: %s", self.directory, exc)

        self._unflushed_messages += info.last_offset - info.base_offset + 1
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
        return info

    def _undo_append(self, segment: Segment, start: int, exc: OSError) -> None:
        try:
            segment.log_file.truncate(start)
        except OSError as exc2:
            self._failed = (
                f"a failed write ({exc}) left bytes after position {start} that could not be "
                f"truncated ({exc2})"
            )
            logger.error("%s: %s", segment.log_path, self._failed)

    # -- roll, flush, close --

    def roll(self, now_ms: int | None = None) -> None:
        """Close the active segment and start a new one at the log end offset.

        Nothing happens when the active segment is empty.

        Raises:
            KafkaStorageError: a file could not be written or created.
        """
        self._check_open()
        try:
            self._segments.roll(self.clock() if now_ms is None else now_ms, self.config)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: roll failed: {exc}") from exc

    def _fsync_segments(self, now: int) -> None:
        self._segments.fsync()
        self._unflushed_messages = 0
        self._last_flush_ms = now

    def flush(self, now_ms: int | None = None) -> None:
        """fsync every segment written since the last flush and write the indexes.

        Raises:
            KafkaStorageError: the OS refused.
        """
        self._check_open()
        try:
            self._segments.active.flush_indexes(durable=True)
            self._fsync_segments(self.clock() if now_ms is None else now_ms)
            self.files.fsync_dir(self.directory)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: flush failed: {exc}") from exc

    def maybe_flush(self, now_ms: int | None = None) -> bool:
        """flush if flush.ms has passed since the last one (for a periodic task).

        Returns whether it flushed.
        """
        now = self.clock() if now_ms is None else now_ms
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
            if self._failed is None:
                self._segments.active.flush_indexes(durable=self.config.durable)
                if self.config.durable:
                    self._fsync_segments(self.clock())
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: close failed: {exc}") from exc
        finally:
            self._close_segments()

    def _close_segments(self) -> None:
        self._closed = True
        self._segments.close()

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
        self._segments.apply_config(config)

    # -- reads --

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
        try:
            return self._segments.read(offset, max_bytes, limit)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: read failed: {exc}") from exc

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
        try:
            yield from self._segments.batches_from(offset)
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
            return self._segments.find_timestamp(timestamp_ms, self._log_start_offset)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: read failed: {exc}") from exc

    def leader_epoch_end_offset(self, epoch: int) -> tuple[int, int]:
        """(epoch, end offset) for OffsetForLeaderEpoch.

        The largest epoch <= *epoch* that appears in the log, and the start offset of the next
        epoch (the log end offset for the latest one). A log with no epoch yet counts as
        epoch 0 from its start. Below the first epoch: (*epoch*, first epoch's start offset),
        as Kafka. *epoch* -1 (undefined): (-1, -1).
        """
        return self._epochs.end_offset_for(epoch, self._log_start_offset, self.log_end_offset)

    # -- deletion --

    def delete_records(self, before_offset: int) -> int:
        """Move the log start offset up to *before_offset* (DeleteRecords); return the new
        log start offset (the low watermark). -1 means the high watermark, as Kafka.

        Closed segments wholly below the new start are deleted at once. Never moves back.
        Never moves past the `deletion_bound` either (data an open transaction still
        needs): the log start offset stops at the bound, and the returned low watermark
        says so (it is then below *before_offset*).

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
        bound = self._deletion_bound()
        if bound is not None and before_offset > bound:
            before_offset = bound
        if before_offset > self._log_start_offset:
            try:
                self._move_log_start(before_offset)
                self._delete_oldest(
                    deletable_below_log_start(self._segments, self._log_start_offset), self.clock()
                )
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
        A segment goes only when all its offsets are below the `deletion_bound`, if any.
        retention.ms and retention.bytes apply only with cleanup.policy delete (a compact-only
        log keeps its segments for the cleaner), as Kafka's.

        Raises:
            KafkaStorageError: a file could not be removed or written.
        """
        self._check_open()
        now = self.clock() if now_ms is None else now_ms
        deleted = 0
        c = self.config
        bound = self._deletion_bound()
        try:
            if c.delete and c.retention_ms >= 0:
                deleted += self._delete_oldest(
                    deletable_by_time(self._segments, now, c.retention_ms, bound=bound), now
                )
            if c.delete and c.retention_bytes >= 0:
                deleted += self._delete_oldest(
                    deletable_by_size(self._segments, c.retention_bytes, bound=bound), now
                )
            deleted += self._delete_oldest(
                deletable_below_log_start(self._segments, self._log_start_offset, bound=bound),
                now,
            )
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: retention failed: {exc}") from exc
        return deleted

    def _delete_oldest(self, n: int, now: int) -> int:
        if n == 0:
            return 0
        if n == len(self._segments):
            self._segments.roll(now, self.config)
        victims = self._segments.remove_oldest(n)
        new_start = max(self._log_start_offset, self._segments.base_offsets[0])
        if new_start != self._log_start_offset:
            self._move_log_start(new_start)
        for segment in victims:
            logger.info(
                "%s: deleting segment %d (offsets %d to %d, %d bytes)", self.directory,
                segment.base_offset, segment.base_offset, segment.next_offset - 1, segment.size,
            )
            segment.delete_files()
        self._max_timestamp = self._segments.max_timestamp()
        self._last_aborted_offset = self._segments.last_aborted_offset()
        return n

    def _deletion_bound(self) -> int | None:
        return None if self.deletion_bound is None else self.deletion_bound()

    def _move_log_start(self, log_start_offset: int) -> None:
        """Checkpoint the new log start offset and drop the leader epochs below it."""
        self._log_start_offset = log_start_offset
        write_log_start_offset(self.files, self.directory, log_start_offset)
        if self._epochs.truncate_from_start(log_start_offset):
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
        clock: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(
            directory=directory, config=config, files=files or MemoryFiles(clock=clock or system_wall_ms),
            clock=clock or system_wall_ms,
        )
        self._recover(now_ms)
