"""The commit log: segments, indexes, `PartitionLog`, retention, recovery, memory mode.

Synchronous, no trio, no protocol messages; from the wire layer only the record-batch framing
(`kafkalite.wire.batch`). See `kafkalite.storage.log` for the layout on disk.
"""

from kafkalite.storage.append import AppendInfo
from kafkalite.storage.config import LogConfig
from kafkalite.storage.errors import CorruptSegmentError, KafkaStorageError, OffsetOutOfRange
from kafkalite.storage.files import FaultyFiles, Files, MemoryFiles, OsFiles
from kafkalite.storage.log import MemoryLog, PartitionLog
from kafkalite.storage.store import LogStore
from kafkalite.storage.txn_index import AbortedTxn

__all__ = [
    "AbortedTxn",
    "AppendInfo",
    "CorruptSegmentError",
    "FaultyFiles",
    "Files",
    "KafkaStorageError",
    "LogConfig",
    "LogStore",
    "MemoryFiles",
    "MemoryLog",
    "OffsetOutOfRange",
    "OsFiles",
    "PartitionLog",
]
