"""Produce v0-2 (message formats v0/v1, up-converted as Kafka 3's LogValidator) and Fetch v0-3
(down-converted as Kafka 3's RecordsUtil.downConvert) through the handlers."""

from __future__ import annotations

import gzip
import struct
import time
import uuid
import zlib

import pytest

from kafkalite.broker.state import Broker
from kafkalite.wire.batch import iter_batches
from kafkalite.wire.compression import Compression
from kafkalite.wire.legacy import build_message, build_message_set, deep_messages, iter_message_set
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.records import NewRecord, build_batch, decode_records, record_timestamp
from kafkalite.wire.schema import encode

from .conftest import Client


def now_ms() -> int:
    return int(time.time() * 1000)


def request(topic: str, records: bytes, partition: int = 0) -> ProduceRequest:
    return ProduceRequest(acks=-1, timeout_ms=1000, topic_data=[
        TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=records)])
    ])


async def produce(client: Client, topic: str, records: bytes, version: int = 2):
    response = await client.request(request(topic, records), version)
    return response.responses[0].partition_responses[0]


def stored_records(broker: Broker, topic: str) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(offset, timestamp, key, value) of every stored record, and checks the batches are v2."""
    plog = broker.log_for(topic, 0)
    data = b"".join(bytes(c) for c in plog.read(0, 1 << 30))
    out = []
    for pos, header in iter_batches(data):
        assert header.producer_id == -1
        for r in decode_records(data, pos):
            out.append((header.base_offset + r.offset_delta, record_timestamp(header, r), r.key, r.value))
    return out


def headers_of(broker: Broker, topic: str):
    data = b"".join(bytes(c) for c in broker.log_for(topic, 0).read(0, 1 << 30))
    return [h for _p, h in iter_batches(data)]


@pytest.fixture
def topic(broker: Broker) -> str:
    broker.create_topic("old", 1)
    return "old"


async def test_magic_0_messages_are_up_converted_with_offsets_and_no_timestamp(broker: Broker, client: Client, topic: str) -> None:
    first = await produce(client, topic, build_message_set([(0, -1, b"k", b"a"), (0, -1, None, b"b")], 0), version=0)
    second = await produce(client, topic, build_message(0, 0, key=None, value=b"c"), version=0)
    assert (first.error_code, first.base_offset, second.base_offset) == (0, 0, 2)
    assert stored_records(broker, topic) == [(0, -1, b"k", b"a"), (1, -1, None, b"b"), (2, -1, None, b"c")]
    (h1, h2) = headers_of(broker, topic)
    assert (h1.base_timestamp, h1.max_timestamp, h1.records_count, h1.compression) == (-1, -1, 2, 0)


async def test_magic_1_keeps_create_time_and_v2_answers_log_append_time(broker: Broker, client: Client, topic: str) -> None:
    ts = now_ms() - 1000
    result = await produce(client, topic, build_message_set([(0, ts, None, b"a"), (1, ts + 5, None, b"b")], 1))
    assert (result.error_code, result.base_offset, result.log_append_time_ms) == (0, 0, -1)
    assert stored_records(broker, topic) == [(0, ts, None, b"a"), (1, ts + 5, None, b"b")]
    (header,) = headers_of(broker, topic)
    assert header.max_timestamp == ts + 5 and header.timestamp_type == 0


async def test_log_append_time_topic_stamps_old_messages(broker: Broker, client: Client) -> None:
    broker.create_topic("lat", 1, configs={"message.timestamp.type": "LogAppendTime"})
    before = now_ms()
    result = await produce(client, "lat", build_message_set([(0, 1, None, b"a")], 1))
    assert result.error_code == 0 and result.log_append_time_ms >= before
    (header,) = headers_of(broker, "lat")
    assert header.timestamp_type == 1 and header.max_timestamp == result.log_append_time_ms
    # A magic-1 message claiming LogAppendTime is refused on such a topic, as Kafka.
    claim = build_message(0, 1, key=None, value=b"x", timestamp=5, attributes=0x08)
    refused = await produce(client, "lat", claim)
    assert refused.error_code == 32  # INVALID_TIMESTAMP


@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4])
@pytest.mark.parametrize("magic", [0, 1])
async def test_compressed_wrapper_keeps_its_codec_as_a_v2_batch(broker: Broker, client: Client, topic: str, magic: int, codec: int) -> None:
    ts = now_ms()
    items = [(0, ts, b"k", b"a"), (1, ts + 1, None, b"b"), (2, ts + 2, None, b"c")]
    result = await produce(client, topic, build_message_set(items, magic, codec=codec), version=magic * 2)
    assert (result.error_code, result.base_offset) == (0, 0)
    (header,) = headers_of(broker, topic)
    assert (header.compression, header.records_count, header.last_offset_delta) == (codec, 3, 2)
    expected_ts = [ts, ts + 1, ts + 2] if magic == 1 else [-1, -1, -1]
    assert stored_records(broker, topic) == [(i, expected_ts[i], k, v) for i, (_o, _t, k, v) in enumerate(items)]


async def test_topic_compression_type_recompresses_old_messages(broker: Broker, client: Client) -> None:
    broker.create_topic("zs", 1, configs={"compression.type": "zstd"})
    result = await produce(client, "zs", build_message_set([(0, now_ms(), None, b"a")], 1, codec=Compression.GZIP))
    assert result.error_code == 0
    (header,) = headers_of(broker, "zs")
    assert header.compression == Compression.ZSTD


async def test_bad_crc_is_corrupt_message(client: Client, topic: str) -> None:
    data = bytearray(build_message(0, 1, key=None, value=b"abc", timestamp=now_ms()))
    data[-1] ^= 1
    assert (await produce(client, topic, bytes(data))).error_code == 2


async def test_bad_inner_crc_is_corrupt_message(client: Client, topic: str) -> None:
    inner = bytearray(build_message(0, 1, key=None, value=b"abc", timestamp=now_ms()))
    inner[-1] ^= 1
    wrapper = build_message(0, 1, key=None, value=gzip.compress(bytes(inner)), timestamp=now_ms(), attributes=1)
    assert (await produce(client, topic, wrapper)).error_code == 2


async def test_invalid_magic_and_attributes_are_refused_as_kafka(client: Client, topic: str) -> None:
    bad_magic = bytearray(build_message(0, 1, key=None, value=b"abc", timestamp=now_ms()))
    bad_magic[16] = 7  # a magic beyond 2: Kafka's batch iterator finds the record corrupt
    assert (await produce(client, topic, bytes(bad_magic))).error_code == 2
    unknown_codec = build_message(0, 1, key=None, value=b"abc", timestamp=now_ms(), attributes=6)
    assert (await produce(client, topic, unknown_codec)).error_code == -1  # Kafka: UNKNOWN_SERVER_ERROR
    zstd = build_message(0, 1, key=None, value=b"abc", timestamp=now_ms(), attributes=Compression.ZSTD)
    assert (await produce(client, topic, zstd)).error_code == 87  # INVALID_RECORD
    mixed = build_message(0, 0, key=None, value=b"a") + build_message(0, 1, key=None, value=b"b", timestamp=now_ms())
    assert (await produce(client, topic, mixed)).error_code == 87
    then_v2 = build_message(0, 1, key=None, value=b"a", timestamp=now_ms()) + build_batch([(None, b"b")])
    assert (await produce(client, topic, then_v2)).error_code == 87
    two_wrappers = build_message_set([(0, 1, None, b"a")], 1, codec=Compression.GZIP) * 2
    assert (await produce(client, topic, two_wrappers)).error_code == 87


async def test_inner_magic_must_match_the_wrapper(client: Client, topic: str) -> None:
    inner = build_message(0, 0, key=None, value=b"a")
    wrapper = build_message(0, 1, key=None, value=gzip.compress(inner), timestamp=now_ms(), attributes=1)
    result = await produce(client, topic, wrapper)
    assert result.error_code == 87


async def test_compacted_topic_refuses_null_keys(broker: Broker, client: Client) -> None:
    broker.create_topic("compact", 1, configs={"cleanup.policy": "compact"})
    assert (await produce(client, "compact", build_message(0, 0, key=None, value=b"a"), version=0)).error_code == 87
    assert (await produce(client, "compact", build_message(0, 0, key=b"k", value=b"a"), version=0)).error_code == 0


async def test_timestamp_window_and_message_size(broker: Broker, client: Client) -> None:
    broker.create_topic("win", 1, configs={"message.timestamp.before.max.ms": "60000", "max.message.bytes": "200"})
    old = build_message(0, 1, key=None, value=b"a", timestamp=now_ms() - 3_600_000)
    assert (await produce(client, "win", old)).error_code == 32
    assert (await produce(client, "win", build_message(0, 0, key=None, value=b"a"))).error_code == 0  # no timestamp
    big = build_message(0, 1, key=None, value=b"x" * 300, timestamp=now_ms())
    assert (await produce(client, "win", big)).error_code == 10


async def test_partial_trailing_message_is_ignored_and_nothing_whole_appends_nothing(broker: Broker, client: Client, topic: str) -> None:
    whole = build_message(0, 0, key=None, value=b"a")
    result = await produce(client, topic, whole + whole[:20], version=0)
    assert (result.error_code, result.base_offset) == (0, 0)
    nothing = await produce(client, topic, whole[:20], version=0)
    assert (nothing.error_code, nothing.base_offset) == (0, -1)
    assert len(stored_records(broker, topic)) == 1


async def test_response_layouts_by_version(client: Client, topic: str) -> None:
    records = build_message(0, 0, key=None, value=b"a")
    frames = []
    for version in (0, 1, 2):
        await client.send_raw(client.encode_request(request(topic, records), version))
        frames.append(await client.receive_frame())
    name = topic.encode()
    partition = struct.pack(">ihq", 0, 0, 0)
    topics = struct.pack(">ih", 1, len(name)) + name + struct.pack(">i", 1)
    # v0: responses only; v1: + throttle_time_ms; v2: + log_append_time_ms per partition.
    assert frames[0][4:] == topics + partition
    assert frames[1][4:] == topics + struct.pack(">ihq", 0, 0, 1) + struct.pack(">i", 0)
    assert frames[2][4:] == topics + struct.pack(">ihqq", 0, 0, 2, -1) + struct.pack(">i", 0)


# -- Fetch v0-3 -------------------------------------------------------------------------------


def fetch(topic: str, offset: int, partition_max_bytes: int = 1 << 20, max_bytes: int = 1 << 20) -> FetchRequest:
    return FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=max_bytes, topics=[
        FetchTopic(topic=topic, partitions=[
            FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=partition_max_bytes)
        ])
    ])


async def fetched(client: Client, topic: str, offset: int, version: int, **kw):
    response = await client.request(fetch(topic, offset, **kw), version)
    return response.responses[0].partitions[0]


def legacy_messages(records) -> list:
    out = []
    for m in iter_message_set(bytes(records)):
        out.extend(deep_messages(m) if m.codec else [m])
    return out


@pytest.mark.parametrize(("version", "magic"), [(0, 0), (1, 0), (2, 1), (3, 1)])
async def test_fetch_v0_3_reads_the_old_format(client: Client, topic: str, version: int, magic: int) -> None:
    ts = now_ms()
    await produce(client, topic, build_batch([NewRecord(b"k", b"a", timestamp=ts), NewRecord(None, b"b", timestamp=ts + 1)]), version=9)
    part = await fetched(client, topic, 0, version)
    assert (part.error_code, part.high_watermark) == (0, 2)
    shallow = list(iter_message_set(bytes(part.records)))
    assert [(m.offset, m.magic, m.key, m.value) for m in shallow] == [(0, magic, b"k", b"a"), (1, magic, None, b"b")]
    assert [m.timestamp for m in shallow] == ([ts, ts + 1] if magic else [None, None])


async def test_fetch_v2_of_a_compressed_batch_rewraps_it(client: Client, topic: str) -> None:
    await produce(client, topic, build_batch([(None, b"a"), (None, b"b")], compression=Compression.SNAPPY), version=9)
    part = await fetched(client, topic, 1, 2)
    (wrapper,) = iter_message_set(bytes(part.records))
    assert wrapper.codec == Compression.SNAPPY and wrapper.offset == 1
    assert [m.value for m in deep_messages(wrapper)] == [b"a", b"b"]


async def test_fetch_v3_of_zstd_data_is_unsupported_compression_type(broker: Broker, client: Client) -> None:
    broker.create_topic("zstd", 1, configs={"compression.type": "zstd"})
    await produce(client, "zstd", build_batch([(None, b"a")]), version=9)
    part = await fetched(client, "zstd", 0, 3)
    assert (part.error_code, part.high_watermark) == (76, -1)


async def test_fetch_before_v10_of_a_zstd_topic_is_unsupported_compression_type(broker: Broker, client: Client) -> None:
    broker.create_topic("zt", 1, configs={"compression.type": "zstd"})
    await produce(client, "zt", build_batch([(None, b"a")]), version=9)
    assert (await fetched(client, "zt", 0, 9)).error_code == 76
    assert (await fetched(client, "zt", 0, 10)).error_code == 0


async def test_storage_error_is_not_leader_up_to_fetch_v5(broker: Broker, client: Client, topic: str, monkeypatch) -> None:
    from kafkalite.storage import KafkaStorageError

    await produce(client, topic, build_batch([(None, b"a")]), version=9)
    plog = broker.log_for(topic, 0)

    def failing(self, *args, **kwargs):
        raise KafkaStorageError("disk gone")

    monkeypatch.setattr(type(plog), "read", failing)
    assert (await fetched(client, topic, 0, 5)).error_code == 6  # NOT_LEADER_OR_FOLLOWER
    assert (await fetched(client, topic, 0, 6)).error_code == 56  # KAFKA_STORAGE_ERROR


async def test_fetch_v1_skips_control_batches_and_returns_transactional_records(broker: Broker, client: Client, topic: str) -> None:
    from kafkalite.wire.records import ControlRecordType, build_control_batch

    txn = build_batch([(None, b"t")], producer_id=5, producer_epoch=0, base_sequence=0, transactional=True)
    broker.append(topic, 0, bytearray(txn))
    broker.append(topic, 0, bytearray(build_control_batch(ControlRecordType.ABORT, producer_id=5, producer_epoch=0)))
    broker.append(topic, 0, bytearray(build_batch([(None, b"after")])))
    part = await fetched(client, topic, 0, 1)
    # read_uncommitted (no isolation level before v4): the aborted record is there, the marker not.
    assert [(m.offset, m.value) for m in legacy_messages(part.records)] == [(0, b"t"), (2, b"after")]


async def test_fetch_v2_hard_limit_and_v3_first_batch_whole(client: Client, topic: str) -> None:
    for value in (b"x" * 100, b"y" * 100, b"z" * 100):
        await produce(client, topic, build_batch([(None, value)]), version=9)
    small = await fetched(client, topic, 0, 2, partition_max_bytes=50)
    assert 0 < len(small.records) <= 50 and legacy_messages(small.records) == []  # a partial message only
    two = await fetched(client, topic, 0, 2, partition_max_bytes=2 * 170)
    assert [m.offset for m in legacy_messages(two.records)] == [0, 1]
    whole = await fetched(client, topic, 0, 3, partition_max_bytes=50, max_bytes=50)
    assert [m.value for m in legacy_messages(whole.records)] == [b"x" * 100]


async def test_fetch_v3_of_a_log_append_time_topic_keeps_the_type(broker: Broker, client: Client) -> None:
    broker.create_topic("latf", 1, configs={"message.timestamp.type": "LogAppendTime"})
    result = await produce(client, "latf", build_batch([(None, b"a")]), version=9)
    (m,) = legacy_messages((await fetched(client, "latf", 0, 3)).records)
    assert m.log_append_time and m.timestamp == result.log_append_time_ms


async def test_fetch_v0_request_and_response_layout_by_hand(client: Client, topic: str) -> None:
    await produce(client, topic, build_batch([NewRecord(None, b"a", timestamp=1)]), version=9)
    body = encode(fetch(topic, 0, partition_max_bytes=1000), 0)
    name = topic.encode()
    # replica_id, max_wait_ms, min_bytes, [topic, [partition, fetch_offset, partition_max_bytes]]
    assert body == struct.pack(">iiii h", -1, 0, 1, 1, len(name)) + name + struct.pack(">iiqi", 1, 0, 0, 1000)
    await client.send_raw(client.encode_request(fetch(topic, 0, partition_max_bytes=1000), 0))
    frame = await client.receive_frame()
    message = bytes((0, 0)) + struct.pack(">i", -1) + struct.pack(">i", 1) + b"a"  # magic 0, attributes, key, value
    entry = struct.pack(">qi", 0, len(message) + 4) + struct.pack(">I", zlib.crc32(message)) + message
    expected = (struct.pack(">ih", 1, len(name)) + name + struct.pack(">i", 1)
                + struct.pack(">ihq", 0, 0, 1) + struct.pack(">i", len(entry)) + entry)
    assert frame[4:] == expected


# -- the newest versions ----------------------------------------------------------------------


async def test_produce_v13_by_topic_id_and_unknown_id(broker: Broker, client: Client, topic: str) -> None:
    topic_id = broker.cluster.topic(topic).topic_id
    unknown = uuid.uuid4()
    req = ProduceRequest(acks=-1, timeout_ms=1000, topic_data=[
        TopicProduceData(topic_id=topic_id, partition_data=[PartitionProduceData(index=0, records=build_batch([(None, b"a")]))]),
        TopicProduceData(topic_id=unknown, partition_data=[PartitionProduceData(index=0, records=build_batch([(None, b"b")]))]),
    ])
    response = await client.request(req, 13)
    known, missing = response.responses
    assert known.topic_id == topic_id and known.partition_responses[0].error_code == 0
    assert missing.topic_id == unknown and missing.partition_responses[0].error_code == 100  # UNKNOWN_TOPIC_ID
    assert [v for _o, _t, _k, v in stored_records(broker, topic)] == [b"a"]


async def test_produce_v12_and_fetch_v18(broker: Broker, client: Client, topic: str) -> None:
    result = await produce(client, topic, build_batch([(None, b"a")]), version=12)
    assert (result.error_code, result.base_offset) == (0, 0)
    topic_id = broker.cluster.topic(topic).topic_id
    req = FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, topics=[
        FetchTopic(topic_id=topic_id, partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20, high_watermark=5)])
    ])
    for version in (17, 18):
        part = (await client.request(req, version)).responses[0].partitions[0]
        assert part.error_code == 0 and part.high_watermark == 1 and len(part.records) > 0
