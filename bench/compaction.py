"""Log compaction: the cleaner's throughput, produce latency while it runs, and start-up time
after many offset commits before and after __consumer_offsets is compacted.

Prints:

1. cleaner throughput: a PartitionLog on disk with --mb MB of keyed records (--keys distinct
   keys, 100-byte values, 1 MB segments) cleaned once by `kafkalite.storage.cleaner.clean`;
   MB/s of input (the bytes of the segments read);
2. produce latency while the broker's cleaner runs: a kafkalite broker (on disk, cleaner every
   100 ms) with a compacted topic of --mb MB that becomes cleanable; a confluent-kafka producer
   sends one 100-byte record at a time (acks=1, flushed) to another topic, first with the
   cleaner idle, then while it compacts; p50 / p99 / max in ms;
3. start-up: --commits offset commits (one record each, 1,000 groups) into __consumer_offsets,
   then the time from starting the broker to the first answer about a committed offset (which
   replays __consumer_offsets), before and after `compact("__consumer_offsets")`.

    .venv/bin/python bench/compaction.py [--mb 64] [--keys 10000] [--commits 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Producer

from kafkalite.groups.requests import CommitRequest
from kafkalite.storage import LogConfig, PartitionLog
from kafkalite.storage.cleaner import clean
from kafkalite.testing.thread import run_in_thread
from kafkalite.wire.records import NewRecord, build_batch

VALUE = b"v" * 100


def _batches(mb: int, keys: int, per_batch: int = 100):
    """Keyed batches of about *mb* MB in all, keys cycling."""
    size = 0
    n = 0
    while size < mb * 1_000_000:
        batch = build_batch(
            [NewRecord(b"key-%d" % ((n + i) % keys), VALUE, timestamp=1000) for i in range(per_batch)]
        )
        n += per_batch
        size += len(batch)
        yield batch


def cleaner_throughput(mb: int, keys: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = LogConfig(delete=False, compact=True, segment_bytes=1 << 20)
        log = PartitionLog.open(Path(tmp) / "t-0", config, 0)
        for batch in _batches(mb, keys):
            log.append(batch, now_ms=0)
        log.roll(0)
        size = log.size_in_bytes
        start = time.perf_counter()
        result = clean(log, now_ms=10_000, last_stable_offset=log.log_end_offset, producers={}, force=True)
        elapsed = time.perf_counter() - start
        assert result is not None
        print(
            f"cleaner: {result.bytes_read / 1e6:.1f} MB in {result.segments_before - 1} segments "
            f"-> {result.bytes_written / 1e6:.2f} MB in {result.segments_after - 1}, "
            f"{elapsed:.2f} s: {result.bytes_read / 1e6 / elapsed:.1f} MB/s of input "
            f"({size / 1e6:.1f} MB log)"
        )
        log.close()


def _latencies(producer: Producer, topic: str, seconds: float) -> list[float]:
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        producer.produce(topic, key=b"k", value=VALUE)
        producer.flush(10)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _summary(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, max {max(values):.2f} ms ({len(values)} sends)"


def produce_latency(mb: int, keys: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, run_in_thread(
        data_dir=tmp, memory=False, log_cleaner_backoff_ms=100
    ) as broker:
        broker.create_topic("compacted", partitions=1, configs={
            "cleanup.policy": "compact", "segment.bytes": str(1 << 20),
            "min.cleanable.dirty.ratio": "0.99",  # not yet
        })
        broker.create_topic("latency", partitions=1)
        for batch in _batches(mb, keys, per_batch=500):
            broker.call(lambda b=batch: broker.broker.store.get("compacted", 0).append(b))
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0, "acks": 1})
        _latencies(producer, "latency", 0.5)  # warm up
        idle = _latencies(producer, "latency", 3.0)
        print(f"produce latency, cleaner idle:    {_summary(idle)}")
        size = broker.call(lambda: broker.broker.store.get("compacted", 0).size_in_bytes)
        broker.call(lambda: broker.broker.set_topic_configs(
            "compacted", {"cleanup.policy": "compact", "segment.bytes": str(1 << 20),
                          "min.cleanable.dirty.ratio": "0.01"}))
        done = threading.Event()
        start = time.perf_counter()

        def watch() -> None:
            broker.wait_until(
                lambda: broker.call(lambda: broker.broker.store.get("compacted", 0).size_in_bytes) < size / 2,
                expected="compaction", timeout=300,
            )
            done.set()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        busy: list[float] = []
        while not done.is_set():
            busy += _latencies(producer, "latency", 0.2)
        elapsed = time.perf_counter() - start
        print(f"produce latency, while cleaning:  {_summary(busy)} "
              f"(the cleaner took {elapsed:.1f} s for {size / 1e6:.1f} MB)")


def _startup(data_dir: str) -> float:
    start = time.perf_counter()
    with run_in_thread(data_dir=data_dir, memory=False, offsets_topic_partitions=1) as broker:
        assert broker.committed("g0", "t") is not None
        return time.perf_counter() - start


def startup_after_commits(commits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with run_in_thread(data_dir=tmp, memory=False, offsets_topic_partitions=1) as broker:
            broker.create_topic("t", partitions=1)

            def commit_many(first: int, count: int) -> None:
                groups = broker.broker.groups
                for i in range(first, first + count):
                    groups.commit_offsets(f"g{i % 1000}", "", None, -1, [CommitRequest("t", 0, i, -1, None)])

            start = time.perf_counter()
            for first in range(0, commits, 10_000):
                broker.call(commit_many, first, min(10_000, commits - first), timeout=600)
            print(f"{commits} offset commits written in {time.perf_counter() - start:.1f} s")
        size = sum(f.stat().st_size for f in Path(tmp).glob("__consumer_offsets-0/*.log"))
        before = _startup(tmp)
        print(f"start-up before compaction: {before:.2f} s (__consumer_offsets {size / 1e6:.1f} MB)")
        with run_in_thread(data_dir=tmp, memory=False, offsets_topic_partitions=1) as broker:
            start = time.perf_counter()
            removed = broker.compact("__consumer_offsets")
            took = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(tmp).glob("__consumer_offsets-0/*.log"))
        after = _startup(tmp)
        print(f"compaction removed {removed} records in {took:.1f} s")
        print(f"start-up after compaction:  {after:.2f} s (__consumer_offsets {size / 1e6:.2f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=1_000_000)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: clean,latency,startup")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    if "clean" not in skip:
        cleaner_throughput(args.mb, args.keys)
    if "latency" not in skip:
        produce_latency(args.mb, args.keys)
    if "startup" not in skip:
        startup_after_commits(args.commits)


if __name__ == "__main__":
    main()
