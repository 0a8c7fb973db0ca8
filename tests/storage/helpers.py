"""Shared helpers for the storage tests."""

from __future__ import annotations

from kafkalite.wire.batch import iter_batches
from kafkalite.wire.records import NewRecord, build_batch


def batch(count: int = 1, *, value_size: int = 10, timestamp: int = 1_000, tag: int = 0) -> bytes:
    """A batch of *count* records with timestamps timestamp .. timestamp+count-1."""
    value = bytes([tag % 256]) * value_size
    return build_batch(
        [NewRecord(b"k%d" % i, value, timestamp=timestamp + i) for i in range(count)],
        base_timestamp=timestamp,
    )


def batches_in(views) -> list:
    """(base_offset, last_offset, max_timestamp, size) of each batch in a read result."""
    data = b"".join(bytes(v) for v in views)
    return [
        (h.base_offset, h.last_offset, h.max_timestamp, h.size) for _, h in iter_batches(data)
    ]
