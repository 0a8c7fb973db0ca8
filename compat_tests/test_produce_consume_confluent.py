"""Producing and consuming with confluent-kafka (librdkafka) against kafkalite."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from .conftest import wait_for_topic

TIMEOUT = 15


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: dict | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, config=config or {})]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, name, partitions)


def producer(bootstrap: str, **extra: object) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **extra})


def consumer(bootstrap: str, **extra: object) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "assign-only",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            **extra,
        }
    )


def produce_all(p: Producer, topic: str, items: list[tuple], **kwargs: object) -> list:
    """Produce (key, value[, headers]) items; return the delivered messages in order."""
    delivered: list = []
    errors: list = []

    def report(err, msg) -> None:
        (errors if err else delivered).append(err or msg)

    for item in items:
        key, value, *rest = item
        p.produce(topic, key=key, value=value, headers=rest[0] if rest else None, on_delivery=report, **kwargs)
        p.poll(0)
    assert p.flush(TIMEOUT) == 0
    assert errors == []
    return delivered


def consume(c: Consumer, count: int, timeout: float = TIMEOUT) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        got.append(msg)
    return got


def read_partitions(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        return consume(c, count)
    finally:
        c.close()


def test_keyed_messages_stay_in_one_partition_in_order(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name, partitions=4)
    items = [(f"key-{i % 10}".encode(), f"{i}".encode()) for i in range(400)]
    delivered = produce_all(producer(bootstrap), topic_name, items)
    partition_of: dict[bytes, set[int]] = defaultdict(set)
    for msg in delivered:
        partition_of[msg.key()].add(msg.partition())
    assert all(len(parts) == 1 for parts in partition_of.values())
    assert len({p for parts in partition_of.values() for p in parts}) > 1  # spread over partitions
    got = read_partitions(bootstrap, topic_name, 4, len(items))
    per_key: dict[bytes, list[int]] = defaultdict(list)
    for msg in got:
        per_key[msg.key()].append(int(msg.value()))
    assert sum(len(v) for v in per_key.values()) == len(items)
    for values in per_key.values():
        assert values == sorted(values)  # per-key order kept


def test_single_partition_keeps_total_order_and_offsets(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name)
    delivered = produce_all(producer(bootstrap), topic_name, [(None, str(i).encode()) for i in range(300)])
    assert [m.offset() for m in delivered] == list(range(300))
    got = read_partitions(bootstrap, topic_name, 1, 300)
    assert [int(m.value()) for m in got] == list(range(300))
    assert [m.offset() for m in got] == list(range(300))


def test_headers_null_keys_null_and_empty_values_round_trip(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name)
    items = [
        (b"k", b"v", [("h1", b"x"), ("h2", None), ("h1", b"again")]),
        (None, b"no key"),
        (b"tombstone", None),
        (b"", b""),
    ]
    produce_all(producer(bootstrap), topic_name, items)
    got = read_partitions(bootstrap, topic_name, 1, 4)
    assert [(m.key(), m.value()) for m in got] == [(b"k", b"v"), (None, b"no key"), (b"tombstone", None), (b"", b"")]
    assert got[0].headers() == [("h1", b"x"), ("h2", None), ("h1", b"again")]
    assert got[1].headers() is None


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_every_compression_codec(bootstrap: str, topic_name: str, codec: str) -> None:
    create_topic(bootstrap, topic_name)
    items = [(b"k%d" % i, b"value %d " % i * 20) for i in range(200)]
    produce_all(producer(bootstrap, **{"compression.type": codec}), topic_name, items)
    got = read_partitions(bootstrap, topic_name, 1, 200)
    assert [(m.key(), m.value()) for m in got] == items


def test_message_just_under_and_just_over_the_size_limit(bootstrap: str, topic_name: str) -> None:
    limit = 20_000
    create_topic(bootstrap, topic_name, config={"max.message.bytes": str(limit)})
    p = producer(bootstrap, **{"message.max.bytes": 1_000_000, "linger.ms": 0})
    results: list = []
    # A batch of one record adds ~70 bytes of batch header and record framing; flush in
    # between so that each record travels in a batch of its own.
    p.produce(topic_name, value=b"x" * (limit - 200), on_delivery=lambda e, m: results.append(e))
    p.flush(TIMEOUT)
    p.produce(topic_name, value=b"y" * (limit + 1), on_delivery=lambda e, m: results.append(e))
    p.flush(TIMEOUT)
    assert results[0] is None
    assert results[1] is not None and results[1].code() == KafkaError.MSG_SIZE_TOO_LARGE


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(bootstrap: str, topic_name: str, acks: str) -> None:
    create_topic(bootstrap, topic_name)
    produce_all(producer(bootstrap, acks=acks), topic_name, [(None, str(i).encode()) for i in range(50)])
    got = read_partitions(bootstrap, topic_name, 1, 50)
    assert [int(m.value()) for m in got] == list(range(50))


def test_idempotent_producer(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name, partitions=2)
    p = producer(bootstrap, **{"enable.idempotence": True, "acks": "all"})
    delivered = produce_all(p, topic_name, [(b"k%d" % (i % 3), b"%d" % i) for i in range(500)])
    assert len(delivered) == 500
    got = read_partitions(bootstrap, topic_name, 2, 500)
    assert sorted(int(m.value()) for m in got) == list(range(500))


def test_seek_earliest_latest_timestamp_and_offset(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name)
    base = int(time.time() * 1000) - 100_000
    p = producer(bootstrap)
    for i in range(10):
        p.produce(topic_name, value=b"%d" % i, timestamp=base + i * 1000)
    assert p.flush(TIMEOUT) == 0
    c = consumer(bootstrap)
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=TIMEOUT)
        assert (low, high) == (0, 10)
        (found,) = c.offsets_for_times([TopicPartition(topic_name, 0, base + 4500)], timeout=TIMEOUT)
        assert found.offset == 5
        (beyond,) = c.offsets_for_times([TopicPartition(topic_name, 0, base + 99_000)], timeout=TIMEOUT)
        assert beyond.offset == OFFSET_END  # no record that late: -1
        c.assign([TopicPartition(topic_name, 0, 7)])
        assert [int(m.value()) for m in consume(c, 3)] == [7, 8, 9]
        c.assign([TopicPartition(topic_name, 0, OFFSET_END)])
        assert consume(c, 1, timeout=1.0) == []  # END is resolved (ListOffsets) meanwhile
        p.produce(topic_name, value=b"after")
        p.flush(TIMEOUT)
        assert [m.value() for m in consume(c, 1)] == [b"after"]
    finally:
        c.close()


@pytest.mark.parametrize(("reset", "expected"), [("earliest", 0), ("latest", 5)])
def test_out_of_range_offset_honours_auto_offset_reset(
    bootstrap: str, topic_name: str, reset: str, expected: int
) -> None:
    create_topic(bootstrap, topic_name)
    produce_all(producer(bootstrap), topic_name, [(None, b"%d" % i) for i in range(5)])
    c = consumer(bootstrap, **{"auto.offset.reset": reset})
    try:
        c.assign([TopicPartition(topic_name, 0, 1000)])
        if reset == "latest":
            # The reset (OFFSET_OUT_OF_RANGE, then ListOffsets latest) takes one round trip;
            # nothing may be delivered meanwhile, and afterwards only what comes next.
            assert consume(c, 1, timeout=1.5) == []
            produce_all(producer(bootstrap), topic_name, [(None, b"new")])
            assert [(m.offset(), m.value()) for m in consume(c, 1)] == [(expected, b"new")]
        else:
            assert [m.offset() for m in consume(c, 5)] == [0, 1, 2, 3, 4]
    finally:
        c.close()


def test_waiting_consumer_gets_the_next_message_at_once(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name)
    c = consumer(bootstrap, **{"fetch.wait.max.ms": 5000})
    try:
        c.assign([TopicPartition(topic_name, 0, 0)])
        assert c.poll(1.0) is None  # nothing yet: the fetch is parked at the broker
        p = producer(bootstrap, **{"linger.ms": 0})
        sent = time.monotonic()
        p.produce(topic_name, value=b"now")
        p.flush(TIMEOUT)
        (msg,) = consume(c, 1)
        # Long polling answers on append, not when fetch.wait.max.ms (5 s) runs out.
        assert msg.value() == b"now"
        assert time.monotonic() - sent < 2.5
    finally:
        c.close()
