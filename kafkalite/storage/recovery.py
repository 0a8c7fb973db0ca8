"""Opening a partition log is recovery: the folder's files become a consistent log again.

What `recover_log` does, in order:

1. removes what a crash can leave behind: ``*.tmp`` files (an atomic write cut short),
   indexes without their ``.log`` (a segment deletion cut short), and finishes or undoes
   an interrupted cleaning (``.cleaned`` / ``.swap`` files, `kafkalite.storage.swap`);
2. loads every segment (`Segment.load`): the active one is scanned whole and a torn or
   corrupt tail is cut off, a closed one must be intact (`CorruptSegmentError` otherwise),
   and so must the order of segments; each segment's aborted transaction index is checked
   against its offsets (entries past the recovered log end are dropped);
3. reconciles the checkpoints with the data: a log start offset past the recovered log end
   starts an empty log there (no offset is ever reused), one below the first segment moves
   up to it; the leader epochs are cut back to the log end and completed from the active
   segment's batches (the checkpoint may lag the last append before a crash).

It works on files and segments and returns values; the `PartitionLog` takes them over.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import attrs

from kafkalite.storage.checkpoints import (
    LeaderEpochCache,
    read_leader_epochs,
    read_log_start_offset,
    write_leader_epochs,
    write_log_start_offset,
)
from kafkalite.storage.config import LogConfig
from kafkalite.storage.errors import CorruptSegmentError
from kafkalite.storage.files import Files
from kafkalite.storage.segment import Segment, close_segments
from kafkalite.storage.segments import LogSegments, new_segment
from kafkalite.storage.swap import complete_swaps

__all__ = ["RecoveredLog", "recover_log"]

logger = logging.getLogger("kafkalite.storage")

_SEGMENT_FILE = re.compile(r"^(\d{20})\.(log|index|timeindex|txnindex)$")


@attrs.frozen
class RecoveredLog:
    """What `recover_log` found: the open segments, the log start offset and the leader
    epochs, all checkpointed."""

    segments: LogSegments
    log_start_offset: int
    epochs: LeaderEpochCache


def recover_log(files: Files, directory: Path, config: LogConfig, now_ms: int) -> RecoveredLog:
    """Recover the log in *directory*, creating the folder if missing (see the module
    docstring). *now_ms* is the creation time of a new segment. The caller owns (and closes)
    the segments.

    Raises:
        CorruptSegmentError: a closed segment holds a bad batch, or segments overlap (logged
            as an error).
        OSError: from the file layer. On either error every segment opened is closed again.
    """
    files.makedirs(directory)
    complete_swaps(files, directory)
    bases, with_txn_index = _segment_bases(files, directory)
    log_start_offset = read_log_start_offset(files, directory)
    epochs = read_leader_epochs(files, directory)
    segments: list[Segment] = []
    try:
        for i, base in enumerate(bases):
            segment = Segment.load(
                files, directory, base, active=i == len(bases) - 1,
                index_bytes=config.segment_index_bytes,
                index_interval_bytes=config.index_interval_bytes, now_ms=now_ms,
                has_txn_index=base in with_txn_index,
            )
            if segments and base < segments[-1].next_offset:
                segment.close()
                message = (
                    f"{segment.log_path}: segment starts at offset {base}, inside the segment "
                    f"before it, which ends at offset {segments[-1].next_offset - 1}"
                )
                logger.error("%s", message)
                raise CorruptSegmentError(message)
            segments.append(segment)

        if segments and log_start_offset > segments[-1].next_offset:
            # The checkpoint is ahead of the data (the tail was lost or cut): as Kafka's
            # truncateFullyAndStartAt, start afresh at the log start, reusing no offset.
            logger.warning(
                "%s: log start offset %d is past the recovered log end %d; starting an empty "
                "log at %d", directory, log_start_offset, segments[-1].next_offset,
                log_start_offset,
            )
            for segment in segments:
                segment.delete_files()
            segments.clear()
        if not segments:
            segments.append(new_segment(files, directory, log_start_offset, config, now_ms))

        start = max(log_start_offset, segments[0].base_offset)
        if start != log_start_offset:
            log_start_offset = start
            write_log_start_offset(files, directory, log_start_offset)

        active = segments[-1]
        checkpointed = epochs.entries
        epochs.truncate_from_end(active.next_offset)
        for epoch, offset in active.epoch_starts:
            epochs.assign(epoch, offset)
        changed = epochs.entries != checkpointed
        epochs.truncate_from_start(log_start_offset)
        if changed:
            write_leader_epochs(files, directory, epochs, durable=config.durable)
    except (CorruptSegmentError, OSError):
        close_segments(segments)
        raise
    return RecoveredLog(
        segments=LogSegments(directory, files, segments),
        log_start_offset=log_start_offset,
        epochs=epochs,
    )


def _segment_bases(files: Files, directory: Path) -> tuple[list[int], set[int]]:
    """Base offsets of the segments in *directory*, in order, once the leftovers of an
    interrupted write or deletion are removed; and those of the segments with a
    ``.txnindex``. Raises OSError."""
    segment_files: dict[int, set[str]] = {}
    for name in files.listdir(directory):
        if name.endswith(".tmp"):
            files.remove(directory / name)  # an atomic write cut short
            continue
        match = _SEGMENT_FILE.match(name)
        if match:
            segment_files.setdefault(int(match[1]), set()).add(match[2])
    bases = []
    for base, kinds in sorted(segment_files.items()):
        if "log" in kinds:
            bases.append(base)
        else:  # indexes left behind by a segment deletion cut short
            for kind in kinds:
                files.remove(directory / f"{base:020d}.{kind}")
    with_txn_index = {base for base in bases if "txnindex" in segment_files[base]}
    return bases, with_txn_index
