"""The aborted-transaction side of `kafkalite.storage.log.PartitionLog`: appending to the
segments' ``.txnindex`` files, collecting the aborted transactions a read_committed fetch
must skip (Kafka's collectAbortedTxns), and rebuilding the indexes from the markers found
at start-up. A base class of `PartitionLog`, kept apart so that each module holds one job.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from kafkalite.storage.errors import KafkaStorageError
from kafkalite.storage.txn_index import AbortedTxn

from kafkalite.storage.segment import next_offset_after

if TYPE_CHECKING:
    from kafkalite.storage.segment import Segment

logger = logging.getLogger("kafkalite.storage")


class AbortedTransactions:
    """Methods of `PartitionLog` over its segments' aborted-transaction indexes."""

    # Provided by PartitionLog (with _check_open and log_end_offset).
    _segments: Any
    _last_aborted_offset: int
    _log_start_offset: int
    files: Any
    config: Any
    directory: Any

    def append_aborted_txn(self, entry: AbortedTxn) -> None:
        """Add *entry* to the ``.txnindex`` of the segment holding its ABORT marker
        (``entry.last_offset``): the active segment, called right after the marker's append.

        Entries of a segment must come in increasing last offset order. With the ``fsync``
        config the file is fsynced at once, else it is written (one write call) and fsynced
        with the segment.

        Raises:
            ValueError: ``entry.last_offset`` is not in the log, or not after the segment's
                last entry (caller bugs).
            KafkaStorageError: the file could not be written. The entry is in effect for
                reads all the same (the marker is in the log) and the file is rewritten at
                the next flush, roll or close.
        """
        self._check_open()
        if not self._log_start_offset <= entry.last_offset < self.log_end_offset:
            raise ValueError(
                f"{self.directory}: aborted transaction {entry} ends outside the log "
                f"[{self._log_start_offset}, {self.log_end_offset})"
            )
        segment = self._segments.segment_for(entry.last_offset)
        try:
            segment.txn_index.append(self.files, entry)
            if self.config.fsync:
                segment.txn_index.flush(self.files, durable=True)
        except OSError as exc:
            raise KafkaStorageError(f"{segment.txn_index_path}: append failed: {exc}") from exc
        finally:
            self._last_aborted_offset = max(
                self._last_aborted_offset, segment.txn_index.last_offset
            )
            segment.synced = False

    def collect_aborted_txns(self, fetch_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        """The aborted transactions overlapping the range [*fetch_offset*,
        *upper_bound_offset*) of a read_committed fetch, oldest marker first.

        As Kafka's collectAbortedTransactions: entries whose last offset is >= *fetch_offset*
        and whose first offset is < *upper_bound_offset*, found from the segment containing
        *fetch_offset* forward until an entry's last stable offset reaches
        *upper_bound_offset*. An empty range (upper bound <= fetch offset) has none. Reads
        no file.
        """
        if upper_bound_offset <= fetch_offset or fetch_offset > self._last_aborted_offset:
            return []
        return self._segments.collect_aborted_txns(fetch_offset, upper_bound_offset)

    def aborted_txns_for_fetch(
        self, fetch_offset: int, records: list[memoryview]
    ) -> list[AbortedTxn]:
        """The aborted transactions a Fetch answer lists with *records*, what `read` returned
        for *fetch_offset* (read_committed: with ``max_offset`` the last stable offset).

        `collect_aborted_txns` for the range that ends after the last batch of *records*
        (Kafka's bound is the next offset index entry past the fetched bytes or the next
        segment: never closer). No records, no aborted transactions; when no aborted
        transaction ends at or after *fetch_offset*, not even the records are looked at.
        """
        if not records or fetch_offset > self._last_aborted_offset:
            return []
        upper_bound = next_offset_after(records[-1])
        return self._segments.collect_aborted_txns(fetch_offset, upper_bound)

    def txn_index_entries(self, base_offset: int | None = None) -> list[AbortedTxn]:
        """The aborted transaction index entries of the segment at *base_offset*, or of
        every segment in order when None (tests, dump tools).

        Raises:
            ValueError: no segment starts at *base_offset*.
        """
        if base_offset is None:
            return [entry for segment in self._segments for entry in segment.txn_index.entries]
        return self._segment_at(base_offset).txn_index.entries

    def _segment_at(self, base_offset: int) -> Segment:
        segment = self._segments.segment_for(base_offset)
        if segment.base_offset != base_offset:
            raise ValueError(f"{self.directory}: no segment starts at offset {base_offset}")
        return segment

    def rebuild_txn_index(self, base_offset: int, entries: list[AbortedTxn]) -> None:
        """Replace the aborted transaction index of the segment at *base_offset* with
        *entries* (rewritten atomically; the file removed when there are none).

        Raises:
            ValueError: no segment starts at *base_offset*, or an entry's last offset is
                outside that segment or not increasing.
            KafkaStorageError: the file could not be written.
        """
        self._check_open()
        segment = self._segment_at(base_offset)
        last = -1
        for entry in entries:
            last_offset = entry.last_offset
            if not base_offset <= last_offset < segment.next_offset or last_offset <= last:
                raise ValueError(
                    f"{segment.txn_index_path}: {entry} is out of order or outside the "
                    f"segment's offsets {base_offset} to {segment.next_offset - 1}"
                )
            last = entry.last_offset
        try:
            segment.txn_index.replace(self.files, entries, durable=self.config.durable)
        except OSError as exc:
            raise KafkaStorageError(f"{segment.txn_index_path}: rewrite failed: {exc}") from exc
        finally:
            self._last_aborted_offset = self._segments.last_aborted_offset()

    def reconcile_txn_indexes(self, entries: list[AbortedTxn]) -> list[int]:
        """Make the aborted transaction indexes agree with *entries*: every aborted
        transaction whose ABORT marker is in the log from the log start offset on, in
        offset order, as the broker's start-up scan of the markers found them.

        Each segment's entries ending at or after the log start offset are compared with
        those of *entries* whose marker it holds; a segment whose index differs (missing,
        damaged, or short of its last entry after a crash between a marker's append and its
        entry's) is rewritten, keeping its entries below the log start offset. Returns the
        base offsets of the segments rewritten (each logged as a warning).

        Raises:
            ValueError: an entry ends at or past the log end offset, or the entries are not
                in increasing last offset order.
            KafkaStorageError: a file could not be written.
        """
        self._check_open()
        start = self._log_start_offset
        bases = self._segments.base_offsets
        by_segment: dict[int, list[AbortedTxn]] = {base: [] for base in bases}
        last = -1
        for entry in entries:
            if entry.last_offset >= self.log_end_offset or entry.last_offset <= last:
                raise ValueError(
                    f"{self.directory}: {entry} is out of order or past the log end offset "
                    f"{self.log_end_offset}"
                )
            last = entry.last_offset
            if entry.last_offset >= start:
                by_segment[bases[max(bisect_right(bases, entry.last_offset) - 1, 0)]].append(entry)
        rewritten = []
        try:
            for segment in self._segments:
                current = segment.txn_index.entries
                below = [entry for entry in current if entry.last_offset < start]
                wanted = by_segment[segment.base_offset]
                if current[len(below) :] == wanted:
                    continue
                logger.warning(
                    "%s: the aborted transaction index has %d entries from the log start "
                    "offset on where the transaction markers in the log say %d; rewriting it",
                    segment.txn_index_path, len(current) - len(below), len(wanted),
                )
                segment.txn_index.replace(self.files, below + wanted, durable=self.config.durable)
                rewritten.append(segment.base_offset)
        except OSError as exc:
            raise KafkaStorageError(f"{self.directory}: txn index rewrite failed: {exc}") from exc
        finally:
            self._last_aborted_offset = self._segments.last_aborted_offset()
        return rewritten
