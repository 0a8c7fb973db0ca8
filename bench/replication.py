"""What replication costs, and how long a failover takes (confluent-kafka, kafkalite in-process).

One run of a 3-broker cluster (memory mode) measures, for replication factor 1 and 3, with
acks=1 and acks=all: the producer's throughput and the broker's CPU time per message (the
broker thread's own CPU clock, so the client's threads do not count). Then the failover: a
producer with confluent-kafka's defaults (idempotent, acks=all) sends one record every 5 ms to
a one-partition topic of replication factor 3, the leader's broker is hard-stopped, and the
script prints the time from the stop to the first record acknowledged after it (by the new
leader), over several rounds.

Targets (issue #13): RF 3 costs at most 2x the broker CPU per message of RF 1; the failover is
visible to the client in under 1 s plus the client's own metadata refresh backoff.

    .venv/bin/python bench/replication.py [--records 30000] [--size 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from confluent_kafka import Producer

import kafkalite


def _throughput(broker, topic: str, acks: str, records: int, size: int) -> tuple[float, float]:
    """(records/s, broker CPU µs per record) of one producer run."""
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": acks, "linger.ms": 5,
                         "enable.idempotence": acks == "all"})
    producer.produce(topic, b"warm-up")
    producer.flush(30)
    value = b"v" * size
    failed = []
    cpu_before = broker.call(time.thread_time)
    start = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, value, key=str(i % 64).encode(),
                                 on_delivery=lambda err, _m: err is not None and failed.append(err))
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    left = producer.flush(60)
    elapsed = time.perf_counter() - start
    cpu = broker.call(time.thread_time) - cpu_before
    if left or failed:
        raise SystemExit(f"{topic} acks={acks}: {left} undelivered, {len(failed)} failed: {failed[:3]}")
    return records / elapsed, cpu / records * 1e6


def _failover(broker, round_no: int) -> tuple[float, float]:
    """(seconds from the leader's hard stop until the cluster has a new leader, seconds from it
    to the first record acknowledged after it)."""
    topic = f"failover-{round_no}"
    broker.create_topic(topic, 1, replication_factor=3, configs={"min.insync.replicas": "2"})
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    acked: list[float] = []
    errors: list[str] = []

    def on_delivery(err, _msg) -> None:
        if err is None:
            acked.append(time.monotonic())
        else:
            errors.append(str(err))

    for _ in range(20):
        producer.produce(topic, b"before", on_delivery=on_delivery)
    producer.flush(30)
    leader = broker.call(lambda: broker.broker.cluster.partition(topic, 0).leader_id)
    stopped_at = time.monotonic()
    broker.stop_node(leader, clean=False)
    elected = broker.call(lambda: broker.broker.cluster.partition(topic, 0).leader_id)
    elected_after = time.monotonic() - stopped_at
    if elected in (leader, -1):
        raise SystemExit(f"no new leader after stopping broker {leader}")
    deadline = stopped_at + 30
    after = []
    while not after and time.monotonic() < deadline:
        producer.produce(topic, b"after", on_delivery=on_delivery)
        producer.poll(0.005)
        after = [t for t in acked if t > stopped_at]
    producer.flush(30)
    broker.start_node(leader)
    if not after:
        raise SystemExit(f"no record acknowledged within 30 s of stopping broker {leader}: {errors[:3]}")
    return elected_after, after[0] - stopped_at


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=30_000)
    p.add_argument("--size", type=int, default=100, help="value bytes per record")
    p.add_argument("--rounds", type=int, default=3, help="failover rounds (0: none)")
    args = p.parse_args()
    with kafkalite.run_in_thread(port=0, memory=True, brokers=3) as broker:
        rows = []
        for rf in (1, 3):
            for acks in ("1", "all"):
                topic = f"bench-rf{rf}-acks{acks}"
                broker.create_topic(topic, 3, replication_factor=rf)
                rate, cpu_us = _throughput(broker, topic, acks, args.records, args.size)
                rows.append((rf, acks, rate, cpu_us))
        print(f"{args.records:,} records of {args.size} B, 3 partitions, 3 brokers, confluent-kafka, linger.ms 5")
        print("| replication factor | acks | records/s | broker CPU µs/record |")
        print("|---|---|---|---|")
        for rf, acks, rate, cpu_us in rows:
            print(f"| {rf} | {acks} | {rate:,.0f} | {cpu_us:.1f} |")
        by = {(rf, acks): cpu for rf, acks, _, cpu in rows}
        for acks in ("1", "all"):
            print(f"RF 3 / RF 1 broker CPU per record, acks={acks}: {by[(3, acks)] / by[(1, acks)]:.2f}x (target <= 2x)")
        rounds = [_failover(broker, i) for i in range(args.rounds)]
        if rounds:
            elections = [e for e, _ in rounds]
            times = [t for _, t in rounds]
            print(f"failover, {args.rounds} rounds: new leader elected {statistics.median(elections) * 1000:.1f} ms "
                  f"after the hard stop (median); first record acknowledged by it after "
                  f"{statistics.median(times) * 1000:.0f} ms (median), {max(times) * 1000:.0f} ms (max) "
                  f"(target < 1 s + the client's metadata refresh backoff)")


if __name__ == "__main__":
    main()
