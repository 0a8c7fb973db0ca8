"""Graceful shutdown of ``kafkalite serve``: SIGTERM / SIGINT stop accepting, let in-flight
requests finish, close the logs and exit 0 within a second; the data is all there after a
restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from confluent_kafka import Producer

from kafkalite.testing.thread import BrokerThread
from kafkalite.tools.client import Connection
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic


class Broker:
    """``python -m kafkalite ARGS`` with its output collected by a reader thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kafkalite", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(20):
            self.close()
            raise AssertionError("kafkalite did not start:\n" + self.output)
        line = next(line for line in self.lines if line.startswith("kafkalite listening on "))
        self.address = line.split()[-1]
        host, port = self.address.rsplit(":", 1)
        self.host, self.port = host, int(port)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("kafkalite listening on "):
                self._ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, signum: int) -> float:
        """Send *signum*; return the seconds until the process exited."""
        started = time.monotonic()
        self.proc.send_signal(signum)
        self.proc.wait(timeout=10)
        return time.monotonic() - started

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def test_sigterm_finishes_in_flight_requests_and_keeps_every_record(tmp_path: Path) -> None:
    broker = Broker("serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path))
    try:
        producer = Producer({"bootstrap.servers": broker.address, "acks": "all", "linger.ms": 5})
        for i in range(500):
            producer.produce("kept", key=b"k%d" % (i % 7), value=b"value-%d" % i)
        assert producer.flush(10) == 0
        del producer

        # A consumer's long poll is in flight when SIGTERM arrives: it still gets its answer.
        with Connection(broker.host, broker.port) as connection:
            version = connection.version_for(1)
            fetch = FetchRequest(
                max_wait_ms=300, min_bytes=1,
                topics=[FetchTopic(topic="kept", partitions=[
                    FetchPartition(partition=0, fetch_offset=500, partition_max_bytes=1 << 20)
                ])],
            )
            correlation_id = connection.send(fetch, version)
            time.sleep(0.05)  # the request is being handled (parked in its long poll)
            took = broker.stop(signal.SIGTERM)
            response = connection.receive(1, version, correlation_id)
        assert response.responses[0].partitions[0].high_watermark == 500
    finally:
        broker.close()
    assert broker.proc.returncode == 0, broker.output
    assert took < 1.0, f"shutdown took {took:.2f} s"
    assert "received SIGTERM, shutting down" in broker.output

    with BrokerThread(data_dir=tmp_path, memory=False) as restarted:
        values = restarted.values("kept")
    assert values == [b"value-%d" % i for i in range(500)]


def test_sigint_stops_an_idle_broker_at_once(tmp_path: Path) -> None:
    broker = Broker("serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path))
    idle = Connection(broker.host, broker.port)  # an idle client connection does not hold the shutdown up
    try:
        took = broker.stop(signal.SIGINT)
    finally:
        idle.close()
        broker.close()
    assert broker.proc.returncode == 0, broker.output
    assert took < 1.0


def test_in_process_stop_closes_the_logs(tmp_path: Path) -> None:
    broker = BrokerThread(data_dir=tmp_path, memory=False).start()
    broker.produce_batch("t", ["a", "b"])
    broker.stop()
    assert (tmp_path / "t-0" / "00000000000000000000.index").exists()
    with BrokerThread(data_dir=tmp_path, memory=False) as again:  # the data dir lock was released
        assert again.values("t") == [b"a", b"b"]
