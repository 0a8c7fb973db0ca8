"""What TLS and SASL cost: PLAINTEXT vs SSL vs SASL_SSL (SCRAM-SHA-512), with confluent-kafka.

    .venv/bin/python bench/security.py            # starts its own broker (in memory)
    .venv/bin/python bench/security.py --messages 50000

One kafkalite process with the three listeners (certificates from ``kafkalite certs`` in a
temp dir). For each listener: produce throughput (100 B messages, linger.ms=5, acks=all),
consume throughput (assign(), from the start), end-to-end latency p50/p99 over 300
produce-then-consume round trips, and the connection set-up time: from a new client to its
first Metadata answer (TCP, TLS handshake, SASL exchange), median of 15. An untimed
PLAINTEXT pass warms the broker up first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "bench", "bench-secret"
LISTENERS = ("PLAINTEXT", "SSL", "SASL_SSL")


def start_broker(tmp: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from kafkalite.tools.certs import write_certs

    certs = write_certs(tmp / "certs", "localhost")
    (tmp / "users.json").write_text(json.dumps({USER: PASSWORD}))
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "kafkalite", "serve", "--memory", "--log-level", "WARNING",
            "--listeners", ",".join(f"{name}://127.0.0.1:0" for name in LISTENERS),
            "--ssl-certfile", str(certs.broker_cert), "--ssl-keyfile", str(certs.broker_key),
            "--users-file", str(tmp / "users.json"), "--sasl-mechanisms", "SCRAM-SHA-512",
        ],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    addresses: dict[str, str] = {}
    assert proc.stdout is not None
    while len(addresses) < len(LISTENERS):
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("kafkalite did not start")
        if line.startswith("kafkalite listener "):
            addresses[line.split()[2]] = line.split()[-1]
    return proc, addresses


def settings(listener: str, address: str, ca: Path) -> dict[str, object]:
    conf: dict[str, object] = {"bootstrap.servers": address, "security.protocol": listener}
    if listener != "PLAINTEXT":
        conf["ssl.ca.location"] = str(ca)
    if listener == "SASL_SSL":
        conf.update({"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": USER, "sasl.password": PASSWORD})
    return conf


def measure(conf: dict[str, object], messages: int) -> dict[str, float]:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(conf)
    for f in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        f.result(10)
    admin.list_topics(topic, timeout=10)
    payload = b"x" * 100
    producer = Producer({**conf, "linger.ms": 5, "acks": "all", "queue.buffering.max.messages": 1_000_000})
    started = time.perf_counter()
    for _ in range(messages):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)
    produce_rate = messages / (time.perf_counter() - started)
    consumer = Consumer({**conf, "group.id": topic, "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got, started = 0, time.perf_counter()
    while got < messages:
        got += sum(1 for m in consumer.consume(10_000, 1.0) if m.error() is None)
    consume_rate = messages / (time.perf_counter() - started)
    latencies = []
    for i in range(300):
        sent = time.perf_counter()
        producer.produce(topic, str(i).encode())
        producer.flush(10)
        while True:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None and message.value() == str(i).encode():
                break
        latencies.append((time.perf_counter() - sent) * 1000)
    consumer.close()
    latencies.sort()
    return {
        "produce msg/s": produce_rate, "consume msg/s": consume_rate,
        "e2e p50 ms": latencies[len(latencies) // 2], "e2e p99 ms": latencies[int(len(latencies) * 0.99)],
        "connect ms": connect_time(conf),
    }


def connect_time(conf: dict[str, object], rounds: int = 15) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        client = AdminClient(conf)
        client.list_topics(timeout=10)
        times.append((time.perf_counter() - started) * 1000)
        del client
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, addresses = start_broker(Path(tmp))
        try:
            ca = Path(tmp) / "certs" / "ca.crt"
            measure(settings("PLAINTEXT", addresses["PLAINTEXT"], ca), args.messages // 4)  # untimed warm-up
            results = {name: measure(settings(name, addresses[name], Path(tmp) / "certs" / "ca.crt"), args.messages)
                       for name in LISTENERS}
        finally:
            proc.terminate()
            proc.wait(10)
    columns = list(next(iter(results.values())))
    print(f"{'listener':<12}" + "".join(f"{c:>16}" for c in columns))
    for name, row in results.items():
        print(f"{name:<12}" + "".join(f"{row[c]:>16,.1f}" for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
