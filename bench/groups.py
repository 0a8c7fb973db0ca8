"""Consumer-group latencies with confluent-kafka (librdkafka) against a kafkalite process.

Prints, each as the median of several runs:

1. subscribe() to first message, one consumer of a new group, confluent-kafka defaults
   (auto.offset.reset=earliest so that the messages produced beforehand are read). "cold"
   is a consumer created just before subscribe(); "warm" one that has already fetched
   metadata, so its broker connection is up. Target (issue 5): at most 0.15 s. Kafka's
   default group.initial.rebalance.delay.ms alone is 3 s; kafkalite's is 0. What remains is
   librdkafka's own timers: ~50 ms before it reconnects after replacing its bootstrap
   connection (cold only), and a 100 ms retry.backoff.ms before it asks ListOffsets for a
   partition without a committed offset.
2. A second consumer joining a stable one-member group: from its subscribe() until both
   members hold their new assignment (2 + 2 partitions). The first member only learns of
   the rebalance from its next heartbeat, so with the default heartbeat.interval.ms (3 s)
   this is dominated by the client; it is also shown with heartbeat.interval.ms=100.

    .venv/bin/python bench/groups.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 4


def start_broker() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkalite", "serve", "--host", "127.0.0.1", "--port", "0", "--memory",
         "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("kafkalite listening on "):
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, line.split()[-1]
    raise SystemExit("kafkalite did not start")


def make_topic(bootstrap: str) -> str:
    topic = f"bench-groups-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).values():
        future.result(10)
    producer = Producer({"bootstrap.servers": bootstrap})
    for p in range(PARTITIONS):
        producer.produce(topic, value=b"x", partition=p)
    producer.flush(10)
    return topic


def first_message(bootstrap: str, topic: str, warm: bool) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest"})
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    proc, bootstrap = start_broker()
    try:
        topic = make_topic(bootstrap)
        first_message(bootstrap, topic, warm=True)  # warm up the broker process
        cold = [first_message(bootstrap, topic, warm=False) for _ in range(args.runs)]
        warm = [first_message(bootstrap, topic, warm=True) for _ in range(args.runs)]
        print(f"subscribe() -> first message, cold consumer: median {statistics.median(cold):.3f} s "
              f"(min {min(cold):.3f}, max {max(cold):.3f}; target <= 0.15 s)")
        print(f"subscribe() -> first message, warm consumer: median {statistics.median(warm):.3f} s "
              f"(min {min(warm):.3f}, max {max(warm):.3f})")
        runs = max(2, args.runs // 2)
        default = [second_join(bootstrap, topic, {}) for _ in range(runs)]
        fast = [second_join(bootstrap, topic, {"heartbeat.interval.ms": 100}) for _ in range(runs)]
        print(f"second consumer's join -> both members reassigned, defaults (heartbeat 3 s): "
              f"median {statistics.median(default):.3f} s")
        print(f"second consumer's join -> both members reassigned, heartbeat.interval.ms=100: "
              f"median {statistics.median(fast):.3f} s")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
