"""Produce / consume throughput, end-to-end latency and broker CPU, with confluent-kafka.

    .venv/bin/python bench/throughput.py                 # starts its own broker (in memory)
    .venv/bin/python bench/throughput.py --data-dir DIR  # ... on disk
    .venv/bin/python bench/throughput.py --bootstrap HOST:PORT   # an already running broker

Prints, for 200,000 x 100 B and 50,000 x 1 KB messages (linger.ms=5, acks=all): produce and
consume (assign()) messages/s and MB/s, broker CPU seconds per 100k messages produced and
consumed (own broker only), end-to-end latency p50/p99 over 500 produce-then-consume round
trips, and the Fetch requests per second an idle consumer costs.

Targets (issue 4): broker CPU per produced 100 B message <= 0.25 us, consume >= 900,000
msg/s of 100 B, end-to-end p50 <= 0.5 ms, idle consumer <= 5 fetch requests/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start_broker(data_dir: str | None) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "kafkalite", "--host", "127.0.0.1", "--port", "0", "--log-level", "WARNING"]
    args += ["--data-dir", data_dir] if data_dir else ["--memory"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("kafkalite listening on"):
        raise RuntimeError(f"broker did not start: {line!r}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, line.split()[-1]


def create_topic(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, 1)]).values():
        f.result(10)


def produce(bootstrap: str, topic: str, count: int, size: int) -> float:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "queue.buffering.max.messages": 1_000_000})
    payload = os.urandom(size)
    start = time.perf_counter()
    for _ in range(count):
        while True:
            try:
                p.produce(topic, payload)
                break
            except BufferError:
                p.poll(0.001)
    remaining = p.flush(60)
    elapsed = time.perf_counter() - start
    assert remaining == 0
    return elapsed


def consume(bootstrap: str, topic: str, count: int) -> float:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False})
    # Learn the partition leader first: librdkafka assigned to a partition whose leader it
    # does not know yet retries its offset lookup on a 500 ms timer, a client start-up cost
    # that would otherwise dominate a sub-second measurement.
    c.list_topics(topic, timeout=10)
    start = time.perf_counter()
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = 0
    while got < count:
        for msg in c.consume(10_000, 1.0):
            if msg.error() is None:
                got += 1
    elapsed = time.perf_counter() - start
    c.close()
    return elapsed


def latency(bootstrap: str, topic: str, rounds: int) -> list[float]:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-latency", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 500, "fetch.min.bytes": 1})
    c.assign([TopicPartition(topic, 0, OFFSET_END)])
    while c.poll(0.2) is not None:
        pass
    time.sleep(0.5)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        p.produce(topic, b"x")
        p.poll(0)
        while True:
            msg = c.poll(1.0)
            if msg is not None and msg.error() is None:
                break
        samples.append(time.perf_counter() - start)
        p.poll(0)
    p.flush(5)
    c.close()
    return samples


def idle_fetch_rate(bootstrap: str, topic: str, seconds: float = 5.0) -> float:
    stats: list[dict] = []
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-idle", "enable.auto.commit": False,
                  "statistics.interval.ms": 1000, "stats_cb": lambda s: stats.append(json.loads(s))})
    c.assign([TopicPartition(topic, 0, OFFSET_END)])
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        c.poll(0.1)
    first = len(stats)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        c.poll(0.1)
    c.close()

    def fetches(s: dict) -> int:
        return sum(b.get("req", {}).get("Fetch", 0) for name, b in s["brokers"].items() if "bootstrap" not in name)

    a, b = stats[first - 1], stats[-1]
    return (fetches(b) - fetches(a)) / ((b["ts"] - a["ts"]) / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap")
    parser.add_argument("--data-dir")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the message counts")
    args = parser.parse_args()
    proc = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        proc, bootstrap = start_broker(args.data_dir)
    pid = proc.pid if proc else None
    try:
        for count, size in ((int(200_000 * args.scale), 100), (int(50_000 * args.scale), 1024)):
            topic = f"bench-{size}-{uuid.uuid4().hex[:6]}"
            create_topic(bootstrap, topic)
            cpu0 = cpu_seconds(pid)
            t_produce = produce(bootstrap, topic, count, size)
            cpu1 = cpu_seconds(pid)
            t_consume = consume(bootstrap, topic, count)
            cpu2 = cpu_seconds(pid)
            mb = count * size / 1e6
            print(f"{count} x {size} B: produce {count / t_produce:,.0f} msg/s {mb / t_produce:,.1f} MB/s; "
                  f"consume {count / t_consume:,.0f} msg/s {mb / t_consume:,.1f} MB/s")
            if pid:
                print(f"  broker CPU: produce {(cpu1 - cpu0) / count * 1e5:.3f} s/100k msgs "
                      f"({(cpu1 - cpu0) / count * 1e6:.2f} us/msg), consume {(cpu2 - cpu1) / count * 1e5:.3f} s/100k msgs")
        topic = f"bench-latency-{uuid.uuid4().hex[:6]}"
        create_topic(bootstrap, topic)
        samples = sorted(latency(bootstrap, topic, 500))
        print(f"end-to-end latency over {len(samples)} round trips: p50 {statistics.median(samples) * 1000:.2f} ms, "
              f"p99 {samples[int(len(samples) * 0.99) - 1] * 1000:.2f} ms")
        print(f"idle consumer: {idle_fetch_rate(bootstrap, topic):.1f} Fetch requests/s")
    finally:
        if proc:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
