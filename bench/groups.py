"""Consumer-group latencies with confluent-kafka (librdkafka) against a kafkalite process.

Prints, each as the median of several runs:

1. subscribe() to first message, one consumer of a new group, confluent-kafka defaults
   (auto.offset.reset=earliest so that the messages produced beforehand are read). "cold"
   is a consumer created just before subscribe(); "warm" one that has already fetched
   metadata, so its broker connection is up. Target (issue 5): at most 0.15 s. Kafka's
   default group.initial.rebalance.delay.ms alone is 3 s; kafkalite's is 60 ms (see
   bench/group_start.py for why). What remains is
   librdkafka's own timers: ~50 ms before it reconnects after replacing its bootstrap
   connection (cold only), and a 100 ms retry.backoff.ms before it asks ListOffsets for a
   partition without a committed offset.
2. A second consumer joining a stable one-member group: from its subscribe() until both
   members hold their new assignment (2 + 2 partitions). The first member only learns of
   the rebalance from its next heartbeat, so with the default heartbeat.interval.ms (3 s)
   this is dominated by the client; it is also shown with heartbeat.interval.ms=100.

3. The same with ``group.protocol=consumer`` (KIP-848) and client defaults: the broker
   computes the assignment and tells each member at its heartbeat interval (kafkalite's
   group.consumer.heartbeat.interval.ms: 200 ms; Kafka's: 5 s). Targets (issue 11): first
   message at most 0.15 s, the second member's rebalance at most 0.5 s.

``--reference`` measures the same against the reference Apache Kafka (compat_tests/reference/,
configured with group.initial.rebalance.delay.ms=60 as kafkalite) after kafkalite, and prints
both side by side; kafkalite then keeps its data on disk (a temp dir) as Kafka does. Each broker gets one untimed first group before the runs (Kafka creates
__consumer_offsets, 50 partitions, on first use; kafkalite sets its coordinator up then).

    .venv/bin/python bench/groups.py [--runs 5] [--reference] [--json FILE]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid

import targets
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 4


def make_topic(bootstrap: str, partitions: int = PARTITIONS) -> str:
    """A topic of *partitions* partitions, created explicitly, with one message in each.

    Waited for until Metadata shows every partition's leader: Kafka's broker lists a new
    topic a moment after answering CreateTopics.
    """
    topic = f"bench-groups-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result(10)
    deadline = time.monotonic() + 10
    while True:
        meta = admin.list_topics(topic, timeout=5).topics.get(topic)
        if meta is not None and meta.error is None and len(meta.partitions) == partitions \
                and all(p.leader >= 0 for p in meta.partitions.values()):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"topic {topic} not in Metadata 10 s after it was created")
        time.sleep(0.05)
    producer = Producer({"bootstrap.servers": bootstrap})
    for p in range(partitions):
        producer.produce(topic, value=b"x", partition=p)
    producer.flush(10)
    return topic


CONSUMER_PROTOCOL = {"group.protocol": "consumer"}


def first_message(bootstrap: str, topic: str, warm: bool, extra: dict | None = None) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", **(extra or {})})
    try:
        if warm:
            consumer.list_topics(topic, timeout=10)
        start = time.perf_counter()
        consumer.subscribe([topic])
        while True:
            msg = consumer.poll(0.01)
            if msg is not None and not msg.error():
                return time.perf_counter() - start
            if time.perf_counter() - start > 30:
                raise SystemExit("no message within 30 s")
    finally:
        consumer.close()


class Polling(threading.Thread):
    def __init__(self, conf: dict, topic: str) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer(conf)
        self.topic = topic
        self.assignment: frozenset[int] = frozenset()
        self.stop = threading.Event()

    def run(self) -> None:
        self.consumer.subscribe([self.topic])
        while not self.stop.is_set():
            self.consumer.poll(0.01)
            self.assignment = frozenset(p.partition for p in self.consumer.assignment())
        self.consumer.close()


def second_join(bootstrap: str, topic: str, extra: dict) -> float:
    conf = {"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex}", **extra}
    first = Polling(conf, topic)
    first.start()
    while len(first.assignment) != PARTITIONS:
        time.sleep(0.001)
    time.sleep(0.2)
    second = Polling(conf, topic)
    start = time.perf_counter()
    second.start()
    try:
        while not (len(first.assignment) == 2 and len(second.assignment) == 2):
            time.sleep(0.001)
            if time.perf_counter() - start > 30:
                raise SystemExit("no rebalance within 30 s")
        return time.perf_counter() - start
    finally:
        for member in (second, first):
            member.stop.set()
            member.join(10)


def run(bootstrap: str, runs: int) -> dict[str, float]:
    """Every measurement against one broker; prints them and returns the medians by key."""
    topic = make_topic(bootstrap)
    first_message(bootstrap, topic, warm=True)  # warm up the broker process and its coordinator
    cold = [first_message(bootstrap, topic, warm=False) for _ in range(runs)]
    warm = [first_message(bootstrap, topic, warm=True) for _ in range(runs)]
    print(f"subscribe() -> first message, cold consumer: median {statistics.median(cold):.3f} s "
          f"(min {min(cold):.3f}, max {max(cold):.3f}; target <= 0.15 s)")
    print(f"subscribe() -> first message, warm consumer: median {statistics.median(warm):.3f} s "
          f"(min {min(warm):.3f}, max {max(warm):.3f})", flush=True)
    joins = max(2, runs // 2)
    default = [second_join(bootstrap, topic, {}) for _ in range(joins)]
    fast = [second_join(bootstrap, topic, {"heartbeat.interval.ms": 100}) for _ in range(joins)]
    print(f"second consumer's join -> both members reassigned, defaults (heartbeat 3 s): "
          f"median {statistics.median(default):.3f} s")
    print(f"second consumer's join -> both members reassigned, heartbeat.interval.ms=100: "
          f"median {statistics.median(fast):.3f} s", flush=True)
    cold848 = [first_message(bootstrap, topic, False, CONSUMER_PROTOCOL) for _ in range(runs)]
    warm848 = [first_message(bootstrap, topic, True, CONSUMER_PROTOCOL) for _ in range(runs)]
    join848 = [second_join(bootstrap, topic, CONSUMER_PROTOCOL) for _ in range(joins)]
    print(f"group.protocol=consumer: subscribe() -> first message, cold: median {statistics.median(cold848):.3f} s, "
          f"warm: median {statistics.median(warm848):.3f} s (target <= 0.15 s)")
    print(f"group.protocol=consumer: second consumer's join -> both reassigned: "
          f"median {statistics.median(join848):.3f} s (target <= 0.5 s)", flush=True)
    return {"first_cold_s": statistics.median(cold), "first_warm_s": statistics.median(warm),
            "rebalance_default_s": statistics.median(default), "rebalance_hb100_s": statistics.median(fast),
            "consumer_first_cold_s": statistics.median(cold848), "consumer_first_warm_s": statistics.median(warm848),
            "consumer_rebalance_s": statistics.median(join848)}


TABLE = [
    ("subscribe() -> first message, cold consumer (s)", "first_cold_s", 3),
    ("subscribe() -> first message, warm consumer (s)", "first_warm_s", 3),
    ("second member's join -> both reassigned, heartbeat 3 s (s)", "rebalance_default_s", 3),
    ("second member's join -> both reassigned, heartbeat 100 ms (s)", "rebalance_hb100_s", 3),
    ("group.protocol=consumer: first message, cold (s)", "consumer_first_cold_s", 3),
    ("group.protocol=consumer: first message, warm (s)", "consumer_first_warm_s", 3),
    ("group.protocol=consumer: second member's join -> both reassigned (s)", "consumer_rebalance_s", 3),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference", action="store_true", help="also run against the reference Apache Kafka")
    parser.add_argument("--json", metavar="FILE", help="write the results by broker to FILE")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    # In memory as before; on a temp data dir next to Kafka, which keeps its log on disk.
    with targets.kafkalite(memory=not args.reference) as broker:
        print(f"kafkalite ({'on disk' if args.reference else 'in memory'}):", flush=True)
        results["kafkalite"] = run(broker.bootstrap, args.runs)
    if args.reference:
        with targets.kafka() as broker:
            print(f"{broker.label}:", flush=True)
            results["kafka"] = run(broker.bootstrap, args.runs)
        print()
        targets.print_side_by_side([(label, {n: r[key] for n, r in results.items()}, digits)
                                    for label, key, digits in TABLE],
                                   {"kafkalite": "kafkalite", "kafka": targets.kafka_name()})
    targets.write_json(args.json, results)


if __name__ == "__main__":
    main()
