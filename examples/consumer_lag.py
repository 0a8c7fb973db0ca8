"""Consumer lag going up and down.

The producer writes at the log end (LOG-END-OFFSET); the consumer group commits what it has
processed (CURRENT-OFFSET); the difference is the lag. Here a producer sends bursts faster
than a consumer processes them, so the lag grows; then the producer goes quiet and the
consumer catches up, so the lag falls back to zero. At the peak, ``kafkalite groups
describe`` shows the same numbers, as ``kafka-consumer-groups --describe`` would.

    python examples/consumer_lag.py

Runs its own broker in-process; the producer and the consumer are confluent-kafka clients.
"""

from __future__ import annotations

import subprocess
import sys

from confluent_kafka import Consumer, Producer

import kafkalite

TOPIC, GROUP = "events", "analytics"
BAR = 40  # characters for the largest lag


def main() -> int:
    with kafkalite.run_in_thread() as broker:
        broker.create_topic(TOPIC, 1)
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
        consumer = Consumer({
            "bootstrap.servers": broker.bootstrap_servers,
            "group.id": GROUP,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        consumer.subscribe([TOPIC])
        broker.wait_for_group(GROUP, members=1, timeout=30)

        # (records produced, records the consumer processes) per tick
        plan = [(40, 10)] * 6 + [(0, 30)] * 6 + [(0, 0)]
        rows = []
        produced = processed = 0
        print("tick  produced  processed  LOG-END-OFFSET  CURRENT-OFFSET  LAG")
        for tick, (burst, capacity) in enumerate(plan):
            for i in range(burst):
                producer.produce(TOPIC, value=b"event-%d" % (produced + i))
            producer.flush(10)
            produced += burst
            broker.wait_for_records(TOPIC, produced, timeout=10)
            done = 0
            while done < capacity and processed < produced:
                message = consumer.poll(5)
                if message is None:
                    break
                if not message.error():
                    done += 1
                    processed += 1
            if done:
                consumer.commit(asynchronous=False)
                broker.wait_for_committed(GROUP, TOPIC, 0, processed, timeout=10)
            end = broker.end_offsets(TOPIC)[0]
            current = broker.committed(GROUP, TOPIC, 0) or 0
            lag = broker.lag(GROUP, TOPIC)[0]
            rows.append(lag)
            bar = "#" * round(BAR * lag / 180)
            print(f"{tick:>4}  {burst:>8}  {done:>9}  {end:>14}  {current:>14}  {lag:>3} {bar}")
            if burst and not plan[tick + 1][0]:
                print("\n  the producer stops here; at the peak, `kafkalite groups describe` says:\n")
                sys.stdout.flush()
                subprocess.run([sys.executable, "-m", "kafkalite", "groups", "describe", GROUP,
                                "--bootstrap-server", broker.bootstrap_servers], check=True)
                print()
        consumer.close()
        del producer
    peak = max(rows)
    ok = rows[0] < peak and rows[-1] == 0 and rows.index(peak) < len(rows) - 1
    print(f"\nlag rose to {peak} while the producer outran the consumer, and fell back to {rows[-1]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
