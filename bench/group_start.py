"""Consumers that start together: how many rebalances, and what a lone consumer pays for batching.

A new group's first rebalance waits group.initial.rebalance.delay.ms for more members, and
each member that arrives during the wait extends it by another delay (Kafka's rule; Kafka caps
the total at the rebalance timeout, kafkalite at group.initial.rebalance.delay.max.ms too).
For each delay setting this prints, against a kafkalite process (confluent-kafka clients):

1. subscribe() to first message for a lone consumer of a new group (median of --runs), the
   latency a test pays per group for the batching;
2. for N = 2, 4 and 8 consumers of one new group started together the way a test starts them
   (each created and subscribed one after another in the test's thread, then polled), the
   largest number of generations a consumer went through before all N held partitions (1 is
   ideal: one shared first generation), and the time until then.

    .venv/bin/python bench/group_start.py [--runs 5] [--delays 0,50,100] [--max-ms 1000]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid

import targets
from confluent_kafka import Consumer
from groups import first_message, make_topic

PARTITIONS = 8


class Member:
    """A consumer created and subscribed by the caller, polled by a thread of its own."""

    def __init__(self, conf: dict, topic: str) -> None:
        self.generations = 0
        self.assignment: frozenset[int] = frozenset()
        self.stop = threading.Event()
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic], on_assign=self._assigned)
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _assigned(self, consumer: Consumer, partitions: list) -> None:
        self.generations += 1

    def _poll(self) -> None:
        while not self.stop.is_set():
            self.consumer.poll(0.01)
            self.assignment = frozenset(p.partition for p in self.consumer.assignment())
        self.consumer.close()


def start_together(bootstrap: str, topic: str, n: int) -> tuple[int, float]:
    conf = {"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex}"}
    start = time.perf_counter()
    members = [Member(conf, topic) for _ in range(n)]
    for m in members:
        m.thread.start()
    try:
        while not (all(m.assignment for m in members)
                   and sum(len(m.assignment) for m in members) == PARTITIONS):
            time.sleep(0.002)
            if time.perf_counter() - start > 60:
                raise SystemExit(f"{n} consumers not all assigned within 60 s")
        return max(m.generations for m in members), time.perf_counter() - start
    finally:
        for m in members:
            m.stop.set()
        for m in members:
            m.thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delays", default="0,25,50,100,200")
    parser.add_argument("--max-ms", type=int, default=None,
                        help="group.initial.rebalance.delay.max.ms (kafkalite's default if not given)")
    args = parser.parse_args()
    print("delay ms | lone consumer: first message (median) | generations (median, max) / seconds to all assigned, "
          "for 2, 4, 8 consumers started together")
    for delay in (int(d) for d in args.delays.split(",")):
        extra = ["--group-initial-rebalance-delay-ms", str(delay)]
        if args.max_ms is not None:
            extra += ["--group-initial-rebalance-delay-max-ms", str(args.max_ms)]
        with targets.kafkalite(memory=True, extra=extra) as broker:
            topic = make_topic(broker.bootstrap, PARTITIONS)
            first_message(broker.bootstrap, topic, warm=True)  # warm up the coordinator
            lone = statistics.median(first_message(broker.bootstrap, topic, warm=True) for _ in range(args.runs))
            cells = []
            for n in (2, 4, 8):
                results = [start_together(broker.bootstrap, topic, n) for _ in range(args.runs)]
                gens = [g for g, _ in results]
                secs = statistics.median(s for _, s in results)
                cells.append(f"n={n}: {statistics.median(gens):g} (max {max(gens)}) / {secs:.2f} s")
            print(f"{delay:8d} | {lone:.3f} s | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
