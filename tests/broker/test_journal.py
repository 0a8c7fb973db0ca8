"""The request journal (kafkalite.broker.journal) and the facts it reads from messages
(kafkalite.broker.message_facts), fed by the dispatcher over an in-memory connection."""

from __future__ import annotations

import json

import pytest

from kafkalite.broker.journal import Journal, api_matches
from kafkalite.broker.message_facts import error_codes, group_ids, topic_partitions
from kafkalite.broker.state import Broker
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.fetch import FetchRequest
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.produce import (
    PartitionProduceResponse,
    ProduceResponse,
    TopicProduceResponse,
)

from .conftest import Client, make_broker
from .test_produce_fetch import batch, fetch_request, produce, produce_request


@pytest.fixture
def broker() -> Broker:
    return make_broker(journal_size=100)


@pytest.fixture
def topic(broker: Broker) -> str:
    broker.create_topic("t", 2)
    return "t"


def record(journal: Journal, api_key: int = 18, api: str = "ApiVersions", *, request=None, response=None,
           time_ms: int = 1000, client_id: str | None = "c") -> object:
    return journal.record(
        api_key=api_key, api=api, api_version=3, correlation_id=1, client_id=client_id, peer="p", node_id=0,
        request=request if request is not None else ApiVersionsRequest(), response=response,
        time_ms=time_ms, elapsed_ms=0.5,
    )


# -- message facts -----------------------------------------------------------------------


def test_error_codes_are_found_at_the_top_level_and_per_partition() -> None:
    response = ProduceResponse(responses=[
        TopicProduceResponse(name="t", partition_responses=[
            PartitionProduceResponse(index=0, error_code=0),
            PartitionProduceResponse(index=1, error_code=6),
            PartitionProduceResponse(index=2, error_code=6),
        ]),
    ])
    assert error_codes(response) == [6, 6]
    assert error_codes(None) == []


def test_topics_and_partitions_of_requests_of_several_layouts() -> None:
    assert set(topic_partitions(produce_request("t", b"", partition=1))) == {("t", 1)}
    assert set(topic_partitions(fetch_request("u", 0, partition=3))) == {("u", 3)}
    assert set(topic_partitions(MetadataRequest(topics=[MetadataRequestTopic(name="m")]))) == {("m", None)}
    commit = OffsetCommitRequest(group_id="g", topics=[
        OffsetCommitRequestTopic(name="o", partitions=[OffsetCommitRequestPartition(partition_index=2)])])
    assert set(topic_partitions(commit)) == {("o", 2)}
    assert group_ids(commit, 8) == {"g"}


def test_a_topic_id_is_resolved_by_the_callers_resolver() -> None:
    import uuid

    from kafkalite.wire.messages.fetch import FetchPartition, FetchTopic

    tid = uuid.uuid4()
    request = FetchRequest(topics=[FetchTopic(topic_id=tid, partitions=[FetchPartition(partition=0)])])
    assert set(topic_partitions(request, {tid: "named"}.get)) == {("named", 0)}


def test_find_coordinator_names_a_group_only_for_group_keys() -> None:
    assert group_ids(FindCoordinatorRequest(key="g", key_type=0), 10) == {"g"}
    assert group_ids(FindCoordinatorRequest(key="txn", key_type=1), 10) == set()
    assert group_ids(FindCoordinatorRequest(key_type=0, coordinator_keys=["a", "b"]), 10) == {"a", "b"}


def test_api_names_match_in_any_spelling_and_by_key() -> None:
    assert api_matches("OFFSET_COMMIT", 8, "OffsetCommit")
    assert api_matches("offsetcommit", 8, "OffsetCommit")
    assert api_matches(8, 8, "OffsetCommit") and api_matches("8", 8, "OffsetCommit")
    assert not api_matches("Produce", 8, "OffsetCommit")


# -- the journal on its own --------------------------------------------------------------


def test_capacity_keeps_the_newest_entries_and_resize_zero_turns_it_off() -> None:
    journal = Journal(capacity=3)
    for t in range(5):
        record(journal, time_ms=t)
    assert [e.time_ms for e in journal.entries()] == [2, 3, 4]
    assert [e.seq for e in journal.entries()] == [3, 4, 5]
    journal.resize(2)
    assert [e.time_ms for e in journal.entries()] == [3, 4]
    journal.resize(0)
    assert not journal.enabled and len(journal) == 0
    assert record(journal) is None
    assert Journal(capacity=0).enabled is False


def test_clear_empties_entries_and_api_counts_but_sequence_numbers_go_on() -> None:
    journal = Journal(capacity=10)
    record(journal)
    journal.clear()
    assert journal.entries() == [] and journal.apis() == {}
    assert record(journal).seq == 2


def test_query_filters_by_time_window_client_and_limit() -> None:
    journal = Journal(capacity=10)
    for t in range(6):
        record(journal, time_ms=100 * t, client_id="a" if t % 2 else "b")
    assert [e.time_ms for e in journal.query(since_ms=200, until_ms=400)] == [200, 300, 400]
    assert [e.time_ms for e in journal.query(client_id="a")] == [100, 300, 500]
    assert [e.time_ms for e in journal.query(limit=2)] == [400, 500]  # the newest, oldest first


def test_record_bytes_over_the_budget_are_dropped_oldest_first_and_said_so() -> None:
    journal = Journal(capacity=10, record_budget=250)
    one = batch(b"x" * 50)
    size = len(one)
    entries = [record(journal, 0, "Produce", request=produce_request("t", one)) for _ in range(250 // size + 1)]
    assert journal.record_bytes <= 250
    first, last = entries[0], entries[-1]
    assert first.records_dropped and first.record_sets() == []
    assert first.to_dict()["records"] == {"kept": False}
    # What the entry was about survives the drop: topic and partition, with null records.
    assert ("t", 0) in first.topics
    assert first.to_dict()["request"]["topic_data"][0]["partition_data"][0] == {"index": 0, "records": None}
    assert not last.records_dropped and last.to_dict()["records"] == {"bytes": size, "kept": True}
    assert [t for t, _p, _r in last.record_sets()] == ["t"]


def test_evicted_entries_give_their_record_bytes_back() -> None:
    journal = Journal(capacity=2)
    entries = [record(journal, 0, "Produce", request=produce_request("t", batch(b"v"))) for _ in range(5)]
    assert journal.record_bytes == 2 * len(batch(b"v"))
    assert [e.record_bytes for e in entries] == [0, 0, 0, len(batch(b"v")), len(batch(b"v"))]
    assert len(journal._holding) == 2  # evicted entries are not kept alive for the budget


def test_apis_count_every_request_whatever_the_capacity() -> None:
    journal = Journal(capacity=1)
    record(journal, 18, "ApiVersions", client_id="a")
    record(journal, 3, "Metadata", client_id="a", request=MetadataRequest())
    record(journal, 3, "Metadata", client_id="b", request=MetadataRequest())
    assert journal.apis() == {"ApiVersions": [3], "Metadata": [3]}
    assert journal.apis("b") == {"Metadata": [3]}
    assert journal.clients() == ["a", "b"]


# -- fed by the dispatcher ---------------------------------------------------------------


async def test_each_request_is_journalled_with_header_times_and_decoded_bodies(broker: Broker, client: Client,
                                                                               topic: str) -> None:
    broker.clock.freeze()
    await produce(client, topic, batch(b"a", b"b"), partition=1)
    await produce(client, "t", batch(b"c"), partition=5)  # no such partition: an error
    entries = broker.journal.query(api="Produce")
    assert len(entries) == 2
    first = entries[0].to_dict()
    assert first["api"] == "Produce" and first["api_version"] == 9 and first["client_id"] == "test"
    assert first["peer"] == "memory" and first["node_id"] == 0 and first["fault"] is None
    assert first["time_ms"] == broker.clock.wall_ms() and first["elapsed_ms"] >= 0
    assert first["errors"] == []
    assert first["response"]["responses"][0]["partition_responses"][0]["base_offset"] == 0
    assert entries[1].to_dict()["errors"] == [3]  # UNKNOWN_TOPIC_OR_PARTITION
    json.dumps([e.to_dict() for e in broker.journal.entries()])  # JSON-able


async def test_query_by_topic_and_partition(broker: Broker, client: Client, topic: str) -> None:
    await produce(client, topic, batch(b"a"), partition=0)
    await produce(client, topic, batch(b"b"), partition=1)
    await client.request(fetch_request(topic, 0, partition=1), 12)
    assert [e.api for e in broker.journal.query(topic="t", partition=1)] == ["Produce", "Fetch"]
    assert [e.api for e in broker.journal.query(topic="t", partition=0)] == ["Produce"]
    assert broker.journal.query(topic="other") == []


async def test_fetch_responses_hold_their_records_within_the_budget(broker: Broker, client: Client,
                                                                     topic: str) -> None:
    await produce(client, topic, batch(b"hello"))
    await client.request(fetch_request(topic, 0), 12)
    fetch = broker.journal.query(api="Fetch")[-1]
    assert fetch.record_bytes == len(batch(b"hello"))
    assert broker.journal.record_bytes == 2 * fetch.record_bytes
    rendered = json.loads(json.dumps(fetch.to_dict()))
    records = rendered["response"]["responses"][0]["partitions"][0]["records"]["records"]
    assert records["batches"][0]["count"] == 1 and rendered["records"] == {"bytes": fetch.record_bytes, "kept": True}


async def test_acks_0_produce_is_journalled_without_a_response(broker: Broker, client: Client, topic: str) -> None:
    await client.send_raw(client.encode_request(produce_request(topic, batch(b"z"), acks=0), 9))
    await client.request(ApiVersionsRequest(), 0)  # answered after the produce: it is done
    produce_entry = broker.journal.query(api=0)[0]
    assert produce_entry.response is None and produce_entry.to_dict()["response"] is None


async def test_a_journal_of_size_0_records_nothing(client: Client, nursery) -> None:
    broker = make_broker(journal_size=0)
    import trio.testing

    from kafkalite.server.connection import handle_connection

    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    other = Client(ours)
    await other.request(ApiVersionsRequest(), 3)
    assert not broker.journal.enabled and broker.journal.entries() == []
    assert broker.metrics.requests == {"ApiVersions": 1}  # the counters still count


async def test_reset_clears_the_journal(broker: Broker, client: Client) -> None:
    await client.request(ApiVersionsRequest(), 3)
    broker.reset()
    assert broker.journal.entries() == [] and broker.journal.apis() == {}


def test_journal_size_is_validated() -> None:
    from kafkalite.broker.settings import BrokerConfig

    with pytest.raises(ValueError):
        BrokerConfig(journal_size=-1)
    assert BrokerConfig().journal_size == 0  # off unless asked: run_in_thread and the fixtures ask


async def test_turning_the_journal_on_while_a_request_waits_keeps_the_connection(nursery, autojump_clock) -> None:
    import trio
    import trio.testing

    from kafkalite.server.connection import handle_connection

    broker = make_broker(journal_size=0)
    broker.create_topic("t", 1)
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    client = Client(ours)
    await client.send_raw(client.encode_request(fetch_request("t", 0, max_wait_ms=500), 12))
    await trio.testing.wait_all_tasks_blocked()
    broker.journal.resize(10)  # while the Fetch waits
    assert (await client.response_for(FetchRequest, 12, client.correlation_id)).error_code == 0
    await client.request(ApiVersionsRequest(), 3)
    assert [e.api for e in broker.journal.entries()] == ["ApiVersions"]  # the Fetch began before
