"""Broker CPU of an idle-but-assigned kafka-python consumer of 500 partitions, with and
without incremental fetch sessions (KIP-227; librdkafka never asks for one).

    .venv/bin/python bench/fetch_sessions.py [seconds]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

PARTITIONS = 500
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(sessions: bool) -> tuple[float, int]:
    port = free_port()
    broker = subprocess.Popen([sys.executable, "-m", "kafkalite", "serve", "--memory", "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bootstrap = f"127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic("idle", PARTITIONS, 1)])
        admin.close()
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                 enable_incremental_fetch_sessions=sessions)
        consumer.assign([TopicPartition("idle", p) for p in range(PARTITIONS)])
        stop = threading.Event()
        polls = [0]

        def loop():
            while not stop.is_set():
                consumer.poll(timeout_ms=200)
                polls[0] += 1

        t = threading.Thread(target=loop)
        t.start()
        time.sleep(5)  # warm up: metadata, offsets, the session
        before = cpu_seconds(broker.pid)
        time.sleep(SECONDS)
        used = cpu_seconds(broker.pid) - before
        stop.set()
        t.join()
        consumer.close()
        return used, polls[0]
    finally:
        broker.terminate()
        broker.wait(10)


def main() -> None:
    for sessions in (False, True):
        used, _polls = measure(sessions)
        print(f"sessions={'on ' if sessions else 'off'}: broker CPU {used:.2f} s over {SECONDS:.0f} s = {100 * used / SECONDS:.1f}% of a core")


if __name__ == "__main__":
    main()
