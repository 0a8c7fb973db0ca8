"""Transactions through the handlers: a producer's requests as real clients send them, and
what Fetch, ListOffsets, OffsetFetch and DescribeProducers then answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from kafkalite.broker.cluster import BrokerNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.server.dispatch import load_handlers
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from kafkalite.wire.messages.add_partitions_to_txn import AddPartitionsToTxnRequest, AddPartitionsToTxnTopic
from kafkalite.wire.messages.describe_producers import DescribeProducersRequest, TopicRequest
from kafkalite.wire.messages.end_txn import EndTxnRequest
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.init_producer_id import InitProducerIdRequest
from kafkalite.wire.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from kafkalite.wire.messages.list_transactions import ListTransactionsRequest
from kafkalite.wire.messages.describe_transactions import DescribeTransactionsRequest
from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.messages.txn_offset_commit import (
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
)
from kafkalite.wire.records import NewRecord, build_batch

from kafkalite.wire.batch import iter_batches
from kafkalite.wire.records import decode_records

from .conftest import Client
from .test_produce_fetch import fetch_request, now_ms
from ..groups.helpers import connect

READ_COMMITTED = 1


def values_of(records) -> list[bytes]:
    """The data records of a record set, control batches (markers) left out."""
    data = bytes(records or b"")
    return [
        r.value
        for pos, header in iter_batches(data)
        if not header.is_control
        for r in decode_records(data[pos : pos + header.size])
    ]


def visible(partition) -> list[bytes]:
    """What a read_committed client shows of a fetched partition: it drops the batches of
    each aborted transaction (from its first offset to its ABORT marker) and the markers."""
    data = bytes(partition.records or b"")
    aborted = {a.producer_id: a.first_offset for a in partition.aborted_transactions or []}
    out = []
    for pos, header in iter_batches(data):
        start = aborted.get(header.producer_id)
        if header.is_control:
            if start is not None and header.base_offset >= start:
                del aborted[header.producer_id]  # its ABORT marker ends the aborted range
            continue
        if start is not None and header.base_offset >= start:
            continue
        out.extend(r.value for r in decode_records(data[pos : pos + header.size]))
    return out


class TxnProducer:
    """A transactional producer over one connection, sending what librdkafka sends."""

    def __init__(self, client: Client, transactional_id: str = "tx") -> None:
        self.client = client
        self.transactional_id = transactional_id
        self.producer_id = -1
        self.epoch = -1
        self.sequence: dict[tuple[str, int], int] = {}

    async def init(self, timeout_ms: int = 60_000) -> int:
        response = await self.client.request(
            InitProducerIdRequest(transactional_id=self.transactional_id, transaction_timeout_ms=timeout_ms), 4
        )
        if response.error_code == E.NONE:
            self.producer_id, self.epoch = response.producer_id, response.producer_epoch
            self.sequence.clear()
        return response.error_code

    async def add(self, topic: str, *partitions: int) -> list[int]:
        response = await self.client.request(AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=self.transactional_id, v3_and_below_producer_id=self.producer_id,
            v3_and_below_producer_epoch=self.epoch,
            v3_and_below_topics=[AddPartitionsToTxnTopic(name=topic, partitions=list(partitions))],
        ), 3)
        return [p.partition_error_code for t in response.results_by_topic_v3_and_below for p in t.results_by_partition]

    async def send(self, topic: str, *values: bytes, partition: int = 0, version: int = 9) -> tuple[int, int]:
        sequence = self.sequence.get((topic, partition), 0)
        records = build_batch(
            [NewRecord(None, v, timestamp=now_ms()) for v in values], producer_id=self.producer_id,
            producer_epoch=self.epoch, base_sequence=sequence, transactional=True,
        )
        response = await self.client.request(ProduceRequest(
            transactional_id=self.transactional_id, acks=-1, timeout_ms=1000,
            topic_data=[TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=records)])],
        ), version)
        answer = response.responses[0].partition_responses[0]
        if answer.error_code == E.NONE:
            self.sequence[(topic, partition)] = sequence + len(values)
        return answer.error_code, answer.base_offset

    async def end(self, commit: bool) -> int:
        response = await self.client.request(EndTxnRequest(
            transactional_id=self.transactional_id, producer_id=self.producer_id, producer_epoch=self.epoch,
            committed=commit,
        ), 3)
        return response.error_code


@pytest.fixture
def broker() -> Broker:
    load_handlers()
    broker = Broker.create(BrokerConfig(memory=True, transaction_state_partitions=3, offsets_topic_partitions=3))
    broker.cluster.set_node(BrokerNode(0, "localhost", 9092))
    broker.create_topic("t", 2)
    return broker


@pytest.fixture
async def client(broker: Broker, nursery: trio.Nursery) -> Client:
    broker.start_background(nursery.start_soon)
    return connect(broker, nursery)


async def fetch(client: Client, offset: int = 0, *, committed: bool = False, version: int = 12):
    response = await client.request(fetch_request("t", offset, isolation_level=READ_COMMITTED if committed else 0), version)
    return response.responses[0].partitions[0]


async def latest(client: Client, *, committed: bool) -> int:
    response = await client.request(ListOffsetsRequest(
        replica_id=-1, isolation_level=READ_COMMITTED if committed else 0,
        topics=[ListOffsetsTopic(name="t", partitions=[ListOffsetsPartition(partition_index=0, timestamp=-1)])],
    ), 5)
    return response.topics[0].partitions[0].offset


async def test_find_coordinator_for_a_transactional_id(client: Client, broker: Broker) -> None:
    response = await client.request(FindCoordinatorRequest(key="tx", key_type=1), 3)
    assert (response.error_code, response.node_id) == (E.NONE, 0)
    assert broker.cluster.topic("__transaction_state").is_internal


async def test_commit_abort_commit_read_committed_and_uncommitted(client: Client) -> None:
    producer = TxnProducer(client)
    assert await producer.init() == E.NONE
    for commit, values in ((True, [b"a", b"b"]), (False, [b"x"]), (True, [b"c"])):
        assert await producer.add("t", 0) == [E.NONE]
        assert (await producer.send("t", *values))[0] == E.NONE
        assert await producer.end(commit) == E.NONE
    # a, b, COMMIT, x, ABORT, c, COMMIT: markers take offsets.
    uncommitted = await fetch(client)
    assert values_of(uncommitted.records) == [b"a", b"b", b"x", b"c"]
    assert (uncommitted.high_watermark, uncommitted.last_stable_offset, uncommitted.aborted_transactions) == (7, 7, None)
    committed = await fetch(client, committed=True)
    assert [(a.producer_id, a.first_offset) for a in committed.aborted_transactions] == [(producer.producer_id, 3)]
    assert visible(committed) == [b"a", b"b", b"c"]
    assert await latest(client, committed=True) == 7


async def test_an_open_transaction_holds_the_last_stable_offset(client: Client) -> None:
    producer = TxnProducer(client)
    await producer.init()
    await producer.add("t", 0)
    await producer.send("t", b"a", b"b")
    committed = await fetch(client, committed=True)
    assert (committed.high_watermark, committed.last_stable_offset, values_of(committed.records)) == (2, 0, [])
    assert await latest(client, committed=True) == 0
    assert await latest(client, committed=False) == 2
    assert await producer.end(True) == E.NONE
    assert visible(await fetch(client, committed=True)) == [b"a", b"b"]


async def test_a_partition_not_added_is_refused(client: Client) -> None:
    producer = TxnProducer(client)
    await producer.init()
    await producer.add("t", 0)
    assert (await producer.send("t", b"x", partition=1, version=9))[0] == E.INVALID_TXN_STATE
    assert (await producer.send("t", b"x", partition=1, version=11))[0] == E.TRANSACTION_ABORTABLE
    # Produce v12 (transactions v2) adds nothing implicitly: no transaction.version is finalized.
    assert (await producer.send("t", b"x", partition=1, version=12))[0] == E.TRANSACTION_ABORTABLE


async def test_a_new_incarnation_fences_the_old_and_aborts_its_transaction(client: Client, broker: Broker, nursery) -> None:
    old = TxnProducer(client)
    await old.init()
    await old.add("t", 0)
    await old.send("t", b"zombie")
    new = TxnProducer(connect(broker, nursery))
    # The open transaction of the previous incarnation is aborted first; the client retries.
    assert await new.init() == E.CONCURRENT_TRANSACTIONS
    assert await new.init() == E.NONE
    assert new.producer_id == old.producer_id and new.epoch > old.epoch
    assert (await old.send("t", b"late"))[0] in (E.INVALID_PRODUCER_EPOCH, E.PRODUCER_FENCED)
    assert await old.end(True) == E.PRODUCER_FENCED
    committed = await fetch(client, committed=True)
    assert visible(committed) == [] and committed.last_stable_offset == committed.high_watermark


async def test_transactional_offsets_wait_for_the_commit(client: Client, broker: Broker) -> None:
    producer = TxnProducer(client)
    await producer.init()
    await producer.add("t", 0)
    response = await client.request(AddOffsetsToTxnRequest(
        transactional_id="tx", producer_id=producer.producer_id, producer_epoch=producer.epoch, group_id="g"), 3)
    assert response.error_code == E.NONE
    response = await client.request(TxnOffsetCommitRequest(
        transactional_id="tx", group_id="g", producer_id=producer.producer_id, producer_epoch=producer.epoch,
        topics=[TxnOffsetCommitRequestTopic(name="t", partitions=[
            TxnOffsetCommitRequestPartition(partition_index=0, committed_offset=42, committed_metadata="")])],
    ), 3)
    assert response.topics[0].partitions[0].error_code == E.NONE

    async def committed(stable: bool) -> tuple[int, int]:
        r = await client.request(OffsetFetchRequest(group_id="g", require_stable=stable, topics=[
            OffsetFetchRequestTopic(name="t", partition_indexes=[0])]), 7)
        p = r.topics[0].partitions[0]
        return p.committed_offset, p.error_code

    assert await committed(stable=True) == (-1, E.UNSTABLE_OFFSET_COMMIT)
    assert await committed(stable=False) == (-1, E.NONE)
    assert await producer.end(True) == E.NONE
    assert await committed(stable=True) == (42, E.NONE)


async def test_txn_offset_commit_outside_the_transaction_is_refused(client: Client) -> None:
    producer = TxnProducer(client)
    await producer.init()
    response = await client.request(TxnOffsetCommitRequest(
        transactional_id="tx", group_id="g", producer_id=producer.producer_id, producer_epoch=producer.epoch,
        topics=[TxnOffsetCommitRequestTopic(name="t", partitions=[
            TxnOffsetCommitRequestPartition(partition_index=0, committed_offset=1, committed_metadata="")])],
    ), 3)
    assert response.topics[0].partitions[0].error_code == E.INVALID_TXN_STATE


async def test_admin_views(client: Client) -> None:
    producer = TxnProducer(client)
    await producer.init()
    await producer.add("t", 0, 1)
    await producer.send("t", b"a", partition=1)
    listed = await client.request(ListTransactionsRequest(state_filters=["Ongoing"], producer_id_filters=[]), 0)
    assert [(t.transactional_id, t.transaction_state) for t in listed.transaction_states] == [("tx", "Ongoing")]
    described = await client.request(DescribeTransactionsRequest(transactional_ids=["tx", "nope"]), 0)
    tx, nope = described.transaction_states
    assert (tx.error_code, tx.transaction_state, [(t.topic, sorted(t.partitions)) for t in tx.topics]) == (
        E.NONE, "Ongoing", [("t", [0, 1])])
    assert nope.error_code == E.TRANSACTIONAL_ID_NOT_FOUND
    producers = await client.request(DescribeProducersRequest(topics=[TopicRequest(name="t", partition_indexes=[1])]), 0)
    [state] = producers.topics[0].partitions[0].active_producers
    assert (state.producer_id, state.current_txn_start_offset, state.last_sequence) == (producer.producer_id, 0, 0)


async def test_an_open_transaction_survives_a_restart_and_completes(tmp_path: Path, nursery: trio.Nursery) -> None:
    load_handlers()
    config = BrokerConfig(data_dir=tmp_path, transaction_state_partitions=3)
    broker = Broker.create(config)
    broker.cluster.set_node(BrokerNode(0, "localhost", 9092))
    broker.create_topic("t", 1)
    client = connect(broker, nursery)
    producer = TxnProducer(client)
    await producer.init()
    for commit in (False, True):
        await producer.add("t", 0)
        await producer.send("t", b"aborted" if not commit else b"committed")
        await producer.end(commit)
    await producer.add("t", 0)
    await producer.send("t", b"open")
    broker.close()

    again = Broker.create(config)
    again.cluster.set_node(BrokerNode(0, "localhost", 9092))
    client = connect(again, nursery)
    committed = await fetch(client, committed=True)
    assert visible(committed) == [b"committed"]
    assert committed.last_stable_offset == 4  # the open transaction's first offset
    assert [a.first_offset for a in committed.aborted_transactions] == [0]
    assert again.log_for("t", 0).txn_index_entries()  # rebuilt or kept: the abort is indexed
    producer.client = client
    assert await producer.end(True) == E.NONE
    assert visible(await fetch(client, committed=True)) == [b"committed", b"open"]
    again.close()


async def test_delete_records_stops_at_an_open_transaction(client: Client, broker: Broker) -> None:
    from kafkalite.wire.messages.delete_records import DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic

    plain = TxnProducer(client, "other")
    await plain.init()
    await plain.add("t", 0)
    await plain.send("t", b"a", b"b")
    await plain.end(True)  # offsets 0-1 and the marker at 2
    producer = TxnProducer(client)
    await producer.init()
    await producer.add("t", 0)
    await producer.send("t", b"open")  # offset 3: the first unstable offset
    await plain.add("t", 0)
    await plain.send("t", b"later")
    await plain.end(True)
    response = await client.request(DeleteRecordsRequest(
        topics=[DeleteRecordsTopic(name="t", partitions=[DeleteRecordsPartition(partition_index=0, offset=-1)])],
        timeout_ms=1000,
    ), 2)
    assert response.topics[0].partitions[0].low_watermark == 3
    assert await producer.end(False) == E.NONE
    assert broker.log_for("t", 0).log_start_offset == 3
