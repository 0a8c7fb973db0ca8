"""Crash test: kill -9 a process that appends, reopen, find every acknowledged batch.

The child reports each batch's offset after append returns; the parent SIGKILLs it at a
random moment (so sometimes in the middle of a write), reopens the data dir (recovery) and
checks that each partition holds exactly the batches 0, 1, 2, ... of the child's sequence,
with every reported one present at the reported offset, once, in order, and nothing after
the last whole batch.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kafkalite.storage import LogConfig, LogStore
from kafkalite.wire.records import decode_records

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(
    data_dir: Path, seed: int, kill_after: int, split: bool, delay: float
) -> list[tuple[int, int, int]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    reported = []
    with subprocess.Popen(
        [sys.executable, str(CHILD), str(data_dir), str(seed)] + (["split"] if split else []),
        stdout=subprocess.PIPE, env=env, cwd=ROOT,
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            p, offset, seq = map(int, line.split())
            reported.append((p, offset, seq))
            if len(reported) >= kill_after:
                break
        time.sleep(delay)  # a random moment in the child's loop
        os.kill(child.pid, signal.SIGKILL)
        # Lines already in the pipe were reported before the kill: they count too.
        rest = child.stdout.read()
        for line in rest.decode().splitlines():
            p, offset, seq = map(int, line.split())
            reported.append((p, offset, seq))
    assert child.returncode == -signal.SIGKILL, "the child died by itself"
    return reported


@pytest.mark.parametrize("round_", range(8))
def test_kill_9_loses_nothing_acknowledged(tmp_path, round_):
    rng = random.Random(round_)
    data_dir = tmp_path / "data"
    # Two kills on the same data dir: the second run appends after a recovered log.
    reported = []
    for run in range(2):
        reported += _run_and_kill(
            data_dir, seed=round_ * 10 + run, kill_after=rng.randint(1, 300), split=round_ % 2 == 1,
            delay=rng.uniform(0, 0.004),
        )
        store = LogStore.open(data_dir)
        config = LogConfig(segment_bytes=64 * 1024, index_interval_bytes=1024)
        for p in range(2):
            log = store.log("crash", p, config)
            found = []
            for header, view in log.batches_from(log.log_start_offset):
                records = decode_records(view)
                found.append((header.base_offset, int(records[0].key)))
            # Each run's sequence starts at 0 again; offsets keep growing across runs.
            mine = [(offset, seq) for q, offset, seq in reported if q == p]
            assert [f for f in found if f in mine] == mine, "a reported batch is missing"
            offsets = [o for o, _ in found]
            assert offsets == sorted(set(offsets))
            # At most one unreported batch per partition and run (appended, not yet reported).
            assert len(found) - len(mine) <= run + 1
            assert log.log_end_offset == (
                (found[-1][0] + len(decode_records(list(log.batches_from(found[-1][0]))[0][1])))
                if found else 0
            )
        store.close()
