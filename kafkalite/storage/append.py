"""What an append decides before it writes: the offsets of the batches and whether to roll.

`assign_offsets` does, for validated batches, what Kafka's LogValidator does on the broker:
it gives each batch its base offset (consecutive from the log end offset), stamps the
partition leader epoch, and for a ``message.timestamp.type=LogAppendTime`` topic the append
time. The batch CRC covers none of the first two, so the payload is stored as received.
`should_roll` is Kafka's LogSegment.shouldRoll. Neither touches a file.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

from kafkalite.storage.config import LogConfig
from kafkalite.storage.segment import Segment
from kafkalite.wire.batch import (
    BATCH_HEADER_SIZE,
    BatchHeader,
    CorruptBatchError,
    parse_batch_header,
    patch_base_offset,
    patch_partition_leader_epoch,
    set_log_append_time,
)

__all__ = ["AppendInfo", "PreparedAppend", "assign_offsets", "should_roll"]


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


class PreparedAppend(NamedTuple):
    """A record set with its offsets assigned, ready to be written with one write call.

    A named tuple rather than an attrs class: it is made on every produce and thrown away.
    """

    info: AppendInfo
    #: What to write, in order: the patched record set, or for one read-only batch a patched
    #: copy of its header and then the rest of it as it came.
    buffers: list[Any]
    #: (position in the record set, base offset, last offset, max timestamp, size) of each
    #: batch, in order.
    batches: list[tuple[int, int, int, int, int]]
    #: Bytes of the record set.
    size: int


def assign_offsets(
    records: bytes | bytearray | memoryview,
    *,
    base_offset: int,
    leader_epoch: int,
    log_append_time_ms: int | None,
) -> PreparedAppend:
    """Give the batches of *records* consecutive offsets from *base_offset* and stamp them.

    A writable *records* (bytearray, writable memoryview) is patched in place; a read-only
    one is copied first, except a single batch without *log_append_time_ms*, of which only
    the 61-byte header is copied. *log_append_time_ms* marks each batch LogAppendTime (CRC
    recomputed).

    Raises:
        CorruptBatchError: *records* is empty or not whole batches (a caller bug).
    """
    total = len(records) if not isinstance(records, memoryview) else records.nbytes
    if total == 0:
        raise CorruptBatchError("append needs at least one record batch")

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

    next_offset = base_offset
    batches: list[tuple[int, int, int, int, int]] = []  # position, base, last, max ts, size
    max_timestamp = offset_of_max = -1
    for position, header in headers:
        last = next_offset + header.last_offset_delta
        max_ts = header.max_timestamp if log_append_time_ms is None else log_append_time_ms
        batches.append((position, next_offset, last, max_ts, header.size))
        if len(batches) == 1 or max_ts > max_timestamp:  # the first batch with the largest
            max_timestamp, offset_of_max = max_ts, last
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
    info = AppendInfo(base_offset, next_offset - 1, max_timestamp, offset_of_max)
    return PreparedAppend(info, buffers, batches, total)


def should_roll(
    segment: Segment, config: LogConfig, size: int, max_timestamp: int, last_offset: int,
    now_ms: int,
) -> bool:
    """Whether an append of *size* bytes up to *last_offset* goes to a new segment rather
    than to the active *segment*.

    Yes when the segment would pass segment.bytes, is older than segment.ms (measured, as
    Kafka, from its first batch's max timestamp to this append's, or by the clock without
    timestamps), has a full index, or cannot index *last_offset* relative to its base.
    Unlike Kafka, an empty segment is never rolled: a batch larger than segment.bytes goes
    alone into a segment of its own.
    """
    if segment.size == 0:
        return False
    if segment.size + size > config.segment_bytes:
        return True
    if segment.offset_index.is_full or segment.time_index.is_full:
        return True
    if not segment.can_hold_relative(last_offset):
        return True
    rolling = segment.rolling_timestamp
    if rolling is not None and rolling >= 0 and max_timestamp >= 0:
        waited = max_timestamp - rolling
    else:
        waited = now_ms - segment.created_ms
    return waited > config.max_segment_ms
