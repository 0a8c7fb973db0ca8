"""What the fuzzer found, pinned: each case once crashed or misbehaved the broker."""

from __future__ import annotations

import uuid
from typing import AsyncIterator

import attrs
import pytest
import trio
import trio.testing

from kafkalite.broker.registry import HANDLERS
from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

from tests.broker.conftest import Client, make_broker


@pytest.fixture
def broker() -> Broker:
    return make_broker()


@pytest.fixture
async def client(broker: Broker, nursery: trio.Nursery) -> AsyncIterator[Client]:
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, broker.config.node_id)
    yield Client(ours)
    await ours.aclose()


@pytest.mark.parametrize("version", [10, 11])
async def test_metadata_v10_v11_null_name_or_topic_id_is_invalid_request(client: Client, version: int) -> None:
    # Found: a null topic name at v10-11 was echoed into a response whose name is not
    # nullable before v12, and encoding it killed the broker.
    null_name = MetadataRequestTopic(name=None, topic_id=uuid.UUID(int=5))
    response = await client.request(MetadataRequest(topics=[null_name]), version)
    assert [(t.error_code, t.name) for t in response.topics] == [(ErrorCode.INVALID_REQUEST, "")]
    by_id = MetadataRequestTopic(name="t", topic_id=uuid.UUID(int=5))
    response = await client.request(MetadataRequest(topics=[by_id]), version)
    assert [(t.error_code, t.name) for t in response.topics] == [(ErrorCode.INVALID_REQUEST, "t")]


async def test_metadata_v12_topic_id_lookup_still_answers_unknown_topic_id(client: Client) -> None:
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name=None, topic_id=uuid.UUID(int=5))]), 12)
    assert [(t.error_code, t.name) for t in response.topics] == [(ErrorCode.UNKNOWN_TOPIC_ID, None)]


async def test_handler_failure_answers_unknown_server_error_and_keeps_serving(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = HANDLERS[3]

    async def broken(ctx: object, request: object) -> object:
        raise KeyError("a bug")

    monkeypatch.setitem(HANDLERS, 3, attrs.evolve(spec, fn=broken))
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 9)
    assert [t.error_code for t in response.topics] == [ErrorCode.UNKNOWN_SERVER_ERROR]
    assert (await client.request(ApiVersionsRequest(), 0)).error_code == 0  # same connection, still served


async def test_response_that_cannot_be_encoded_closes_only_that_connection(
    broker: Broker, client: Client, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spec = HANDLERS[3]

    async def unencodable(ctx: object, request: object) -> object:
        return object()

    monkeypatch.setitem(HANDLERS, 3, attrs.evolve(spec, fn=unencodable))
    await client.send_raw(client.encode_request(MetadataRequest(topics=[]), 9))
    assert await client.receive_frame() is None
    assert "internal error" in caplog.text
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, broker.config.node_id)
    assert (await Client(ours).request(ApiVersionsRequest(), 0)).error_code == 0
    await ours.aclose()


@pytest.mark.parametrize("internal", ["__consumer_offsets", "__transaction_state"])
async def test_metadata_recreates_an_internal_topic_deleted_after_first_use(client: Client, internal: str) -> None:
    # Found: Metadata for an internal topic deleted after its coordinator had cached its
    # partition count raised KeyError (UNKNOWN_SERVER_ERROR since; the broker died before).
    from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest

    first = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name=internal)]), 9)
    assert first.topics[0].error_code == 0
    deleted = await client.request(DeleteTopicsRequest(topic_names=[internal], timeout_ms=1000), 3)
    assert deleted.responses[0].error_code == 0
    again = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name=internal)]), 9)
    assert (again.topics[0].error_code, len(again.topics[0].partitions)) == (0, len(first.topics[0].partitions))


@pytest.mark.parametrize("validate_only", [False, True])
async def test_creating_more_partitions_than_one_controller_batch_is_policy_violation(
    client: Client, validate_only: bool
) -> None:
    # Found: CreatePartitions to 2**31 - 1 partitions stalled the broker building them. Kafka's
    # controller refuses an operation of more than 10,000 metadata records.
    from kafkalite.wire.messages.create_partitions import CreatePartitionsRequest, CreatePartitionsTopic
    from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest

    def topic(name: str, partitions: int) -> CreatableTopic:
        return CreatableTopic(name=name, num_partitions=partitions, replication_factor=1)

    created = await client.request(CreateTopicsRequest(
        topics=[topic("huge", 2**31 - 1), topic("big", 10_000), topic("small", 1)], validate_only=validate_only), 5)
    assert [(t.name, t.error_code) for t in created.topics] == [
        ("huge", ErrorCode.POLICY_VIOLATION), ("big", ErrorCode.POLICY_VIOLATION), ("small", 0)]
    assert created.topics[0].error_message == "Unable to perform excessively large batch operation."
    if validate_only:
        return
    grown = await client.request(CreatePartitionsRequest(topics=[
        CreatePartitionsTopic(name="small", count=2**31 - 1, assignments=None)], timeout_ms=1000, validate_only=False), 1)
    assert [r.error_code for r in grown.results] == [ErrorCode.POLICY_VIOLATION]
    grown = await client.request(CreatePartitionsRequest(topics=[
        CreatePartitionsTopic(name="small", count=10_001, assignments=None)], timeout_ms=1000, validate_only=False), 1)
    assert [r.error_code for r in grown.results] == [0]  # 10,000 new ones: one batch


def test_memory_files_list_a_folder_from_its_own_index() -> None:
    # Found with the fuzzer: listing a folder scanned every file, so a topic of 3,000
    # partitions took two minutes to create in memory, the broker stalled meanwhile.
    from pathlib import Path

    from kafkalite.storage.files import MemoryFiles

    files = MemoryFiles()
    root = Path("/d")
    files.makedirs(root / "t-0")
    files.makedirs(root / "t-1")
    files.open(root / "t-0" / "a.log")
    files.write_atomic(root / "t-0" / "b.tmp", b"x")
    files.rename(root / "t-0" / "b.tmp", root / "t-0" / "b.index")
    assert files.listdir(root) == ["t-0", "t-1"]
    assert files.listdir(root / "t-0") == ["a.log", "b.index"]
    files.remove(root / "t-0" / "a.log")
    assert files.listdir(root / "t-0") == ["b.index"]
    copy = files.snapshot()
    files.remove_tree(root / "t-0")
    assert files.listdir(root) == ["t-1"]
    assert not files.exists(root / "t-0")
    assert copy.listdir(root / "t-0") == ["b.index"]  # the snapshot has its own index
    files.makedirs(root / "t-0")
    assert files.listdir(root / "t-0") == []


def test_topic_of_thousands_of_partitions_is_created_in_memory_quickly() -> None:
    import time

    broker = make_broker()
    started = time.perf_counter()
    broker.create_topic("wide", num_partitions=3000)
    assert time.perf_counter() - started < 15  # 127 s before the index; ~0.5 s with it
