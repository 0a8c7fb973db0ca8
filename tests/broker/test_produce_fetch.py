"""Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, InitProducerId and DeleteRecords
handlers over an in-memory connection (memory storage, no real sleeps)."""

from __future__ import annotations

import time

import pytest
import trio
import trio.testing

from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.wire.messages.delete_records import DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.messages.init_producer_id import InitProducerIdRequest
from kafkalite.wire.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from kafkalite.wire.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.batch import iter_batches
from kafkalite.wire.records import NewRecord, build_batch, decode_records

from .conftest import Client, make_broker


def now_ms() -> int:
    return int(time.time() * 1000)


def batch(*values: bytes, **kw) -> bytes:
    ts = kw.pop("timestamp", now_ms())
    return build_batch([NewRecord(None, v, timestamp=ts) for v in values], **kw)


def produce_request(topic: str, records: bytes | None, partition: int = 0, acks: int = -1) -> ProduceRequest:
    return ProduceRequest(
        acks=acks,
        timeout_ms=1000,
        topic_data=[TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=records)])],
    )


async def produce(client: Client, topic: str, records: bytes | None, partition: int = 0, version: int = 9):
    response = await client.request(produce_request(topic, records, partition), version)
    return response.responses[0].partition_responses[0]


def fetch_request(topic: str, offset: int, *, max_wait_ms: int = 0, min_bytes: int = 1, partition: int = 0,
                  max_bytes: int = 1 << 20, partition_max_bytes: int = 1 << 20, **kw) -> FetchRequest:
    return FetchRequest(
        max_wait_ms=max_wait_ms,
        min_bytes=min_bytes,
        max_bytes=max_bytes,
        topics=[FetchTopic(topic=topic, partitions=[
            FetchPartition(partition=partition, fetch_offset=offset, partition_max_bytes=partition_max_bytes)
        ])],
        **kw,
    )


def values_of(records) -> list[bytes]:
    data = bytes(records or b"")
    out = []
    for pos, header in iter_batches(data):
        out.extend(r.value for r in decode_records(data[pos : pos + header.size]))
    return out


@pytest.fixture
def topic(broker: Broker) -> str:
    broker.create_topic("t", 2)
    return "t"


async def test_produce_assigns_consecutive_offsets(client: Client, topic: str) -> None:
    first = await produce(client, topic, batch(b"a", b"b", b"c"))
    second = await produce(client, topic, batch(b"d"))
    assert (first.error_code, first.base_offset) == (0, 0)
    assert (second.error_code, second.base_offset) == (0, 3)
    assert second.log_append_time_ms == -1 and second.log_start_offset == 0


async def test_fetch_returns_whole_batches_from_the_offset(client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"a", b"b"))
    await produce(client, topic, batch(b"c"))
    response = await client.request(fetch_request(topic, 2), 12)
    part = response.responses[0].partitions[0]
    assert (part.error_code, part.high_watermark, part.last_stable_offset, part.log_start_offset) == (0, 3, 3, 0)
    assert values_of(part.records) == [b"c"]
    whole = await client.request(fetch_request(topic, 1), 12)
    # Offset 1 is inside the first batch: the batch comes back whole, the client skips.
    assert values_of(whole.responses[0].partitions[0].records) == [b"a", b"b", b"c"]


async def test_fetch_at_the_log_end_is_empty_and_past_it_out_of_range(client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"a"))
    at_end = await client.request(fetch_request(topic, 1), 12)
    assert at_end.responses[0].partitions[0].error_code == 0
    assert values_of(at_end.responses[0].partitions[0].records) == []
    beyond = await client.request(fetch_request(topic, 5), 12)
    part = beyond.responses[0].partitions[0]
    # As Kafka: an error answers no offsets (-1), and an empty record set, never null.
    assert (part.error_code, part.high_watermark, part.last_stable_offset, part.log_start_offset) == (1, -1, -1, -1)
    assert part.records is not None and len(part.records) == 0


async def test_first_batch_is_returned_even_above_max_bytes(client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"x" * 5000))
    response = await client.request(fetch_request(topic, 0, max_bytes=100, partition_max_bytes=100), 12)
    assert values_of(response.responses[0].partitions[0].records) == [b"x" * 5000]


async def test_fetch_by_topic_id_from_v13(broker: Broker, client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"a"))
    topic_id = broker.cluster.topic(topic).topic_id
    request = FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, topics=[
        FetchTopic(topic_id=topic_id, partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)])
    ])
    response = await client.request(request, 13)
    assert response.responses[0].topic_id == topic_id
    assert values_of(response.responses[0].partitions[0].records) == [b"a"]


async def test_fetch_unknown_topic_and_partition(client: Client, topic: str) -> None:
    response = await client.request(fetch_request("nope", 0), 12)
    assert response.responses[0].partitions[0].error_code == 3
    response = await client.request(fetch_request(topic, 0, partition=7), 12)
    assert response.responses[0].partitions[0].error_code == 3


async def test_waiting_fetch_is_woken_by_an_append(broker: Broker, topic: str, nursery, autojump_clock) -> None:
    fetcher_ours, fetcher_theirs = trio.testing.memory_stream_pair()
    producer_ours, producer_theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, fetcher_theirs, 0)
    nursery.start_soon(handle_connection, broker, producer_theirs, 0)
    fetcher, producer = Client(fetcher_ours), Client(producer_ours)
    result = {}

    async def long_poll() -> None:
        start = trio.current_time()
        response = await fetcher.request(fetch_request(topic, 0, max_wait_ms=10_000), 12)
        result["waited"] = trio.current_time() - start
        result["values"] = values_of(response.responses[0].partitions[0].records)

    async with trio.open_nursery() as inner:
        inner.start_soon(long_poll)
        await trio.sleep(3)
        await produce(producer, topic, batch(b"wake"))
    assert result["values"] == [b"wake"]
    assert 3 <= result["waited"] < 3.1


async def test_waiting_fetch_times_out_empty(client: Client, topic: str, autojump_clock) -> None:
    start = trio.current_time()
    response = await client.request(fetch_request(topic, 0, max_wait_ms=500), 12)
    assert trio.current_time() - start == pytest.approx(0.5)
    assert values_of(response.responses[0].partitions[0].records) == []


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b[:30], 2),  # shorter than a batch header
        (lambda b: b[:-1], 2),  # batch length does not match
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), 2),  # CRC mismatch
        (lambda b: b[:16] + b"\x01" + b[17:], 87),  # magic 1
        (lambda b: b + b, 87),  # two batches in one Produce v3+
        (lambda b: b"", 87),
    ],
)
async def test_bad_batches_are_refused_and_other_partitions_succeed(
    client: Client, topic: str, mutate, code: int
) -> None:
    good = batch(b"fine")
    bad = mutate(batch(b"bad"))
    request = ProduceRequest(
        acks=-1,
        timeout_ms=1000,
        topic_data=[TopicProduceData(name=topic, partition_data=[
            PartitionProduceData(index=0, records=bad), PartitionProduceData(index=1, records=good),
        ])],
    )
    response = await client.request(request, 9)
    results = response.responses[0].partition_responses
    assert [r.error_code for r in results] == [code, 0]
    # A batch-level refusal carries no message (Kafka fills it for record validation only).
    assert (results[0].error_message, results[0].record_errors) == (None, [])


async def test_produce_to_unknown_topic_or_partition(client: Client, topic: str) -> None:
    assert (await produce(client, "nope", batch(b"a"))).error_code == 3
    assert (await produce(client, topic, batch(b"a"), partition=9)).error_code == 3


async def test_produce_v2_accepts_a_v2_batch_as_kafka_3(client: Client, topic: str) -> None:
    # Kafka 3 checked the magic only from Produce v3; an old version carrying a v2 batch
    # takes the ordinary path (message formats v0/v1: tests/broker/test_legacy_produce.py).
    result = await produce(client, topic, batch(b"a"), version=2)
    assert (result.error_code, result.base_offset) == (0, 0)


async def test_message_too_large(broker: Broker, client: Client) -> None:
    broker.create_topic("small", 1, configs={"max.message.bytes": "200"})
    assert (await produce(client, "small", batch(b"x" * 100))).error_code == 0
    assert (await produce(client, "small", batch(b"x" * 300))).error_code == 10


async def test_timestamp_outside_the_window_is_invalid_timestamp(broker: Broker, client: Client) -> None:
    broker.create_topic("ts", 1, configs={"message.timestamp.before.max.ms": "60000"})
    assert (await produce(client, "ts", batch(b"old", timestamp=now_ms() - 3_600_000))).error_code == 32
    assert (await produce(client, "ts", batch(b"future", timestamp=now_ms() + 7_200_000))).error_code == 32
    assert (await produce(client, "ts", batch(b"now"))).error_code == 0


async def test_log_append_time_is_stamped_and_returned(broker: Broker, client: Client) -> None:
    broker.create_topic("lat", 1, configs={"message.timestamp.type": "LogAppendTime"})
    before = now_ms()
    result = await produce(client, "lat", batch(b"a", timestamp=1))
    assert result.log_append_time_ms >= before
    fetched = await client.request(fetch_request("lat", 0), 12)
    data = bytes(fetched.responses[0].partitions[0].records)
    (_, header), = list(iter_batches(data))
    assert header.timestamp_type == 1 and header.max_timestamp == result.log_append_time_ms


async def test_acks_zero_gets_no_response_but_is_appended(broker: Broker, client: Client, topic: str) -> None:
    await client.send_raw(client.encode_request(produce_request(topic, batch(b"quiet"), acks=0), 9))
    response = await client.request(fetch_request(topic, 0), 12)  # the next answer is the fetch's
    assert values_of(response.responses[0].partitions[0].records) == [b"quiet"]


async def test_idempotent_duplicates_gaps_and_epochs(client: Client, topic: str) -> None:
    pid = (await client.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=0), 4)).producer_id
    assert pid >= 0

    async def send(seq: int, epoch: int = 0, *values: bytes):
        return await produce(client, topic, batch(*(values or (b"v",)), producer_id=pid, producer_epoch=epoch,
                                                  base_sequence=seq))

    assert (await send(0, 0, b"a", b"b")).base_offset == 0
    assert (await send(2)).base_offset == 2
    duplicate = await send(0, 0, b"a", b"b")
    assert (duplicate.error_code, duplicate.base_offset) == (0, 0)  # acknowledged, not rewritten
    assert (await send(5)).error_code == 45  # gap
    assert (await send(0, 1)).error_code == 0  # a bumped epoch starts again at 0
    assert (await send(3, 0)).error_code == 47  # the old epoch is fenced
    log = await client.request(fetch_request(topic, 0), 12)
    assert values_of(log.responses[0].partitions[0].records) == [b"a", b"b", b"v", b"v"]


async def test_unknown_producer_with_nonzero_sequence(client: Client, topic: str) -> None:
    result = await produce(client, topic, batch(b"v", producer_id=999_999, producer_epoch=0, base_sequence=7))
    assert result.error_code == 59


async def test_producer_ids_are_unique(client: Client) -> None:
    ids = {
        (await client.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=0), v)).producer_id
        for v in (0, 2, 4, 5)
    }
    assert len(ids) == 4


async def test_transactional_init_reuses_the_producer_id_and_bumps_the_epoch(client: Client) -> None:
    first = await client.request(InitProducerIdRequest(transactional_id="tx", transaction_timeout_ms=1000), 4)
    again = await client.request(InitProducerIdRequest(transactional_id="tx", transaction_timeout_ms=1000), 4)
    assert (first.error_code, first.producer_epoch) == (0, 0)
    assert (again.error_code, again.producer_id, again.producer_epoch) == (0, first.producer_id, 1)


def list_offsets(topic: str, timestamp: int) -> ListOffsetsRequest:
    return ListOffsetsRequest(
        replica_id=-1,
        topics=[ListOffsetsTopic(name=topic, partitions=[ListOffsetsPartition(partition_index=0, timestamp=timestamp)])],
    )


async def test_list_offsets_special_and_real_timestamps(client: Client, topic: str) -> None:
    base = now_ms() - 10_000
    await produce(client, topic, build_batch([NewRecord(None, b"%d" % i, timestamp=base + i * 100) for i in range(5)]))
    await produce(client, topic, batch(b"late", timestamp=base + 5000))

    async def ask(ts: int, version: int = 8) -> tuple[int, int, int]:
        p = (await client.request(list_offsets(topic, ts), version)).topics[0].partitions[0]
        return p.error_code, p.offset, p.timestamp

    assert await ask(-1) == (0, 6, -1)
    assert await ask(-2) == (0, 0, -1)
    assert await ask(-4) == (0, 0, -1)
    assert await ask(-3) == (0, 5, base + 5000)
    assert await ask(base + 250) == (0, 3, base + 300)  # the exact record inside the batch
    assert await ask(base + 4000) == (0, 5, base + 5000)
    assert await ask(base + 99_999) == (0, -1, -1)


async def test_list_offsets_tiered_and_earliest_as_kafka_without_remote_storage(client: Client, topic: str) -> None:
    async def ask(ts: int) -> tuple[int, int, int]:
        p = (await client.request(list_offsets(topic, ts), 9)).topics[0].partitions[0]
        return p.error_code, p.offset, p.leader_epoch

    # An empty log: the leader's own epoch, which Kafka records when it becomes leader.
    assert await ask(-2) == (0, 0, 0)
    assert await ask(-4) == (0, 0, 0)
    await produce(client, topic, batch(b"a", b"b"))
    assert await ask(-2) == (0, 0, 0)
    assert await ask(-4) == (0, 0, 0)
    # LATEST_TIERED: nothing is in remote storage, so offset -1 and epoch -1 (UnifiedLog).
    assert await ask(-5) == (0, -1, -1)
    assert await ask(-1) == (0, 2, 0)


async def test_offset_for_leader_epoch_answers_epoch_zero_and_the_log_end(client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"a", b"b"))
    request = OffsetForLeaderEpochRequest(topics=[OffsetForLeaderTopic(topic=topic, partitions=[
        OffsetForLeaderPartition(partition=0, current_leader_epoch=0, leader_epoch=0)])])
    p = (await client.request(request, 4)).topics[0].partitions[0]
    assert (p.error_code, p.leader_epoch, p.end_offset) == (0, 0, 2)
    fenced = OffsetForLeaderEpochRequest(topics=[OffsetForLeaderTopic(topic=topic, partitions=[
        OffsetForLeaderPartition(partition=0, current_leader_epoch=3, leader_epoch=0)])])
    assert (await client.request(fenced, 4)).topics[0].partitions[0].error_code == 75


async def test_delete_records_moves_the_log_start(client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"a", b"b", b"c"))

    async def delete(offset: int):
        request = DeleteRecordsRequest(topics=[DeleteRecordsTopic(name=topic, partitions=[
            DeleteRecordsPartition(partition_index=0, offset=offset)])], timeout_ms=1000)
        return (await client.request(request, 2)).topics[0].partitions[0]

    assert (await delete(2)).low_watermark == 2
    assert (await delete(10)).error_code == 1
    assert (await delete(-1)).low_watermark == 3
    below = await client.request(fetch_request(topic, 0), 12)
    assert below.responses[0].partitions[0].error_code == 1
    assert (await client.request(list_offsets(topic, -2), 8)).topics[0].partitions[0].offset == 3


async def test_not_leader_on_another_emulated_node(nursery) -> None:
    broker = make_broker(brokers=2)
    topic = broker.create_topic("spread", 2, 1)  # one replica: no follower to wait for
    leaders = {p.leader_id for p in topic.partitions}
    assert leaders == {0, 1}
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)  # a connection to node 0
    client = Client(ours)
    for p in topic.partitions:
        result = await produce(client, "spread", batch(b"x"), partition=p.partition_index, version=10)
        expected = 0 if p.leader_id == 0 else 6
        assert result.error_code == expected
        if expected:
            assert result.current_leader.leader_id == p.leader_id


async def test_only_the_first_partition_may_exceed_max_bytes(client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"x" * 3000), partition=0)
    await produce(client, topic, batch(b"y" * 3000), partition=1)
    request = FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=1000, topics=[FetchTopic(topic=topic, partitions=[
        FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20),
        FetchPartition(partition=1, fetch_offset=0, partition_max_bytes=1 << 20),
    ])])
    parts = (await client.request(request, 12)).responses[0].partitions
    assert values_of(parts[0].records) == [b"x" * 3000]
    assert values_of(parts[1].records) == []
    assert parts[1].error_code == 0 and parts[1].high_watermark == 1
