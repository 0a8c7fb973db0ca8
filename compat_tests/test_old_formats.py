"""Old clients (message formats v0/v1: Produce v0-2, Fetch v0-3) and the newest Produce/Fetch.

kafka-python pinned with ``api_version`` speaks what a broker of that version served: (0, 8, 2)
Produce v0 / Fetch v0 with magic 0, (0, 9) Produce v1 / Fetch v1 (magic 0), (0, 10) Produce v2
/ Fetch v2 (magic 1), (0, 10, 1) Fetch v3. Each test reads the client's own debug log to assert
the versions it really sent. Kafka 4 removed these versions (KIP-896), Kafka 3.9 served them:
those tests are kafkalite-only. Produce v13 and Fetch v18 go through the project's codec, since
no installed client sends them, and run against Kafka 4.4.0 too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition

from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.records import NewRecord, build_batch, decode_records
from kafkalite.wire.batch import iter_batches

from .conftest import eventually
from .wire_client import WireClient

TIMEOUT = 15
REMOVED_IN_KAFKA_4 = "Kafka 4 removed Produce v0-2 and Fetch v0-3 (KIP-896); Kafka 3.9 served them"

#: api_version -> (Produce version, Fetch version, message format) kafka-python uses.
OLD = {
    (0, 8, 2): (0, 0, 0),
    (0, 9): (1, 1, 0),
    (0, 10): (2, 2, 1),
    (0, 10, 1): (2, 3, 1),
}


@pytest.fixture
def sent_versions() -> Iterator[list[tuple[str, int]]]:
    """(API, version) of every request kafka-python sends while the test runs, from its log."""
    seen: list[tuple[str, int]] = []
    pattern = re.compile(r"Sending request \d+ (\w+)Request\(version=(\d+)")

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            m = pattern.search(record.getMessage())
            if m:
                seen.append((m.group(1), int(m.group(2))))

    logger = logging.getLogger("kafka.protocol.parser")
    handler = Grab(logging.DEBUG)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def versions_of(seen: list[tuple[str, int]], api: str) -> set[int]:
    return {v for a, v in seen if a == api}


def create_topic(bootstrap: str, name: str, configs: dict[str, str] | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, 1, 1, config=configs or {})])[name].result(TIMEOUT)

    def shown() -> None:
        assert name in admin.list_topics(name, timeout=5).topics
        assert admin.list_topics(name, timeout=5).topics[name].error is None

    eventually(shown)


def confluent_read(bootstrap: str, topic: str, count: int) -> list:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < count and time.monotonic() < deadline:
            m = c.poll(0.3)
            if m is not None and m.error() is None:
                got.append(m)
        return got
    finally:
        c.close()


def old_read(bootstrap: str, topic: str, count: int, api_version: tuple) -> list:
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, api_version=api_version)
    try:
        tp = KpTopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 0)  # an explicit offset: no ListOffsets, which these versions spell differently
        got: list = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < count and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=300).values():
                got.extend(records)
        return got
    finally:
        c.close()


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
@pytest.mark.parametrize("compression", [None, "gzip", "snappy"])
@pytest.mark.parametrize("api_version", list(OLD), ids=lambda v: ".".join(map(str, v)))
def test_old_kafka_python_produces_confluent_consumes(
    bootstrap: str, topic_name: str, sent_versions: list, api_version: tuple, compression: str | None
) -> None:
    produce_version, _fetch_version, magic = OLD[api_version]
    create_topic(bootstrap, topic_name)
    p = KafkaProducer(bootstrap_servers=bootstrap, api_version=api_version, compression_type=compression, linger_ms=20)
    stamp = int(time.time() * 1000) - 5000
    futures = [p.send(topic_name, key=b"k%d" % i if i % 2 else None, value=b"v%d" % i, timestamp_ms=stamp + i)
               for i in range(5)]
    p.flush()
    offsets = [f.get(timeout=TIMEOUT).offset for f in futures]
    p.close()
    assert offsets == [0, 1, 2, 3, 4]
    assert versions_of(sent_versions, "Produce") == {produce_version}
    got = confluent_read(bootstrap, topic_name, 5)
    assert [(m.offset(), m.key(), m.value()) for m in got] == [
        (i, b"k%d" % i if i % 2 else None, b"v%d" % i) for i in range(5)
    ]
    # Magic 1 carries the producer's timestamps; magic 0 has none, stored as -1.
    assert [m.timestamp()[1] for m in got] == ([stamp + i for i in range(5)] if magic == 1 else [-1] * 5)


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_old_kafka_python_lz4_magic_1(bootstrap: str, topic_name: str, sent_versions: list) -> None:
    create_topic(bootstrap, topic_name)
    p = KafkaProducer(bootstrap_servers=bootstrap, api_version=(0, 10), compression_type="lz4", linger_ms=20)
    for i in range(3):
        p.send(topic_name, value=b"lz4-%d" % i)
    p.flush()
    p.close()
    assert versions_of(sent_versions, "Produce") == {2}
    assert [m.value() for m in confluent_read(bootstrap, topic_name, 3)] == [b"lz4-0", b"lz4-1", b"lz4-2"]


#: kafka-python reads magic-0 lz4 (Kafka's old frame checksum) only with the xxhash package,
#: which is not installed: lz4 is read at magic 1 here (magic 0 lz4: tests/wire/test_legacy.py).
DOWN_CASES = [
    pytest.param(v, c, id=f"{'.'.join(map(str, v))}-{c}")
    for v in OLD
    for c in (None, "gzip", "snappy", "lz4")
    if not (c == "lz4" and OLD[v][2] == 0)
]


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
@pytest.mark.parametrize(("api_version", "topic_compression"), DOWN_CASES)
def test_confluent_produces_old_kafka_python_consumes(
    bootstrap: str, topic_name: str, sent_versions: list, api_version: tuple, topic_compression: str | None
) -> None:
    _produce_version, fetch_version, magic = OLD[api_version]
    create_topic(bootstrap, topic_name, {"compression.type": topic_compression} if topic_compression else None)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    stamp = int(time.time() * 1000) - 5000
    for i in range(6):
        p.produce(topic_name, key=b"k%d" % i, value=b"v%d" % i, timestamp=stamp + i, headers=[("h", b"dropped")])
    assert p.flush(TIMEOUT) == 0
    got = old_read(bootstrap, topic_name, 6, api_version)
    assert [(r.offset, r.key, r.value) for r in got] == [(i, b"k%d" % i, b"v%d" % i) for i in range(6)]
    assert versions_of(sent_versions, "Fetch") == {fetch_version}
    if magic == 1:
        assert [(r.timestamp, r.timestamp_type) for r in got] == [(stamp + i, 0) for i in range(6)]
    else:
        assert all(r.timestamp is None for r in got)


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_old_consumer_after_a_transaction_skips_the_marker(bootstrap: str, topic_name: str, sent_versions: list) -> None:
    create_topic(bootstrap, topic_name)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{topic_name}"})
    p.init_transactions(TIMEOUT)
    p.begin_transaction()
    p.produce(topic_name, value=b"in-txn")
    p.commit_transaction(TIMEOUT)
    plain = Producer({"bootstrap.servers": bootstrap})
    plain.produce(topic_name, value=b"after")
    assert plain.flush(TIMEOUT) == 0
    got = old_read(bootstrap, topic_name, 2, (0, 10, 1))
    # Offset 1 is the COMMIT marker: old formats have no control records, it is left out.
    assert [(r.offset, r.value) for r in got] == [(0, b"in-txn"), (2, b"after")]
    assert versions_of(sent_versions, "Fetch") == {3}


def test_produce_v13_by_topic_id_and_fetch_v18(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name)
    with WireClient(bootstrap) as client:
        metadata = client.request(MetadataRequest(topics=[MetadataRequestTopic(name=topic_name)]), 12)
        (described,) = metadata.topics
        topic_id = described.topic_id
        unknown = uuid.uuid4()
        batch = build_batch([NewRecord(b"k", b"v13", timestamp=int(time.time() * 1000))])
        response = client.request(ProduceRequest(acks=-1, timeout_ms=5000, topic_data=[
            TopicProduceData(topic_id=topic_id, partition_data=[PartitionProduceData(index=0, records=batch)]),
            TopicProduceData(topic_id=unknown, partition_data=[PartitionProduceData(index=0, records=batch)]),
        ]), 13)
        by_id = {t.topic_id: t.partition_responses[0] for t in response.responses}
        assert (by_id[topic_id].error_code, by_id[topic_id].base_offset) == (0, 0)
        assert by_id[unknown].error_code == 100  # UNKNOWN_TOPIC_ID
        fetch = client.request(FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, topics=[
            FetchTopic(topic_id=topic_id, partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)])
        ]), 18)
        part = fetch.responses[0].partitions[0]
        assert (part.error_code, part.high_watermark) == (0, 1)
        data = bytes(part.records)
        values = [r.value for pos, _h in iter_batches(data) for r in decode_records(data, pos)]
        assert values == [b"v13"]


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_old_kafka_python_group_consumer_reads_and_commits(bootstrap: str, topic_name: str, sent_versions: list) -> None:
    create_topic(bootstrap, topic_name)
    p = KafkaProducer(bootstrap_servers=bootstrap, api_version=(0, 10, 1), linger_ms=5)
    for i in range(3):
        p.send(topic_name, value=b"g%d" % i)
    p.flush()
    p.close()
    group = f"old-{topic_name}"
    c = KafkaConsumer(topic_name, bootstrap_servers=bootstrap, api_version=(0, 10, 1), group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        got: list = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < 3 and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=300).values():
                got.extend(records)
        assert [r.value for r in got] == [b"g0", b"g1", b"g2"]
        c.commit()
        assert c.committed(KpTopicPartition(topic_name, 0)) == 3
    finally:
        c.close()
    assert versions_of(sent_versions, "Produce") == {2}
    assert versions_of(sent_versions, "Fetch") == {3}
