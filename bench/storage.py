"""Append and read throughput of PartitionLog against plain sequential file I/O.

For ~1 MB record batches of 100-byte and of 1 KB records: append N batches to a fresh
PartitionLog (default config: plain write per append, no fsync), then read the whole log
back in 1 MB fetches (`PartitionLog.read`), and compare each figure with plain sequential
``os.write`` / ``os.pread`` of the same bytes to a file in the same directory, in the same
run. Best of several rounds. Target: ratio >= 0.8.

    .venv/bin/python bench/storage.py [--mb 256] [--rounds 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from kafkalite.storage import LogConfig, PartitionLog
from kafkalite.wire.records import NewRecord, build_batch

BATCH_BYTES = 1 << 20


def make_batch(record_size: int) -> bytes:
    count = BATCH_BYTES // (record_size + 8)
    value = os.urandom(record_size)
    return build_batch([NewRecord(None, value, timestamp=1_700_000_000_000 + i) for i in range(count)])


def plain(directory: Path, batch: bytes, n: int) -> tuple[float, float]:
    path = directory / "plain.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)
    try:
        start = time.perf_counter()
        for _ in range(n):
            os.write(fd, batch)
        write_s = time.perf_counter() - start
        size = len(batch) * n
        start = time.perf_counter()
        position = 0
        while position < size:
            position += len(os.pread(fd, len(batch), position))
        read_s = time.perf_counter() - start
    finally:
        os.close(fd)
        path.unlink()
    return write_s, read_s


def kafkalite(directory: Path, batch: bytes, n: int) -> tuple[float, float]:
    log_dir = directory / "bench-0"
    log = PartitionLog.open(log_dir, LogConfig())
    try:
        start = time.perf_counter()
        for _ in range(n):
            log.append(batch)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        offset, total = 0, 0
        end = log.log_end_offset
        while offset < end:
            views = log.read(offset, BATCH_BYTES)
            total += sum(len(v) for v in views)
            offset += len(views) and _next_offset(views[-1])
        read_s = time.perf_counter() - start
        assert total == len(batch) * n, (total, len(batch) * n)
    finally:
        log.close()
        shutil.rmtree(log_dir)
    return write_s, read_s


def _next_offset(view: memoryview) -> int:
    # A 1 MB fetch returns exactly one of these batches: the next fetch starts after it.
    from kafkalite.wire.batch import parse_batch_header

    header = parse_batch_header(view)
    return header.last_offset_delta + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="MB appended per case")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        print(f"storage bench in {directory}: {args.mb} x ~1 MB batches per case, best of {args.rounds}")
        print(f"{'records':>8} {'op':>6} {'kafkalite MB/s':>15} {'plain MB/s':>11} {'ratio':>6}")
        for record_size in (100, 1024):
            batch = make_batch(record_size)
            n = args.mb
            mb = len(batch) * n / 1e6
            best_plain = [float("inf")] * 2
            best_log = [float("inf")] * 2
            for _ in range(args.rounds):
                # Alternate so that both see the same page-cache and disk conditions.
                p = plain(directory, batch, n)
                k = kafkalite(directory, batch, n)
                best_plain = [min(a, b) for a, b in zip(best_plain, p)]
                best_log = [min(a, b) for a, b in zip(best_log, k)]
            for i, op in enumerate(("append", "read")):
                log_rate, plain_rate = mb / best_log[i], mb / best_plain[i]
                print(
                    f"{str(record_size) + ' B':>8} {op:>6} {log_rate:>15.0f} {plain_rate:>11.0f} "
                    f"{log_rate / plain_rate:>6.2f}"
                )


if __name__ == "__main__":
    main()
