"""The replica side of `kafkalite.storage.log.PartitionLog`: appending batches as the leader
wrote them (Kafka's UnifiedLog.appendAsFollower), cutting the log back to an offset
(UnifiedLog.truncateTo) and a high watermark set from outside for a replicated partition.
A base class of `PartitionLog`, kept apart so that each module holds one job.

A log nobody sets a high watermark on (one replica) keeps high watermark = log end offset,
as before; `set_high_watermark` makes it a separate value, which only grows, and which a
truncation below it pulls down with the log end offset.
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalite.storage.append import AppendInfo, PreparedAppend, should_roll
from kafkalite.storage.errors import KafkaStorageError
from kafkalite.storage.retention import deletable_below_log_start
from kafkalite.storage.segment import iter_file_batches
from kafkalite.wire.batch import CorruptBatchError, batch_crc_ok, parse_batch_header

logger = logging.getLogger("kafkalite.storage")

class ReplicaLog:
    """Methods of `PartitionLog` a follower's copy and a replicated leader need."""

    # Provided by PartitionLog.
    _segments: Any
    _epochs: Any
    _log_start_offset: int
    _max_timestamp: tuple[int, int]
    _last_aborted_offset: int
    _high_watermark: int | None
    _unflushed_messages: int
    _failed: str | None
    files: Any
    config: Any
    directory: Any
    clock: Any

    # -- high watermark --

    def set_high_watermark(self, offset: int) -> bool:
        """Make *offset* (at most the log end offset) the high watermark, if it is above the
        current one; return whether it moved. From the first call on, the log's high
        watermark is this value rather than its log end offset."""
        offset = min(offset, self._segments.log_end_offset)
        if self._high_watermark is not None and offset <= self._high_watermark:
            return False
        self._high_watermark = offset
        return True

    @property
    def is_replicated(self) -> bool:
        """Whether the high watermark is set from outside (`set_high_watermark`)."""
        return self._high_watermark is not None

    def abandon(self) -> None:
        """Close the files without writing anything more (no index, no fsync): what a killed
        broker leaves. The next open recovers the log."""
        self._close_segments()  # type: ignore[attr-defined]

    def advance_log_start(self, offset: int) -> bool:
        """Move the log start offset up to *offset* (at most the log end offset), deleting
        the segments wholly below it: a follower following its leader's log start offset
        (DeleteRecords, retention). Return whether it moved.

        Raises:
            KafkaStorageError: the checkpoint or a segment could not be written or removed.
        """
        self._check_open()  # type: ignore[attr-defined]
        offset = min(offset, self._segments.log_end_offset)
        if offset <= self._log_start_offset:
            return False
        try:
            self._move_log_start(offset)  # type: ignore[attr-defined]
            self._delete_oldest(  # type: ignore[attr-defined]
                deletable_below_log_start(self._segments, self._log_start_offset), self.clock()
            )
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: moving the log start failed: {exc}") from exc
        return True

    # -- follower append --

    def append_as_follower(self, records: bytes | bytearray | memoryview) -> AppendInfo:
        """Append whole batches copied from the leader, keeping their offsets, partition
        leader epochs and timestamps: the first must start at the log end offset. Each
        batch's CRC is checked; the leader epoch cache learns each new epoch from the
        batches, as Kafka's follower does.

        Raises:
            CorruptBatchError: a batch is torn, fails its CRC, or its offsets do not follow on.
            KafkaStorageError: the write failed; nothing of the append is in the log.
        """
        self._check_open()  # type: ignore[attr-defined]
        if self._failed is not None:
            raise KafkaStorageError(f"{self.directory}: log refuses appends: {self._failed}")
        view = memoryview(records).cast("B")
        total = view.nbytes
        if total == 0:
            raise CorruptBatchError("append needs at least one record batch")
        expected = self._segments.log_end_offset
        batches: list[tuple[int, int, int, int, int]] = []
        epochs: list[tuple[int, int]] = []
        max_timestamp = offset_of_max = -1
        position = 0
        while position < total:
            header = parse_batch_header(view, position)
            if position + header.size > total:
                raise CorruptBatchError(f"torn batch at position {position}")
            if header.base_offset != expected:
                raise CorruptBatchError(
                    f"batch at offset {header.base_offset} where {expected} was expected"
                )
            if not batch_crc_ok(view, position, header):
                raise CorruptBatchError(f"CRC mismatch in the batch at offset {header.base_offset}")
            last = header.last_offset
            batches.append((position, header.base_offset, last, header.max_timestamp, header.size))
            if len(batches) == 1 or header.max_timestamp > max_timestamp:
                max_timestamp, offset_of_max = header.max_timestamp, last
            epochs.append((header.partition_leader_epoch, header.base_offset))
            expected = last + 1
            position += header.size
        info = AppendInfo(batches[0][1], expected - 1, max_timestamp, offset_of_max)
        prepared = PreparedAppend(info, [view], batches, total)
        now = self.clock()
        segment = self._segments.active
        if should_roll(segment, self.config, total, max_timestamp, info.last_offset, now):
            try:
                self._segments.roll(now, self.config)
            except OSError as exc:
                raise KafkaStorageError(f"{self.directory}: roll failed: {exc}") from exc
            segment = self._segments.active
        start = segment.size
        try:
            segment.append(prepared.buffers)
        except OSError as exc:
            self._undo_append(segment, start, exc)  # type: ignore[attr-defined]
            raise KafkaStorageError(f"{segment.log_path}: append failed: {exc}") from exc
        segment.size = start + total
        for pos, base, last, max_ts, size in batches:
            segment.track_batch(start + pos, base, last, max_ts, size)
        segment.remember(info.last_offset + 1, segment.size)
        if max_timestamp > self._max_timestamp[0]:
            self._max_timestamp = (max_timestamp, offset_of_max)
        changed = False
        for epoch, base in epochs:
            changed |= self._epochs.assign(epoch, base)
        if changed:
            try:
                self._write_epoch_checkpoint()  # type: ignore[attr-defined]
            except OSError as exc:
                logger.warning("%s: cannot write the leader epoch checkpoint: %s", self.directory, exc)
        self._unflushed_messages += info.last_offset - info.base_offset + 1
        if self.config.fsync:
            try:
                self._fsync_segments(now)  # type: ignore[attr-defined]
            except OSError as exc:
                self._failed = f"fsync failed: {exc}"
                raise KafkaStorageError(f"{segment.log_path}: fsync failed: {exc}") from exc
        return info

    # -- truncation --

    def truncate_to(self, offset: int) -> bool:
        """Cut the log back so that its log end offset is *offset* (or the start of the batch
        holding *offset*, batches being whole); return whether anything was removed.

        Segments starting at or after it are deleted, the one holding it is cut and its
        indexes rebuilt; the leader epoch cache, the aborted-transaction indexes, the max
        timestamp and the high watermark follow. As Kafka's UnifiedLog.truncateTo, the
        log start offset never moves; *offset* below it empties the log down to its first
        segment's base offset.

        Raises:
            KafkaStorageError: a file could not be cut, removed or written.
        """
        self._check_open()  # type: ignore[attr-defined]
        if offset >= self._segments.log_end_offset:
            return False
        segments = self._segments
        try:
            victims = [s for s in list(segments) if s.base_offset >= offset and s is not next(iter(segments))]
            if victims:
                n = len(victims)
                kept = list(segments)[:-n]
                removed = list(segments)[-n:]
                segments._segments[:] = kept
                segments._bases[:] = [s.base_offset for s in kept]
                for segment in removed:
                    segment.delete_files()
            last = segments.active
            last.txn_index.truncate_to(self.files, offset)
            position = last.size
            for pos, header, _ in iter_file_batches(last.log_file, 0, last.size, check_crc=False):
                if header.last_offset >= offset:
                    position = pos
                    break
            last.log_file.truncate(position)
            last._full_scan(gaps=True)
            last.write_indexes(durable=self.config.durable)
            last.synced = False
        except OSError as exc:
            self._failed = f"truncation failed: {exc}"
            raise KafkaStorageError(f"{self.directory}: truncation failed: {exc}") from exc
        end = segments.log_end_offset
        self._epochs.truncate_from_end(end)
        try:
            self._write_epoch_checkpoint()  # type: ignore[attr-defined]
        except OSError as exc:
            logger.warning("%s: cannot write the leader epoch checkpoint: %s", self.directory, exc)
        self._max_timestamp = segments.max_timestamp()
        self._last_aborted_offset = segments.last_aborted_offset()
        if self._high_watermark is not None and self._high_watermark > end:
            self._high_watermark = end
        logger.info("%s: truncated to offset %d", self.directory, end)
        return True
