"""Screenshots of the web console: one PNG per view, taken with headless Chromium.

Starts an in-process kafkalite of three nodes with the HTTP port on and sample data (two
replicated topics, a consumer group with lag and a live member, an open transaction, a
fault rule that fired, an error in the trace), lets the lag sampler take a few samples,
then writes ``overview.png``, ``cluster.png``, ``topics.png``, ``topic.png``,
``messages.png``, ``groups.png``, ``group.png``, ``transactions.png``, ``trace.png``,
``request.png`` and ``faults.png`` into FOLDER (not committed: the README describes what
each shows).

    .venv/bin/python bench/console_screenshots.py FOLDER [--width 1280] [--height 900]

Needs Debian's chromium (apt-get install chromium) and the test extra (confluent-kafka).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

import kafkalite
from kafkalite.tools.client import Connection
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

VIEWS = {
    "overview": "/",
    "cluster": "/cluster",
    "topics": "/topics",
    "topic": "/topics/orders",
    "messages": "/topics/orders/partitions/1?offset=20&limit=12",
    "groups": "/groups",
    "group": "/groups/billing",
    "transactions": "/transactions",
    "trace": "/trace?client_id=trace-demo",
    "request": "/trace/2",
    "faults": "/faults",
}


def sample_data(broker: kafkalite.BrokerThread) -> tuple[Consumer, Producer]:
    """Topics on three nodes, a group with lag and one with a live member, an open
    transaction, a fault."""
    broker.create_topic("orders", 3, replication_factor=3)
    broker.create_topic("audit", 1, replication_factor=3)
    for i in range(60):
        broker.produce("orders", f'{{"order": {i}, "item": "book", "price": {10 + i % 7}.50}}', key=f"customer-{i % 9}",
                       headers={"source": "shop"})
    broker.produce("orders", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", key="binary", partition=0)
    broker.produce_batch("audit", [f"login user-{i}" for i in range(5)])
    committer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "billing",
                          "enable.auto.commit": False})
    committer.commit(offsets=[TopicPartition("orders", p, 5 + 3 * p) for p in range(3)], asynchronous=False)
    committer.close()
    member = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "auditors",
                       "client.id": "audit-service", "auto.offset.reset": "earliest"})
    member.subscribe(["audit"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not member.assignment():
        member.poll(0.1)
    txn = Producer({"bootstrap.servers": broker.bootstrap_servers, "transactional.id": "checkout"})
    txn.init_transactions()
    txn.begin_transaction()
    txn.produce("orders", b'{"order": 999, "state": "pending"}', partition=1)
    txn.flush()
    broker.faults.add(api="Metadata", error="LEADER_NOT_AVAILABLE", topic="flaky", times=2)
    for _ in range(2):
        with Connection(broker.host, broker.port, client_id="trace-demo") as connection:
            connection.negotiate()
            connection.request(MetadataRequest(topics=[MetadataRequestTopic(name="flaky")],
                                               allow_auto_topic_creation=False))
    for step in range(6):  # lag samples over 30 s of the broker clock, the lag shrinking
        broker.clock.advance(5)
        committer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "billing",
                              "enable.auto.commit": False})
        committer.commit(offsets=[TopicPartition("orders", 0, 8 + step)], asynchronous=False)
        committer.close()
    return member, txn


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=900)
    args = p.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("needs Chromium: apt-get install chromium", file=sys.stderr)
        return 1
    args.folder.mkdir(parents=True, exist_ok=True)
    with kafkalite.run_in_thread(http_port=0, console_write=True, brokers=3) as broker:
        member, txn = sample_data(broker)
        try:
            for name, path in VIEWS.items():
                target = args.folder / f"{name}.png"
                subprocess.run(
                    [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     f"--window-size={args.width},{args.height}", "--virtual-time-budget=2500",
                     f"--screenshot={target}", broker.http_url + path],
                    check=True, capture_output=True, timeout=60,
                )
                print(target)
        finally:
            txn.abort_transaction()
            member.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
