"""`LogStore`: the data dir (or memory), its partition logs and the cluster metadata file.

Layout, as Kafka's log dir::

    DATA_DIR/
      .lock                 held (flock) while a store has the dir open
      meta/cluster.json     cluster id, topics, ids, partition counts, configs (atomic rewrite)
      TOPIC-PARTITION/      one folder per partition, see `kafkalite.storage.log`
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Callable

import attrs

from kafkalite.storage.config import LogConfig
from kafkalite.storage.errors import KafkaStorageError
from kafkalite.storage.files import (
    OS_FILES,
    Files,
    MemoryFiles,
    lock_directory,
    system_wall_ms,
    unlock_directory,
)
from kafkalite.storage.log import MemoryLog, PartitionLog

__all__ = ["LogStore"]

logger = logging.getLogger("kafkalite.storage")

_MEMORY_ROOT = Path("/memory")
_PARTITION_DIR = re.compile(r"^(.+)-(\d+)$")


@attrs.define(eq=False)
class LogStore:
    """Owns a data dir (or, with ``data_dir`` None, memory) and the logs opened in it.

    Create with `LogStore.open`; `close` closes every log and releases the dir lock.
    """

    data_dir: Path | None
    files: Any
    #: The wall clock in ms (ms since the epoch) the logs read: see `use_clock`.
    clock: Callable[[], int] = attrs.field(default=system_wall_ms, kw_only=True)
    _logs: dict[tuple[str, int], PartitionLog] = attrs.field(init=False, factory=dict)
    _memory_metadata: dict[str, Any] | None = attrs.field(init=False, default=None)
    _lock_fd: int | None = attrs.field(init=False, default=None)

    @classmethod
    def open(cls, data_dir: Path | None, *, files: Files | None = None) -> LogStore:
        """Open (creating) *data_dir*, or a store in memory when it is None.

        Logs are opened (recovered) one by one as `log` is called for them.

        Raises:
            KafkaStorageError: the dir cannot be created, or another process has it open.
        """
        if data_dir is None:
            return cls(None, files if files is not None else MemoryFiles())
        data_dir = Path(data_dir)
        store = cls(data_dir, files if files is not None else OS_FILES)
        try:
            store.files.makedirs(data_dir)
            if store.files is OS_FILES:
                store._lock_fd = lock_directory(data_dir)
        except BlockingIOError:
            raise KafkaStorageError(
                f"{data_dir} is in use by another kafkalite (its .lock is held)"
            ) from None
        except OSError as exc:
            raise KafkaStorageError(f"cannot open the data dir {data_dir}: {exc}") from exc
        return store

    def use_clock(self, clock: Callable[[], int]) -> None:
        """Read the time (ms since the epoch) from *clock* from now on, in every log open or
        opened later and in the files of a store in memory: the broker gives its own, which
        tests move, so that retention and segment roll by time follow it. Files on disk keep
        the system's modification times."""
        self.clock = clock
        for log in self._logs.values():
            log.clock = clock
        if isinstance(self.files, MemoryFiles):
            self.files.clock = clock

    @property
    def in_memory(self) -> bool:
        return self.data_dir is None

    def partition_dir(self, topic: str, partition: int) -> Path:
        """DATA_DIR/TOPIC-PARTITION, as Kafka names it."""
        root = _MEMORY_ROOT if self.data_dir is None else self.data_dir
        return root / f"{topic}-{partition}"

    def log(
        self, topic: str, partition: int, config: LogConfig, now_ms: int | None = None
    ) -> PartitionLog:
        """The open log of the partition, opening (recovering) or creating it on first use.

        A log already open gets *config* (`PartitionLog.update_config`) if it differs.

        Raises:
            CorruptSegmentError, KafkaStorageError: as `PartitionLog.open`.
        """
        key = (topic, partition)
        log = self._logs.get(key)
        if log is not None:
            if log.config != config:
                log.update_config(config)
            return log
        directory = self.partition_dir(topic, partition)
        if self.data_dir is None:
            log = MemoryLog(config, now_ms=now_ms, files=self.files, directory=directory, clock=self.clock)
        else:
            log = PartitionLog.open(directory, config, now_ms, files=self.files, clock=self.clock)
        self._logs[key] = log
        return log

    def get(self, topic: str, partition: int) -> PartitionLog | None:
        """The log if it is open, else None."""
        return self._logs.get((topic, partition))

    @property
    def logs(self) -> dict[tuple[str, int], PartitionLog]:
        """The open logs by (topic, partition). Do not mutate."""
        return self._logs

    def partitions_on_disk(self) -> list[tuple[str, int]]:
        """(topic, partition) of every partition folder in the data dir (or memory)."""
        root = _MEMORY_ROOT if self.data_dir is None else self.data_dir
        try:
            names = self.files.listdir(root)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            match = _PARTITION_DIR.match(name)
            if match and name != "meta":
                found.append((match[1], int(match[2])))
        return sorted(found)

    def drop(self, topic: str, partition: int) -> None:
        """Close the partition's log, if open, and delete its folder (topic deletion).

        Raises:
            KafkaStorageError: the files could not be removed.
        """
        log = self._logs.pop((topic, partition), None)
        if log is not None:
            log.delete()
            return
        try:
            self.files.remove_tree(self.partition_dir(topic, partition))
        except OSError as exc:
            raise KafkaStorageError(f"cannot delete {topic}-{partition}: {exc}") from exc

    def apply_retention(self, now_ms: int | None = None) -> int:
        """`PartitionLog.apply_retention` on every open log; return the segments deleted.

        A log whose disk fails is logged and skipped, so the others still get retention.
        """
        deleted = 0
        for (topic, partition), log in list(self._logs.items()):
            try:
                deleted += log.apply_retention(now_ms)
            except KafkaStorageError as exc:
                logger.error("retention of %s-%d failed: %s", topic, partition, exc)
        return deleted

    def maybe_flush(self, now_ms: int | None = None) -> None:
        """`PartitionLog.maybe_flush` on every open log (flush.ms), errors logged."""
        for (topic, partition), log in list(self._logs.items()):
            try:
                log.maybe_flush(now_ms)
            except KafkaStorageError as exc:
                logger.error("flush of %s-%d failed: %s", topic, partition, exc)

    def close_logs(self, *, flush: bool = True) -> None:
        """Close every open log, keeping the dir (and memory) for `log` to reopen them:
        *flush* False writes nothing more first, as a killed process (a hard stop of a
        broker node); reopening is then recovery. Errors are logged, not raised."""
        for (topic, partition), log in list(self._logs.items()):
            try:
                if flush:
                    log.close()
                else:
                    log.abandon()
            except KafkaStorageError as exc:
                logger.error("closing %s-%d failed: %s", topic, partition, exc)
        self._logs.clear()

    def close(self) -> None:
        """Close every log and release the data dir. Errors are logged, not raised."""
        for (topic, partition), log in list(self._logs.items()):
            try:
                log.close()
            except KafkaStorageError as exc:
                logger.error("closing %s-%d failed: %s", topic, partition, exc)
        self._logs.clear()
        if self._lock_fd is not None:
            unlock_directory(self._lock_fd)
            self._lock_fd = None

    # -- cluster metadata --

    @property
    def metadata_path(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "meta" / "cluster.json"

    def load_metadata(self) -> dict[str, Any] | None:
        """The dict last given to `save_metadata`, or None if there is none.

        Raises:
            KafkaStorageError: the file cannot be read or is not JSON.
        """
        path = self.metadata_path
        if path is None:
            return None if self._memory_metadata is None else json.loads(json.dumps(self._memory_metadata))
        try:
            data = self.files.read_bytes(path)
            if data is None:
                return None
            return json.loads(data)
        except (OSError, ValueError) as exc:
            raise KafkaStorageError(f"cannot load the cluster metadata {path}: {exc}") from exc

    def save_metadata(self, metadata: dict[str, Any]) -> None:
        """Write *metadata* (JSON-serialisable) to DATA_DIR/meta/cluster.json atomically:
        temp file, fsync, rename, fsync the folder.

        Raises:
            KafkaStorageError: it could not be written (the previous file is left whole).
            TypeError: *metadata* is not JSON-serialisable.
        """
        data = json.dumps(metadata, indent=2, sort_keys=True).encode() + b"\n"
        path = self.metadata_path
        if path is None:
            self._memory_metadata = json.loads(data)
            return
        try:
            self.files.makedirs(path.parent)
            self.files.write_atomic(path, data, durable=True)
        except OSError as exc:
            raise KafkaStorageError(f"cannot save the cluster metadata {path}: {exc}") from exc
