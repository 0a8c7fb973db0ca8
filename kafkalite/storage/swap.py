"""Crash-safe replacement of segments by a cleaned one: Kafka's ``.cleaned`` / ``.swap`` files.

The cleaner writes the new segment of a group of old ones as ``BASE.log.cleaned`` (BASE:
the group's first base offset). `swap_in` then, in this order:

1. renames ``BASE.log.cleaned`` to ``BASE.log.swap``: the commit point, after which the
   cleaned data wins;
2. deletes the old segments' files, newest first, each ``.log`` after its indexes;
3. renames ``BASE.log.swap`` to ``BASE.log`` (its indexes are built when it is loaded).

`complete_swaps`, run by recovery before it lists the segments, finishes whatever a crash
interrupted: a ``.cleaned`` file is deleted (the old segments are all still there); a
``.swap`` file replaces every segment whose base offset is in [BASE, the swap's next offset)
(as Kafka's completeSwapOperations) and is renamed to ``BASE.log``. Either way nothing
acknowledged is lost: before the commit point the old segments are whole, after it the
cleaned segment holds what the cleaner kept of them. ``.deleted`` files, which Kafka leaves
for an asynchronous delete, are removed too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from kafkalite.storage.files import Files
from kafkalite.storage.segment import (
    INDEX_SUFFIX,
    LOG_SUFFIX,
    TIME_INDEX_SUFFIX,
    TXN_INDEX_SUFFIX,
    BadBatch,
    Segment,
    iter_file_batches,
    segment_path,
)

__all__ = [
    "CLEANED_SUFFIX",
    "SWAP_SUFFIX",
    "cleaned_path",
    "commit_swap",
    "complete_swaps",
    "finish_swap",
    "swap_in",
]

logger = logging.getLogger("kafkalite.storage")

CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
_DELETED_SUFFIX = ".deleted"
_SEGMENT_SUFFIXES = (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)
_SEGMENT_FILE = re.compile(r"^(\d{20})\.(log|index|timeindex|txnindex)$")
_SWAP_FILE = re.compile(r"^(\d{20})\.log\.swap$")


def cleaned_path(directory: Path, base_offset: int) -> Path:
    return Path(str(segment_path(directory, base_offset, LOG_SUFFIX)) + CLEANED_SUFFIX)


def _swap_path(directory: Path, base_offset: int) -> Path:
    return Path(str(segment_path(directory, base_offset, LOG_SUFFIX)) + SWAP_SUFFIX)


def _remove_segment_files(files: Files, directory: Path, base_offset: int) -> None:
    for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, LOG_SUFFIX):
        files.remove(segment_path(directory, base_offset, suffix))


def swap_in(files: Files, directory: Path, old: Sequence[Segment], *, durable: bool) -> None:
    """Replace the *old* segments (consecutive, oldest first) by the ``.cleaned`` file
    written for them: `commit_swap`, then `finish_swap` (the caller closes the old segments
    in between). Raises OSError; the files are then in a state `complete_swaps` finishes."""
    commit_swap(files, directory, old[0].base_offset, durable=durable)
    finish_swap(files, directory, old, durable=durable)


def commit_swap(files: Files, directory: Path, base_offset: int, *, durable: bool) -> None:
    """Step 1: ``BASE.log.cleaned`` becomes ``BASE.log.swap``. Raises OSError; if the
    rename fails, nothing changed."""
    files.rename(cleaned_path(directory, base_offset), _swap_path(directory, base_offset))
    if durable:
        files.fsync_dir(directory)


def finish_swap(files: Files, directory: Path, old: Sequence[Segment], *, durable: bool) -> None:
    """Steps 2 and 3: the *old* segments' files go (closed by the caller), ``BASE.log.swap``
    becomes ``BASE.log``. Raises OSError."""
    base = old[0].base_offset
    for segment in reversed(old):
        _remove_segment_files(files, directory, segment.base_offset)
    files.rename(_swap_path(directory, base), segment_path(directory, base, LOG_SUFFIX))
    if durable:
        files.fsync_dir(directory)


def _swap_next_offset(files: Files, path: Path, base_offset: int) -> int:
    """The offset after the last batch of the swap file (its base offset when empty)."""
    fh = files.open(path)
    next_offset = base_offset
    try:
        for _, header, _ in iter_file_batches(fh, 0, fh.size(), check_crc=False):
            next_offset = header.next_offset
    except BadBatch:
        # A swap file is whole before it is renamed (the rename is the commit point); keep
        # what reads, as recovery of the active segment would.
        logger.warning("%s: swap file ends in a bad batch; keeping the batches before it", path)
    finally:
        fh.close()
    return next_offset


def complete_swaps(files: Files, directory: Path) -> None:
    """Finish or undo the swaps a crash interrupted in *directory* (see the module
    docstring). Raises OSError."""
    names = files.listdir(directory)
    bases = sorted(
        {int(m[1]) for name in names if (m := _SEGMENT_FILE.match(name))}
    )
    for name in names:
        if name.endswith(CLEANED_SUFFIX) or name.endswith(_DELETED_SUFFIX):
            logger.info("%s: removing %s left by an interrupted cleaning", directory, name)
            files.remove(directory / name)
    for name in names:
        match = _SWAP_FILE.match(name)
        if match is None:
            continue
        base = int(match[1])
        swap = directory / name
        upper = max(_swap_next_offset(files, swap, base), base + 1)
        replaced = [b for b in bases if base <= b < upper]
        logger.warning(
            "%s: completing the swap of an interrupted cleaning: %s replaces segment(s) %s",
            directory, name, replaced,
        )
        for old in reversed(replaced):
            _remove_segment_files(files, directory, old)
        files.rename(swap, segment_path(directory, base, LOG_SUFFIX))
