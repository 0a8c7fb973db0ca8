"""Producing and consuming with kafka-python (a pure-Python client) against kafkalite."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import MessageSizeTooLargeError

from .conftest import eventually

TIMEOUT = 15


@pytest.fixture
def admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        yield client
    finally:
        client.close()


def create(admin: KafkaAdminClient, name: str, partitions: int = 1, configs: dict | None = None) -> None:
    admin.create_topics({name: {"num_partitions": partitions, "configs": configs or {}}})

    def shown() -> None:  # Kafka's broker serves a new topic a moment after CreateTopics answers
        (described,) = admin.describe_topics([name])
        assert described["error_code"] == 0 and len(described["partitions"]) == partitions, described

    eventually(shown)


def producer(bootstrap: str, **extra: object) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, **{"linger_ms": 5, **extra})


def consumer(bootstrap: str, **extra: object) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **extra)


def consume(c: KafkaConsumer, count: int, timeout: float = TIMEOUT) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=300).values():
            got.extend(records)
    return got


def read_partitions(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    c = consumer(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        return consume(c, count)
    finally:
        c.close()


def test_keyed_messages_stay_in_one_partition_in_order(bootstrap: str, admin, topic_name: str) -> None:
    create(admin, topic_name, 4)
    p = producer(bootstrap)
    futures = [p.send(topic_name, key=f"key-{i % 10}".encode(), value=str(i).encode()) for i in range(400)]
    p.flush()
    partition_of: dict[int, set[int]] = defaultdict(set)
    for i, f in enumerate(futures):
        partition_of[i % 10].add(f.get(TIMEOUT).partition)
    p.close()
    assert all(len(parts) == 1 for parts in partition_of.values())
    got = read_partitions(bootstrap, topic_name, 4, 400)
    per_key: dict[bytes, list[int]] = defaultdict(list)
    for record in got:
        per_key[record.key].append(int(record.value))
    assert sum(len(v) for v in per_key.values()) == 400
    for values in per_key.values():
        assert values == sorted(values)


def test_same_key_lands_where_confluent_puts_it(bootstrap: str, admin, topic_name: str) -> None:
    # Both clients hash keys with murmur2 (librdkafka's default for confluent-kafka is
    # consistent_random, so ask it for murmur2_random explicitly), like the Java client.
    from confluent_kafka import Producer

    create(admin, topic_name, 4)
    kp = producer(bootstrap)
    ours = {k: kp.send(topic_name, key=k, value=b"kp").get(TIMEOUT).partition for k in (b"a", b"b", b"c", b"d", b"e")}
    kp.close()
    cp = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    theirs: dict = {}
    for k in ours:
        cp.produce(topic_name, key=k, value=b"ck", on_delivery=lambda e, m: theirs.__setitem__(m.key(), m.partition()))
    cp.flush(TIMEOUT)
    assert theirs == ours


def test_single_partition_total_order(bootstrap: str, admin, topic_name: str) -> None:
    create(admin, topic_name)
    p = producer(bootstrap)
    offsets = [p.send(topic_name, value=str(i).encode()) for i in range(300)]
    p.flush()
    assert [f.get(TIMEOUT).offset for f in offsets] == list(range(300))
    p.close()
    got = read_partitions(bootstrap, topic_name, 1, 300)
    assert [int(r.value) for r in got] == list(range(300))


def test_headers_null_keys_null_and_empty_values(bootstrap: str, admin, topic_name: str) -> None:
    create(admin, topic_name)
    p = producer(bootstrap)
    p.send(topic_name, key=b"k", value=b"v", headers=[("h1", b"x"), ("h2", b"")])
    p.send(topic_name, key=None, value=b"no key")
    p.send(topic_name, key=b"tombstone", value=None)
    p.send(topic_name, key=b"", value=b"")
    p.flush()
    p.close()
    got = read_partitions(bootstrap, topic_name, 1, 4)
    assert [(r.key, r.value) for r in got] == [(b"k", b"v"), (None, b"no key"), (b"tombstone", None), (b"", b"")]
    assert list(got[0].headers) == [("h1", b"x"), ("h2", b"")]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_every_compression_codec(bootstrap: str, admin, topic_name: str, codec: str) -> None:
    create(admin, topic_name)
    p = producer(bootstrap, compression_type=codec)
    items = [(b"k%d" % i, b"value %d " % i * 20) for i in range(200)]
    for k, v in items:
        p.send(topic_name, key=k, value=v)
    p.flush()
    p.close()
    got = read_partitions(bootstrap, topic_name, 1, 200)
    assert [(r.key, r.value) for r in got] == items


def test_message_just_under_and_just_over_the_size_limit(bootstrap: str, admin, topic_name: str) -> None:
    limit = 20_000
    create(admin, topic_name, configs={"max.message.bytes": str(limit)})
    p = producer(bootstrap, max_request_size=1_000_000, linger_ms=0, retries=0)
    assert p.send(topic_name, value=b"x" * (limit - 200)).get(TIMEOUT).offset == 0
    with pytest.raises(MessageSizeTooLargeError):
        p.send(topic_name, value=b"y" * (limit + 1)).get(TIMEOUT)
    p.close()


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_acks(bootstrap: str, admin, topic_name: str, acks: object) -> None:
    create(admin, topic_name)
    p = producer(bootstrap, acks=acks, enable_idempotence=False)
    for i in range(50):
        p.send(topic_name, value=str(i).encode())
    p.flush()
    p.close()
    got = read_partitions(bootstrap, topic_name, 1, 50)
    assert [int(r.value) for r in got] == list(range(50))


def test_idempotent_producer_is_the_default(bootstrap: str, admin, topic_name: str) -> None:
    create(admin, topic_name, 2)
    p = producer(bootstrap)  # kafka-python 3 enables idempotence by default
    futures = [p.send(topic_name, key=b"k%d" % (i % 3), value=b"%d" % i) for i in range(300)]
    p.flush()
    assert all(f.get(TIMEOUT).offset >= 0 for f in futures)
    p.close()
    got = read_partitions(bootstrap, topic_name, 2, 300)
    assert sorted(int(r.value) for r in got) == list(range(300))


def test_seek_earliest_latest_timestamp_and_offset(bootstrap: str, admin, topic_name: str) -> None:
    create(admin, topic_name)
    base = int(time.time() * 1000) - 100_000
    p = producer(bootstrap)
    for i in range(10):
        p.send(topic_name, value=b"%d" % i, timestamp_ms=base + i * 1000)
    p.flush()
    c = consumer(bootstrap)
    try:
        tp = TopicPartition(topic_name, 0)
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: 10}
        found = c.offsets_for_times({tp: base + 4500})[tp]
        assert (found.offset, found.timestamp) == (5, base + 5000)
        assert c.offsets_for_times({tp: base + 99_000})[tp] is None
        c.assign([tp])
        c.seek(tp, 7)
        assert [int(r.value) for r in consume(c, 3)] == [7, 8, 9]
        c.seek_to_end(tp)
        assert c.position(tp) == 10
        p.send(topic_name, value=b"after")
        p.flush()
        assert [r.value for r in consume(c, 1)] == [b"after"]
    finally:
        c.close()
        p.close()


@pytest.mark.parametrize(("reset", "expected"), [("earliest", [0, 1, 2, 3, 4]), ("latest", [5])])
def test_out_of_range_offset_honours_auto_offset_reset(
    bootstrap: str, admin, topic_name: str, reset: str, expected: list[int]
) -> None:
    create(admin, topic_name)
    p = producer(bootstrap)
    for i in range(5):
        p.send(topic_name, value=b"%d" % i)
    p.flush()
    c = consumer(bootstrap, auto_offset_reset=reset)
    try:
        tp = TopicPartition(topic_name, 0)
        c.assign([tp])
        c.seek(tp, 1000)
        if reset == "latest":
            assert consume(c, 1, timeout=1.5) == []
            p.send(topic_name, value=b"new")
            p.flush()
        assert [r.offset for r in consume(c, len(expected))] == expected
    finally:
        c.close()
        p.close()


def test_waiting_consumer_gets_the_next_message_at_once(bootstrap: str, admin, topic_name: str) -> None:
    create(admin, topic_name)
    c = consumer(bootstrap, fetch_max_wait_ms=5000)
    try:
        tp = TopicPartition(topic_name, 0)
        c.assign([tp])
        c.seek(tp, 0)
        assert consume(c, 1, timeout=1.0) == []
        p = producer(bootstrap, linger_ms=0)
        sent = time.monotonic()
        p.send(topic_name, value=b"now")
        p.flush()
        p.close()
        (record,) = consume(c, 1)
        assert record.value == b"now"
        assert time.monotonic() - sent < 2.5
    finally:
        c.close()
