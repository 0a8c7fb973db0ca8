"""Child process of test_crash.py: append batches forever, report each offset on stdout.

Usage: python crash_child.py DATA_DIR SEED [split]. Each line is "partition offset
sequence", written after append returned. With "split", each append reaches the file in two
writes with a pause between them, so that the kill often lands in the middle of a batch (a
torn tail on disk, as a kill during a large write can leave). Two partitions through one LogStore, small segments so that
the child also rolls.
"""

import random
import sys
import time
from pathlib import Path

from kafkalite.storage import LogConfig, LogStore
from kafkalite.storage.files import OsFile, OsFiles


class SplitFile(OsFile):
    def append(self, buffers):
        data = b"".join(bytes(b) for b in buffers)
        half = len(data) // 2
        super().append([data[:half]])
        time.sleep(0.002)
        super().append([data[half:]])


class SplitFiles(OsFiles):
    def open(self, path):
        handle = super().open(path)
        return SplitFile(handle.path, handle.fd)
from kafkalite.wire.records import NewRecord, build_batch


def main() -> None:
    data_dir, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    split = len(sys.argv) > 3 and sys.argv[3] == "split"
    store = LogStore.open(data_dir, files=SplitFiles() if split else None)
    config = LogConfig(segment_bytes=64 * 1024, index_interval_bytes=1024)
    logs = [store.log("crash", p, config) for p in range(2)]
    sequence = [0, 0]
    out = sys.stdout
    while True:
        p = rng.randrange(2)
        seq = sequence[p]
        size = rng.choice([10, 100, 1000, 20000])
        count = rng.randint(1, 5)
        value = seq.to_bytes(8, "big") * (size // 8 + 1)
        batch = build_batch(
            [NewRecord(b"%d" % seq, value, timestamp=1000 + seq) for _ in range(count)]
        )
        info = logs[p].append(batch)
        out.write(f"{p} {info.base_offset} {seq}\n")
        out.flush()
        sequence[p] += 1


if __name__ == "__main__":
    main()
