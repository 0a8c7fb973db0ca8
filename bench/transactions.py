"""Transactional produce and read_committed consume throughput, commit latency, with confluent-kafka.

    .venv/bin/python bench/transactions.py                  # own broker (in memory), median of 3 runs
    .venv/bin/python bench/transactions.py --runs 1         # one run (~6 s)
    .venv/bin/python bench/transactions.py --bootstrap HOST:PORT   # an already running broker

Each run starts a fresh broker of its own (or uses --bootstrap) and measures, on a one-partition
topic per producer (linger.ms=5, acks=all):

1. Transactional produce: one producer with a transactional.id writes --transactions
   transactions (default 1,000) of --records records (default 100) of --size bytes (default
   100): begin_transaction(), produce() the records, commit_transaction(). messages/s over
   the whole loop, and the broker process's CPU seconds for it (own broker only, from
   /proc/PID/stat). Commit latency p50/p99 is the time of each commit_transaction() call;
   librdkafka flushes the transaction's records before it sends EndTxn, so this includes the
   last Produce of the transaction as well as EndTxn and the markers the broker writes.
2. The same volume produced non-transactionally by an idempotent producer
   (enable.idempotence=true), one stream flushed at the end. Target (issue 10): the
   transactional rate at least 0.5x this rate. For context only (no target), the same
   idempotent producer flushing after every --records records is shown too: it pays one
   round trip per batch of records as the transactional producer does, without transactions.
3. Consume of the transactional topic with assign() from the beginning, counting every data
   record (control records are not delivered), isolation.level=read_uncommitted and
   read_committed, each read 5 times alternately and the fastest pass kept. Target:
   read_committed at least 0.9x read_uncommitted.

A transaction of librdkafka's costs three requests one after the other (AddPartitionsToTxn,
then Produce, then EndTxn), with hand-offs between librdkafka's threads: about 2 ms on the
2-core development machine, of which the broker's own CPU is about 0.7 ms (Apache Kafka 4.4
measured with --bootstrap on the same machine: commit p50 2.2-3 ms, ~18,000 transactional
msg/s, 0.03x its idempotent rate). With 100 records per transaction that fixed cost sets the
transactional rate; --records 1000 or more shows it approaching the idempotent rate.

Before measuring, the script waits until the 1-minute load average is below --max-load
(default 1.0; polled every 30 s, for up to 10 minutes) and prints it; --max-load 0 skips
the wait.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CLK_TCK = os.sysconf("SC_CLK_TCK")
# A pass reads 100,000 records in ~70 ms, and single passes vary by +-15% on the 2-core
# development machine: the best of several alternating passes is what is compared.
CONSUME_PASSES = 5


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start_broker() -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "kafkalite", "serve", "--host", "127.0.0.1", "--port", "0", "--memory",
            "--log-level", "WARNING"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("kafkalite listening on"):
        proc.kill()
        raise RuntimeError(f"broker did not start: {line!r}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, line.split()[-1]


def wait_for_quiet(max_load: float, poll: float = 30.0, limit: float = 600.0) -> float:
    """Wait until the 1-minute load average is below max_load (at most `limit` seconds); return it."""
    deadline = time.monotonic() + limit
    load = os.getloadavg()[0]
    while max_load > 0 and load >= max_load and time.monotonic() < deadline:
        print(f"  1-minute load average {load:.2f} >= {max_load}: waiting {poll:.0f} s", flush=True)
        time.sleep(poll)
        load = os.getloadavg()[0]
    return load


def create_topic(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(10)


def produce_one(p: Producer, topic: str, payload: bytes) -> None:
    while True:
        try:
            p.produce(topic, payload)
            return
        except BufferError:
            p.poll(0.001)


def transactional_produce(bootstrap: str, topic: str, txns: int, records: int, size: int) -> tuple[float, list[float]]:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all",
                  "transactional.id": f"bench-txn-{uuid.uuid4().hex[:8]}",
                  "queue.buffering.max.messages": 1_000_000})
    p.init_transactions(30)
    p.list_topics(topic, timeout=10)
    payload = os.urandom(size)
    commits = []
    start = time.perf_counter()
    for _ in range(txns):
        p.begin_transaction()
        for _ in range(records):
            produce_one(p, topic, payload)
        t0 = time.perf_counter()
        p.commit_transaction(30)
        commits.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    p.flush(10)
    return elapsed, commits


def idempotent_produce(bootstrap: str, topic: str, txns: int, records: int, size: int,
                       flush_each: bool, warm_topic: str) -> float:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "enable.idempotence": True,
                  "queue.buffering.max.messages": 1_000_000})
    p.list_topics(topic, timeout=10)
    # Before the clock starts, as init_transactions() does for the transactional producer: the
    # producer id (librdkafka holds messages until InitProducerId has been answered, which can
    # take it hundreds of ms) and a first Produce on the connection.
    p.produce(warm_topic, b"warm-up")
    assert p.flush(30) == 0
    payload = os.urandom(size)
    start = time.perf_counter()
    for _ in range(txns):
        for _ in range(records):
            produce_one(p, topic, payload)
        if flush_each:
            p.flush(30)
    remaining = p.flush(60)
    elapsed = time.perf_counter() - start
    assert remaining == 0
    return elapsed


def consume(bootstrap: str, topic: str, count: int, isolation: str) -> float:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{isolation}", "enable.auto.commit": False,
                  "isolation.level": isolation})
    # Learn the partition leader first (see throughput.py: librdkafka otherwise waits 500 ms).
    c.list_topics(topic, timeout=10)
    start = time.perf_counter()
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = 0
    while got < count:
        msgs = c.consume(10_000, 1.0)
        for msg in msgs:
            if msg.error() is None:
                got += 1
        if not msgs and time.perf_counter() - start > 60:
            raise RuntimeError(f"{isolation}: {got} of {count} records after 60 s")
    elapsed = time.perf_counter() - start
    c.close()
    assert got == count, (isolation, got, count)
    return elapsed


def one_run(bootstrap: str, pid: int | None, args: argparse.Namespace) -> dict[str, float]:
    n = args.transactions * args.records
    suffix = uuid.uuid4().hex[:6]
    txn_topic, idem_topic, flush_topic = (f"bench-{kind}-{suffix}" for kind in ("txn", "idem", "flush"))
    for topic in (txn_topic, idem_topic, flush_topic):
        create_topic(bootstrap, topic)
    # A short warm-up transaction stream on a topic of its own: the first InitProducerId creates
    # __transaction_state, which should not be counted.
    warm_topic = f"bench-warm-{suffix}"
    create_topic(bootstrap, warm_topic)
    transactional_produce(bootstrap, warm_topic, 10, args.records, args.size)

    cpu0 = cpu_seconds(pid)
    t_txn, commits = transactional_produce(bootstrap, txn_topic, args.transactions, args.records, args.size)
    cpu1 = cpu_seconds(pid)
    t_idem = idempotent_produce(bootstrap, idem_topic, args.transactions, args.records, args.size, False, warm_topic)
    cpu2 = cpu_seconds(pid)
    t_flush = idempotent_produce(bootstrap, flush_topic, args.transactions, args.records, args.size, True, warm_topic)
    cpu3 = cpu_seconds(pid)

    uncommitted, committed = [], []
    for _ in range(CONSUME_PASSES):
        uncommitted.append(consume(bootstrap, txn_topic, n, "read_uncommitted"))
        committed.append(consume(bootstrap, txn_topic, n, "read_committed"))
    commits.sort()
    return {
        "txn": n / t_txn, "idem": n / t_idem, "flush": n / t_flush,
        "cpu_txn": cpu1 - cpu0, "cpu_idem": cpu2 - cpu1, "cpu_flush": cpu3 - cpu2,
        "commit_p50": statistics.median(commits) * 1000,
        "commit_p99": commits[max(0, int(len(commits) * 0.99) - 1)] * 1000,
        "uncommitted": n / min(uncommitted), "committed": n / min(committed),
        "wall_txn": t_txn,
    }


def report(results: list[dict[str, float]], args: argparse.Namespace, own: bool) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    n = args.transactions * args.records
    label = f"median of {len(results)} runs" if len(results) > 1 else "1 run"
    print(f"\n{args.transactions} transactions x {args.records} records x {args.size} B ({n:,} records), {label}:")
    ratio_p = med("txn") / med("idem")
    print(f"  transactional produce    {med('txn'):>11,.0f} msg/s  ({med('wall_txn'):.2f} s)")
    print(f"  idempotent produce       {med('idem'):>11,.0f} msg/s")
    print(f"  ratio                    {ratio_p:>11.2f}x  (target >= 0.5x: {'met' if ratio_p >= 0.5 else 'MISSED'})")
    print(f"  [context] idempotent, flush() every {args.records} records: {med('flush'):,.0f} msg/s")
    print(f"  commit_transaction()     p50 {med('commit_p50'):.2f} ms, p99 {med('commit_p99'):.2f} ms")
    ratio_c = med("committed") / med("uncommitted")
    print(f"  consume read_uncommitted {med('uncommitted'):>11,.0f} msg/s")
    print(f"  consume read_committed   {med('committed'):>11,.0f} msg/s")
    print(f"  ratio                    {ratio_c:>11.2f}x  (target >= 0.9x: {'met' if ratio_c >= 0.9 else 'MISSED'})")
    if own:
        print(f"  broker CPU: transactional produce {med('cpu_txn'):.2f} s ({med('cpu_txn') / n * 1e6:.1f} us/msg), "
              f"idempotent {med('cpu_idem'):.2f} s ({med('cpu_idem') / n * 1e6:.1f} us/msg), "
              f"idempotent flushed per {args.records} {med('cpu_flush'):.2f} s")
    if len(results) > 1:
        for key in ("txn", "idem", "committed", "uncommitted"):
            print(f"  runs {key}: " + ", ".join(f"{r[key]:,.0f}" for r in results))
        print("  runs commit p50/p99 ms: " + ", ".join(f"{r['commit_p50']:.2f}/{r['commit_p99']:.2f}" for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="measure an already running broker at HOST:PORT")
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument("--records", type=int, default=100, help="records per transaction")
    parser.add_argument("--size", type=int, default=100, help="record value size in bytes")
    parser.add_argument("--runs", type=int, default=3, help="runs (a fresh own broker each); medians printed")
    parser.add_argument("--max-load", type=float, default=1.0,
                        help="wait until the 1-minute load average is below this (0: do not wait)")
    args = parser.parse_args()

    load = wait_for_quiet(args.max_load)
    print(f"1-minute load average before measuring: {load:.2f} ({os.cpu_count()} CPUs)", flush=True)
    results = []
    for i in range(args.runs):
        proc = None
        bootstrap = args.bootstrap
        if bootstrap is None:
            proc, bootstrap = start_broker()
        try:
            results.append(one_run(bootstrap, proc.pid if proc else None, args))
        except KafkaException as e:
            raise SystemExit(f"run {i + 1}: {e}") from e
        finally:
            if proc:
                proc.terminate()
                proc.wait(10)
        r = results[-1]
        print(f"run {i + 1} (load {os.getloadavg()[0]:.2f}): txn {r['txn']:,.0f} msg/s, "
              f"idempotent {r['idem']:,.0f} msg/s, "
              f"commit p50 {r['commit_p50']:.2f} ms p99 {r['commit_p99']:.2f} ms, "
              f"read_committed {r['committed']:,.0f} / read_uncommitted {r['uncommitted']:,.0f} msg/s", flush=True)
    report(results, args, args.bootstrap is None)
    print(f"1-minute load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
