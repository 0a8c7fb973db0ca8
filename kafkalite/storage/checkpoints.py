"""The checkpoint files beside a partition's segments, and the leader epoch cache.

::

    leader-epoch-checkpoint        (leader epoch, start offset) of each epoch in the log
    log-start-offset-checkpoint    the log start offset
    cleaner-offset-checkpoint      the log cleaner's first dirty offset (compacted logs)

All are in Kafka's checkpoint format: a version line (0), an entry count line, then one
entry per line, its numbers separated by spaces. Kafka keeps the log start offsets (and the
cleaner offsets) of all partitions in one file per data dir; here each partition folder has
its own, so a log can be opened on its own.

Reading never fails: a missing file is empty, an unreadable one is logged and read as empty
(recovery rebuilds what it held). Writing is atomic (`Files.write_atomic`) and raises OSError.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs

from kafkalite.storage.files import Files

__all__ = [
    "CLEANER_CHECKPOINT",
    "LEADER_EPOCH_CHECKPOINT",
    "LOG_START_CHECKPOINT",
    "LeaderEpochCache",
    "read_cleaner_offset",
    "read_leader_epochs",
    "read_log_start_offset",
    "write_cleaner_offset",
    "write_leader_epochs",
    "write_log_start_offset",
]

logger = logging.getLogger("kafkalite.storage")

CLEANER_CHECKPOINT = "cleaner-offset-checkpoint"
LOG_START_CHECKPOINT = "log-start-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"

_T = TypeVar("_T")


def _encode_checkpoint(entries: list[tuple[int, ...]]) -> bytes:
    lines = ["0", str(len(entries))] + [" ".join(str(v) for v in entry) for entry in entries]
    return ("\n".join(lines) + "\n").encode()


def _decode_checkpoint(data: bytes, width: int) -> list[tuple[int, ...]]:
    """Kafka's checkpoint file: version 0, entry count, one entry per line. Raises ValueError."""
    lines = data.decode("ascii").splitlines()
    if len(lines) < 2 or lines[0].strip() != "0":
        raise ValueError("not a version 0 checkpoint file")
    count = int(lines[1])
    entries = [tuple(int(v) for v in line.split()) for line in lines[2 : 2 + count]]
    if len(entries) != count or any(len(e) != width for e in entries):
        raise ValueError(f"expected {count} entries of {width} numbers")
    return entries


def _read_checkpoint(
    files: Files, path: Path, parse: Callable[[bytes], _T], default: _T, instead: str
) -> _T:
    """``parse(contents)`` of the file at *path*; *default* when it is missing, or unreadable
    (logged with what is done *instead*). Raises OSError."""
    data = files.read_bytes(path)
    if data is None:
        return default
    try:
        return parse(data)
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        logger.warning("%s: unreadable (%s); %s", path, exc, instead)
        return default


# -- log start offset ------------------------------------------------------------------------


def read_log_start_offset(files: Files, directory: Path) -> int:
    """The checkpointed log start offset of the log in *directory*; 0 when there is none.

    Raises:
        OSError: the file exists but cannot be read.
    """
    return _read_checkpoint(
        files, directory / LOG_START_CHECKPOINT, lambda data: _decode_checkpoint(data, 1)[0][0],
        0, "using the first segment's base offset",
    )


def write_log_start_offset(files: Files, directory: Path, log_start_offset: int) -> None:
    """Checkpoint *log_start_offset* for the log in *directory*. Raises OSError."""
    files.write_atomic(
        directory / LOG_START_CHECKPOINT, _encode_checkpoint([(log_start_offset,)])
    )


# -- the log cleaner's first dirty offset -----------------------------------------------------


def read_cleaner_offset(files: Files, directory: Path) -> int | None:
    """The first dirty offset the last cleaning of the log in *directory* left; None when it
    was never cleaned (or the file is unreadable: the cleaner then starts at the log start).

    Raises:
        OSError: the file exists but cannot be read.
    """
    return _read_checkpoint(
        files, directory / CLEANER_CHECKPOINT, lambda data: _decode_checkpoint(data, 1)[0][0],
        None, "cleaning from the log start",
    )


def write_cleaner_offset(files: Files, directory: Path, offset: int, *, durable: bool) -> None:
    """Checkpoint the cleaner's first dirty offset (Kafka's cleaner-offset-checkpoint, kept
    per partition folder here). Raises OSError."""
    files.write_atomic(directory / CLEANER_CHECKPOINT, _encode_checkpoint([(offset,)]), durable=durable)


# -- leader epochs ---------------------------------------------------------------------------


@attrs.define(eq=False)
class LeaderEpochCache:
    """(leader epoch, start offset) of each epoch seen in a log, oldest first.

    Kafka's LeaderEpochFileCache without its file: the log writes it with
    `write_leader_epochs` when it changes. Epochs only grow; each entry starts where the
    previous one ends.
    """

    _entries: list[tuple[int, int]] = attrs.field(factory=list)

    @property
    def entries(self) -> list[tuple[int, int]]:
        """A copy of the (epoch, start offset) entries, oldest first."""
        return list(self._entries)

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Start *epoch* at *start_offset* if it is newer than the latest; return whether it
        was."""
        if self._entries and epoch <= self._entries[-1][0]:
            return False
        self._entries.append((epoch, start_offset))
        return True

    def truncate_from_end(self, end_offset: int) -> None:
        """Drop the epochs that start at or after *end_offset* (a log cut back on recovery)."""
        self._entries = [(e, s) for e, s in self._entries if s < end_offset]

    def truncate_from_start(self, log_start_offset: int) -> bool:
        """Drop what lies below *log_start_offset*; return whether anything changed.

        As Kafka's LeaderEpochFileCache.truncateFromStart: entries wholly below the log start
        go, the one the log start is in now starts there.
        """
        epochs = self._entries
        i = 0
        while i + 1 < len(epochs) and epochs[i + 1][1] <= log_start_offset:
            i += 1
        new = epochs[i:]
        if new and new[0][1] < log_start_offset:
            new[0] = (new[0][0], log_start_offset)
        if new == epochs:
            return False
        self._entries = new
        return True

    def end_offset_for(
        self, epoch: int, log_start_offset: int, log_end_offset: int
    ) -> tuple[int, int]:
        """(epoch, end offset) for OffsetForLeaderEpoch; see `PartitionLog.leader_epoch_end_offset`."""
        if epoch < 0:
            return -1, -1
        epochs = self._entries or [(0, log_start_offset)]
        i = bisect_right(epochs, (epoch, float("inf"))) - 1
        if i < 0:
            return epoch, epochs[0][1]
        end = epochs[i + 1][1] if i + 1 < len(epochs) else log_end_offset
        return epochs[i][0], end


def read_leader_epochs(files: Files, directory: Path) -> LeaderEpochCache:
    """The checkpointed leader epochs of the log in *directory*; empty when there are none.

    Raises:
        OSError: the file exists but cannot be read.
    """
    entries = _read_checkpoint(
        files, directory / LEADER_EPOCH_CHECKPOINT, lambda data: _decode_checkpoint(data, 2),
        [], "rebuilding from the active segment",
    )
    return LeaderEpochCache([(e, s) for e, s in entries])


def write_leader_epochs(
    files: Files, directory: Path, epochs: LeaderEpochCache, *, durable: bool
) -> None:
    """Checkpoint *epochs* for the log in *directory*. Raises OSError."""
    files.write_atomic(
        directory / LEADER_EPOCH_CHECKPOINT, _encode_checkpoint(epochs.entries), durable=durable
    )
