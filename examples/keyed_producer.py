"""Keys decide partitions, and order holds per key.

A producer sends numbered events for four users to a topic of three partitions. The key
(the user) is hashed to pick the partition, so every event of a user lands in the same
partition, in the order it was sent; events of different users interleave, and there is
no order between partitions.

    python examples/keyed_producer.py

Runs its own broker in-process (kafkalite.run_in_thread); nothing to set up.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from confluent_kafka import Producer

import kafkalite

USERS = ["alice", "bob", "carol", "dave"]
EVENTS_PER_USER = 4
PARTITIONS = 3


def main() -> int:
    with kafkalite.run_in_thread() as broker:
        broker.create_topic("clicks", PARTITIONS)
        # murmur2_random is the Java client's partitioner: the same key -> partition mapping
        # as Kafka's default (librdkafka's own default, consistent_random, uses CRC32).
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "partitioner": "murmur2_random",
                             "enable.idempotence": True})
        acks: list[tuple[str, int, int]] = []

        def delivered(error, message) -> None:  # type: ignore[no-untyped-def]
            assert error is None, error
            acks.append((message.key().decode(), message.partition(), message.offset()))

        for n in range(1, EVENTS_PER_USER + 1):
            for user in USERS:
                producer.produce("clicks", key=user, value=f"{user}-{n}", on_delivery=delivered)
        assert producer.flush(10) == 0
        del producer  # closes its connections before the broker stops

        print(f"topic clicks: {PARTITIONS} partitions; {len(USERS)} users send {EVENTS_PER_USER} events each,")
        print("round robin: alice-1 bob-1 carol-1 dave-1 alice-2 ...\n")
        print("key -> partition (the partitioner hashes the key: murmur2(key) % partitions)")
        partition_of = {user: partition for user, partition, _offset in acks}
        for user in USERS:
            print(f"  {user:<6} -> partition {partition_of[user]}")

        print("\nwhat each partition holds, by offset:")
        records = broker.records("clicks")
        by_partition: dict[int, list[str]] = defaultdict(list)
        for r in records:
            by_partition[r.partition].append(r.value.decode())
        for p in range(PARTITIONS):
            cells = " | ".join(by_partition[p]) or "(empty)"
            print(f"  partition {p}: | {cells} |")

        print("\nper key, in the order read back:")
        ok = True
        for user in USERS:
            seen = [r.value.decode() for r in records if r.key == user.encode()]
            expected = [f"{user}-{n}" for n in range(1, EVENTS_PER_USER + 1)]
            in_order = seen == expected
            ok &= in_order and len({r.partition for r in records if r.key == user.encode()}) == 1
            print(f"  {user:<6} {' '.join(seen)}   {'in order' if in_order else 'OUT OF ORDER'}")
        print("\nevery key kept its order inside its partition" if ok else "\nORDER BROKEN")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
