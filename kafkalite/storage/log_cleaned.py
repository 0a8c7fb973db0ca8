"""The compaction side of `kafkalite.storage.log.PartitionLog`: what the cleaner
(`kafkalite.storage.cleaner`) reads of the log and the swap of a cleaned group of segments
(`kafkalite.storage.swap`). A base class of `PartitionLog`, kept apart so that each module
holds one job.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

from kafkalite.storage.errors import CorruptSegmentError, KafkaStorageError
from kafkalite.storage.segment import Segment, close_segments
from kafkalite.storage.segments import LogSegments
from kafkalite.storage.swap import cleaned_path, commit_swap, finish_swap
from kafkalite.storage.txn_index import AbortedTxn

__all__ = ["CleanedSegments"]


class CleanedSegments:
    """Methods of `PartitionLog` for the log cleaner."""

    # Provided by PartitionLog (with _close_segments).
    _segments: LogSegments
    _closed: bool
    _failed: str | None
    _max_timestamp: tuple[int, int]
    _last_aborted_offset: int
    files: Any
    clock: Callable[[], int]
    config: Any
    directory: Any

    @property
    def segments(self) -> LogSegments:
        """The segments, oldest first: for the cleaner, which only reads the closed ones."""
        return self._segments

    def holds_segments(self, group: list[Segment]) -> bool:
        """Whether *group* are still consecutive closed segments of this log."""
        current = list(self._segments)[:-1]
        return not self._closed and any(
            current[i : i + len(group)] == group for i in range(len(current))
        )

    def swap_cleaned(self, group: list[Segment], kept_aborted: list[AbortedTxn]) -> None:
        """Replace *group* by its ``.cleaned`` file, crash-safely (`kafkalite.storage.swap`),
        and load it with its indexes and the aborted transactions whose markers it kept.

        Raises:
            KafkaStorageError: the ``.cleaned`` file could not be committed (the log is as it
                was, the file removed), or after that, a file could not be removed, renamed or
                read: then the log refuses appends and is closed, its files as a crash would
                leave them (reopening completes the swap), as Kafka takes a log dir offline.
        """
        base = group[0].base_offset
        durable = self.config.durable
        try:
            commit_swap(self.files, self.directory, base, durable=durable)
        except OSError as exc:
            with contextlib.suppress(OSError):
                self.files.remove(cleaned_path(self.directory, base))
            raise KafkaStorageError(f"{self.directory}: cannot swap a cleaned segment in: {exc}") from exc
        try:
            close_segments(group)
            finish_swap(self.files, self.directory, group, durable=durable)
            segment = Segment.load(
                self.files, self.directory, base, active=False,
                index_bytes=self.config.segment_index_bytes,
                index_interval_bytes=self.config.index_interval_bytes, now_ms=self.clock(),
                has_txn_index=False, has_indexes=False,
            )
            for entry in kept_aborted:
                segment.txn_index.append(self.files, entry)
            segment.txn_index.close()
        except (OSError, CorruptSegmentError) as exc:
            self._failed = f"a cleaning's swap failed: {exc}"
            self._close_segments()
            raise KafkaStorageError(f"{self.directory}: {self._failed}") from exc
        self._segments.replace(group, segment)
        self._max_timestamp = self._segments.max_timestamp()
        self._last_aborted_offset = self._segments.last_aborted_offset()
