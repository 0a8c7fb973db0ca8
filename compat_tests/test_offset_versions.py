"""Every version of ListOffsets, OffsetCommit, OffsetFetch and OffsetForLeaderEpoch, from
the versions Kafka 4 removed (KIP-896; Kafka 3.9 served them) to Kafka 4.1's newest.

kafka-python pinned with ``api_version=(0, 8, 1)`` ... ``(0, 10, 0)`` sends the old versions
(each test records what it actually sent and asserts it); unpinned, it sends ListOffsets v11.
librdkafka 2.16 stops at OffsetCommit / OffsetFetch v9 even where v10 is advertised (asserted
from its protocol debug log), and no installed client sends OffsetCommit / OffsetFetch v10,
ListOffsets v0 with several offsets, or OffsetForLeaderEpoch v0-1: those go as raw requests
through kafkalite's own codec (compat_tests/wire_client.py), to kafkalite and to Kafka alike.
Tests of versions Kafka 4 removed are kafkalite_only.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as CkTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka.errors import UnsupportedVersionError
from kafka.structs import OffsetAndMetadata, TopicPartition

from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
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
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)
from kafkalite.wire.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)

from .conftest import eventually, wait_for_topic
from .wire_client import WireClient

REMOVED_IN_KAFKA_4 = "a version Kafka 4 removed (KIP-896); Kafka 3.9 served it"
LIST_OFFSETS, OFFSET_COMMIT, OFFSET_FETCH = 2, 8, 9
UNSUPPORTED_VERSION, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID = 35, 3, 100


@pytest.fixture
def topic(bootstrap: str, topic_name: str) -> str:
    """A topic of 2 partitions holding 5 records in partition 0, timestamps 1000..1004."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(timeout=30)
    wait_for_topic(admin, topic_name, 2)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(5):
        producer.produce(topic_name, b"v%d" % i, partition=0, timestamp=1000 + i)
    assert producer.flush(30) == 0
    return topic_name


@pytest.fixture
def group_id() -> str:
    return f"offsets-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> set[tuple[int, int]]:
    """(api key, version) of every request kafka-python sends during the test."""
    import kafka.net.connection as connection

    seen: set[tuple[int, int]] = set()
    original = connection.KafkaConnection._send_request

    def recording(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        future = original(self, request, *args, **kwargs)
        if request.API_VERSION is not None:  # None: no version both sides know, not sent
            seen.add((request.API_KEY, request.API_VERSION))
        return future

    monkeypatch.setattr(connection.KafkaConnection, "_send_request", recording)
    return seen


def pinned_consumer(bootstrap: str, group_id: str, api_version: tuple[int, ...] | None) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, api_version=api_version,
                         enable_auto_commit=False, request_timeout_ms=30_000)


def versions_of(sent: set[tuple[int, int]], api_key: int) -> set[int]:
    return {version for key, version in sent if key == api_key}


# -- kafka-python pinned to old brokers --------------------------------------------------------


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_kafka_python_0_8_1_lists_offsets_with_v0_and_cannot_use_zookeeper_offsets(
    bootstrap: str, topic: str, group_id: str, sent: set
) -> None:
    consumer = pinned_consumer(bootstrap, group_id, (0, 8, 1))
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        assert consumer.beginning_offsets([tp]) == {tp: 0}
        assert consumer.end_offsets([tp]) == {tp: 5}
        # v0 commits went to ZooKeeper: a Kafka 3.9 broker without it refuses them.
        with pytest.raises(UnsupportedVersionError):
            consumer.commit({tp: OffsetAndMetadata(3, "", -1)})
        with pytest.raises(UnsupportedVersionError):
            consumer.committed(tp)
    finally:
        consumer.close()
    assert versions_of(sent, LIST_OFFSETS) == {0}
    assert versions_of(sent, OFFSET_COMMIT) == {0}
    assert versions_of(sent, OFFSET_FETCH) == {0}


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_kafka_python_0_8_2_commits_with_v1_and_fetches_with_v1(
    bootstrap: str, topic: str, group_id: str, sent: set
) -> None:
    consumer = pinned_consumer(bootstrap, group_id, (0, 8, 2))
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        assert consumer.end_offsets([tp]) == {tp: 5}
        consumer.commit({tp: OffsetAndMetadata(3, "checkpoint", -1)})
        assert consumer.committed(tp, metadata=True) == OffsetAndMetadata(3, "checkpoint", -1)
    finally:
        consumer.close()
    assert versions_of(sent, OFFSET_COMMIT) == {1}
    assert versions_of(sent, OFFSET_FETCH) == {1}
    assert versions_of(sent, LIST_OFFSETS) == {0}


@pytest.mark.parametrize("api_version", [(0, 9), (0, 10, 0)])
def test_kafka_python_0_9_and_0_10_commit_with_v2_and_fetch_with_v1(
    bootstrap: str, topic: str, group_id: str, sent: set, api_version: tuple[int, ...]
) -> None:
    # Both versions are still in Kafka 4's ranges: this runs against the reference too.
    consumer = pinned_consumer(bootstrap, group_id, api_version)
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        consumer.assign(tps)
        consumer.commit({tps[0]: OffsetAndMetadata(4, "a", -1), tps[1]: OffsetAndMetadata(0, "b", -1)})
        assert consumer.committed(tps[0], metadata=True) == OffsetAndMetadata(4, "a", -1)
        assert consumer.committed(tps[1], metadata=True) == OffsetAndMetadata(0, "b", -1)
    finally:
        consumer.close()
    assert versions_of(sent, OFFSET_COMMIT) == {2}
    assert versions_of(sent, OFFSET_FETCH) == {1}


# -- the newest versions -----------------------------------------------------------------------


def test_kafka_python_lists_offsets_with_v11(bootstrap: str, topic: str, group_id: str, sent: set) -> None:
    consumer = pinned_consumer(bootstrap, group_id, None)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        assert consumer.beginning_offsets([tp]) == {tp: 0}
        assert consumer.end_offsets([tp]) == {tp: 5}
        found = consumer.offsets_for_times({tp: 1002})[tp]
        assert (found.offset, found.timestamp) == (2, 1002)
        assert consumer.offsets_for_times({tp: 5000}) == {tp: None}
    finally:
        consumer.close()
    assert versions_of(sent, LIST_OFFSETS) == {11}


def test_librdkafka_2_16_commits_and_fetches_with_v9(bootstrap: str, topic: str, group_id: str) -> None:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    log = logging.getLogger(f"librdkafka-{group_id}")
    log.addHandler(Capture())
    log.setLevel(logging.DEBUG)
    log.propagate = False
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False,
                         "debug": "protocol"}, logger=log)
    try:
        consumer.commit(offsets=[CkTopicPartition(topic, 0, 3)], asynchronous=False)
        [committed] = consumer.committed([CkTopicPartition(topic, 0)], timeout=30)
        assert (committed.offset, committed.error) == (3, None)
    finally:
        consumer.close()
    sent = {(m[1], int(m[2])) for line in lines for m in [re.search(r"Sent (\w+)Request \(v(\d+)", line)] if m}
    # librdkafka 2.16 knows v9 at most: the v10 that both brokers advertise is not used.
    assert {v for api, v in sent if api == "OffsetCommit"} == {9}
    assert {v for api, v in sent if api == "OffsetFetch"} == {9}


def coordinator_ready(client: WireClient, group_id: str) -> None:
    """Until the group's coordinator answers (Kafka loads __consumer_offsets first)."""

    def ready() -> None:
        [found] = client.request(FindCoordinatorRequest(key_type=0, coordinator_keys=[group_id]), 4).coordinators
        assert found.error_code == 0, found

    eventually(ready, timeout=60)


def topic_id(client: WireClient, topic: str) -> uuid.UUID:
    request = MetadataRequest(topics=[MetadataRequestTopic(topic_id=uuid.UUID(int=0), name=topic)],
                              allow_auto_topic_creation=False)
    [found] = client.request(request, 12).topics
    assert found.error_code == 0
    return found.topic_id


def by_id_commit(group_id: str, topics: list[tuple[uuid.UUID, list[int]]], offset: int) -> OffsetCommitRequest:
    return OffsetCommitRequest(group_id=group_id, generation_id_or_member_epoch=-1, member_id="", topics=[
        OffsetCommitRequestTopic(topic_id=tid, partitions=[
            OffsetCommitRequestPartition(partition_index=p, committed_offset=offset, committed_metadata="by-id")
            for p in partitions])
        for tid, partitions in topics
    ])


def by_id_fetch(group_id: str, topics: list[tuple[uuid.UUID, list[int]]] | None) -> OffsetFetchRequest:
    wanted = None if topics is None else [
        OffsetFetchRequestTopics(topic_id=tid, partition_indexes=ps) for tid, ps in topics]
    return OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id=group_id, topics=wanted)])


def test_offset_commit_and_fetch_v10_name_topics_by_id(bootstrap: str, topic: str, group_id: str) -> None:
    with WireClient(bootstrap) as client:
        coordinator_ready(client, group_id)
        tid, unknown = topic_id(client, topic), uuid.uuid4()
        response = eventually(lambda: _committed(client.request(
            by_id_commit(group_id, [(tid, [0, 9]), (unknown, [0])], 4), 10)))
        answers = {(t.topic_id, p.partition_index): p.error_code for t in response.topics for p in t.partitions}
        assert answers == {(tid, 0): 0, (tid, 9): UNKNOWN_TOPIC_OR_PARTITION, (unknown, 0): UNKNOWN_TOPIC_ID}

        [group] = client.request(by_id_fetch(group_id, [(tid, [0, 1]), (unknown, [0])]), 10).groups
        assert group.error_code == 0
        assert {(t.topic_id, p.partition_index): (p.committed_offset, p.metadata, p.error_code)
                for t in group.topics for p in t.partitions} == {
            (tid, 0): (4, "by-id", 0), (tid, 1): (-1, "", 0), (unknown, 0): (-1, "", UNKNOWN_TOPIC_ID),
        }
        [every] = client.request(by_id_fetch(group_id, None), 10).groups
        assert [(t.topic_id, [(p.partition_index, p.committed_offset) for p in t.partitions])
                for t in every.topics] == [(tid, [(0, 4)])]
        # The same offsets by name, as v9 and older clients see them.
        request = OffsetFetchRequest(group_id=group_id, topics=[OffsetFetchRequestTopic(name=topic, partition_indexes=[0])])
        [named] = client.request(request, 7).topics
        assert (named.name, named.partitions[0].committed_offset) == (topic, 4)


def _committed(response: Any) -> Any:
    """The response, once the coordinator took the commit (not loading or moving)."""
    codes = {p.error_code for t in response.topics for p in t.partitions}
    assert not codes & {14, 15, 16}, codes  # COORDINATOR_LOAD_IN_PROGRESS / _NOT_AVAILABLE, NOT_COORDINATOR
    return response


def list_offsets(topic: str, timestamp: int, *, max_num_offsets: int = 1) -> ListOffsetsRequest:
    return ListOffsetsRequest(replica_id=-1, topics=[ListOffsetsTopic(name=topic, partitions=[
        ListOffsetsPartition(partition_index=0, timestamp=timestamp, max_num_offsets=max_num_offsets)])],
        timeout_ms=30_000)


def test_list_offsets_v11_earliest_pending_upload_without_remote_storage(bootstrap: str, topic: str) -> None:
    with WireClient(bootstrap) as client:
        [p] = client.request(list_offsets(topic, -6), 11).topics[0].partitions
        assert (p.error_code, p.offset, p.timestamp, p.leader_epoch) == (0, -1, -1, -1)
        # Older versions do not know -6; no version knows -7.
        [p] = client.request(list_offsets(topic, -6), 10).topics[0].partitions
        assert p.error_code == UNSUPPORTED_VERSION
        [p] = client.request(list_offsets(topic, -7), 11).topics[0].partitions
        assert p.error_code == UNSUPPORTED_VERSION


# -- raw requests of versions Kafka 4 removed --------------------------------------------------


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_list_offsets_v0_answers_old_style_offsets(bootstrap: str, topic: str) -> None:
    with WireClient(bootstrap) as client:
        def offsets(timestamp: int, max_num_offsets: int) -> list[int]:
            [p] = client.request(list_offsets(topic, timestamp, max_num_offsets=max_num_offsets), 0).topics[0].partitions
            assert p.error_code == 0
            return p.old_style_offsets

        # One segment: its base offset, and the log end offset as of now.
        assert offsets(-1, 1) == [5]
        assert offsets(-1, 10) == [5, 0]
        assert offsets(-2, 10) == [0]
        assert offsets(int(time.time() * 1000) + 60_000, 10) == [5, 0]
        [p] = client.request(list_offsets(topic, -3), 0).topics[0].partitions
        assert (p.error_code, p.old_style_offsets) == (UNSUPPORTED_VERSION, [])


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_offset_commit_v1_with_a_commit_timestamp_and_v0_refused(bootstrap: str, topic: str, group_id: str) -> None:
    def commit(version: int, offset: int) -> int:
        request = OffsetCommitRequest(group_id=group_id, topics=[OffsetCommitRequestTopic(name=topic, partitions=[
            OffsetCommitRequestPartition(partition_index=0, committed_offset=offset, committed_metadata="v1",
                                         commit_timestamp=int(time.time() * 1000) - 1000)])])
        [p] = client.request(request, version).topics[0].partitions
        return p.error_code

    def fetch(version: int) -> tuple[int, int]:
        request = OffsetFetchRequest(group_id=group_id, topics=[OffsetFetchRequestTopic(name=topic, partition_indexes=[0])])
        [p] = client.request(request, version).topics[0].partitions
        return p.committed_offset, p.error_code

    with WireClient(bootstrap) as client:
        coordinator_ready(client, group_id)
        assert commit(1, 2) == 0
        assert fetch(1) == (2, 0)
        # v0 lived in ZooKeeper: a Kafka 3.9 broker without it refuses both.
        assert commit(0, 3) == UNSUPPORTED_VERSION
        assert fetch(0) == (-1, UNSUPPORTED_VERSION)
        assert fetch(1) == (2, 0)


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
@pytest.mark.parametrize("version", [0, 1])
def test_offset_for_leader_epoch_v0_and_v1(bootstrap: str, topic: str, version: int) -> None:
    request = OffsetForLeaderEpochRequest(topics=[OffsetForLeaderTopic(topic=topic, partitions=[
        OffsetForLeaderPartition(partition=0, leader_epoch=0)])])
    with WireClient(bootstrap) as client:
        [p] = client.request(request, version).topics[0].partitions
    # v0 has no leader epoch on the wire (decoded as -1); v1 names the epoch of the end offset.
    assert (p.error_code, p.end_offset, p.leader_epoch) == (0, 5, -1 if version == 0 else 0)
