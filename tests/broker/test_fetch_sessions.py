"""Incremental fetch sessions (KIP-227), each of Kafka's rules over the in-memory client."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import pytest
import trio
import trio.testing

from kafkalite.broker.fetch_sessions import (
    EVICTION_MS,
    INT32_MAX,
    FetchSessionCache,
    cache_of,
    next_epoch,
)
from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.wire.messages.delete_records import DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic, ForgottenTopic
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.records import NewRecord, build_batch

from .conftest import Client


def batch(*values: bytes) -> bytes:
    return build_batch([NewRecord(None, v, timestamp=int(time.time() * 1000)) for v in values])


async def produce(client: Client, topic: str, partition: int, *values: bytes) -> None:
    request = ProduceRequest(
        acks=-1,
        timeout_ms=1000,
        topic_data=[TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=batch(*values))])],
    )
    response = await client.request(request, 9)
    assert response.responses[0].partition_responses[0].error_code == 0


def part(p: int, offset: int) -> FetchPartition:
    return FetchPartition(partition=p, fetch_offset=offset, partition_max_bytes=1 << 20)


def request(topics: dict[str, list[tuple[int, int]]] | None = None, *, session_id: int = 0, epoch: int = 0,
            forgotten: dict[str, list[int]] | None = None, ids: dict | None = None, max_wait_ms: int = 0) -> FetchRequest:
    """A Fetch by name, or by topic id when *ids* (name -> id) is given."""
    ids = ids or {}
    return FetchRequest(
        max_wait_ms=max_wait_ms,
        min_bytes=1,
        max_bytes=1 << 20,
        session_id=session_id,
        session_epoch=epoch,
        topics=[
            FetchTopic(topic=name, topic_id=ids.get(name), partitions=[part(p, o) for p, o in parts])
            for name, parts in (topics or {}).items()
        ],
        forgotten_topics_data=[
            ForgottenTopic(topic=name, topic_id=ids.get(name), partitions=parts) for name, parts in (forgotten or {}).items()
        ],
    )


def shown(response) -> dict[tuple[str, int], int]:
    """(topic, partition) -> high watermark of each partition the response carries."""
    return {(t.topic, p.partition_index): p.high_watermark for t in response.responses for p in t.partitions}


@pytest.fixture
def topic(broker: Broker) -> str:
    broker.create_topic("t", 3)
    return "t"


async def test_a_full_fetch_with_epoch_zero_creates_a_session(broker: Broker, client: Client, topic: str) -> None:
    response = await client.request(request({topic: [(0, 0), (1, 0), (2, 0)]}), 12)
    assert response.error_code == 0 and response.session_id != 0
    assert set(shown(response)) == {(topic, 0), (topic, 1), (topic, 2)}  # a full response: all
    session = cache_of(broker).get(response.session_id)
    assert session is not None and session.epoch == 1 and len(session) == 3


async def test_an_incremental_fetch_answers_only_partitions_with_news(client: Client, topic: str) -> None:
    full = await client.request(request({topic: [(0, 0), (1, 0), (2, 0)]}), 12)
    sid = full.session_id
    nothing = await client.request(request(session_id=sid, epoch=1), 12)
    assert (nothing.error_code, nothing.session_id, nothing.responses) == (0, sid, [])
    await produce(client, topic, 1, b"a", b"b")
    news = await client.request(request(session_id=sid, epoch=2), 12)
    # Partition 1 has records (fetched from the session's offset 0) and a new high watermark.
    assert shown(news) == {(topic, 1): 2}
    again = await client.request(request(session_id=sid, epoch=3), 12)
    # Still records at offset 0 (the client did not move its offset): answered again.
    assert shown(again) == {(topic, 1): 2}
    moved = await client.request(request({topic: [(1, 2)]}, session_id=sid, epoch=4), 12)
    assert moved.responses == []  # offset moved to the end: no records, the same watermark


async def test_a_changed_log_start_offset_is_news(broker: Broker, client: Client, topic: str) -> None:
    await produce(client, topic, 0, b"a", b"b")
    full = await client.request(request({topic: [(0, 2), (1, 0)]}), 12)
    sid = full.session_id
    assert (await client.request(request(session_id=sid, epoch=1), 12)).responses == []
    plog = broker.log_for(topic, 0)
    deleted = await client.request(
        DeleteRecordsRequest(topics=[DeleteRecordsTopic(name=topic, partitions=[
            DeleteRecordsPartition(partition_index=0, offset=1)])], timeout_ms=1000),
        2,
    )
    assert deleted.topics[0].partitions[0].error_code == 0
    assert plog.log_start_offset == 1
    news = await client.request(request(session_id=sid, epoch=2), 12)
    assert [(t.topic, p.partition_index, p.log_start_offset) for t in news.responses for p in t.partitions] == [(topic, 0, 1)]


async def test_errors_are_always_news(client: Client, topic: str) -> None:
    full = await client.request(request({topic: [(0, 0)], "nope": [(0, 0)]}), 12)
    sid = full.session_id
    assert sid != 0
    response = await client.request(request(session_id=sid, epoch=1), 12)
    assert [(t.topic, p.error_code) for t in response.responses for p in t.partitions] == [("nope", 3)]


async def test_partitions_are_added_updated_and_forgotten(broker: Broker, client: Client, topic: str) -> None:
    full = await client.request(request({topic: [(0, 0)]}), 12)
    sid = full.session_id
    added = await client.request(request({topic: [(1, 0)]}, session_id=sid, epoch=1), 12)
    assert shown(added) == {(topic, 1): 0}  # new to the session: its watermark is news
    session = cache_of(broker).get(sid)
    assert sorted(p for _t, p in session.partitions) == [0, 1]
    forgot = await client.request(request(session_id=sid, epoch=2, forgotten={topic: [0]}), 12)
    assert forgot.error_code == 0 and sorted(p for _t, p in session.partitions) == [1]
    await produce(client, topic, 0, b"x")
    assert (await client.request(request(session_id=sid, epoch=3), 12)).responses == []  # 0 is gone


async def test_forgetting_every_partition_removes_the_session(broker: Broker, client: Client, topic: str) -> None:
    sid = (await client.request(request({topic: [(0, 0)]}), 12)).session_id
    response = await client.request(request(session_id=sid, epoch=1, forgotten={topic: [0]}), 12)
    assert (response.error_code, response.session_id) == (0, 0)
    assert cache_of(broker).get(sid) is None


async def test_a_wrong_epoch_is_invalid_fetch_session_epoch(broker: Broker, client: Client, topic: str) -> None:
    sid = (await client.request(request({topic: [(0, 0)]}), 12)).session_id
    for epoch in (2, 5):
        response = await client.request(request(session_id=sid, epoch=epoch), 12)
        assert (response.error_code, response.session_id, response.responses) == (71, 0, [])
    ok = await client.request(request(session_id=sid, epoch=1), 12)
    assert ok.error_code == 0
    replayed = await client.request(request(session_id=sid, epoch=1), 12)  # a duplicate
    assert replayed.error_code == 71


async def test_an_unknown_session_id_is_fetch_session_id_not_found(client: Client, topic: str) -> None:
    response = await client.request(request({topic: [(0, 0)]}, session_id=42, epoch=1), 12)
    assert (response.error_code, response.session_id, response.responses) == (70, 0, [])


async def test_epoch_minus_one_closes_the_session_and_is_sessionless(broker: Broker, client: Client, topic: str) -> None:
    sid = (await client.request(request({topic: [(0, 0)]}), 12)).session_id
    closed = await client.request(request({topic: [(0, 0), (1, 0)]}, session_id=sid, epoch=-1), 12)
    assert (closed.error_code, closed.session_id) == (0, 0)
    assert set(shown(closed)) == {(topic, 0), (topic, 1)}
    assert cache_of(broker).get(sid) is None
    after = await client.request(request(session_id=sid, epoch=1), 12)
    assert after.error_code == 70
    sessionless = await client.request(request({topic: [(0, 0)]}, session_id=0, epoch=-1), 12)
    assert (sessionless.error_code, sessionless.session_id) == (0, 0) and len(cache_of(broker)) == 0


async def test_a_full_fetch_with_an_existing_id_replaces_the_session(broker: Broker, client: Client, topic: str) -> None:
    sid = (await client.request(request({topic: [(0, 0)]}), 12)).session_id
    replaced = await client.request(request({topic: [(1, 0), (2, 0)]}, session_id=sid, epoch=0), 12)
    new = replaced.session_id
    assert new not in (0, sid) and set(shown(replaced)) == {(topic, 1), (topic, 2)}
    assert cache_of(broker).get(sid) is None and len(cache_of(broker)) == 1
    assert (await client.request(request(session_id=sid, epoch=1), 12)).error_code == 70
    assert sorted(p for _t, p in cache_of(broker).get(new).partitions) == [1, 2]


async def test_sessions_keyed_by_topic_id_from_v13(broker: Broker, client: Client, topic: str) -> None:
    ids = {topic: broker.cluster.topic(topic).topic_id}
    full = await client.request(request({topic: [(0, 0), (1, 0)]}, ids=ids), 13)
    sid = full.session_id
    session = cache_of(broker).get(sid)
    assert session.uses_topic_ids and set(session.partitions) == {(ids[topic], 0), (ids[topic], 1)}
    await produce(client, topic, 1, b"a")
    news = await client.request(request(session_id=sid, epoch=1, ids=ids), 13)
    assert [(t.topic_id, p.partition_index) for t in news.responses for p in t.partitions] == [(ids[topic], 1)]
    forgot = await client.request(request(session_id=sid, epoch=2, forgotten={topic: [0]}, ids=ids), 13)
    assert forgot.error_code == 0 and set(session.partitions) == {(ids[topic], 1)}
    # A session made with topic ids used by a request without them (or the other way round).
    mixed = await client.request(request(session_id=sid, epoch=3), 12)
    assert mixed.error_code == 106


async def test_a_session_waits_on_all_its_partitions(broker: Broker, topic: str, nursery, autojump_clock) -> None:
    fetcher_ours, fetcher_theirs = trio.testing.memory_stream_pair()
    producer_ours, producer_theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, fetcher_theirs, 0)
    nursery.start_soon(handle_connection, broker, producer_theirs, 0)
    fetcher, producer = Client(fetcher_ours), Client(producer_ours)
    sid = (await fetcher.request(request({topic: [(0, 0), (1, 0), (2, 0)]}), 12)).session_id
    result = {}

    async def long_poll() -> None:
        # This request names no partition: it waits on the session's three.
        start = trio.current_time()
        result["response"] = await fetcher.request(request(session_id=sid, epoch=1, max_wait_ms=10_000), 12)
        result["waited"] = trio.current_time() - start

    async with trio.open_nursery() as inner:
        inner.start_soon(long_poll)
        await trio.sleep(2)
        assert "response" not in result
        await produce(producer, topic, 2, b"late")
    assert shown(result["response"]) == {(topic, 2): 1}
    assert 2 <= result["waited"] < 10


async def test_an_idle_session_waits_out_max_wait(client: Client, topic: str, autojump_clock) -> None:
    sid = (await client.request(request({topic: [(0, 0)]}), 12)).session_id
    start = trio.current_time()
    response = await client.request(request(session_id=sid, epoch=1, max_wait_ms=500), 12)
    assert response.responses == [] and trio.current_time() - start >= 0.5


async def test_no_session_below_v7_and_a_full_cache_answers_id_zero(broker: Broker, client: Client, topic: str) -> None:
    await client.request(request({topic: [(0, 0)]}), 6)
    assert len(cache_of(broker)) == 0
    cache_of(broker).max_entries = 1
    first = await client.request(request({topic: [(0, 0)]}), 12)
    second = await client.request(request({topic: [(0, 0)]}), 12)
    # The only session is fresh (not evictable yet): no room, a sessionless answer.
    assert first.session_id != 0 and second.session_id == 0
    assert set(shown(second)) == {(topic, 0)}


def test_next_epoch_wraps_to_one() -> None:
    assert next_epoch(0) == 1 and next_epoch(7) == 8 and next_epoch(INT32_MAX) == 1 and next_epoch(-1) == -1


def _parts(n: int) -> OrderedDict:
    return OrderedDict(((f"t{i}", 0), None) for i in range(n))


def test_cache_evicts_the_least_recently_used_session_unused_for_the_eviction_time() -> None:
    cache = FetchSessionCache(max_entries=2)
    a = cache.maybe_create(0, False, _parts(5), False)
    b = cache.maybe_create(1000, False, _parts(5), False)
    assert cache.maybe_create(2000, False, _parts(1), False) == 0  # full, nobody old enough
    cache.touch(cache.get(a), 3000)  # a used again: b is now the least recently used
    c = cache.maybe_create(1001 + EVICTION_MS, False, _parts(1), False)
    assert c != 0 and cache.get(b) is None and cache.get(a) is not None and cache.evictions == 1


def test_cache_evicts_the_smallest_old_session_only_for_a_session_at_least_as_big() -> None:
    cache = FetchSessionCache(max_entries=2)
    small = cache.maybe_create(0, False, _parts(2), False)
    big = cache.maybe_create(0, False, _parts(10), False)
    now = EVICTION_MS + 10
    # Both used recently, but created long ago: evictable, smallest first.
    cache.touch(cache.get(small), now)
    cache.touch(cache.get(big), now)
    assert cache.maybe_create(now + 1, False, _parts(1), False) == 0  # smaller than both: no
    new = cache.maybe_create(now + 1, False, _parts(3), False)
    assert new != 0 and cache.get(small) is None and cache.get(big) is not None


def test_privileged_sessions_rank_above_consumer_sessions() -> None:
    cache = FetchSessionCache(max_entries=1)
    consumer = cache.maybe_create(0, False, _parts(50), False)
    # A fresh consumer session is evictable by a follower's (privileged) one, never by another consumer's.
    assert cache.maybe_create(10, False, _parts(100), False) == 0
    follower = cache.maybe_create(10, True, _parts(1), False)
    assert follower != 0 and cache.get(consumer) is None
    assert cache.maybe_create(20, False, _parts(1000), False) == 0


# -- real clients: both use fetch sessions ------------------------------------------------------

PARTITIONS = 4
RECORDS = 3000


def _produce_while_consuming(broker_thread, topic: str) -> threading.Thread:
    """Append RECORDS records, round robin over the partitions, in small batches, while the
    consumer runs: its incremental fetches see partitions gain records one by one."""

    def run() -> None:
        for start in range(0, RECORDS, 50):
            for p in range(PARTITIONS):
                values = [f"{p}-{i}".encode() for i in range(start, start + 50) if i % PARTITIONS == p]
                broker_thread.produce_batch(topic, values, partition=p)
            time.sleep(0.01)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _expected() -> dict[int, list[bytes]]:
    return {p: [f"{p}-{i}".encode() for i in range(RECORDS) if i % PARTITIONS == p] for p in range(PARTITIONS)}


def _sessions(broker_thread) -> tuple[int, list[tuple[int, int]]]:
    """(sessions created, (epoch, partitions) of each live session), read in the broker thread."""

    def read():
        cache = cache_of(broker_thread.broker)
        return cache.created, [(s.epoch, len(s)) for s in cache.sessions.values()]

    return broker_thread.call(read)


@pytest.fixture
def running_broker():
    from kafkalite.testing.thread import BrokerThread

    with BrokerThread() as broker_thread:
        broker_thread.create_topic("sessions", PARTITIONS)
        yield broker_thread


def test_confluent_kafka_consumes_sessionless(running_broker) -> None:
    """librdkafka (2.16) does not implement KIP-227: every Fetch it sends has session id 0 and
    epoch -1, a sessionless full fetch. It must consume as before, and no session is made."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({
        "bootstrap.servers": running_broker.bootstrap_servers,
        "group.id": "fetch-sessions",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
    })
    consumer.assign([TopicPartition("sessions", p, 0) for p in range(PARTITIONS)])
    producer = _produce_while_consuming(running_broker, "sessions")
    got: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    offsets: dict[int, list[int]] = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + 60
    try:
        while sum(map(len, got.values())) < RECORDS and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            got[message.partition()].append(message.value())
            offsets[message.partition()].append(message.offset())
        created, live = _sessions(running_broker)
    finally:
        producer.join()
        consumer.close()
    assert got == _expected()
    assert all(o == list(range(len(o))) for o in offsets.values())
    assert (created, live) == (0, [])


def test_kafka_python_consumes_through_a_session(running_broker) -> None:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=running_broker.bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    consumer.assign([TopicPartition("sessions", p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    producer = _produce_while_consuming(running_broker, "sessions")
    got: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    offsets: dict[int, list[int]] = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + 60
    try:
        while sum(map(len, got.values())) < RECORDS and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    got[tp.partition].append(record.value)
                    offsets[tp.partition].append(record.offset)
        created, live = _sessions(running_broker)
    finally:
        producer.join()
        consumer.close()
    assert got == _expected()
    assert all(o == list(range(len(o))) for o in offsets.values())
    assert created >= 1 and any(epoch > 5 and size == PARTITIONS for epoch, size in live)
