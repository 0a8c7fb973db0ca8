"""Which of a log's oldest segments may be deleted: Kafka's UnifiedLog.deleteOldSegments.

Each function looks at a log's segments, oldest first, and returns how many of the oldest may
go; `PartitionLog.apply_retention` and `PartitionLog.delete_records` delete them (rolling
first when that is all of them, so no offset is ever reused) and move the log start offset.
As in Kafka, the count stops at the first segment to keep, and never takes an empty active
segment. With a *bound* (the first offset an open transaction still needs), it also stops at
the first segment holding offsets at or past the bound: everything from the first unstable
offset on stays, as a read_committed consumer and the transaction's ABORT or COMMIT need it.
"""

from __future__ import annotations

from collections.abc import Callable

from kafkalite.storage.segment import Segment
from kafkalite.storage.segments import LogSegments

__all__ = ["deletable_below_log_start", "deletable_by_size", "deletable_by_time"]


def deletable_by_time(
    segments: LogSegments, now_ms: int, retention_ms: int, *, bound: int | None = None
) -> int:
    """retention.ms: the oldest segments whose largest timestamp is more than *retention_ms*
    before *now_ms*.

    Raises:
        OSError: the mtime of a segment without timestamps (its fallback) cannot be read.
    """
    return _count_oldest(
        segments, lambda segment, is_last: now_ms - segment.largest_timestamp() > retention_ms,
        bound,
    )


def deletable_by_size(
    segments: LogSegments, retention_bytes: int, *, bound: int | None = None
) -> int:
    """retention.bytes: the oldest segments the log can lose and still hold at least
    *retention_bytes*."""
    excess = segments.size_in_bytes - retention_bytes

    def past_size(segment: Segment, is_last: bool) -> bool:
        nonlocal excess
        if excess - segment.size >= 0:
            excess -= segment.size
            return True
        return False

    return _count_oldest(segments, past_size, bound)


def deletable_below_log_start(
    segments: LogSegments, log_start_offset: int, *, bound: int | None = None
) -> int:
    """The oldest closed segments wholly below *log_start_offset* (moved up by DeleteRecords)."""
    return _count_oldest(
        segments, lambda segment, is_last: not is_last and segment.next_offset <= log_start_offset,
        bound,
    )


def _count_oldest(
    segments: LogSegments, predicate: Callable[[Segment, bool], bool], bound: int | None
) -> int:
    """How many segments from the oldest satisfy ``predicate(segment, is_last)`` in a row; an
    empty active segment is never counted, nor one with offsets at or past *bound*."""
    n = 0
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        is_last = i == last
        if is_last and segment.size == 0:
            break
        # The offset after the segment (the next one's base offset, Kafka's upperBoundOffset)
        # must not pass the bound: the segment would take bound's data with it.
        if bound is not None and segment.next_offset > bound:
            break
        if not predicate(segment, is_last):
            break
        n += 1
    return n
