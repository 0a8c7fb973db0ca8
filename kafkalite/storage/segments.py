"""`LogSegments`: the segments of one partition log, oldest first, and what spans them.

The last segment is the active one, the only one appended to; there is always one. This is
the mechanics of Kafka's LocalLog: which segment holds an offset, reads that continue from
one segment into the next, roll, fsync, removing the oldest segments. What the offsets mean
(log start offset, leader epochs, the retention policy, offset assignment) is the
`PartitionLog`'s. Every method that touches files raises OSError; the log turns it into
`KafkaStorageError`.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

import attrs

from kafkalite.storage.config import LogConfig
from kafkalite.storage.files import Files
from kafkalite.storage.segment import Segment, close_segments
from kafkalite.storage.txn_index import AbortedTxn
from kafkalite.wire.batch import BatchHeader

__all__ = ["LogSegments", "new_segment"]

logger = logging.getLogger("kafkalite.storage")


def new_segment(
    files: Files, directory: Path, base_offset: int, config: LogConfig, now_ms: int
) -> Segment:
    """Create the files of an empty segment at *base_offset*, indexes sized by *config*.

    Raises OSError.
    """
    return Segment.create(
        files, directory, base_offset,
        index_bytes=config.segment_index_bytes,
        index_interval_bytes=config.index_interval_bytes, now_ms=now_ms,
    )


@attrs.define(eq=False)
class LogSegments:
    """The open segments of the log in *directory*, oldest first (at least one).

    Iterating gives the `Segment` objects; the list changes only through these methods.
    """

    directory: Path
    files: Files
    _segments: list[Segment]
    #: Base offset of each segment, for bisecting.
    _bases: list[int] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        assert self._segments, "a log has at least one segment"
        self._bases = [segment.base_offset for segment in self._segments]

    def __len__(self) -> int:
        return len(self._segments)

    def __iter__(self) -> Iterator[Segment]:
        return iter(self._segments)

    @property
    def active(self) -> Segment:
        return self._segments[-1]

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset

    @property
    def size_in_bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    @property
    def base_offsets(self) -> list[int]:
        return list(self._bases)

    def max_timestamp(self) -> tuple[int, int]:
        """(timestamp, offset) of the largest batch max_timestamp (the earliest segment wins a
        tie); (-1, -1) when no batch has a timestamp."""
        best = (-1, -1)
        for segment in self._segments:
            if segment.max_timestamp > best[0]:
                best = (segment.max_timestamp, segment.offset_of_max_timestamp)
        return best

    # -- changes --

    def roll(self, now_ms: int, config: LogConfig) -> None:
        """Close the active segment and start a new one at the log end offset, indexes sized
        by *config*. Nothing happens when the active segment is empty.

        With a durable *config*, the old segment, its indexes and the folder are fsynced.
        """
        old = self._segments[-1]
        if old.size == 0:
            return
        durable = config.durable
        # The final time index entry, as Kafka's onBecomeInactiveSegment: a closed segment's
        # max timestamp is its time index's last entry.
        old.time_index.maybe_append(old.max_timestamp, old.offset_of_max_timestamp, skip_full_check=True)
        old.write_indexes(durable=durable)
        if durable:
            old.fsync()
        # A closed segment gets no more aborted transactions: free its file handle.
        old.txn_index.close()
        segment = new_segment(self.files, self.directory, old.next_offset, config, now_ms)
        if durable:
            self.files.fsync_dir(self.directory)
        self._segments.append(segment)
        self._bases.append(segment.base_offset)
        logger.debug("%s: rolled a new segment at offset %d", self.directory, segment.base_offset)

    def apply_config(self, config: LogConfig) -> None:
        """Size the active segment's index interval and indexes by *config* from now on."""
        active = self._segments[-1]
        active.index_interval_bytes = config.index_interval_bytes
        active.offset_index.max_entries = config.segment_index_bytes // 8
        active.time_index.max_entries = config.segment_index_bytes // 12

    def remove_oldest(self, n: int) -> list[Segment]:
        """Take the *n* oldest segments out of the log (fewer than all) and return them; their
        files are the caller's to delete."""
        assert n < len(self._segments), "the active segment stays"
        removed = self._segments[:n]
        del self._segments[:n]
        del self._bases[:n]
        return removed

    def replace(self, old: list[Segment], new: Segment) -> None:
        """Put *new* where the consecutive closed segments *old* are (a cleaning's swap)."""
        i = self._segments.index(old[0])
        assert self._segments[i : i + len(old)] == old and i + len(old) < len(self._segments)
        self._segments[i : i + len(old)] = [new]
        self._bases = [segment.base_offset for segment in self._segments]

    def fsync(self) -> None:
        """fsync every segment written since it was last fsynced."""
        for segment in self._segments:
            if not segment.synced:
                segment.fsync()

    def close(self) -> None:
        """Close every segment's file (see `close_segments`)."""
        close_segments(self._segments)

    # -- reads --

    def _index_of(self, offset: int) -> int:
        return max(bisect_right(self._bases, offset) - 1, 0)

    def segment_for(self, offset: int) -> Segment:
        """The segment whose offsets include *offset* (the first one for offsets below it)."""
        return self._segments[self._index_of(offset)]

    def collect_aborted_txns(self, fetch_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        """The aborted transactions overlapping [*fetch_offset*, *upper_bound_offset*), from
        the segment containing *fetch_offset* on, as Kafka's LocalLog.collectAbortedTransactions:
        segment after segment until one says the search is complete."""
        found: list[AbortedTxn] = []
        for segment in self._segments[self._index_of(fetch_offset) :]:
            if not len(segment.txn_index):
                continue
            entries, complete = segment.txn_index.collect(fetch_offset, upper_bound_offset)
            found += entries
            if complete:
                break
        return found

    def last_aborted_offset(self) -> int:
        """The largest last offset in any segment's aborted transaction index, -1 if none."""
        for segment in reversed(self._segments):
            if len(segment.txn_index):
                return segment.txn_index.last_offset
        return -1

    def read(self, offset: int, max_bytes: int, max_offset: int) -> list[memoryview]:
        """Whole batches from the one containing *offset*, as `PartitionLog.read` returns
        them, up to *max_bytes* (but at least one batch) and below *max_offset*."""
        out: list[memoryview] = []
        i = self._index_of(offset)
        budget = max_bytes
        first = True
        while i < len(self._segments):
            data, at_end = self._segments[i].read(
                offset if first else None, budget, must_take_one=first, max_offset=max_offset
            )
            if data is not None:
                out.append(data)
                budget -= len(data)
                first = False
            if not at_end or budget <= 0 and not first:
                break
            i += 1
        return out

    def batches_from(self, offset: int) -> Iterator[tuple[BatchHeader, memoryview]]:
        """Yield (header, bytes) of every batch from the one containing *offset* to the end
        of the log as it is when each segment is reached."""
        i = self._index_of(offset)
        while i < len(self._segments):
            yield from self._segments[i].iter_batches_from(offset)
            i += 1

    def find_timestamp(self, timestamp_ms: int, min_offset: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first batch at or after *min_offset* whose max timestamp
        is >= *timestamp_ms* (the offset no lower than *min_offset*); None if there is none."""
        for segment in self._segments:
            if segment.next_offset <= min_offset:
                continue
            found = segment.find_timestamp(timestamp_ms, min_offset)
            if found is not None:
                return max(found[0], min_offset), found[1]
        return None
