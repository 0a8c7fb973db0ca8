"""A consumer group: four consumers share four partitions; one crashes, another takes over.

Four consumer processes (confluent-kafka) join the group ``billing`` on the topic ``orders``
of four partitions: each gets exactly one partition. Then consumer-4 is killed (kill -9: no
goodbye, no LeaveGroup). The broker notices when its session times out, the group
rebalances, and a surviving consumer takes over partition 3, resuming at the offset
consumer-4 last committed: nothing is lost, nothing is read twice.

    python examples/consumer_group.py

Runs its own broker in-process; the consumers are real client processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import kafkalite

TOPIC, GROUP, PARTITIONS = "orders", "billing", 4
SESSION_TIMEOUT_MS = 1500


def consumer_process(name: str, bootstrap: str) -> int:
    """One consumer: "process" each record (print it as a JSON line), then commit it."""
    from confluent_kafka import Consumer

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": GROUP,
        "client.id": name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": 300,
        # Only the partitions that move are revoked in a rebalance (KIP-429).
        "partition.assignment.strategy": "cooperative-sticky",
    })
    consumer.subscribe([TOPIC])
    try:
        while True:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            print(json.dumps({"consumer": name, "partition": message.partition(), "offset": message.offset()}),
                  flush=True)
            consumer.commit(message=message, asynchronous=False)
    except KeyboardInterrupt:
        return 0
    finally:
        consumer.close()


def picture(broker: Any, title: str, note: dict[int, str] | None = None) -> None:
    group = broker.group(GROUP)
    owner = {p: m.client_id for m in group.members for p in m.assignment.get(TOPIC, ())}
    print(f"\n{title}")
    print(f"  group {GROUP}: {group.state}, generation {group.generation_id}, {len(group.members)} consumers")
    for p in range(PARTITIONS):
        committed = broker.committed(GROUP, TOPIC, p)
        extra = f"   <- {note[p]}" if note and p in note else ""
        print(f"  {TOPIC}-{p} --> {owner.get(p, '(nobody)'):<11} committed offset {committed}{extra}")


def produce_round(broker: Any, n: int) -> None:
    for p in range(PARTITIONS):
        broker.produce_batch(TOPIC, [f"order-{n}-{p}-{i}" for i in range(5)], partition=p)


def main() -> int:
    with kafkalite.run_in_thread(group_min_session_timeout_ms=1000) as broker:
        broker.create_topic(TOPIC, PARTITIONS)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        names = [f"consumer-{i}" for i in range(1, PARTITIONS + 1)]
        procs = {
            name: subprocess.Popen([sys.executable, __file__, "--consume", name, broker.bootstrap_servers],
                                   stdout=subprocess.PIPE, text=True, env=env)
            for name in names
        }
        try:
            print(f"topic {TOPIC}: {PARTITIONS} partitions; 4 consumers join group {GROUP}")
            broker.wait_until(lambda: settled(broker, PARTITIONS, 0), expected="4 consumers in the group", timeout=30)
            produce_round(broker, 1)
            print("5 records arrive in every partition")
            broker.wait_until(lambda: settled(broker, PARTITIONS, 5), expected="5 records processed per partition",
                              timeout=30)
            picture(broker, "each consumer owns one partition and has processed it:")

            victim = names[-1]
            group = broker.group(GROUP)
            lost = next(p for m in group.members if m.client_id == victim for p in m.assignment[TOPIC])
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            print(f"\n{victim} crashes (kill -9): no LeaveGroup, its partition {TOPIC}-{lost} is orphaned.")
            produce_round(broker, 2)
            print(f"5 more records arrive in every partition; {TOPIC}-{lost} waits for a new owner...")
            started = time.monotonic()
            broker.wait_for_group(GROUP, members=PARTITIONS - 1, timeout=30)
            waited = time.monotonic() - started
            # The cooperative protocol moves the partition in a second round.
            broker.wait_until(lambda: settled(broker, PARTITIONS - 1, 10), expected="3 consumers, 10 records each",
                              timeout=30)
            new_owner = broker.group(GROUP)
            heir = next(m.client_id for m in new_owner.members if lost in m.assignment.get(TOPIC, ()))
            print(f"after {waited:.1f} s the broker expired {victim}'s session ({SESSION_TIMEOUT_MS} ms) and "
                  f"rebalanced the group")
            picture(broker, f"{heir} took over {TOPIC}-{lost}, from the offset {victim} had committed:",
                    {lost: f"taken over from {victim}"})
        finally:
            processed = stop_all(procs)
    return check_exactly_once(processed)


def settled(broker: Any, members: int, committed: int) -> bool:
    """The group is Stable with *members* consumers, every partition has an owner, and
    every partition's committed offset has reached *committed*."""
    group = broker.group(GROUP)
    if group is None or group.state != "Stable" or len(group.members) != members:
        return False
    owned = {p for m in group.members for p in m.assignment.get(TOPIC, ())}
    if owned != set(range(PARTITIONS)):
        return False
    return all((broker.committed(GROUP, TOPIC, p) or 0) >= committed for p in range(PARTITIONS))


def stop_all(procs: dict[str, subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Stop the consumers (Ctrl-C: they leave the group); return what they processed."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    processed = []
    for proc in procs.values():
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        processed += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return processed


def check_exactly_once(processed: list[dict[str, Any]]) -> int:
    seen = sorted((r["partition"], r["offset"]) for r in processed)
    expected = sorted((p, o) for p in range(PARTITIONS) for o in range(10))
    if seen != expected:
        print(f"\nMISMATCH: processed {len(seen)} records, expected {len(expected)}")
        return 1
    print(f"\nall {len(seen)} records were processed exactly once, "
          f"{sum(1 for r in processed if r['consumer'] == 'consumer-4')} of them by consumer-4 before it crashed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--consume":
        sys.exit(consumer_process(sys.argv[2], sys.argv[3]))
    sys.exit(main())
