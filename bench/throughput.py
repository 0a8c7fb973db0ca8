"""Produce / consume throughput, end-to-end latency, broker CPU and memory, with confluent-kafka.

    .venv/bin/python bench/throughput.py                 # starts its own broker (in memory)
    .venv/bin/python bench/throughput.py --data-dir DIR  # ... on disk
    .venv/bin/python bench/throughput.py --bootstrap HOST:PORT   # an already running broker
    .venv/bin/python bench/throughput.py --reference     # kafkalite and the reference Kafka

Prints, for 200,000 x 100 B and 50,000 x 1 KB messages (linger.ms=5, acks=all, one
partition, each after an untimed warm-up of a quarter as many): produce and consume (assign())
messages/s and MB/s, broker CPU seconds per 100k messages produced and consumed (own broker
only), end-to-end latency p50/p99 over 500 produce-then-consume round trips, the Fetch
requests per second an idle consumer costs, and the broker's peak RSS (own broker only).

``--reference`` runs the same, one after the other, against kafkalite and against the
reference Apache Kafka (compat_tests/reference/; its broker JVM's CPU and peak RSS), and
prints them side by side. Kafka keeps its log on disk (page cache, no fsync), so kafkalite
then does too, on a temp dir, unless ``--memory`` or ``--data-dir`` is given.

Targets (issue 4): broker CPU per produced 100 B message <= 0.25 us, consume >= 900,000
msg/s of 100 B, end-to-end p50 <= 0.5 ms, idle consumer <= 5 fetch requests/s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
import uuid

import targets
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 1


def create_topic(bootstrap: str, name: str) -> None:
    """Created explicitly (never auto-created), and waited for until Metadata shows its leader.

    Kafka's broker lists a new topic a moment after answering CreateTopics; a client that
    asks in between waits on its own retry timers, which would count in what is measured.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, PARTITIONS, 1)]).values():
        f.result(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=5).topics.get(name)
        if topic is not None and topic.error is None and len(topic.partitions) == PARTITIONS \
                and all(p.leader >= 0 for p in topic.partitions.values()):
            return
        time.sleep(0.05)
    raise RuntimeError(f"topic {name} not in Metadata 10 s after it was created")


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
    # fetch.queue.backoff.ms: once its local queue holds queued.min.messages (100,000),
    # librdkafka postpones the partition's next fetch by this much, 1 s by default; when the
    # application falls that far behind (a busy machine), one 200,000-message run takes a
    # second longer whichever the broker. 10 ms measures the broker, not that policy.
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False,
                  "fetch.queue.backoff.ms": 10})
    # Learn the partition leader first: librdkafka assigned to a partition whose leader it
    # does not know yet retries its offset lookup on a 500 ms timer, a client start-up cost
    # that would otherwise dominate a sub-second measurement.
    c.list_topics(topic, timeout=10)
    start = time.perf_counter()
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = 0
    while got < count:
        # Never ask for more than remain: consume() waits its whole timeout for a short batch.
        for msg in c.consume(min(10_000, count - got), 1.0):
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


def run(bootstrap: str, pid: int | None, scale: float) -> dict[str, float]:
    """Every measurement against one broker; prints them and returns them by key."""
    results: dict[str, float] = {}
    rounds = ((int(200_000 * scale), 100), (int(50_000 * scale), 1024))
    # Untimed, a quarter of each round first: a JVM's code is compiled while it runs (a
    # broker that has served for a while has it), and the group coordinator (Kafka creates
    # __consumer_offsets on first use) and the page cache are set up.
    for count, size in rounds:
        warm_up = f"bench-warm-up-{size}-{uuid.uuid4().hex[:6]}"
        create_topic(bootstrap, warm_up)
        produce(bootstrap, warm_up, count // 4, size)
        consume(bootstrap, warm_up, count // 4)
    for count, size in rounds:
        topic = f"bench-{size}-{uuid.uuid4().hex[:6]}"
        create_topic(bootstrap, topic)
        cpu0 = targets.cpu_seconds(pid)
        t_produce = produce(bootstrap, topic, count, size)
        cpu1 = targets.cpu_seconds(pid)
        t_consume = consume(bootstrap, topic, count)
        cpu2 = targets.cpu_seconds(pid)
        mb = count * size / 1e6
        print(f"{count} x {size} B: produce {count / t_produce:,.0f} msg/s {mb / t_produce:,.1f} MB/s; "
              f"consume {count / t_consume:,.0f} msg/s {mb / t_consume:,.1f} MB/s")
        results[f"produce_{size}_msg_s"] = count / t_produce
        results[f"produce_{size}_mb_s"] = mb / t_produce
        results[f"consume_{size}_msg_s"] = count / t_consume
        results[f"consume_{size}_mb_s"] = mb / t_consume
        results[f"cpu_produce_{size}_us"] = (cpu1 - cpu0) / count * 1e6
        results[f"cpu_consume_{size}_us"] = (cpu2 - cpu1) / count * 1e6
        if pid:
            print(f"  broker CPU: produce {(cpu1 - cpu0) / count * 1e5:.3f} s/100k msgs "
                  f"({(cpu1 - cpu0) / count * 1e6:.2f} us/msg), consume {(cpu2 - cpu1) / count * 1e5:.3f} s/100k msgs")
    topic = f"bench-latency-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic)
    samples = sorted(latency(bootstrap, topic, 500))
    results["e2e_p50_ms"] = statistics.median(samples) * 1000
    results["e2e_p99_ms"] = samples[int(len(samples) * 0.99) - 1] * 1000
    print(f"end-to-end latency over {len(samples)} round trips: p50 {results['e2e_p50_ms']:.2f} ms, "
          f"p99 {results['e2e_p99_ms']:.2f} ms")
    results["idle_fetch_per_s"] = idle_fetch_rate(bootstrap, topic)
    print(f"idle consumer: {results['idle_fetch_per_s']:.1f} Fetch requests/s")
    if pid:
        results["peak_rss_mb"] = targets.peak_rss_mb(pid)
        print(f"broker peak RSS: {results['peak_rss_mb']:.1f} MB", flush=True)
    return {k: v for k, v in results.items() if not math.isnan(v)}


TABLE = [
    ("produce 100 B (msg/s)", "produce_100_msg_s", 0),
    ("consume 100 B (msg/s)", "consume_100_msg_s", 0),
    ("produce 1 KB (MB/s)", "produce_1024_mb_s", 1),
    ("consume 1 KB (MB/s)", "consume_1024_mb_s", 1),
    ("broker CPU per produced 100 B msg (us)", "cpu_produce_100_us", 2),
    ("broker CPU per consumed 100 B msg (us)", "cpu_consume_100_us", 2),
    ("end-to-end latency p50 (ms)", "e2e_p50_ms", 2),
    ("end-to-end latency p99 (ms)", "e2e_p99_ms", 2),
    ("idle consumer (Fetch requests/s)", "idle_fetch_per_s", 1),
    ("broker peak RSS (MB)", "peak_rss_mb", 1),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", help="an already running broker (no CPU or memory figures)")
    parser.add_argument("--data-dir", help="kafkalite's data dir (default: in memory; a temp dir with --reference)")
    parser.add_argument("--memory", action="store_true", help="kafkalite in memory, also with --reference")
    parser.add_argument("--reference", action="store_true", help="also run against the reference Apache Kafka")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the message counts")
    parser.add_argument("--json", metavar="FILE", help="write the results by broker to FILE")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    if args.bootstrap:
        print(f"broker at {args.bootstrap}:", flush=True)
        results["external"] = run(args.bootstrap, None, args.scale)
    else:
        memory = args.memory or not (args.reference or args.data_dir)
        with targets.kafkalite(args.data_dir, memory=memory) as broker:
            print(f"kafkalite ({'in memory' if memory else 'on disk'}):", flush=True)
            results["kafkalite"] = run(broker.bootstrap, broker.pid, args.scale)
    if args.reference:
        with targets.kafka() as broker:
            print(f"{broker.label} (on disk):", flush=True)
            results["kafka"] = run(broker.bootstrap, broker.pid, args.scale)
    if len(results) == 2:
        print()
        labels = {name: targets.kafka_name() if name == "kafka" else name for name in results}
        targets.print_side_by_side([(label, {n: r.get(key, float("nan")) for n, r in results.items()}, digits)
                                    for label, key, digits in TABLE], labels)
    targets.write_json(args.json, results)


if __name__ == "__main__":
    main()
