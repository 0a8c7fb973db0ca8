"""The file layer: every byte the storage package reads or writes goes through here.

Three implementations of one small interface:

* `OsFiles`: the real thing, plain ``os`` calls (``os.writev``, ``os.pread``, ``os.fsync``).
* `MemoryFiles`: files as bytearrays in a dict. Serves `MemoryLog` (``--memory``) and tests;
  `MemoryFiles.snapshot` copies the current state, which is what a machine would find after
  a kill -9 at that instant (every completed write is in the OS, nothing else).
* `FaultyFiles`: wraps another implementation and injects faults: a write that stops after a
  byte budget (a torn write, then ``ENOSPC``), failing fsyncs, opens or removes.

Paths are `pathlib.Path`. Errors are `OSError`, as from the OS; the log turns them into
`KafkaStorageError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

__all__ = [
    "FaultyFiles",
    "FileHandle",
    "Files",
    "MemoryFiles",
    "OS_FILES",
    "OsFiles",
]


class FileHandle(Protocol):
    """An open file, read and append. Not shared between threads."""

    def size(self) -> int: ...

    def pread(self, n: int, position: int) -> bytes:
        """Up to *n* bytes from *position* (fewer at the end of the file)."""

    def append(self, buffers: Sequence[Any]) -> None:
        """Write *buffers* one after another at the end of the file, all of them or raise.

        On `OSError` a prefix of the bytes may have been written (a torn write): the caller
        truncates back to where it was.
        """

    def truncate(self, size: int) -> None: ...

    def fsync(self) -> None: ...

    def close(self) -> None: ...


class Files(Protocol):
    """Filesystem operations the storage package uses."""

    def open(self, path: Path) -> FileHandle:
        """Open *path* for reading and appending, creating it if missing."""

    def read_bytes(self, path: Path) -> bytes | None:
        """The whole content of *path*, or None when it does not exist."""

    def write_atomic(self, path: Path, data: bytes, *, durable: bool = True) -> None:
        """Replace *path* with *data* all at once: temp file, fsync, rename, fsync the folder.

        *durable* False skips the fsyncs (the rename is still atomic for a kill -9).
        """

    def rename(self, src: Path, dst: Path) -> None:
        """Rename *src* to *dst*, replacing *dst* (atomic, as ``os.replace``)."""

    def exists(self, path: Path) -> bool: ...

    def listdir(self, path: Path) -> list[str]: ...

    def makedirs(self, path: Path) -> None: ...

    def remove(self, path: Path) -> None:
        """Remove a file; a missing file is not an error."""

    def remove_tree(self, path: Path) -> None:
        """Remove a folder and everything in it; a missing folder is not an error."""

    def fsync_dir(self, path: Path) -> None: ...

    def mtime_ms(self, path: Path) -> int: ...


# -- the real filesystem ---------------------------------------------------------------------


@attrs.define(eq=False)
class OsFile:
    """A file descriptor opened ``O_RDWR | O_APPEND``: writes always go to the end."""

    path: Path
    fd: int

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def pread(self, n: int, position: int) -> bytes:
        return os.pread(self.fd, n, position)

    def append(self, buffers: Sequence[Any]) -> None:
        # One writev for the whole append. A regular file takes it all at once except on a
        # full disk or a signal; the loop writes what is left after a short write.
        views = [memoryview(b).cast("B") for b in buffers]
        total = sum(len(v) for v in views)
        written = os.writev(self.fd, views)
        while written < total:
            total -= written
            while written:
                if written >= len(views[0]):
                    written -= len(views.pop(0))
                else:
                    views[0] = views[0][written:]
                    written = 0
            written = os.writev(self.fd, views)

    def truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def fsync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class OsFiles:
    """`Files` on the real filesystem."""

    def open(self, path: Path) -> OsFile:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        return OsFile(path, fd)

    def read_bytes(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def write_atomic(self, path: Path, data: bytes, *, durable: bool = True) -> None:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if durable:
            self.fsync_dir(path.parent)

    def rename(self, src: Path, dst: Path) -> None:
        os.replace(src, dst)

    def exists(self, path: Path) -> bool:
        return path.exists()

    def listdir(self, path: Path) -> list[str]:
        return sorted(os.listdir(path))

    def makedirs(self, path: Path) -> None:
        os.makedirs(path, exist_ok=True)

    def remove(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):  # already gone is the goal reached
            os.remove(path)

    def remove_tree(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)

    def fsync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def mtime_ms(self, path: Path) -> int:
        return os.stat(path).st_mtime_ns // 1_000_000


OS_FILES = OsFiles()


# -- in memory -------------------------------------------------------------------------------


def system_wall_ms() -> int:
    """The system clock in ms since the epoch: storage's default clock. The broker gives its
    logs its own (`kafkalite.clock`: tests move it), as a callable like this one."""
    return time.time_ns() // 1_000_000


@attrs.define(eq=False)
class _MemoryData:
    data: bytearray = attrs.field(factory=bytearray)
    mtime_ms: int = attrs.field(factory=system_wall_ms)


@attrs.define(eq=False)
class MemoryFile:
    """A handle on a `MemoryFiles` entry. Reads copy (``bytes``), as ``os.pread`` does."""

    owner: MemoryFiles
    path: Path
    entry: _MemoryData
    closed: bool = False

    def _check(self) -> None:
        if self.closed:
            raise ValueError(f"I/O on closed memory file {self.path}")

    def size(self) -> int:
        self._check()
        return len(self.entry.data)

    def pread(self, n: int, position: int) -> bytes:
        self._check()
        with memoryview(self.entry.data) as view:
            return bytes(view[position : position + n])

    def append(self, buffers: Sequence[Any]) -> None:
        self._check()
        for buffer in buffers:
            self.entry.data += buffer
        self.entry.mtime_ms = self.owner.clock()

    def truncate(self, size: int) -> None:
        self._check()
        del self.entry.data[size:]

    def fsync(self) -> None:
        self._check()

    def close(self) -> None:
        self.closed = True


@attrs.define(eq=False)
class MemoryFiles:
    """`Files` kept in a dict: nothing touches the disk. Folders are implicit. A file's
    modification time is read from *clock* (ms; the broker's, which tests move). The names in
    each folder are indexed, so that listing one costs its own entries, not every file's (a
    topic of thousands of partitions lists thousands of folders)."""

    _files: dict[Path, _MemoryData] = attrs.field(factory=dict)
    _dirs: set[Path] = attrs.field(factory=set)
    clock: Callable[[], int] = attrs.field(default=system_wall_ms, kw_only=True)
    _children: dict[Path, set[str]] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        for path in (*self._files, *self._dirs):
            self._children.setdefault(path.parent, set()).add(path.name)

    def _added(self, path: Path) -> None:
        self._children.setdefault(path.parent, set()).add(path.name)

    def _removed(self, path: Path) -> None:
        names = self._children.get(path.parent)
        if names is not None:
            names.discard(path.name)

    def open(self, path: Path) -> MemoryFile:
        entry = self._files.get(path)
        if entry is None:
            if path.parent not in self._dirs:
                raise FileNotFoundError(errno.ENOENT, "no such folder", str(path.parent))
            entry = self._files[path] = _MemoryData(mtime_ms=self.clock())
            self._added(path)
        return MemoryFile(self, path, entry)

    def read_bytes(self, path: Path) -> bytes | None:
        entry = self._files.get(path)
        return None if entry is None else bytes(entry.data)

    def write_atomic(self, path: Path, data: bytes, *, durable: bool = True) -> None:
        if path.parent not in self._dirs:
            raise FileNotFoundError(errno.ENOENT, "no such folder", str(path.parent))
        self._files[path] = _MemoryData(bytearray(data), self.clock())
        self._added(path)

    def rename(self, src: Path, dst: Path) -> None:
        try:
            self._files[dst] = self._files.pop(src)
        except KeyError:
            raise FileNotFoundError(errno.ENOENT, "no such file", str(src)) from None
        self._removed(src)
        self._added(dst)

    def exists(self, path: Path) -> bool:
        return path in self._files or path in self._dirs

    def listdir(self, path: Path) -> list[str]:
        if path not in self._dirs:
            raise FileNotFoundError(errno.ENOENT, "no such folder", str(path))
        return sorted(self._children.get(path, ()))

    def makedirs(self, path: Path) -> None:
        while path not in self._dirs and path != path.parent:
            self._dirs.add(path)
            self._added(path)
            path = path.parent

    def remove(self, path: Path) -> None:
        if self._files.pop(path, None) is not None:
            self._removed(path)

    def remove_tree(self, path: Path) -> None:
        for p in [p for p in self._files if p == path or path in p.parents]:
            del self._files[p]
        self._dirs = {d for d in self._dirs if not (d == path or path in d.parents)}
        self._children = {d: names for d, names in self._children.items() if not (d == path or path in d.parents)}
        self._removed(path)

    def fsync_dir(self, path: Path) -> None:
        """Nothing to make durable: in-memory directories live as long as the process."""

    def mtime_ms(self, path: Path) -> int:
        try:
            return self._files[path].mtime_ms
        except KeyError:
            raise FileNotFoundError(errno.ENOENT, "no such file", str(path)) from None

    # -- test helpers --

    def snapshot(self) -> MemoryFiles:
        """A deep copy: the state a restart after kill -9 would find right now."""
        return MemoryFiles(
            {p: _MemoryData(bytearray(e.data), e.mtime_ms) for p, e in self._files.items()},
            set(self._dirs),
            clock=self.clock,
        )

    def data(self, path: Path) -> bytearray:
        """The live bytes of a file, for tests that damage it in place."""
        return self._files[path].data


# -- fault injection -------------------------------------------------------------------------


@attrs.define(eq=False)
class FaultyFile:
    owner: FaultyFiles
    inner: Any

    def size(self) -> int:
        return self.inner.size()

    def pread(self, n: int, position: int) -> bytes:
        self.owner._maybe_fail("read")
        return self.inner.pread(n, position)

    def append(self, buffers: Sequence[Any]) -> None:
        self.owner._maybe_fail("write")
        budget = self.owner.write_budget
        if budget is not None:
            total = sum(memoryview(b).nbytes for b in buffers)
            if total > budget:
                # Torn write: a prefix of the bytes reaches the file, then the disk is full.
                data = b"".join(bytes(b) for b in buffers)[:budget]
                if data:
                    self.inner.append([data])
                self.owner.write_budget = 0
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            self.owner.write_budget = budget - total
        self.inner.append(buffers)

    def truncate(self, size: int) -> None:
        self.owner._maybe_fail("truncate")
        self.inner.truncate(size)

    def fsync(self) -> None:
        self.owner._maybe_fail("fsync")
        self.inner.fsync()

    def close(self) -> None:
        self.inner.close()


_CHANGES = frozenset({"write", "truncate", "write_atomic", "remove", "rename"})


@attrs.define(eq=False)
class FaultyFiles:
    """Wrap *inner* `Files` and fail on demand.

    * ``write_budget``: bytes that may still be appended; the append that crosses it writes
      the prefix that fits and raises ``ENOSPC`` (None = unlimited).
    * ``failing``: operation names that raise ``EIO`` (or ``EACCES`` for "open"): any of
      "read", "write", "truncate", "fsync", "open", "write_atomic", "remove", "makedirs",
      "rename".
    * ``changes_left``: changes (write, truncate, write_atomic, remove, rename) that may
      still happen; the next one raises ``EIO`` without happening, as if the process died
      there (None = unlimited). The inner files' snapshot is then what a restart finds.
    """

    inner: Any = attrs.field(factory=MemoryFiles)
    write_budget: int | None = None
    failing: set[str] = attrs.field(factory=set)
    changes_left: int | None = None

    def _maybe_fail(self, op: str) -> None:
        if self.changes_left is not None and op in _CHANGES:
            if self.changes_left <= 0:
                raise OSError(errno.EIO, f"Input/output error (crash injected before {op})")
            self.changes_left -= 1
        if op in self.failing:
            if op == "open":
                raise PermissionError(errno.EACCES, "Permission denied (injected)")
            raise OSError(errno.EIO, f"Input/output error (injected on {op})")

    def open(self, path: Path) -> FaultyFile:
        self._maybe_fail("open")
        return FaultyFile(self, self.inner.open(path))

    def read_bytes(self, path: Path) -> bytes | None:
        self._maybe_fail("read")
        return self.inner.read_bytes(path)

    def write_atomic(self, path: Path, data: bytes, *, durable: bool = True) -> None:
        self._maybe_fail("write_atomic")
        self.inner.write_atomic(path, data, durable=durable)

    def rename(self, src: Path, dst: Path) -> None:
        self._maybe_fail("rename")
        self.inner.rename(src, dst)

    def exists(self, path: Path) -> bool:
        return self.inner.exists(path)

    def listdir(self, path: Path) -> list[str]:
        return self.inner.listdir(path)

    def makedirs(self, path: Path) -> None:
        self._maybe_fail("makedirs")
        self.inner.makedirs(path)

    def remove(self, path: Path) -> None:
        self._maybe_fail("remove")
        self.inner.remove(path)

    def remove_tree(self, path: Path) -> None:
        self._maybe_fail("remove")
        self.inner.remove_tree(path)

    def fsync_dir(self, path: Path) -> None:
        self._maybe_fail("fsync")
        self.inner.fsync_dir(path)

    def mtime_ms(self, path: Path) -> int:
        return self.inner.mtime_ms(path)


def lock_directory(path: Path) -> int:
    """Take an exclusive ``flock`` on ``path/.lock`` (as Kafka's ``.lock``); return its fd.

    Raises:
        BlockingIOError: another process (or another open store) holds it.
    """
    import fcntl

    fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def unlock_directory(fd: int) -> None:
    os.close(fd)
