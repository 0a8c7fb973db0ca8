"""Fault rules applied by the server (kafkalite.server.faults), through the project's codec
over in-memory connections: each action, per-partition answers, counters, response order."""

from __future__ import annotations

import time
from typing import AsyncIterator

import pytest
import trio
import trio.testing

from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.server.dispatch import dispatch
from kafkalite.wire.batch import iter_batches
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.heartbeat import HeartbeatRequest
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopics,
)
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.records import NewRecord, build_batch, decode_records

from tests.broker.conftest import Client, make_broker

NLOF = ErrorCode.NOT_LEADER_OR_FOLLOWER


def batch(*values: bytes) -> bytes:
    return build_batch([NewRecord(None, v, timestamp=int(time.time() * 1000)) for v in values])


def values_of(records) -> list[bytes]:
    data = bytes(records or b"")
    out = []
    for pos, header in iter_batches(data):
        out.extend(r.value for r in decode_records(data[pos : pos + header.size]))
    return out


def log_values(broker: Broker, topic: str, partition: int) -> list[bytes]:
    plog = broker.log_for(topic, partition)
    return values_of(b"".join(bytes(c) for c in plog.read(0, 1 << 20)))


def produce_request(parts: dict[tuple[str, int], bytes], acks: int = -1) -> ProduceRequest:
    topics: dict[str, list[PartitionProduceData]] = {}
    for (topic, partition), records in parts.items():
        topics.setdefault(topic, []).append(PartitionProduceData(index=partition, records=records))
    return ProduceRequest(
        acks=acks, timeout_ms=1000,
        topic_data=[TopicProduceData(name=name, partition_data=data) for name, data in topics.items()],
    )


def fetch_request(parts: list[tuple[str, int]], *, max_wait_ms: int = 0, session_epoch: int = -1, session_id: int = 0) -> FetchRequest:
    topics: dict[str, list[FetchPartition]] = {}
    for topic, partition in parts:
        topics.setdefault(topic, []).append(FetchPartition(partition=partition, fetch_offset=0, partition_max_bytes=1 << 20))
    return FetchRequest(
        max_wait_ms=max_wait_ms, min_bytes=1, max_bytes=1 << 20, session_id=session_id, session_epoch=session_epoch,
        topics=[FetchTopic(topic=name, partitions=p) for name, p in topics.items()],
    )


def answers(response) -> list[tuple[str, int, int]]:
    """(topic, partition, error) of a Produce answer, in answer order."""
    return [
        (t.name, p.index, p.error_code) for t in response.responses for p in t.partition_responses
    ]


@pytest.fixture
def broker() -> Broker:
    broker = make_broker()
    broker.create_topic("t", 3)
    broker.create_topic("u", 1)
    return broker


@pytest.fixture
async def connect(broker: Broker, nursery: trio.Nursery) -> AsyncIterator:
    opened = []

    async def open_client() -> Client:
        ours, theirs = trio.testing.memory_stream_pair()
        nursery.start_soon(handle_connection, broker, theirs, broker.config.node_id)
        opened.append(ours)
        return Client(ours)

    yield open_client
    for stream in opened:
        await stream.aclose()


@pytest.fixture
async def client(connect) -> Client:
    return await connect()


async def request_as(client: Client, request, version: int, client_id: str):
    await client.send_raw(client.encode_request(request, version, client_id=client_id))
    return await client.response_for(type(request), version, client.correlation_id)


# -- errors per partition ------------------------------------------------------------------


async def test_partition_error_fails_only_the_matched_partition_and_keeps_request_order(broker: Broker, client: Client) -> None:
    rule = broker.faults.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic="t", partition=1)
    request = produce_request({("t", 0): batch(b"a"), ("t", 1): batch(b"b"), ("u", 0): batch(b"c"), ("t", 2): batch(b"d")})
    response = await client.request(request, 9)
    assert answers(response) == [("t", 0, 0), ("t", 1, NLOF), ("t", 2, 0), ("u", 0, 0)]
    failed = response.responses[0].partition_responses[1]
    assert (failed.base_offset, failed.log_start_offset) == (-1, -1)
    assert failed.error_message == f"injected by kafkalite fault rule {rule.id}"
    assert log_values(broker, "t", 1) == []  # not applied
    assert [log_values(broker, "t", 0), log_values(broker, "t", 2), log_values(broker, "u", 0)] == [[b"a"], [b"d"], [b"c"]]
    assert (rule.matched, rule.fired) == (1, 1)


async def test_whole_request_failed_on_a_matched_topic_applies_nothing(broker: Broker, client: Client) -> None:
    broker.faults.add(api="Produce", error="TOPIC_AUTHORIZATION_FAILED", topic="t", error_message="no")
    response = await client.request(produce_request({("t", 0): batch(b"a")}), 9)
    assert answers(response) == [("t", 0, ErrorCode.TOPIC_AUTHORIZATION_FAILED)]
    assert response.responses[0].partition_responses[0].error_message == "no"
    assert log_values(broker, "t", 0) == []


async def test_request_scope_fails_every_partition(broker: Broker, client: Client) -> None:
    broker.faults.add(api="Produce", error=6, topic="u", scope="request")
    response = await client.request(produce_request({("t", 0): batch(b"a"), ("u", 0): batch(b"b")}), 9)
    assert answers(response) == [("t", 0, NLOF), ("u", 0, NLOF)]
    assert log_values(broker, "t", 0) == [] and log_values(broker, "u", 0) == []


async def test_apply_then_error_is_a_lost_acknowledgement(broker: Broker, client: Client) -> None:
    rule = broker.faults.add(api="Produce", error="REQUEST_TIMED_OUT", topic="t", apply=True)
    response = await client.request(produce_request({("t", 0): batch(b"a"), ("t", 1): batch(b"b")}), 9)
    assert answers(response) == [("t", 0, ErrorCode.REQUEST_TIMED_OUT), ("t", 1, ErrorCode.REQUEST_TIMED_OUT)]
    assert log_values(broker, "t", 0) == [b"a"] and log_values(broker, "t", 1) == [b"b"]
    assert rule.fired == 1
    again = await client.request(produce_request({("t", 0): batch(b"c")}), 9)  # times=1: spent
    assert answers(again) == [("t", 0, 0)]


async def test_leader_hint_in_produce_v10(broker: Broker, client: Client) -> None:
    broker.faults.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic="t", partition=0, leader_hint=0)
    response = await client.request(produce_request({("t", 0): batch(b"a")}), 10)
    part = response.responses[0].partition_responses[0]
    assert part.error_code == NLOF
    assert (part.current_leader.leader_id, part.current_leader.leader_epoch) == (0, 0)
    assert [(n.node_id, n.port) for n in response.node_endpoints] == [(0, 9092)]


async def test_acks_zero_produce_with_a_fault_gets_no_answer(broker: Broker, client: Client) -> None:
    broker.faults.add(api="Produce", error=6, topic="t", partition=0)
    await client.send_raw(client.encode_request(produce_request({("t", 0): batch(b"a"), ("t", 1): batch(b"b")}, acks=0), 9))
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 9)
    assert response.topics[0].name == "t"  # the next answer is the Metadata's
    assert log_values(broker, "t", 0) == [] and log_values(broker, "t", 1) == [b"b"]


async def test_metadata_topic_error_leaves_other_topics(broker: Broker, client: Client) -> None:
    broker.faults.add(api="Metadata", error="LEADER_NOT_AVAILABLE", topic="t", always=True)
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="t"), MetadataRequestTopic(name="u")]), 9)
    assert [(t.name, t.error_code, len(t.partitions)) for t in response.topics] == [
        ("t", ErrorCode.LEADER_NOT_AVAILABLE, 0), ("u", 0, 1)
    ]
    every = await client.request(MetadataRequest(topics=None), 9)  # all topics: matched in the answer
    assert {t.name: t.error_code for t in every.topics} == {"t": ErrorCode.LEADER_NOT_AVAILABLE, "u": 0}
    assert len(every.brokers) == 1  # the rest of the answer as handled


async def test_list_offsets_partition_error(broker: Broker, client: Client) -> None:
    broker.faults.add(api="ListOffsets", error=6, topic="t", partition=2)
    request = ListOffsetsRequest(replica_id=-1, topics=[ListOffsetsTopic(name="t", partitions=[
        ListOffsetsPartition(partition_index=i, timestamp=-1) for i in range(3)
    ])])
    response = await client.request(request, 7)
    assert [(p.partition_index, p.error_code, p.offset) for p in response.topics[0].partitions] == [
        (0, 0, 0), (1, 0, 0), (2, NLOF, -1)
    ]


async def test_offset_commit_split_commits_only_the_rest(broker: Broker, client: Client) -> None:
    broker.faults.add(api="OffsetCommit", error="NOT_COORDINATOR", topic="t", partition=0)
    request = OffsetCommitRequest(group_id="g", generation_id_or_member_epoch=-1, member_id="", topics=[
        OffsetCommitRequestTopic(name="t", partitions=[
            OffsetCommitRequestPartition(partition_index=i, committed_offset=5) for i in range(2)
        ])
    ])
    response = await client.request(request, 8)
    assert [(p.partition_index, p.error_code) for p in response.topics[0].partitions] == [
        (0, ErrorCode.NOT_COORDINATOR), (1, 0)
    ]
    fetched = await client.request(OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="g", topics=[
        OffsetFetchRequestTopics(name="t", partition_indexes=[0, 1])
    ])]), 8)
    assert [(p.partition_index, p.committed_offset) for p in fetched.groups[0].topics[0].partitions] == [(0, -1), (1, 5)]


async def test_offset_fetch_v8_partition_error_inside_groups(broker: Broker, client: Client) -> None:
    broker.faults.add(api="OffsetFetch", error="UNSTABLE_OFFSET_COMMIT", topic="t", partition=1)
    fetched = await client.request(OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="g", topics=[
        OffsetFetchRequestTopics(name="t", partition_indexes=[0, 1])
    ])]), 8)
    assert [(p.partition_index, p.error_code) for p in fetched.groups[0].topics[0].partitions] == [
        (0, 0), (1, ErrorCode.UNSTABLE_OFFSET_COMMIT)
    ]


# -- whole-request errors on group APIs ----------------------------------------------------


async def test_heartbeat_error_by_group(broker: Broker, client: Client) -> None:
    rule = broker.faults.add(api="Heartbeat", error="NOT_COORDINATOR", group_id="g")
    other = await client.request(HeartbeatRequest(group_id="h", generation_id=1, member_id="m"), 4)
    assert other.error_code == ErrorCode.UNKNOWN_MEMBER_ID
    hit = await client.request(HeartbeatRequest(group_id="g", generation_id=1, member_id="m"), 4)
    assert hit.error_code == ErrorCode.NOT_COORDINATOR
    assert (rule.matched, rule.fired) == (1, 1)


@pytest.mark.parametrize("version", [2, 4])
async def test_find_coordinator_error(broker: Broker, client: Client, version: int) -> None:
    broker.faults.add(api="FindCoordinator", error="COORDINATOR_NOT_AVAILABLE", group_id="g", error_message="moving")
    request = FindCoordinatorRequest(key="g", key_type=0, coordinator_keys=["g"]) if version < 4 else FindCoordinatorRequest(key_type=0, coordinator_keys=["g"])
    response = await client.request(request, version)
    if version < 4:
        assert (response.error_code, response.error_message) == (ErrorCode.COORDINATOR_NOT_AVAILABLE, "moving")
    else:
        assert [(c.key, c.error_code, c.error_message) for c in response.coordinators] == [
            ("g", ErrorCode.COORDINATOR_NOT_AVAILABLE, "moving")
        ]


# -- Fetch: errors and stalls --------------------------------------------------------------


async def test_fetch_partition_error_answers_at_once_and_the_rest_is_read(broker: Broker, client: Client, autojump_clock) -> None:
    await client.request(produce_request({("t", 0): batch(b"a"), ("t", 1): batch(b"b")}), 9)
    broker.faults.add(api="Fetch", error="OFFSET_OUT_OF_RANGE", topic="t", partition=1)
    started = trio.current_time()
    response = await client.request(fetch_request([("t", 0), ("t", 1)], max_wait_ms=5000), 12)
    parts = {p.partition_index: p for p in response.responses[0].partitions}
    assert values_of(parts[0].records) == [b"a"]
    assert (parts[1].error_code, parts[1].high_watermark, values_of(parts[1].records)) == (ErrorCode.OFFSET_OUT_OF_RANGE, -1, [])
    assert trio.current_time() - started < 1


async def test_fetch_leader_hint_v12(broker: Broker, client: Client) -> None:
    broker.faults.add(api="Fetch", error=6, topic="t", partition=0, leader_hint=0)
    response = await client.request(fetch_request([("t", 0)]), 12)
    part = response.responses[0].partitions[0]
    assert part.error_code == NLOF and part.current_leader.leader_id == 0


async def test_stall_returns_nothing_after_the_max_wait_until_removed(broker: Broker, client: Client, autojump_clock) -> None:
    await client.request(produce_request({("t", 0): batch(b"a"), ("t", 1): batch(b"b")}), 9)
    rule = broker.faults.add(stall=True, topic="t", partition=0)
    started = trio.current_time()
    response = await client.request(fetch_request([("t", 0)], max_wait_ms=500), 12)
    part = response.responses[0].partitions[0]
    assert (part.error_code, part.high_watermark, values_of(part.records)) == (0, 1, [])
    assert trio.current_time() - started >= 0.5  # waited like an empty fetch
    other = await client.request(fetch_request([("t", 1)], max_wait_ms=500), 12)
    assert values_of(other.responses[0].partitions[0].records) == [b"b"]
    assert rule.fired == 1  # the Fetch of partition 1 did not match
    broker.faults.remove(rule.id)
    response = await client.request(fetch_request([("t", 0)], max_wait_ms=500), 12)
    assert values_of(response.responses[0].partitions[0].records) == [b"a"]


async def test_stall_reaches_the_partitions_of_an_incremental_fetch_session(broker: Broker, client: Client, autojump_clock) -> None:
    first = await client.request(fetch_request([("t", 0)], session_epoch=0, max_wait_ms=10), 12)
    session = first.session_id
    assert session != 0
    broker.faults.add(stall=True, topic="t")
    await client.request(produce_request({("t", 0): batch(b"a")}), 9)
    # An incremental request names no partition: the session's are matched.
    response = await client.request(fetch_request([], session_id=session, session_epoch=1, max_wait_ms=100), 12)
    assert all(values_of(p.records) == [] for t in response.responses for p in t.partitions)
    broker.faults.clear()
    response = await client.request(fetch_request([], session_id=session, session_epoch=2, max_wait_ms=100), 12)
    assert [values_of(p.records) for t in response.responses for p in t.partitions] == [[b"a"]]


# -- delay, throttle, drop, close ----------------------------------------------------------


async def test_delay_keeps_response_order(broker: Broker, client: Client, autojump_clock) -> None:
    broker.faults.add(api="Metadata", delay_ms=300)
    started = trio.current_time()
    await client.send_raw(client.encode_request(MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 9))
    first_id = client.correlation_id
    await client.send_raw(client.encode_request(MetadataRequest(topics=[MetadataRequestTopic(name="u")]), 9))
    first = await client.response_for(MetadataRequest, 9, first_id)
    assert trio.current_time() - started >= 0.3
    second = await client.response_for(MetadataRequest, 9, first_id + 1)
    assert (first.topics[0].name, second.topics[0].name) == ("t", "u")


async def test_throttle_sets_throttle_time_and_holds_the_answer(broker: Broker, client: Client, autojump_clock) -> None:
    broker.faults.add(api="Produce", throttle_ms=250)
    started = trio.current_time()
    response = await client.request(produce_request({("t", 0): batch(b"a")}), 9)
    assert response.throttle_time_ms == 250 and answers(response) == [("t", 0, 0)]
    assert trio.current_time() - started >= 0.25


async def test_drop_never_answers_that_connection_but_others_are_served(broker: Broker, connect, autojump_clock) -> None:
    dropped, other = await connect(), await connect()
    rule = broker.faults.add(api="Produce", drop=True, client_id="victim")
    await dropped.send_raw(dropped.encode_request(produce_request({("t", 0): batch(b"a")}), 9, client_id="victim"))
    await dropped.send_raw(dropped.encode_request(MetadataRequest(topics=None), 9, client_id="victim"))
    with trio.move_on_after(5) as waited:
        await dropped.receive_frame()
    assert waited.cancelled_caught  # neither the dropped request nor the next one is answered
    response = await request_as(other, produce_request({("t", 0): batch(b"b")}), 9, "bystander")
    assert answers(response) == [("t", 0, 0)]
    assert log_values(broker, "t", 0) == [b"b"]  # the dropped produce was not applied
    assert (rule.matched, rule.fired) == (1, 1)


@pytest.mark.parametrize(("when", "applied"), [("before", []), ("after", [b"a"])])
async def test_close_before_or_after(broker: Broker, client: Client, when: str, applied: list) -> None:
    broker.faults.add(api="Produce", close=when)
    await client.send_raw(client.encode_request(produce_request({("t", 0): batch(b"a")}), 9))
    assert await client.receive_frame() is None  # closed, no answer
    assert log_values(broker, "t", 0) == applied


# -- who is matched ------------------------------------------------------------------------


async def test_client_id_rule_leaves_other_clients_alone(broker: Broker, connect) -> None:
    mine, theirs = await connect(), await connect()
    rule = broker.faults.add(api="Produce", error=6, client_id="mine", always=True)
    request = produce_request({("t", 0): batch(b"x")})
    assert answers(await request_as(theirs, request, 9, "theirs")) == [("t", 0, 0)]
    assert answers(await request_as(mine, request, 9, "mine")) == [("t", 0, NLOF)]
    assert (rule.matched, rule.fired) == (1, 1)


async def test_peer_rule_matches_the_connection(broker: Broker) -> None:
    broker.faults.add(api="Metadata", close="before", peer="10.1.1.1")
    client = Client(None)  # only to encode
    frame = client.encode_request(MetadataRequest(topics=None), 9)
    assert await dispatch(broker, frame, 0, "10.1.1.2:500") is not None
    from kafkalite.server.faults import CloseConnection

    with pytest.raises(CloseConnection):
        await dispatch(broker, frame, 0, "10.1.1.1:500")


async def test_version_range_and_after(broker: Broker, client: Client) -> None:
    rule = broker.faults.add(api="Produce", versions="9-9", error=6, after=1)
    request = produce_request({("t", 0): batch(b"x")})
    assert answers(await client.request(request, 8)) == [("t", 0, 0)]  # v8: not matched
    assert answers(await client.request(request, 9)) == [("t", 0, 0)]  # 1st match: not armed yet
    assert answers(await client.request(request, 9)) == [("t", 0, NLOF)]
    assert (rule.matched, rule.fired) == (2, 1)


def test_reset_clears_the_rules(broker: Broker) -> None:
    broker.faults.add(api="Produce", error=6)
    broker.reset()
    assert broker.faults.rules == [] and not broker.faults.active


# -- what requests name --------------------------------------------------------------------


def test_targets_of_requests_of_many_shapes(broker: Broker) -> None:
    from kafkalite.server.faults import targets_of
    from kafkalite.wire.messages.add_partitions_to_txn import (
        AddPartitionsToTxnRequest,
        AddPartitionsToTxnTopic,
        AddPartitionsToTxnTransaction,
    )
    from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest
    from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest

    old_txn = AddPartitionsToTxnRequest(
        v3_and_below_transactional_id="tx", v3_and_below_topics=[AddPartitionsToTxnTopic(name="t", partitions=[0, 2])]
    )
    got = targets_of(broker, 24, old_txn)
    assert (got.topics, got.transactional_ids) == ({"t": frozenset({0, 2})}, frozenset({"tx"}))
    new_txn = AddPartitionsToTxnRequest(transactions=[AddPartitionsToTxnTransaction(
        transactional_id="ty", topics=[AddPartitionsToTxnTopic(name="u", partitions=[0])]
    )])
    got = targets_of(broker, 24, new_txn)
    assert (got.topics, got.transactional_ids) == ({"u": frozenset({0})}, frozenset({"ty"}))
    assert targets_of(broker, 20, DeleteTopicsRequest(topic_names=["t", "u"])).topics == {"t": None, "u": None}
    assert targets_of(broker, 15, DescribeGroupsRequest(groups=["g", "h"])).groups == {"g", "h"}
    txn_coordinator = FindCoordinatorRequest(key_type=1, coordinator_keys=["tx"])
    assert targets_of(broker, 10, txn_coordinator).transactional_ids == {"tx"}
    offsets = OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="g", topics=[
        OffsetFetchRequestTopics(name="t", partition_indexes=[1])
    ])])
    got = targets_of(broker, 9, offsets)
    assert (got.topics, got.groups) == ({"t": frozenset({1})}, frozenset({"g"}))
    by_id = FetchRequest(topics=[FetchTopic(topic_id=broker.cluster.topic("t").topic_id, partitions=[
        FetchPartition(partition=2, fetch_offset=0, partition_max_bytes=1)
    ])])
    assert targets_of(broker, 1, by_id).topics == {"t": frozenset({2})}
