"""Log compaction as real clients see it: a ``cleanup.policy=compact`` topic keeps the latest
record of each key at its offset (the offsets of the others become gaps), tombstones delete
keys once delete.retention.ms has passed, and a kill -9 while the cleaner runs loses nothing.

The same tests run against Kafka 4.4.0, whose cleaner works on its own schedule
(log.cleaner.backoff.ms 15 s; it never cleans the active segment, which rolls at the first
append after segment.ms): the topics set segment.ms 100, min.cleanable.dirty.ratio 0.01 and
delete.retention.ms 100, the tests write a record after segment.ms so that what came before
is in closed segments, and wait for the result (kafkalite's cleaner looks every 2 s).
A null key on a compacted topic (INVALID_RECORD) is in test_validation.py.
"""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from . import test_produce_consume_confluent as ck
from . import test_produce_consume_kafka_python as kp
from .conftest import BROKER, eventually, start_broker, stop_broker

COMPACTED = {
    "cleanup.policy": "compact",
    "segment.ms": "100",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "100",
}
#: Kafka's cleaner runs every 15 s (and twice for a tombstone); kafkalite's every 2 s.
WAIT = 60.0 if BROKER == "kafka" else 20.0
KEYS = [f"key-{k}".encode() for k in range(10)]


def _read_all_confluent(bootstrap: str, topic: str) -> list[tuple[int, bytes, bytes | None]]:
    """(offset, key, value) of every record from the start to the high watermark."""
    c = ck.consumer(bootstrap)
    try:
        _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        out: list = []
        deadline = time.monotonic() + 15
        while (not out or out[-1][0] < high - 1) and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append((msg.offset(), msg.key(), msg.value()))
        return out
    finally:
        c.close()


def _read_all_kafka_python(bootstrap: str, topic: str) -> list[tuple[int, bytes, bytes | None]]:
    from kafka import TopicPartition as KpTopicPartition

    c = kp.consumer(bootstrap)
    try:
        tp = KpTopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        high = c.end_offsets([tp])[tp]
        out: list = []
        deadline = time.monotonic() + 15
        while (not out or out[-1][0] < high - 1) and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=300).values():
                out.extend((r.offset, r.key, r.value) for r in records)
        return out
    finally:
        c.close()


class _Confluent:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.p = ck.producer(bootstrap)

    def create(self, topic: str) -> None:
        ck.create_topic(self.bootstrap, topic, config=COMPACTED)

    def send(self, topic: str, items: list[tuple[bytes, bytes | None]]) -> None:
        ck.produce_all(self.p, topic, items, partition=0)

    def read(self, topic: str) -> list:
        return _read_all_confluent(self.bootstrap, topic)

    def close(self) -> None:
        self.p.flush(10)


class _KafkaPython:
    def __init__(self, bootstrap: str) -> None:
        from kafka import KafkaAdminClient

        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.p = kp.producer(bootstrap)

    def create(self, topic: str) -> None:
        kp.create(self.admin, topic, configs=COMPACTED)

    def send(self, topic: str, items: list[tuple[bytes, bytes | None]]) -> None:
        futures = [self.p.send(topic, key=k, value=v, partition=0) for k, v in items]
        self.p.flush(10)
        for future in futures:
            future.get(10)

    def read(self, topic: str) -> list:
        return _read_all_kafka_python(self.bootstrap, topic)

    def close(self) -> None:
        self.p.close()
        self.admin.close()


@pytest.fixture(params=["confluent", "kafka-python"])
def client(request, bootstrap: str):
    c = _Confluent(bootstrap) if request.param == "confluent" else _KafkaPython(bootstrap)
    try:
        yield c
    finally:
        c.close()


def _roll(client, topic: str, key: bytes) -> None:
    """Write one record after segment.ms: the segment before it is closed, so cleanable."""
    time.sleep(0.2)
    client.send(topic, [(key, b"roll")])


def test_compaction_keeps_one_record_per_key_with_the_latest_value(client, topic_name: str) -> None:
    client.create(topic_name)
    for r in range(100):
        client.send(topic_name, [(key, b"v%d" % r) for key in KEYS])
    _roll(client, topic_name, b"roll-0")

    def compacted() -> list:
        records = client.read(topic_name)
        assert len([r for r in records if r[1] in KEYS]) == len(KEYS), len(records)
        return records

    records = eventually(compacted, timeout=WAIT, interval=1.0)
    latest = {key: value for _, key, value in records}
    assert {key: latest[key] for key in KEYS} == {key: b"v99" for key in KEYS}
    # Offsets keep their values: the survivors are the last ten of the 1000 written, at
    # 990-999 (offsets 0-989 are a gap), and the record that rolled the segment follows.
    assert [offset for offset, key, _ in records if key in KEYS] == list(range(990, 1000))
    assert [(offset, key) for offset, key, _ in records if key not in KEYS][:1] == [(1000, b"roll-0")]


def test_tombstones_delete_keys_after_delete_retention_ms(client, topic_name: str) -> None:
    client.create(topic_name)
    client.send(topic_name, [(key, b"first") for key in KEYS])
    client.send(topic_name, [(KEYS[0], None), (KEYS[1], b"second")])
    deadline = time.monotonic() + WAIT
    n = 0
    # The tombstone survives the cleaning that first sees it (it then gets its delete horizon,
    # delete.retention.ms later), and goes at the next one: keep writing so that there is a
    # next one, as a live topic would.
    while True:
        _roll(client, topic_name, b"roll-%d" % n)
        n += 1
        records = client.read(topic_name)
        keys = [key for _, key, _ in records]
        if KEYS[0] not in keys and keys.count(KEYS[1]) == 1:
            break
        assert time.monotonic() < deadline, records
        time.sleep(1.0)
    latest = {key: value for _, key, value in records}
    assert latest[KEYS[1]] == b"second" and latest[KEYS[2]] == b"first"
    assert KEYS[0] not in latest


@pytest.mark.kafkalite_only(reason="kills the broker process (kill -9) and restarts it on its data dir")
def test_a_kill_during_compaction_loses_nothing(tmp_path) -> None:
    """Crash the broker several times while its cleaner (every 100 ms here) compacts a topic
    being written: every acknowledged key's latest value is there after each restart. The
    unit test tests/storage/test_cleaner.py crashes at each file step deterministically."""
    data_dir = str(tmp_path / "data")
    args = ("--data-dir", data_dir, "--log-cleaner-backoff-ms", "100")
    proc, bootstrap = start_broker(*args)
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    port = bootstrap.rsplit(":", 1)[1]
    topic = "compacted-crash"
    expected: dict[bytes, bytes] = {}
    try:
        ck.create_topic(bootstrap, topic, config={**COMPACTED, "segment.bytes": "20000"})
        for crash in range(4):
            p = ck.producer(bootstrap, **{"enable.idempotence": True})
            for r in range(30):
                items = [(key, b"c%d-r%d-" % (crash, r) + b"x" * 100) for key in KEYS]
                ck.produce_all(p, topic, items, partition=0)
                expected.update(items)
            time.sleep(0.2 + 0.15 * crash)  # some cleanings start, some are under way
            proc.kill()
            stop_broker(proc)
            proc, address = start_broker(*args, "--port", port)
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            assert address == bootstrap

            def all_there() -> None:
                latest = {key: value for _, key, value in _read_all_confluent(bootstrap, topic)}
                assert {key: latest.get(key) for key in KEYS} == expected

            eventually(all_there, timeout=20)
        # And the cleaner did its work on the data that survived the crashes.
        eventually(lambda: _assert_compacted(bootstrap, topic), timeout=20, interval=0.5)
    finally:
        stop_broker(proc)


def _assert_compacted(bootstrap: str, topic: str) -> None:
    records = _read_all_confluent(bootstrap, topic)
    assert len(records) < 4 * 30 * len(KEYS) / 2, len(records)
