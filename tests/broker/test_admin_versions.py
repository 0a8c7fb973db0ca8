"""Admin API versions of issue 17: CreateTopics v0-1, DeleteTopics v0, DescribeCluster v2,
ListTransactions v2, DescribeTopicPartitions v0 and DescribeLogDirs v0-5."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pytest
import trio
import trio.testing

from kafkalite.broker.cluster import TOPIC_OPERATIONS, BrokerNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.server.dispatch import load_handlers
from kafkalite.handlers.list_transactions import InvalidPattern, compile_pattern
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest
from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest
from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest
from kafkalite.wire.messages.describe_log_dirs import DescribableLogDirTopic, DescribeLogDirsRequest
from kafkalite.wire.messages.describe_topic_partitions import (
    Cursor,
    DescribeTopicPartitionsRequest,
    TopicRequest,
)
from kafkalite.wire.messages.list_transactions import ListTransactionsRequest
from kafkalite.wire.records import NewRecord, build_batch

from .conftest import Client, make_broker
from .test_transactions import TxnProducer

ZERO_UUID = uuid.UUID(int=0)


def new_topic(name: str, partitions: int = 1) -> CreatableTopic:
    return CreatableTopic(name=name, num_partitions=partitions, replication_factor=1)


# CreateTopics v0-1, DeleteTopics v0 (Kafka 3.9's; KIP-896 removed them from Kafka 4)


async def test_create_topics_v0_creates_and_answers_codes_only(broker: Broker, client: Client) -> None:
    response = await client.request(CreateTopicsRequest(topics=[new_topic("t", 2)]), 0)
    assert [(t.name, t.error_code) for t in response.topics] == [("t", 0)]
    assert len(broker.cluster.topic("t").partitions) == 2
    again = await client.request(CreateTopicsRequest(topics=[new_topic("t")]), 0)
    # v0 has no error_message on the wire: the code alone (decoded as the field's default)
    assert (again.topics[0].error_code, again.topics[0].error_message) == (E.TOPIC_ALREADY_EXISTS, "")
    at_v1 = await client.request(CreateTopicsRequest(topics=[new_topic("t")]), 1)
    assert (at_v1.topics[0].error_code, at_v1.topics[0].error_message) == (E.TOPIC_ALREADY_EXISTS, "Topic 't' already exists.")


async def test_create_topics_v0_has_no_validate_only(broker: Broker, client: Client) -> None:
    # validate_only does not exist at v0: the flag is not sent, and the topic is created.
    await client.request(CreateTopicsRequest(topics=[new_topic("t")], validate_only=True), 0)
    assert broker.cluster.topic("t") is not None


async def test_create_topics_v1_validate_only_and_error_message(broker: Broker, client: Client) -> None:
    checked = await client.request(CreateTopicsRequest(topics=[new_topic("t", 3)], validate_only=True), 1)
    assert (checked.topics[0].error_code, broker.cluster.topic("t")) == (0, None)
    bad = await client.request(CreateTopicsRequest(topics=[new_topic("bad/name")]), 1)
    assert bad.topics[0].error_code == E.INVALID_TOPIC_EXCEPTION
    assert "illegal" in bad.topics[0].error_message


async def test_create_topics_v0_with_broker_defaults(broker: Broker, client: Client) -> None:
    # Kafka's client refuses -1 below v4; its controller applies the defaults at any version.
    response = await client.request(
        CreateTopicsRequest(topics=[CreatableTopic(name="t", num_partitions=-1, replication_factor=-1)]), 0
    )
    assert response.topics[0].error_code == 0
    assert len(broker.cluster.topic("t").partitions) == broker.config.num_partitions


async def test_delete_topics_v0(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    response = await client.request(DeleteTopicsRequest(topic_names=["t", "nope"], timeout_ms=1000), 0)
    assert [(r.name, r.error_code) for r in response.responses] == [("t", 0), ("nope", E.UNKNOWN_TOPIC_OR_PARTITION)]
    assert broker.cluster.topic("t") is None


# DescribeCluster v2


@pytest.mark.parametrize("include_fenced", [False, True])
async def test_describe_cluster_v2_lists_unfenced_brokers(client: Client, include_fenced: bool) -> None:
    response = await client.request(DescribeClusterRequest(include_fenced_brokers=include_fenced), 2)
    assert [(b.broker_id, b.is_fenced) for b in response.brokers] == [(0, False)]


# ListTransactions v2


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (None, ["app-1", "app-2", "other"]),
        ("", ["app-1", "app-2", "other"]),
        ("app-.*", ["app-1", "app-2"]),
        ("app", []),  # the whole id must match, not a part of it
        ("app-[2-9]|oth.r", ["app-2", "other"]),
    ],
)
async def test_list_transactions_v2_pattern(client: Client, pattern: str | None, expected: list[str]) -> None:
    for transactional_id in ("app-1", "app-2", "other"):
        assert await TxnProducer(client, transactional_id).init() == E.NONE
    response = await client.request(ListTransactionsRequest(transactional_id_pattern=pattern), 2)
    assert response.error_code == E.NONE
    assert sorted(t.transactional_id for t in response.transaction_states) == expected


async def test_list_transactions_v2_bad_pattern_is_invalid_regular_expression(client: Client) -> None:
    assert await TxnProducer(client, "app").init() == E.NONE
    response = await client.request(ListTransactionsRequest(transactional_id_pattern="app-(["), 2)
    assert (response.error_code, response.transaction_states) == (E.INVALID_REGULAR_EXPRESSION, [])


@pytest.mark.parametrize("pattern", [r"a(?=b)", r"(?<!a)b", r"(a)\1", r"(?P<x>a)(?P=x)", r"(a)?(?(1)b|c)", r"(?>a)", r"a*+", r"x(y(?!z))"])
def test_patterns_re2_refuses_are_invalid(pattern: str) -> None:
    with pytest.raises(InvalidPattern):
        compile_pattern(pattern)


@pytest.mark.parametrize("pattern", ["[[:alpha:]]+", r"\pL+", r"\Qa.b\E"])
def test_re2_syntax_python_lacks_is_refused(pattern: str) -> None:
    # RE2/J accepts these; re would fail or (for the POSIX class) only warn and match
    # something else. A documented difference: kafkalite answers INVALID_REGULAR_EXPRESSION.
    with pytest.raises(InvalidPattern):
        compile_pattern(pattern)


# DescribeTopicPartitions v0


def dtp(*names: str, limit: int = 2000, cursor: tuple[str, int] | None = None) -> DescribeTopicPartitionsRequest:
    return DescribeTopicPartitionsRequest(
        topics=[TopicRequest(name=n) for n in names],
        response_partition_limit=limit,
        cursor=Cursor(topic_name=cursor[0], partition_index=cursor[1]) if cursor else None,
    )


async def test_describe_topic_partitions_named_topics(broker: Broker, client: Client) -> None:
    broker.create_topic("b", 2)
    broker.create_topic("a", 1)
    response = await client.request(dtp("b", "a", "b", "missing", "bad/name"), 0)
    summary = [(t.name, t.error_code, len(t.partitions)) for t in response.topics]
    # name order, duplicates once; unknown and illegal names answered with their codes
    assert summary == [
        ("a", 0, 1), ("b", 0, 2), ("bad/name", E.INVALID_TOPIC_EXCEPTION, 0), ("missing", E.UNKNOWN_TOPIC_OR_PARTITION, 0),
    ]
    a, b, bad, missing = response.topics
    assert (a.topic_id, a.is_internal, a.topic_authorized_operations) == (broker.cluster.topic("a").topic_id, False, TOPIC_OPERATIONS)
    assert (missing.topic_id, missing.topic_authorized_operations) == (ZERO_UUID, TOPIC_OPERATIONS)
    p = b.partitions[1]
    assert (p.error_code, p.partition_index, p.leader_id, p.leader_epoch, p.replica_nodes, p.isr_nodes) == (0, 1, 0, 0, [0], [0])
    assert (p.eligible_leader_replicas, p.last_known_elr, p.offline_replicas) == ([], [], [])
    assert response.next_cursor is None


async def test_describe_topic_partitions_all_topics_include_internal(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    await client.request(dtp("__consumer_offsets"), 0)  # not created by a describe
    response = await client.request(dtp(), 0)
    assert [t.name for t in response.topics] == sorted(broker.cluster.topics)
    assert {t.name: t.is_internal for t in response.topics}.get("__consumer_offsets", True) is True


async def test_describe_topic_partitions_pages_with_a_cursor(broker: Broker, client: Client) -> None:
    broker.create_topic("a", 3)
    broker.create_topic("b", 2)
    broker.create_topic("c", 1)
    first = await client.request(dtp("a", "b", "c", limit=4), 0)
    assert [(t.name, [p.partition_index for p in t.partitions]) for t in first.topics] == [("a", [0, 1, 2]), ("b", [0])]
    assert (first.next_cursor.topic_name, first.next_cursor.partition_index) == ("b", 1)
    second = await client.request(dtp("a", "b", "c", limit=4, cursor=("b", 1)), 0)
    assert [(t.name, [p.partition_index for p in t.partitions]) for t in second.topics] == [("b", [1]), ("c", [0])]
    assert second.next_cursor is None


async def test_describe_topic_partitions_exact_budget_points_at_the_next_topic(broker: Broker, client: Client) -> None:
    broker.create_topic("a", 2)
    response = await client.request(dtp("a", "zzz", limit=2), 0)
    # "zzz" does not exist, but the cursor points at it: Kafka stops before looking
    assert [t.name for t in response.topics] == ["a"]
    assert (response.next_cursor.topic_name, response.next_cursor.partition_index) == ("zzz", 0)


async def test_describe_topic_partitions_limit_is_at_least_one(broker: Broker, client: Client) -> None:
    broker.create_topic("a", 2)
    response = await client.request(dtp("a", limit=0), 0)
    assert [len(t.partitions) for t in response.topics] == [1]
    assert (response.next_cursor.topic_name, response.next_cursor.partition_index) == ("a", 1)


async def test_describe_topic_partitions_all_topics_from_a_cursor(broker: Broker, client: Client) -> None:
    for name in ("a", "b", "c"):
        broker.create_topic(name, 1)
    response = await client.request(dtp(cursor=("b", 0)), 0)
    assert [t.name for t in response.topics if not t.is_internal] == ["b", "c"]
    # with all topics, the cursor's topic need not exist
    gone = await client.request(dtp(cursor=("bb", 0)), 0)
    assert [t.name for t in gone.topics if not t.is_internal] == ["c"]


@pytest.mark.parametrize("cursor", [("a", -1), ("x", 0)])
async def test_describe_topic_partitions_bad_cursor_is_invalid_request(broker: Broker, client: Client, cursor) -> None:
    broker.create_topic("a", 1)
    response = await client.request(dtp("a", "b", cursor=cursor), 0)
    assert [(t.name, t.error_code, t.partitions) for t in response.topics] == [
        ("a", E.INVALID_REQUEST, []), ("b", E.INVALID_REQUEST, [])
    ]


# DescribeLogDirs v0-5


def append(broker: Broker, topic: str, partition: int, count: int) -> None:
    broker.append(topic, partition, build_batch([NewRecord(None, b"x" * 100, timestamp=0) for _ in range(count)]))


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5])
async def test_describe_log_dirs_sizes(broker: Broker, client: Client, version: int) -> None:
    broker.create_topic("t", 2)
    append(broker, "t", 1, 3)
    response = await client.request(DescribeLogDirsRequest(topics=None), version)
    (result,) = response.results
    assert result.error_code == 0
    assert result.log_dir == str(Path(broker.config.data_dir).absolute())
    (t,) = [t for t in result.topics if t.name == "t"]
    sizes = {p.partition_index: p.partition_size for p in t.partitions}
    assert sizes[0] == 0 and sizes[1] == broker.log_for("t", 1).size_in_bytes > 300
    assert all((p.offset_lag, p.is_future_key) == (0, False) for p in t.partitions)
    if version >= 4:
        assert (result.total_bytes, result.usable_bytes) == (-1, -1)  # in memory: no volume


async def test_describe_log_dirs_leaves_out_what_is_not_there(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 2)
    broker.create_topic("u", 1)
    wanted = [
        DescribableLogDirTopic(topic="t", partitions=[1, 7]),
        DescribableLogDirTopic(topic="u", partitions=[3]),
        DescribableLogDirTopic(topic="missing", partitions=[0]),
    ]
    response = await client.request(DescribeLogDirsRequest(topics=wanted), 4)
    (result,) = response.results
    assert [(t.name, [p.partition_index for p in t.partitions]) for t in result.topics] == [("t", [1])]
    empty = await client.request(DescribeLogDirsRequest(topics=[]), 4)
    assert (empty.results[0].error_code, empty.results[0].topics) == (0, [])


async def test_describe_log_dirs_on_disk_sums_segments_and_reads_the_volume(tmp_path: Path, nursery: trio.Nursery) -> None:
    load_handlers()
    broker = Broker.create(BrokerConfig(data_dir=tmp_path / "data"))
    broker.cluster.set_node(BrokerNode(0, "localhost", 9092))
    try:
        broker.create_topic("t", 1)
        append(broker, "t", 0, 5)
        ours, theirs = trio.testing.memory_stream_pair()
        nursery.start_soon(handle_connection, broker, theirs, 0)
        response = await Client(ours).request(DescribeLogDirsRequest(topics=None), 4)
        await ours.aclose()
    finally:
        broker.close()
    (result,) = response.results
    assert result.log_dir == str((tmp_path / "data").absolute())
    segment_files = sorted((tmp_path / "data" / "t-0").glob("*.log"))
    assert segment_files
    (t,) = [t for t in result.topics if t.name == "t"]
    assert t.partitions[0].partition_size == sum(f.stat().st_size for f in segment_files) > 0
    st = os.statvfs(tmp_path)
    assert result.total_bytes == st.f_blocks * st.f_frsize
    assert 0 < result.usable_bytes <= result.total_bytes


# Learning mode: reasons for the new error answers


async def test_trace_explains_a_bad_pattern_and_a_bad_cursor(caplog: pytest.LogCaptureFixture, nursery: trio.Nursery) -> None:
    caplog.set_level(logging.INFO, logger="kafkalite.trace")
    broker = make_broker(trace=True)
    broker.create_topic("a", 1)
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    client = Client(ours)
    await client.request(ListTransactionsRequest(transactional_id_pattern="(?=x)"), 2)
    await client.request(dtp("a", cursor=("b", 0)), 0)
    await ours.aclose()
    traced = "\n".join(r.getMessage() for r in caplog.records if r.name == "kafkalite.trace")
    assert "! INVALID_REGULAR_EXPRESSION: the transactional id pattern '(?=x)' is not a regular expression Kafka's RE2/J compiles" in traced
    assert "! INVALID_REQUEST: the cursor's topic b is not among the topics asked for" in traced
