"""A throttled producer's achieved rate against its quota (confluent-kafka, kafkalite in-process).

A producer_byte_rate quota is set on the producer's client id and the producer pushes 1 KB
records as fast as its 64 kB queue allows. Kafka's rate counts at least quota.window.num - 1
whole windows from the first byte, so a producer first gets about quota x (window.num - 1)
seconds' worth at once and then runs at the quota: the script prints the rate over the whole
run and over its steady part (after the first window.num windows), each against the quota.

    .venv/bin/python bench/quotas.py [--quota 1000000] [--seconds 45] [--window-num 11]
"""

from __future__ import annotations

import argparse
import time

from confluent_kafka import Producer

import kafkalite


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quota", type=int, default=1_000_000, help="producer_byte_rate, bytes/s")
    p.add_argument("--seconds", type=float, default=45.0)
    p.add_argument("--window-num", type=int, default=11, help="quota.window.num (windows of 1 s)")
    args = p.parse_args()
    with kafkalite.run_in_thread(port=0, memory=True, quota_window_num=args.window_num) as broker:
        broker.quotas.set(client_id="bench-quota", producer_byte_rate=args.quota)
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "client.id": "bench-quota",
                             "linger.ms": 5, "queue.buffering.max.kbytes": 64})
        producer.produce("bench-quota", b"warm-up")
        producer.flush(30)
        value = b"b" * 1000
        delivered: list[float] = []

        def on_delivery(err, _msg) -> None:
            if err is None:
                delivered.append(time.monotonic())

        start = time.monotonic()
        while time.monotonic() - start < args.seconds:
            try:
                producer.produce("bench-quota", value, on_delivery=on_delivery)
            except BufferError:
                producer.poll(0.005)
            producer.poll(0)
        end = time.monotonic()
        producer.purge()
        producer.flush(30)
    steady_from = start + args.window_num
    whole = len([t for t in delivered if t <= end]) * len(value) / (end - start)
    print(f"quota {args.quota:,} B/s, quota.window.num {args.window_num}, {args.seconds:g} s run")
    print(f"whole run: {whole:,.0f} B/s ({whole / args.quota:.2f} of the quota; includes the first "
          f"{args.window_num - 1} windows' allowance)")
    if end > steady_from + 1:
        steady = len([t for t in delivered if steady_from < t <= end]) * len(value) / (end - steady_from)
        print(f"steady (after {args.window_num} s): {steady:,.0f} B/s ({steady / args.quota:.2f} of the quota)")


if __name__ == "__main__":
    main()
