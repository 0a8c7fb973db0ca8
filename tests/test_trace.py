"""Learning mode: decoded requests and responses, batch summaries, reasons for error codes,
JSON lines. A produce / fetch / join sequence from real clients, and single requests over an
in-memory connection for the reasons derived from broker state."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from confluent_kafka import Consumer, Producer

from kafkalite.server.connection import handle_connection
from kafkalite.testing.thread import BrokerThread
from kafkalite.tools.client import Connection
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.messages.heartbeat import HeartbeatRequest
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

from .broker.conftest import Client, make_broker


def fetch_request(topic: str, offset: int, partition: int = 0) -> FetchRequest:
    return FetchRequest(
        max_wait_ms=0,
        min_bytes=1,
        topics=[FetchTopic(topic=topic, partitions=[
            FetchPartition(partition=partition, fetch_offset=offset, partition_max_bytes=1 << 20)
        ])],
    )


@pytest.fixture
def trace_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="kafkalite.trace")
    return caplog


def traced(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "kafkalite.trace")


def test_produce_fetch_join_are_traced_with_fields_batches_and_reasons(
    trace_log: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    trace_file = tmp_path / "trace.jsonl"
    with BrokerThread(trace=True, trace_file=trace_file) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True,
                             "linger.ms": 20})
        for i in range(42):
            producer.produce("orders", key=b"k", value=b"v%d" % i)
        assert producer.flush(10) == 0
        with Connection(broker.host, broker.port) as connection:
            response = connection.request(fetch_request("orders", 57), 12)
        assert response.responses[0].partitions[0].error_code == 1
        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "billing"})
        consumer.subscribe(["orders"])
        broker.wait_for_group("billing", 1)
        consumer.close()

    text = traced(trace_log)
    # Produce: the request's fields and its record batch, summarised.
    assert "-> Produce v" in text and "acks=-1" in text
    assert "topic_data[0]: name=orders" in text
    assert "batch base_offset=0 count=" in text and "codec=none producer_id=" in text
    assert "producer_epoch=0 base_sequence=0" in text
    # Fetch: decoded request fields, and the error with its reason.
    assert "partitions[0]: partition=0 current_leader_epoch=-1 fetch_offset=57" in text
    assert "partitions[0]: partition_index=0 error_code=1 high_watermark=-1" in text
    assert "! OFFSET_OUT_OF_RANGE: fetch offset 57 is past the log end offset 42 of orders-0" in text
    # JoinGroup: consumer protocol decoded, KIP-394's first round explained.
    assert "protocols[0]: name=range metadata=<subscription orders>" in text
    assert "! MEMBER_ID_REQUIRED: a new member joins twice (KIP-394)" in text
    assert "assignment=<assignment orders-0>" in text  # SyncGroup

    entries = [json.loads(line) for line in trace_file.read_text().splitlines()]
    fetch_response = next(
        e for e in entries if e["api"] == "Fetch" and e["direction"] == "response" and e["errors"]
    )
    assert fetch_response["errors"] == [{
        "path": "responses[0].partitions[0]",
        "code": 1,
        "name": "OFFSET_OUT_OF_RANGE",
        "reason": "fetch offset 57 is past the log end offset 42 of orders-0",
    }]
    produce_request = next(e for e in entries if e["api"] == "Produce" and e["direction"] == "request")
    batches = produce_request["body"]["topic_data"][0]["partition_data"][0]["records"]["records"]["batches"]
    assert batches[0]["base_offset"] == 0 and batches[0]["producer_id"] >= 0
    join = next(e for e in entries if e["api"] == "JoinGroup" and e["direction"] == "request")
    assert join["body"]["protocols"][0]["metadata"] == {"subscribed_topics": ["orders"]}


def test_nothing_is_traced_when_tracing_is_off(trace_log: pytest.LogCaptureFixture) -> None:
    with BrokerThread() as broker:
        broker.produce("t", "x")
        with Connection(broker.host, broker.port) as connection:
            connection.request(fetch_request("t", 0), 12)
    assert traced(trace_log) == ""


async def single(broker: Any, request: Any, version: int) -> Any:
    ours, theirs = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(handle_connection, broker, theirs, broker.config.node_id)
        response = await Client(ours).request(request, version)
        await ours.aclose()
    return response


async def test_a_missing_topic_without_auto_creation(trace_log: pytest.LogCaptureFixture) -> None:
    broker = make_broker(trace=True, auto_create_topics=False)
    await single(broker, MetadataRequest(topics=[MetadataRequestTopic(name="nope")]), 12)
    assert (
        "! UNKNOWN_TOPIC_OR_PARTITION: topic nope does not exist and the broker does not create topics "
        "on demand (auto.create.topics.enable=false)"
    ) in traced(trace_log)


async def test_a_partition_that_does_not_exist(trace_log: pytest.LogCaptureFixture) -> None:
    broker = make_broker(trace=True)
    broker.create_topic("orders", 3)
    await single(broker, fetch_request("orders", 0, partition=5), 12)
    assert "! UNKNOWN_TOPIC_OR_PARTITION: topic orders has 3 partition(s), 0-2: no partition 5" in traced(trace_log)


async def test_a_fetch_below_the_log_start(trace_log: pytest.LogCaptureFixture) -> None:
    broker = make_broker(trace=True)
    broker.create_topic("t")
    plog = broker.log_for("t", 0)
    from kafkalite.wire.records import build_batch

    plog.append(build_batch([(None, b"x")] * 10))
    plog.delete_records(6)
    await single(broker, fetch_request("t", 2), 12)
    assert "! OFFSET_OUT_OF_RANGE: fetch offset 2 is before the log start offset 6 of t-0" in traced(trace_log)


async def test_a_heartbeat_of_an_unknown_member(trace_log: pytest.LogCaptureFixture) -> None:
    broker = make_broker(trace=True)
    await single(broker, HeartbeatRequest(group_id="g", generation_id=3, member_id="m-1"), 4)
    assert "! UNKNOWN_MEMBER_ID: there is no group g, so it has no member m-1" in traced(trace_log)


async def test_an_error_message_from_the_handler_is_the_reason(trace_log: pytest.LogCaptureFixture) -> None:
    from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest

    broker = make_broker(trace=True)
    broker.create_topic("dup")
    await single(broker, CreateTopicsRequest(topics=[CreatableTopic(name="dup", num_partitions=1,
                                                                      replication_factor=1)]), 7)
    assert "! TOPIC_ALREADY_EXISTS: Topic 'dup' already exists." in traced(trace_log)


def test_a_stale_generation_is_explained_from_the_group_state(trace_log: pytest.LogCaptureFixture) -> None:
    with BrokerThread(trace=True) as broker:
        broker.create_topic("jobs")
        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "g"})
        try:
            consumer.subscribe(["jobs"])
            member = broker.wait_for_group("g", 1).members[0]
            with Connection(broker.host, broker.port) as connection:
                stale = connection.request(HeartbeatRequest(group_id="g", generation_id=7, member_id=member.member_id))
            assert stale.error_code == 22
        finally:
            consumer.close()
    assert "! ILLEGAL_GENERATION: generation 7 is not the current generation 1 of group g" in traced(trace_log)


async def test_transactional_errors_are_explained(trace_log: pytest.LogCaptureFixture) -> None:
    from kafkalite.wire.messages.end_txn import EndTxnRequest
    from kafkalite.wire.messages.init_producer_id import InitProducerIdRequest

    broker = make_broker(trace=True, transaction_state_partitions=1)
    init = InitProducerIdRequest(transactional_id="payments", transaction_timeout_ms=60000)
    first = await single(broker, init, 4)
    await single(broker, init, 4)  # a new incarnation fences the first
    await single(broker, EndTxnRequest(
        transactional_id="payments", producer_id=first.producer_id, producer_epoch=first.producer_epoch, committed=True,
    ), 3)
    await single(broker, InitProducerIdRequest(transactional_id="payments", transaction_timeout_ms=10**9), 4)
    text = traced(trace_log)
    assert (
        f"! PRODUCER_FENCED: producer {first.producer_id} epoch 0 of transactional id 'payments' was fenced: "
        "a newer incarnation (epoch 1)"
    ) in text
    assert "! INVALID_TRANSACTION_TIMEOUT: transaction.timeout.ms 1000000000 is not within 1..900000" in text


async def test_an_offset_commit_v0_is_explained(trace_log: pytest.LogCaptureFixture) -> None:
    from kafkalite.wire.messages.offset_commit import (
        OffsetCommitRequest,
        OffsetCommitRequestPartition,
        OffsetCommitRequestTopic,
    )

    broker = make_broker(trace=True)
    broker.create_topic("t")
    await single(broker, OffsetCommitRequest(group_id="g", topics=[OffsetCommitRequestTopic(
        name="t", partitions=[OffsetCommitRequestPartition(partition_index=0, committed_offset=3)])]), 0)
    assert "! UNSUPPORTED_VERSION: OffsetCommit v0 kept offsets in ZooKeeper" in traced(trace_log)


async def test_an_old_producers_message_set_is_summarised(trace_log: pytest.LogCaptureFixture) -> None:
    from kafkalite.wire.legacy import build_message_set
    from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData

    broker = make_broker(trace=True)
    broker.create_topic("t")
    records = build_message_set([(0, 1700, None, b"v")], 1)
    await single(broker, ProduceRequest(acks=1, timeout_ms=1000, topic_data=[TopicProduceData(
        name="t", partition_data=[PartitionProduceData(index=0, records=records)])]), 2)
    text = traced(trace_log)
    assert "records: 1 message(s) of format v0/v1" in text
    assert "message offset=0 magic=1 codec=none timestamp=1700 key=null value=1 bytes" in text
