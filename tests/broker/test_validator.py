"""Kafka's record validation on produce (LogValidator): the validator directly, and through
the Produce handler over an in-memory connection."""

from __future__ import annotations

import time

import pytest

from kafkalite.broker.state import Broker
from kafkalite.broker.validator import Refused, TopicPolicy, check_batch, validate_records
from kafkalite.wire.batch import assemble_batch, iter_batches, parse_batch_header
from kafkalite.wire.compression import Compression
from kafkalite.wire.records import NewRecord, Record, build_batch, decode_records

from .conftest import Client
from .test_produce_fetch import fetch_request, list_offsets, produce


def now_ms() -> int:
    return int(time.time() * 1000)


def rewrite(batch: bytes, **fields) -> bytes:
    """*batch* with header fields replaced and a valid CRC."""
    h = parse_batch_header(batch, 0)
    values = dict(
        base_offset=h.base_offset, partition_leader_epoch=h.partition_leader_epoch, attributes=h.attributes,
        last_offset_delta=h.last_offset_delta, base_timestamp=h.base_timestamp, max_timestamp=h.max_timestamp,
        producer_id=h.producer_id, producer_epoch=h.producer_epoch, base_sequence=h.base_sequence,
        records_count=h.records_count,
    )
    values.update(fields)
    return assemble_batch(memoryview(batch)[61:], **values)


def records_of(data) -> list:
    data = bytes(data)
    out = []
    for pos, header in iter_batches(data):
        out.extend(decode_records(data[pos : pos + header.size]))
    return out


def validate(batch: bytes, policy: TopicPolicy = TopicPolicy(), now: int | None = None):
    now = now_ms() if now is None else now
    header = check_batch(batch, policy, "t-0")
    return validate_records(batch, header, policy, "t-0", now)


# -- 1. max timestamp --------------------------------------------------------------------------


def test_well_formed_batch_is_returned_as_is() -> None:
    t = now_ms()
    batch = build_batch([NewRecord(b"k", b"v", timestamp=t), NewRecord(b"k", b"w", timestamp=t + 5)])
    result = validate(batch)
    assert result.records is batch


def test_max_timestamp_minus_one_is_recomputed_with_the_crc() -> None:
    t = now_ms()
    good = build_batch([NewRecord(None, b"a", timestamp=t + 7), NewRecord(None, b"b", timestamp=t)])
    bad = rewrite(good, max_timestamp=-1)
    result = validate(bad)
    assert result.header.max_timestamp == t + 7
    assert bytes(result.records) == good  # header and CRC as the client should have sent them


def test_inconsistent_max_timestamp_below_base_is_recomputed() -> None:
    t = now_ms()
    bad = rewrite(build_batch([NewRecord(None, b"a", timestamp=t), NewRecord(None, b"b", timestamp=t + 3)]),
                  max_timestamp=t - 100)
    assert validate(bad).header.max_timestamp == t + 3


async def test_offset_for_timestamp_finds_records_sent_with_max_timestamp_minus_one(
    broker: Broker, client: Client
) -> None:
    broker.create_topic("go", 1)
    base = now_ms() - 10_000
    sent = build_batch([NewRecord(None, b"%d" % i, timestamp=base + i * 100) for i in range(3)])
    assert (await produce(client, "go", rewrite(sent, max_timestamp=-1))).error_code == 0
    answer = (await client.request(list_offsets("go", base + 150), 8)).topics[0].partitions[0]
    assert (answer.error_code, answer.offset, answer.timestamp) == (0, 2, base + 200)
    assert broker.log_for("go", 0).max_timestamp == (base + 200, 2)


# -- 2. null keys on compacted topics ----------------------------------------------------------


def test_null_key_on_compacted_topic_is_a_record_error() -> None:
    batch = build_batch([(b"k", b"a"), (None, b"b"), (b"k", b"c"), (None, b"d")])
    with pytest.raises(Refused) as refused:
        validate(batch, TopicPolicy(compacted=True))
    assert refused.value.code == 87
    assert [i for i, _ in refused.value.record_errors] == [1, 3]
    assert refused.value.record_errors[0][1] == "Compacted topic cannot accept message without key in topic partition t-0"
    assert refused.value.message.startswith("One or more records have been rejected due to 2 record errors in total")
    assert validate(build_batch([(b"k", b"a")]), TopicPolicy(compacted=True)).header.records_count == 1


async def test_compacted_topic_answers_record_errors(broker: Broker, client: Client) -> None:
    broker.create_topic("c", 1, configs={"cleanup.policy": "compact,delete"})
    result = await produce(client, "c", build_batch([(b"k", b"a"), (None, b"b")]), version=9)
    assert result.error_code == 87 and result.base_offset == -1
    assert [(e.batch_index, e.batch_index_error_message) for e in result.record_errors] == [
        (1, "Compacted topic cannot accept message without key in topic partition c-0")
    ]
    assert "1 record errors" in result.error_message
    ok = await produce(client, "c", build_batch([(b"k", b"a")]), version=9)
    assert (ok.error_code, ok.base_offset) == (0, 0)
    compressed = await produce(client, "c", build_batch([(None, b"a")], compression=Compression.GZIP))
    assert compressed.error_code == 87 and [e.batch_index for e in compressed.record_errors] == [0]


# -- 3. per-record timestamps ------------------------------------------------------------------


def test_only_the_out_of_range_records_are_named() -> None:
    now = now_ms()
    batch = build_batch([NewRecord(b"k", b"a", timestamp=now - 10), NewRecord(b"k", b"b", timestamp=now - 7_200_000),
                         NewRecord(b"k", b"c", timestamp=now)])
    with pytest.raises(Refused) as refused:
        validate(batch, TopicPolicy(before_max_ms=3_600_000), now=now)
    assert refused.value.code == 32
    assert refused.value.message == "One or more records have been rejected due to invalid timestamp"
    (index, message), = refused.value.record_errors
    assert index == 1 and message == (
        f"Timestamp {now - 7_200_000} of message with offset 1 is out of range. The timestamp should be within "
        f"[{now - 3_600_000}, {now + 2**63 - 1 - 2**64}]"  # Java's long wraps
    )


def test_a_timestamp_error_wins_the_code_over_a_key_error() -> None:
    now = now_ms()
    batch = build_batch([NewRecord(None, b"a", timestamp=now), NewRecord(b"k", b"b", timestamp=now + 9_000_000)])
    with pytest.raises(Refused) as refused:
        validate(batch, TopicPolicy(compacted=True, after_max_ms=3_600_000), now=now)
    assert refused.value.code == 32 and [i for i, _ in refused.value.record_errors] == [0, 1]


def test_no_timestamp_records_and_log_append_time_topics_are_not_range_checked() -> None:
    batch = build_batch([NewRecord(b"k", b"a")], base_timestamp=-1)
    assert validate(batch, TopicPolicy(before_max_ms=1)).header.max_timestamp == -1
    old = build_batch([NewRecord(b"k", b"a", timestamp=1)])
    assert validate(old, TopicPolicy(before_max_ms=1, log_append_time=True)).records is old


def test_a_producer_may_not_claim_log_append_time() -> None:
    batch = rewrite(build_batch([(b"k", b"a"), (b"k", b"b")]), attributes=0x08)
    with pytest.raises(Refused) as refused:
        validate(batch, TopicPolicy(log_append_time=True))
    assert refused.value.code == 32 and [i for i, _ in refused.value.record_errors] == [0, 1]


async def test_record_timestamp_errors_through_the_handler(broker: Broker, client: Client) -> None:
    broker.create_topic("ts", 1, configs={"message.timestamp.after.max.ms": "60000"})
    now = now_ms()
    result = await produce(client, "ts", build_batch(
        [NewRecord(None, b"a", timestamp=now), NewRecord(None, b"b", timestamp=now + 3_600_000)]))
    assert result.error_code == 32 and [e.batch_index for e in result.record_errors] == [1]
    assert result.error_message == "One or more records have been rejected due to invalid timestamp"


# -- 4. batch checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"records_count": 3},  # count != last_offset_delta + 1
        {"records_count": 0, "last_offset_delta": -1},  # no records
        {"last_offset_delta": -2, "records_count": -1},  # negative offset range
        {"producer_id": 5, "producer_epoch": 0, "base_sequence": -1},  # producer id without sequence
        {"base_offset": 7},  # a client's batch starts at offset 0
        {"attributes": 0x20},  # control batch
    ],
)
async def test_batch_level_checks_are_invalid_record_without_message(broker: Broker, client: Client, fields) -> None:
    broker.create_topic("b", 1)
    result = await produce(client, "b", rewrite(build_batch([(None, b"a"), (None, b"b")]), **fields))
    assert (result.error_code, result.error_message, result.record_errors) == (87, None, [])


def test_records_that_do_not_fill_the_batch_are_invalid_record() -> None:
    two = build_batch([(b"k", b"a"), (b"k", b"b")])
    # Claim one record: the header is consistent, but bytes are left over after it.
    one = rewrite(two, records_count=1, last_offset_delta=0)
    with pytest.raises(Refused) as refused:
        validate(one, TopicPolicy(compacted=True))
    assert refused.value.code == 87 and not refused.value.record_errors


def test_non_consecutive_offset_deltas_of_a_compressed_batch_are_renumbered() -> None:
    t = now_ms()
    batch = build_batch([Record(0, 0, b"k", b"a"), Record(2, 1, b"k", b"b")], base_timestamp=t,
                        compression=Compression.GZIP)
    batch = rewrite(batch, records_count=2, last_offset_delta=1, max_timestamp=-1)
    result = validate(batch)
    assert [r.offset_delta for r in records_of(result.records)] == [0, 1]
    assert result.header.max_timestamp == t + 1


# -- 5. topic compression.type and max.message.bytes ------------------------------------------


def test_topic_codec_recompresses_and_producer_keeps() -> None:
    import zstandard  # noqa: F401  (a pinned test dependency: the zstd codec must be there)
    t = now_ms()
    gz = build_batch([NewRecord(b"k", b"v" * 50, timestamp=t + i) for i in range(3)], compression=Compression.GZIP,
                     producer_id=4, producer_epoch=1, base_sequence=9)
    result = validate(gz, TopicPolicy(target_codec=Compression.ZSTD))
    h = result.header
    assert h.compression == Compression.ZSTD
    assert (h.producer_id, h.producer_epoch, h.base_sequence, h.records_count, h.max_timestamp) == (4, 1, 9, 3, t + 2)
    assert [r.value for r in records_of(result.records)] == [b"v" * 50] * 3
    assert validate(gz).records is gz
    plain = validate(gz, TopicPolicy(target_codec=Compression.NONE))
    assert plain.header.compression == 0 and len(records_of(plain.records)) == 3


def test_recompressed_batch_must_still_fit_max_message_bytes() -> None:
    gz = build_batch([(b"k", b"x" * 2000)], compression=Compression.GZIP)
    with pytest.raises(Refused) as refused:
        validate(gz, TopicPolicy(target_codec=Compression.NONE, max_message_bytes=len(gz) + 2))
    assert refused.value.code == 10


async def test_zstd_topic_stores_zstd_and_reads_back(broker: Broker, client: Client) -> None:
    import zstandard  # noqa: F401  (a pinned test dependency: the zstd codec must be there)
    broker.create_topic("z", 1, configs={"compression.type": "zstd"})
    result = await produce(client, "z", build_batch([(b"k", b"hello")], compression=Compression.GZIP))
    assert result.error_code == 0
    fetched = await client.request(fetch_request("z", 0), 12)
    data = bytes(fetched.responses[0].partitions[0].records)
    (_, header), = list(iter_batches(data))
    assert header.compression == Compression.ZSTD
    assert [r.value for r in records_of(data)] == [b"hello"]
