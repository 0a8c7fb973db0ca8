"""Lost acknowledgements and broker crashes: nothing acknowledged is lost or duplicated."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KTopicPartition

from .conftest import start_broker, stop_broker
from .proxy import LosingProxy

pytestmark = pytest.mark.kafkalite_only(reason="starts, kills and restarts kafkalite brokers of its own")

TIMEOUT = 20
PRODUCE = 0


def drain(proc) -> threading.Thread:
    thread = threading.Thread(target=proc.stdout.read, daemon=True)
    thread.start()
    return thread


def read_all_confluent(bootstrap: str, topic: str, count: int, timeout: float = TIMEOUT) -> list[bytes]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
    values: list[bytes] = []
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        idle_until = None
        while time.monotonic() < deadline:
            msg = c.poll(0.3)
            if msg is None:
                if len(values) >= count:
                    idle_until = idle_until or time.monotonic() + 1.0
                    if time.monotonic() > idle_until:
                        break
                continue
            assert msg.error() is None, msg.error()
            values.append(msg.value())
    finally:
        c.close()
    return values


@pytest.fixture
def proxied_broker(tmp_path: Path):
    """A broker reached through a proxy that loses the answers to the 2nd and 5th Produce."""
    holder: dict = {}
    # The proxy needs the broker's port and the broker must advertise the proxy's port:
    # reserve the proxy's port first by creating it against a placeholder, then retarget.
    proxy = LosingProxy(("127.0.0.1", 1), PRODUCE, lose={2, 5})
    proc, address = start_broker("--memory", "--advertised-port", str(proxy.port), "--advertised-host", "127.0.0.1")
    drain(proc)
    proxy.target = ("127.0.0.1", int(address.rsplit(":", 1)[1]))
    holder["proxy"] = proxy
    try:
        yield f"127.0.0.1:{proxy.port}", proxy
    finally:
        proxy.close()
        stop_broker(proc)


def test_confluent_idempotent_retry_after_lost_ack_writes_once(proxied_broker) -> None:
    bootstrap, proxy = proxied_broker
    topic = "lost-acks-confluent"
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            "max.in.flight.requests.per.connection": 1,
            "retry.backoff.ms": 50,
        }
    )
    acked: list[int] = []
    errors: list = []
    for i in range(8):
        p.produce(topic, value=b"%d" % i, on_delivery=lambda e, m: (errors if e else acked).append(e or m.offset()))
        p.flush(TIMEOUT)
    assert errors == []
    assert proxy.lost == 2  # two answers were really lost, and retried
    assert acked == list(range(8))  # each retry was acknowledged with the original offset
    assert read_all_confluent(bootstrap, topic, 8) == [b"%d" % i for i in range(8)]


def test_kafka_python_idempotent_retry_after_lost_ack_writes_once(proxied_broker) -> None:
    bootstrap, proxy = proxied_broker
    topic = "lost-acks-kafka-python"
    p = KafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        retries=5,
        retry_backoff_ms=50,
        request_timeout_ms=3000,
        max_in_flight_requests_per_connection=1,
    )
    try:
        offsets = [p.send(topic, value=b"%d" % i).get(timeout=TIMEOUT).offset for i in range(8)]
    finally:
        p.close()
    assert proxy.lost == 2
    assert offsets == list(range(8))
    assert read_all_confluent(bootstrap, topic, 8) == [b"%d" % i for i in range(8)]


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, address = start_broker("--data-dir", str(data_dir))
    drain(proc)
    topic = "crash"
    p = Producer(
        {
            "bootstrap.servers": address,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 1,
            "message.timeout.ms": 3000,
        }
    )
    acked: list[bytes] = []
    lock = threading.Lock()

    def report(err, msg) -> None:
        if err is None:
            with lock:
                acked.append(msg.value())

    i = 0
    deadline = time.monotonic() + TIMEOUT
    killed = False
    while time.monotonic() < deadline:
        try:
            p.produce(topic, value=b"%06d" % i, on_delivery=report)
            i += 1
        except BufferError:
            pass
        p.poll(0)
        with lock:
            n = len(acked)
        if not killed and n >= 3000:
            os.kill(proc.pid, signal.SIGKILL)  # mid-stream, while produce requests fly
            killed = True
            break
    assert killed, "the producer never got going"
    stop_broker(proc)  # reaps the killed process and closes its pipe
    p.flush(5)  # whatever was in flight fails now: the broker is gone
    with lock:
        acknowledged = list(acked)

    proc2, address2 = start_broker("--data-dir", str(data_dir))
    drain(proc2)
    try:
        values = read_all_confluent(address2, topic, len(acknowledged))
        assert len(values) == len(set(values)), "a record appears twice"
        assert values == sorted(values), "records out of order"
        missing = set(acknowledged) - set(values)
        assert not missing, f"{len(missing)} acknowledged records lost"
        # kafka-python reads the same recovered log.
        consumer = KafkaConsumer(bootstrap_servers=address2, consumer_timeout_ms=3000)
        consumer.assign([KTopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        assert [m.value for m in consumer] == values
        consumer.close()
    finally:
        stop_broker(proc2)
