"""The group and transaction coordinators move with the leaders of their internal partitions:
FindCoordinator follows, other nodes answer NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE while
the partition has no leader, and committed offsets survive the move."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest
import trio
import trio.testing

from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from kafkalite.wire.messages.end_txn import EndTxnRequest
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.heartbeat import HeartbeatRequest
from kafkalite.wire.messages.init_producer_id import InitProducerIdRequest
from kafkalite.wire.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic

from .conftest import Client, make_broker


@pytest.fixture
def broker() -> Broker:
    broker = make_broker(brokers=3, offsets_topic_partitions=3, transaction_state_partitions=3)
    broker.create_topic("t", 1, 3)
    return broker


@asynccontextmanager
async def connect(broker: Broker, node_id: int) -> AsyncIterator[Client]:
    async with trio.open_nursery() as nursery:
        ours, theirs = trio.testing.memory_stream_pair()
        nursery.start_soon(handle_connection, broker, theirs, node_id)
        yield Client(ours)
        await ours.aclose()


def _stop(broker: Broker, node: int) -> None:
    broker.cluster.live_nodes.discard(node)
    broker.nodes.elections.broker_fenced(node, f"broker {node} stopped (hard)")


def _join(group: str) -> JoinGroupRequest:
    return JoinGroupRequest(
        group_id=group, session_timeout_ms=10000, rebalance_timeout_ms=10000, member_id="",
        protocol_type="consumer", protocols=[JoinGroupRequestProtocol(name="range", metadata=b"")],
    )


REQUESTS = {
    "JoinGroup": (lambda: _join("g"), 5),
    "Heartbeat": (lambda: HeartbeatRequest(group_id="g", generation_id=1, member_id="m"), 3),
    "OffsetFetch": (lambda: OffsetFetchRequest(group_id="g", topics=None), 5),
    "InitProducerId": (lambda: InitProducerIdRequest(transactional_id="g", transaction_timeout_ms=10000), 2),
    "EndTxn": (lambda: EndTxnRequest(transactional_id="g", producer_id=1, producer_epoch=0, committed=True), 3),
    "AddOffsetsToTxn": (
        lambda: AddOffsetsToTxnRequest(transactional_id="g", producer_id=1, producer_epoch=0, group_id="x"), 3
    ),
}


@pytest.mark.parametrize("api", REQUESTS)
async def test_coordinator_apis_follow_the_leader_of_the_internal_partition(broker: Broker, api: str) -> None:
    make, version = REQUESTS[api]
    transactional = api in ("InitProducerId", "EndTxn", "AddOffsetsToTxn")
    coordinators = broker.transactions if transactional else broker.groups
    first = coordinators.coordinator_node("g")
    other = next(n for n in (0, 1, 2) if n != first)
    async with connect(broker, other) as client:
        assert (await client.request(make(), version)).error_code == ErrorCode.NOT_COORDINATOR
    _stop(broker, first)
    second = coordinators.coordinator_node("g")
    assert second not in (first, None)
    async with connect(broker, second) as client:
        assert (await client.request(make(), version)).error_code != ErrorCode.NOT_COORDINATOR
    for node in (0, 1, 2):
        if node in broker.cluster.live_nodes:
            _stop(broker, node)
    assert coordinators.coordinator_node("g") is None
    async with connect(broker, other) as client:
        assert (await client.request(make(), version)).error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE


async def test_find_coordinator_names_the_new_leader_and_committed_offsets_survive(broker: Broker) -> None:
    first = broker.groups.coordinator_node("g")
    commit = OffsetCommitRequest(
        group_id="g", generation_id_or_member_epoch=-1, member_id="",
        topics=[OffsetCommitRequestTopic(name="t", partitions=[
            OffsetCommitRequestPartition(partition_index=0, committed_offset=42, committed_metadata="")
        ])],
    )
    async with connect(broker, first) as client:
        answer = await client.request(commit, 5)
        assert answer.topics[0].partitions[0].error_code == ErrorCode.NONE
    _stop(broker, first)
    async with connect(broker, (first + 1) % 3) as client:
        found = await client.request(FindCoordinatorRequest(key="g", key_type=0), 3)
    assert found.error_code == ErrorCode.NONE and found.node_id not in (first, -1)
    async with connect(broker, found.node_id) as client:
        fetched = await client.request(
            OffsetFetchRequest(group_id="g", topics=[OffsetFetchRequestTopic(name="t", partition_indexes=[0])]), 5
        )
    assert (fetched.error_code, fetched.topics[0].partitions[0].committed_offset) == (ErrorCode.NONE, 42)
    for node in (0, 1, 2):
        if node in broker.cluster.live_nodes:
            _stop(broker, node)
    async with connect(broker, 0) as client:
        found = await client.request(FindCoordinatorRequest(key="g", key_type=0), 3)
    assert (found.error_code, found.node_id) == (ErrorCode.COORDINATOR_NOT_AVAILABLE, -1)


async def test_an_open_transaction_survives_its_coordinator_moving(broker: Broker) -> None:
    first = broker.transactions.coordinator_node("tx")
    async with connect(broker, first) as client:
        init = await client.request(InitProducerIdRequest(transactional_id="tx", transaction_timeout_ms=60000), 2)
        assert init.error_code == ErrorCode.NONE
        added = await client.request(AddOffsetsToTxnRequest(
            transactional_id="tx", producer_id=init.producer_id, producer_epoch=init.producer_epoch, group_id="g",
        ), 3)
        assert added.error_code == ErrorCode.NONE
    _stop(broker, first)
    second = broker.transactions.coordinator_node("tx")
    assert second not in (first, None)
    async with connect(broker, second) as client:
        ended = await client.request(EndTxnRequest(
            transactional_id="tx", producer_id=init.producer_id, producer_epoch=init.producer_epoch, committed=True,
        ), 3)
    assert ended.error_code == ErrorCode.NONE
