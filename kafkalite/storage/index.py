"""The sparse indexes beside each segment, in Kafka's file formats.

``.index`` (offset index): 8-byte entries, big-endian int32 offset relative to the segment's
base offset, int32 byte position of a batch in the ``.log``. The offset is the batch's last
offset, as Kafka writes it; looking up offset O gives the position of the last indexed batch
whose last offset is <= O, from which the batch containing O is found by walking headers.

``.timeindex``: 12-byte entries, big-endian int64 timestamp, int32 relative offset. Each
entry is (max timestamp so far in the segment, offset of the batch that reached it); entries
are only appended when the timestamp grows, so timestamps strictly increase.

Both are kept in memory as arrays (binary search with `bisect`) and written to their files in
whole entries: new entries at roll, flush and close; the active segment's index is rebuilt
from the log on every open, so entries not yet written are never needed after a crash.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right

import attrs

__all__ = ["OFFSET_ENTRY_SIZE", "TIME_ENTRY_SIZE", "OffsetIndex", "TimeIndex"]

OFFSET_ENTRY_SIZE = 8
TIME_ENTRY_SIZE = 12
_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


@attrs.define(eq=False)
class OffsetIndex:
    """Relative offset -> position entries of one segment."""

    base_offset: int
    max_entries: int
    relative_offsets: array = attrs.field(factory=lambda: array("i"))
    positions: array = attrs.field(factory=lambda: array("i"))
    #: How many entries (a prefix) are already in the file.
    persisted: int = 0

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def is_full(self) -> bool:
        return len(self.positions) >= self.max_entries

    def append(self, offset: int, position: int) -> None:
        """Add an entry; ignored when full (the index just gets sparser)."""
        if len(self.positions) < self.max_entries:
            self.relative_offsets.append(offset - self.base_offset)
            self.positions.append(position)

    def lookup(self, offset: int) -> int:
        """Position of the last indexed batch whose last offset is <= *offset*, else 0."""
        i = bisect_right(self.relative_offsets, offset - self.base_offset) - 1
        return self.positions[i] if i >= 0 else 0

    def last_entry(self) -> tuple[int, int] | None:
        """(offset, position) of the last entry."""
        if not self.positions:
            return None
        return self.base_offset + self.relative_offsets[-1], self.positions[-1]

    def truncate_to_entries(self, n: int) -> None:
        del self.relative_offsets[n:]
        del self.positions[n:]
        self.persisted = min(self.persisted, n)

    def encode(self, start: int = 0) -> bytes:
        pack = _OFFSET_ENTRY.pack
        return b"".join(
            pack(r, p) for r, p in zip(self.relative_offsets[start:], self.positions[start:])
        )

    @classmethod
    def decode(cls, base_offset: int, max_entries: int, data: bytes, log_size: int) -> OffsetIndex:
        """Load an ``.index`` file's bytes, checking they make sense for a log of *log_size*.

        Raises:
            ValueError: the size is not whole entries, offsets or positions do not strictly
                increase, or a position is past the end of the log.
        """
        if len(data) % OFFSET_ENTRY_SIZE:
            raise ValueError(f"size {len(data)} is not a multiple of {OFFSET_ENTRY_SIZE}")
        index = cls(base_offset, max(max_entries, len(data) // OFFSET_ENTRY_SIZE))
        last_r = last_p = -1
        for r, p in _OFFSET_ENTRY.iter_unpack(data):
            if r <= last_r:
                raise ValueError(f"relative offset {r} after {last_r} does not increase")
            if p <= last_p or p >= log_size:
                raise ValueError(f"position {p} after {last_p} (log size {log_size}) is invalid")
            index.relative_offsets.append(r)
            index.positions.append(p)
            last_r, last_p = r, p
        index.persisted = len(index.positions)
        return index


@attrs.define(eq=False)
class TimeIndex:
    """Timestamp -> relative offset entries of one segment (timestamps strictly increase)."""

    base_offset: int
    max_entries: int
    timestamps: array = attrs.field(factory=lambda: array("q"))
    relative_offsets: array = attrs.field(factory=lambda: array("i"))
    persisted: int = 0

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def is_full(self) -> bool:
        return len(self.timestamps) >= self.max_entries

    def maybe_append(self, timestamp: int, offset: int, *, skip_full_check: bool = False) -> None:
        """Add (timestamp, offset) if the timestamp is larger than the last entry's.

        As Kafka's ``TimeIndex.maybeAppend``: *skip_full_check* is for the final entry
        written when the segment is closed.
        """
        if timestamp < 0 or (self.timestamps and timestamp <= self.timestamps[-1]):
            return
        if len(self.timestamps) >= self.max_entries and not skip_full_check:
            return
        self.timestamps.append(timestamp)
        self.relative_offsets.append(offset - self.base_offset)

    def lookup(self, timestamp: int) -> int:
        """Offset of the last entry whose timestamp is <= *timestamp*, else the base offset.

        Every batch before that offset has a max timestamp below *timestamp*... or equal to
        the entry's, which is the first time the segment reached it: the scan for the first
        batch with max_timestamp >= *timestamp* can start at the batch holding that offset.
        """
        i = bisect_right(self.timestamps, timestamp) - 1
        if i < 0:
            return self.base_offset
        return self.base_offset + self.relative_offsets[i]

    def last_entry(self) -> tuple[int, int] | None:
        """(timestamp, offset) of the last entry."""
        if not self.timestamps:
            return None
        return self.timestamps[-1], self.base_offset + self.relative_offsets[-1]

    def encode(self, start: int = 0) -> bytes:
        pack = _TIME_ENTRY.pack
        return b"".join(
            pack(t, r) for t, r in zip(self.timestamps[start:], self.relative_offsets[start:])
        )

    @classmethod
    def decode(cls, base_offset: int, max_entries: int, data: bytes) -> TimeIndex:
        """Load a ``.timeindex`` file's bytes.

        Raises:
            ValueError: the size is not whole entries, or timestamps do not strictly increase,
                or relative offsets decrease.
        """
        if len(data) % TIME_ENTRY_SIZE:
            raise ValueError(f"size {len(data)} is not a multiple of {TIME_ENTRY_SIZE}")
        index = cls(base_offset, max(max_entries, len(data) // TIME_ENTRY_SIZE))
        last_t = last_r = -1
        for t, r in _TIME_ENTRY.iter_unpack(data):
            if t <= last_t or r < last_r or r < 0:
                raise ValueError(f"entry ({t}, {r}) after ({last_t}, {last_r}) is out of order")
            index.timestamps.append(t)
            index.relative_offsets.append(r)
            last_t, last_r = t, r
        index.persisted = len(index.timestamps)
        return index
