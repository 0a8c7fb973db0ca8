"""A broker fails and comes back: leaders move, the ISR shrinks, then grows back.

Three brokers hold topic ``orders`` (3 partitions, each replicated on all three brokers, as a
production cluster is set up). Every partition has one leader, which serves its producers and
consumers, and followers that copy it; the in-sync replicas (ISR) are the copies that are up
to date. The picture shows, for each broker, the partitions it holds: ``L`` where it leads,
``*`` where it is in sync, ``-`` where its copy is behind or it is down.

1. Broker 1 is killed (kill -9). The controller elects a new leader for the partitions it led,
   from their ISR, with a new leader epoch, and takes broker 1 out of every ISR. A producer
   that listed every broker in bootstrap.servers carries on.
2. Broker 1 starts again: it truncates its copies to what the leaders have, fetches what it
   missed, and rejoins the ISR.
3. A preferred leader election (what auto.leader.rebalance.enable does every 5 minutes) gives
   each partition back to its first replica.

    python examples/broker_failure.py

Runs its own three-broker cluster in-process; the producer and consumer are confluent-kafka.
"""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka import ElectionType
from confluent_kafka.admin import AdminClient

import kafkalite

TOPIC, PARTITIONS, BROKERS = "orders", 3, (0, 1, 2)


def picture(cluster: kafkalite.BrokerThread, title: str) -> None:
    """The seed's picture as text: each broker's copies of the partitions."""

    def snapshot() -> list[tuple[int, int, list[int], list[int], int]]:
        topic = cluster.broker.cluster.topics[TOPIC]
        return [(p.partition_index, p.leader_id, list(p.replicas), list(p.isr), p.leader_epoch) for p in topic.partitions]

    rows = cluster.call(snapshot)
    live = {row["id"]: row["live"] for row in cluster.nodes()}
    print(f"\n== {title}")
    print("            " + "".join(f"broker {b}{'' if live[b] else ' (down)':<10}" for b in BROKERS))
    for index, leader, replicas, isr, epoch in rows:
        cells = []
        for b in BROKERS:
            mark = "L" if b == leader else "*" if b in isr and live[b] else "-"
            cells.append(f"{TOPIC}-{index} {mark}".ljust(18) if b in replicas else " " * 18)
        print(f"  epoch {epoch:<3} " + "".join(cells) + f"  leader {leader}, ISR {isr}")


def produce(cluster: kafkalite.BrokerThread, start: int, count: int) -> None:
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all", "enable.idempotence": True})
    failures: list[object] = []
    for n in range(start, start + count):
        producer.produce(TOPIC, key=str(n).encode(), value=f"order-{n}".encode(),
                         on_delivery=lambda err, msg: err and failures.append(err))
    producer.flush(30)
    assert not failures, failures
    print(f"produced orders {start}..{start + count - 1} with acks=all: all acknowledged")


def wait(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def all_in_sync(cluster: kafkalite.BrokerThread) -> bool:
    def check() -> bool:
        return all(sorted(p.isr) == sorted(p.replicas) for p in cluster.broker.cluster.topics[TOPIC].partitions)

    return cluster.call(check)


def main() -> int:
    with kafkalite.run_in_thread(brokers=3) as cluster:
        cluster.create_topic(TOPIC, PARTITIONS, replication_factor=3, configs={"min.insync.replicas": "2"})
        produce(cluster, 0, 30)
        picture(cluster, "three brokers, every copy in sync (L: leader, *: in sync, -: behind or down)")

        print("\nbroker 1 crashes (kill -9)")
        cluster.stop_node(1, clean=False)
        picture(cluster, "leaders moved off broker 1, the ISR shrank to two")
        produce(cluster, 30, 30)

        print("\nbroker 1 starts again and catches up")
        cluster.start_node(1)
        wait(lambda: all_in_sync(cluster), "broker 1 to rejoin every ISR")
        picture(cluster, "broker 1 caught up: back in every ISR (but it leads nothing yet)")

        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
        partitions = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        admin.elect_leaders(ElectionType.PREFERRED, partitions).result(30)
        picture(cluster, "preferred leader election: each partition led by its first replica again")

        consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": "check"})
        consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        seen: set[bytes] = set()
        deadline = time.monotonic() + 30
        while len(seen) < 60 and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.5):
                if not message.error():
                    seen.add(message.value())
        consumer.close()
        print(f"\nall {len(seen)} orders can be read back: nothing acknowledged was lost")
        return 0 if len(seen) == 60 else 1


if __name__ == "__main__":
    raise SystemExit(main())
