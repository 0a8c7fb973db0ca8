"""Exceptions of the storage layer; the broker maps them to Kafka error codes."""

from __future__ import annotations

__all__ = ["CorruptSegmentError", "KafkaStorageError", "OffsetOutOfRange"]


class KafkaStorageError(Exception):
    """The disk failed under a log (full, read-only, permission denied, I/O error).

    The handler answers KAFKA_STORAGE_ERROR (56) for the partition. The log stays usable for
    reads of what it holds where the disk still allows it; after a failed append that could
    not be undone, further appends raise this until the log is reopened (reopening is
    recovery).
    """


class CorruptSegmentError(KafkaStorageError):
    """A closed segment holds bytes that are not valid batches, found when opening the log.

    The log is not opened: nothing is silently dropped from a closed segment. The message
    names the file, the byte position and what is wrong with it.
    """


class OffsetOutOfRange(Exception):
    """The offset is below the log start offset or above the high watermark.

    The handler answers OFFSET_OUT_OF_RANGE (1). ``log_start_offset`` and ``log_end_offset``
    are the log's bounds when it was raised.
    """

    def __init__(self, message: str, *, log_start_offset: int, log_end_offset: int) -> None:
        super().__init__(message)
        self.log_start_offset = log_start_offset
        self.log_end_offset = log_end_offset
