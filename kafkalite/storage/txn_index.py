"""The aborted transaction index beside each segment (``.txnindex``), in Kafka's file format.

A read_committed consumer must drop the records of aborted transactions. A Fetch answer
therefore lists the aborted transactions that overlap the fetched range (producer id and
first offset), and the consumer skips that producer's batches from the first offset up to
its ABORT marker. The broker finds them in this index: one entry per aborted transaction,
appended when its ABORT marker is appended, to the segment that holds the marker.

File layout, as Kafka's ``TransactionIndex`` / ``AbortedTxn``: a plain sequence of 34-byte
big-endian entries, no header::

    int16 version              0
    int64 producer_id
    int64 first_offset         the transaction's first offset on this partition
    int64 last_offset          the offset of its ABORT marker
    int64 last_stable_offset   the partition's LSO right after the marker was appended

``last_offset`` strictly increases within a file. ``first_offset`` may lie in an earlier
segment (a transaction can span segments). As in Kafka, the file is created when the first
entry is appended: a segment without aborted transactions has no ``.txnindex``, and a
missing file means no entries.

The entries are also kept in memory (a read_committed Fetch looks them up without a read)
and the file is appended to, one write per entry, through a handle opened at the first
append. Opening a segment loads and checks its file: a torn trailing entry, an unknown
version, an entry outside the segment's offsets or out of order ends the usable entries
there; the rest is dropped and the file rewritten (the broker rebuilds the entries from the
markers in the log at start, see `kafkalite.storage.log.PartitionLog.reconcile_txn_indexes`).
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from pathlib import Path

import attrs

from kafkalite.storage.files import FileHandle, Files

__all__ = [
    "TXN_ENTRY_SIZE",
    "TXN_INDEX_VERSION",
    "AbortedTxn",
    "TransactionIndex",
    "decode_txn_index",
]

TXN_ENTRY_SIZE = 34
TXN_INDEX_VERSION = 0
_ENTRY = struct.Struct(">hqqqq")
assert _ENTRY.size == TXN_ENTRY_SIZE


@attrs.frozen
class AbortedTxn:
    """One entry of the aborted transaction index (Kafka's ``AbortedTxn``).

    *last_offset* is the offset of the ABORT marker; *last_stable_offset* the partition's
    last stable offset right after it (the first offset of the earliest transaction of
    another producer still open then, else *last_offset* + 1). A Fetch answer carries only
    *producer_id* and *first_offset*.
    """

    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int

    def encode(self) -> bytes:
        """The 34 bytes of this entry in a ``.txnindex`` file (version 0)."""
        return _ENTRY.pack(
            TXN_INDEX_VERSION, self.producer_id, self.first_offset, self.last_offset,
            self.last_stable_offset,
        )


def decode_txn_index(
    data: bytes, base_offset: int = 0, next_offset: int | None = None
) -> tuple[list[AbortedTxn], str | None]:
    """The entries of a ``.txnindex`` file's bytes, and why decoding stopped early, if it did.

    Decoding stops at the first entry that is torn (fewer than 34 bytes left), has a version
    other than 0, a last offset below *base_offset* or at or past *next_offset* (when
    given), a first offset after its last offset, or a last offset not above the one before.
    Returns the entries before it and a reason in plain words (None when all were good).
    """
    entries: list[AbortedTxn] = []
    whole = len(data) - len(data) % TXN_ENTRY_SIZE
    last = -1
    for position in range(0, whole, TXN_ENTRY_SIZE):
        version, producer_id, first, last_offset, lso = _ENTRY.unpack_from(data, position)
        problem = None
        if version != TXN_INDEX_VERSION:
            problem = f"version {version} (only {TXN_INDEX_VERSION} is known)"
        elif last_offset < base_offset or (
            next_offset is not None and last_offset >= next_offset
        ):
            end = "" if next_offset is None else f" to {next_offset - 1}"
            problem = f"last offset {last_offset} is outside the segment's offsets {base_offset}{end}"
        elif last_offset <= last:
            problem = f"last offset {last_offset} does not increase (after {last})"
        elif first > last_offset:
            problem = f"first offset {first} is after the last offset {last_offset}"
        if problem is not None:
            return entries, f"entry at position {position}: {problem}"
        entries.append(AbortedTxn(producer_id, first, last_offset, lso))
        last = last_offset
    if whole != len(data):
        return entries, f"{len(data) - whole} trailing bytes, too few for an entry"
    return entries, None


@attrs.define(eq=False)
class TransactionIndex:
    """The aborted transactions of one segment, in memory and in its ``.txnindex`` file.

    Owned by a `Segment`. Methods that touch the file raise OSError.
    """

    path: Path
    base_offset: int
    _entries: list[AbortedTxn] = attrs.field(factory=list)
    #: last_offset of each entry, for bisecting.
    _last_offsets: list[int] = attrs.field(factory=list)
    #: Open for appends since the first append (None before, and after `close`).
    _handle: FileHandle | None = attrs.field(default=None)
    #: Whether the file may differ from the entries (a failed write): rewrite it whole.
    _dirty: bool = attrs.field(default=False)
    _synced: bool = attrs.field(default=True)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[AbortedTxn]:
        """The entries, in last offset order (a copy)."""
        return list(self._entries)

    @property
    def last_offset(self) -> int:
        """The last offset of the last entry, -1 when there is none."""
        return self._last_offsets[-1] if self._last_offsets else -1

    @classmethod
    def load(
        cls, files: Files, path: Path, base_offset: int, next_offset: int
    ) -> tuple[TransactionIndex, str | None]:
        """Read and check the file of a segment holding offsets up to *next_offset* - 1.

        Returns the index and, when entries had to be dropped (see `decode_txn_index`), why;
        the file is then rewritten with what is left. A missing file is an empty index.
        """
        index = cls(path, base_offset)
        data = files.read_bytes(path)
        if not data:
            return index, None
        entries, problem = decode_txn_index(data, base_offset, next_offset)
        index._set(entries)
        if problem is not None:
            index._write_whole(files, durable=False)
        return index, problem

    def _set(self, entries: list[AbortedTxn]) -> None:
        self._entries = list(entries)
        self._last_offsets = [entry.last_offset for entry in entries]

    # -- changes --

    def append(self, files: Files, entry: AbortedTxn) -> None:
        """Add *entry* in memory and at the end of the file (created if missing).

        Raises:
            ValueError: its last offset is not above the last entry's (a caller bug).
            OSError: the file could not be written; the entry is kept in memory all the
                same (the marker is in the log), and the file is rewritten whole at the
                next `flush`.
        """
        if entry.last_offset <= self.last_offset:
            raise ValueError(
                f"{self.path}: aborted transaction {entry} does not come after the last "
                f"entry's last offset {self.last_offset}"
            )
        self._entries.append(entry)
        self._last_offsets.append(entry.last_offset)
        self._synced = False
        if self._dirty:
            self._write_whole(files, durable=False)
            return
        try:
            if self._handle is None:
                self._handle = files.open(self.path)
            self._handle.append([entry.encode()])
        except OSError:
            self._dirty = True
            raise

    def replace(self, files: Files, entries: list[AbortedTxn], *, durable: bool) -> None:
        """Make *entries* (last offsets increasing) the whole index, file included: written
        atomically, or removed when *entries* is empty."""
        self._set(entries)
        self._write_whole(files, durable=durable)

    def truncate_to(self, files: Files, offset: int) -> bool:
        """Drop the entries whose last offset is *offset* or more; return whether any was."""
        keep = bisect_left(self._last_offsets, offset)
        if keep == len(self._entries):
            return False
        self._set(self._entries[:keep])
        self._write_whole(files, durable=False)
        return True

    def _write_whole(self, files: Files, *, durable: bool) -> None:
        # A rename replaces the file under an open handle, whose appends would then go to the
        # old inode: close it first, the next append reopens.
        self.close()
        self._dirty = True
        if self._entries:
            files.write_atomic(
                self.path, b"".join(entry.encode() for entry in self._entries), durable=durable
            )
        else:
            files.remove(self.path)
        self._dirty = False
        self._synced = True

    def flush(self, files: Files, *, durable: bool) -> None:
        """Rewrite the file if a write failed; fsync it if *durable* and it changed."""
        if self._dirty:
            self._write_whole(files, durable=durable)
        elif durable and not self._synced:
            if self._handle is not None:
                self._handle.fsync()
            else:  # closed at roll: open it for the fsync only
                handle = files.open(self.path)
                try:
                    handle.fsync()
                finally:
                    handle.close()
            self._synced = True

    def close(self) -> None:
        """Close the file handle, if open (entries stay readable; an append reopens)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    # -- reads --

    def collect(self, fetch_offset: int, upper_bound_offset: int) -> tuple[list[AbortedTxn], bool]:
        """The entries overlapping the fetch range [*fetch_offset*, *upper_bound_offset*):
        last offset >= *fetch_offset* and first offset < *upper_bound_offset*, in order; and
        whether the search is complete (Kafka's ``collectAbortedTxns``).

        Complete means an entry's last stable offset reached *upper_bound_offset*: every
        transaction that starts in the range had ended by that marker, so no later entry,
        here or in a later segment, can overlap.
        """
        found: list[AbortedTxn] = []
        # Entries before the bisect point end before the range, and their last stable
        # offsets (at most last offset + 1) are below its end: neither listed nor final.
        for entry in self._entries[bisect_left(self._last_offsets, fetch_offset) :]:
            if entry.first_offset < upper_bound_offset:
                found.append(entry)
            if entry.last_stable_offset >= upper_bound_offset:
                return found, True
        return found, False
