"""Admin API versions of issue 17 with real clients, and raw requests for what no client sends.

kafka-python 3 speaks DescribeCluster v2, ListTransactions v2 (transactional id pattern),
DescribeTopicPartitions and DescribeLogDirs; confluent-kafka creates the transactions and
describes topics (librdkafka 2.16 does that with Metadata, not DescribeTopicPartitions); Kafka's
own Java admin client (the reference Kafka's jars) describes topics with
DescribeTopicPartitions and log dirs with DescribeLogDirs v5. CreateTopics v0-1 and DeleteTopics v0 go out through kafkalite's own codec:
Kafka 3.9 served them, Kafka 4 removed them (KIP-896).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient

from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest
from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest
from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest
from kafkalite.wire.messages.describe_log_dirs import DescribableLogDirTopic, DescribeLogDirsRequest
from kafkalite.wire.messages.describe_topic_partitions import DescribeTopicPartitionsRequest, TopicRequest
from kafkalite.wire.messages.list_transactions import ListTransactionsRequest

from .conftest import eventually, start_broker, stop_broker, wait_for_topic
from .wire_client import WireClient

TOPIC_AUTHORIZED_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
UNKNOWN_TOPIC_OR_PARTITION = 3
TOPIC_ALREADY_EXISTS = 36
INVALID_REGULAR_EXPRESSION = 128

REMOVED_IN_KAFKA_4 = "Kafka 4 removed this version (KIP-896); Kafka 3.9 served it, and kafkalite does"


@pytest.fixture
def admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        yield client
    finally:
        client.close()


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=15)
    wait_for_topic(admin, name, partitions)


# -- CreateTopics v0-1, DeleteTopics v0 ---------------------------------------------------


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_create_topics_v0_and_delete_topics_v0(bootstrap: str, topic_name: str) -> None:
    topic = CreatableTopic(name=topic_name, num_partitions=2, replication_factor=1)
    with WireClient(bootstrap) as client:
        created = client.request(CreateTopicsRequest(topics=[topic], timeout_ms=10000), 0)
        assert [(t.name, t.error_code) for t in created.topics] == [(topic_name, 0)]
        again = client.request(CreateTopicsRequest(topics=[topic], timeout_ms=10000), 0)
        assert again.topics[0].error_code == TOPIC_ALREADY_EXISTS
        deleted = client.request(DeleteTopicsRequest(topic_names=[topic_name, topic_name + "-x"], timeout_ms=10000), 0)
        assert [r.error_code for r in deleted.responses] == [0, UNKNOWN_TOPIC_OR_PARTITION]


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_create_topics_v1_validate_only_and_error_message(bootstrap: str, admin: KafkaAdminClient, topic_name: str) -> None:
    topic = CreatableTopic(name=topic_name, num_partitions=1, replication_factor=1)
    with WireClient(bootstrap) as client:
        checked = client.request(CreateTopicsRequest(topics=[topic], timeout_ms=10000, validate_only=True), 1)
        assert checked.topics[0].error_code == 0
        assert topic_name not in admin.list_topics()
        bad = CreatableTopic(name="has space", num_partitions=1, replication_factor=1)
        refused = client.request(CreateTopicsRequest(topics=[bad], timeout_ms=10000), 1)
        assert refused.topics[0].error_code == 17 and "illegal" in refused.topics[0].error_message


# -- DescribeCluster v2 -------------------------------------------------------------------


def test_describe_cluster_v2_marks_brokers_unfenced(bootstrap: str, admin: KafkaAdminClient) -> None:
    cluster = admin.describe_cluster()  # kafka-python asks v2 with include_fenced_brokers
    assert cluster["brokers"] and all(b["is_fenced"] is False for b in cluster["brokers"])
    with WireClient(bootstrap) as client:
        response = client.request(DescribeClusterRequest(include_fenced_brokers=False), 2)
    assert response.error_code == 0
    assert [b.is_fenced for b in response.brokers] == [False] * len(response.brokers)


# -- ListTransactions v2 ------------------------------------------------------------------


@pytest.fixture
def open_transactions(bootstrap: str, topic_name: str) -> Iterator[list[str]]:
    """Three transactional ids, each with a transaction left open on *topic_name*."""
    create_topic(bootstrap, topic_name, 1)
    prefix = "lt" + uuid.uuid4().hex[:8]
    ids = [f"{prefix}-app-1", f"{prefix}-app-22", f"{prefix}-other"]
    producers = []
    for transactional_id in ids:
        producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id})
        producer.init_transactions(15)
        producer.begin_transaction()
        producer.produce(topic_name, b"v")
        producer.flush(15)
        producers.append(producer)
    try:
        yield ids
    finally:
        for producer in producers:
            producer.abort_transaction(15)


def listed(admin: KafkaAdminClient, pattern: str) -> list[str]:
    return sorted(t.transactional_id for ts in admin.list_transactions(transactional_id_pattern=pattern).values() for t in ts)


def test_list_transactions_pattern_matches_whole_ids(admin: KafkaAdminClient, open_transactions: list[str]) -> None:
    app1, app22, other = open_transactions
    prefix = app1.split("-")[0]
    assert listed(admin, f"{prefix}-.*") == [app1, app22, other]
    assert listed(admin, f"{prefix}-app-\\d") == [app1]  # app-22 does not match as a whole
    assert listed(admin, "app") == []  # a part of an id is not a match
    assert listed(admin, f"{prefix}-(app-2+|oth.r)") == [app22, other]


def test_list_transactions_bad_pattern_is_invalid_regular_expression(bootstrap: str, open_transactions: list[str]) -> None:
    with WireClient(bootstrap) as client:
        response = client.request(ListTransactionsRequest(transactional_id_pattern="app-(["), 2)
        assert (response.error_code, response.transaction_states) == (INVALID_REGULAR_EXPRESSION, [])
        lookahead = client.request(ListTransactionsRequest(transactional_id_pattern="(?=x)app"), 2)
        assert lookahead.error_code == INVALID_REGULAR_EXPRESSION  # RE2 has no lookaround


# -- DescribeTopicPartitions v0 -----------------------------------------------------------


def test_describe_topic_partitions_pages_with_kafka_python(bootstrap: str, admin: KafkaAdminClient, topic_name: str) -> None:
    first, second = topic_name + "-a", topic_name + "-b"
    create_topic(bootstrap, first, 3)
    create_topic(bootstrap, second, 2)
    missing = topic_name + "-c"
    page = admin.describe_topic_partitions([second, first, missing], response_partition_limit=4)
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in page["topics"]] == [
        (first, [0, 1, 2]), (second, [0])
    ]
    assert page["next_cursor"] == {"topic_name": second, "partition_index": 1}
    rest = admin.describe_topic_partitions([second, first, missing], response_partition_limit=4, cursor=page["next_cursor"])
    assert [(t["name"], t["error_code"], [p["partition_index"] for p in t["partitions"]]) for t in rest["topics"]] == [
        (second, 0, [1]), (missing, UNKNOWN_TOPIC_OR_PARTITION, [])
    ]
    assert rest["next_cursor"] is None
    described = page["topics"][0]
    assert (described["is_internal"], described["topic_authorized_operations"]) == (False, TOPIC_AUTHORIZED_OPERATIONS)
    p = described["partitions"][0]
    assert p["leader_id"] >= 0 and p["leader_epoch"] >= 0
    assert p["replica_nodes"] == p["isr_nodes"] == [p["leader_id"]]
    assert p["offline_replicas"] == []


def test_describe_topic_partitions_raw_details(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name, 1)
    unknown = topic_name + "-missing"
    with WireClient(bootstrap) as client:
        response = client.request(DescribeTopicPartitionsRequest(topics=[TopicRequest(name=topic_name), TopicRequest(name=unknown)]), 0)
    known, missing = response.topics
    assert known.topic_id != uuid.UUID(int=0)
    (p,) = known.partitions
    # no ELR for a partition whose ISR is whole: empty lists, not null
    assert (p.eligible_leader_replicas, p.last_known_elr) == ([], [])
    assert (missing.error_code, missing.topic_id, missing.partitions) == (UNKNOWN_TOPIC_OR_PARTITION, uuid.UUID(int=0), [])
    assert missing.topic_authorized_operations == TOPIC_AUTHORIZED_OPERATIONS


def test_confluent_describe_topics(bootstrap: str, topic_name: str) -> None:
    from confluent_kafka import TopicCollection

    create_topic(bootstrap, topic_name, 2)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_topics(TopicCollection([topic_name]), include_authorized_operations=True)[topic_name].result(15)
    assert [p.id for p in described.partitions] == [0, 1]
    assert described.topic_id is not None and not described.is_internal


# -- DescribeLogDirs ----------------------------------------------------------------------


def test_describe_log_dirs_with_kafka_python(bootstrap: str, admin: KafkaAdminClient, topic_name: str) -> None:
    create_topic(bootstrap, topic_name, 2)
    producer = Producer({"bootstrap.servers": bootstrap})
    for _ in range(10):
        producer.produce(topic_name, b"x" * 100, partition=1)
    assert producer.flush(15) == 0
    (answer,) = admin.describe_log_dirs({topic_name: [0, 1, 5]})
    (log_dir,) = answer["log_dirs"]
    assert log_dir["error_code"] == 0 and os.path.isabs(log_dir["log_dir"])
    (topic,) = log_dir["topics"]
    sizes = {p["partition_index"]: p["partition_size"] for p in topic["partitions"]}
    assert set(sizes) == {0, 1}  # a partition that does not exist is left out
    assert sizes[0] == 0 and sizes[1] > 1000
    assert all(p["offset_lag"] == 0 and p["is_future_key"] is False for p in topic["partitions"])


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_describe_log_dirs_versions(bootstrap: str, topic_name: str, version: int) -> None:
    create_topic(bootstrap, topic_name, 1)
    with WireClient(bootstrap) as client:
        asked = [DescribableLogDirTopic(topic=topic_name, partitions=[0]), DescribableLogDirTopic(topic=topic_name + "-x", partitions=[0])]

        def described() -> Any:
            # Kafka's broker creates the log a moment after Metadata shows the topic
            (result,) = client.request(DescribeLogDirsRequest(topics=asked), version).results
            assert [(t.name, [p.partition_index for p in t.partitions]) for t in result.topics] == [(topic_name, [0])]
            return result

        result = eventually(described)
        everything = client.request(DescribeLogDirsRequest(topics=None), version)
        assert topic_name in {t.name for t in everything.results[0].topics}
    if version >= 4:
        assert result.usable_bytes <= result.total_bytes


@pytest.mark.kafkalite_only(reason=REMOVED_IN_KAFKA_4)
def test_describe_log_dirs_v0(bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name, 1)
    with WireClient(bootstrap) as client:
        response = client.request(DescribeLogDirsRequest(topics=[DescribableLogDirTopic(topic=topic_name, partitions=[0])]), 0)
    # kafkalite creates the log before it answers CreateTopics: no need to wait
    assert [(t.name, len(t.partitions)) for t in response.results[0].topics] == [(topic_name, 1)]


@pytest.mark.kafkalite_only(reason="starts a kafkalite broker of its own on a data dir, to compare sizes with its files")
def test_describe_log_dirs_on_disk(tmp_path: Path) -> None:
    proc, address = start_broker("--data-dir", str(tmp_path / "data"))
    try:
        create_topic(address, "sized", 1)
        producer = Producer({"bootstrap.servers": address})
        for _ in range(20):
            producer.produce("sized", b"y" * 200)
        assert producer.flush(15) == 0
        admin = KafkaAdminClient(bootstrap_servers=address)
        try:
            (answer,) = admin.describe_log_dirs({"sized": [0]})
        finally:
            admin.close()
        (log_dir,) = answer["log_dirs"]
        assert log_dir["log_dir"] == str((tmp_path / "data").absolute())
        on_disk = sum(f.stat().st_size for f in (tmp_path / "data" / "sized-0").glob("*.log"))
        assert log_dir["topics"][0]["partitions"][0]["partition_size"] == on_disk > 4000
        st = os.statvfs(tmp_path)
        assert log_dir["total_bytes"] == st.f_blocks * st.f_frsize
        assert 0 < log_dir["usable_bytes"] <= log_dir["total_bytes"]
    finally:
        stop_broker(proc)


# -- Kafka's Java admin client (the reference Kafka's own jars) ---------------------------


def _java_tools() -> tuple[str, str, Path] | None:
    """(javac, java, jar folder) when a JDK and the reference Kafka's jars are here."""
    from .reference.kafka_reference import libs_dir

    javac, java = shutil.which("javac"), shutil.which("java")
    libs = libs_dir()
    if not (javac and java and libs.is_dir() and any(libs.glob("kafka-clients-*.jar"))):
        return None
    return javac, java, libs


JAVA = _java_tools()


@pytest.mark.skipif(
    JAVA is None,
    reason="needs a JDK (javac) and the reference Kafka's jars: .ci/run installs and fetches both; locally, "
    "make test-kafka fetches the jars",
)
def test_java_admin_client_describes_topics_and_log_dirs(bootstrap: str, topic_name: str, tmp_path: Path) -> None:
    # Kafka 4's admin client: describeTopics over DescribeTopicPartitions, describeCluster v2,
    # describeLogDirs at its newest version.
    assert JAVA is not None
    javac, java, libs = JAVA
    source = Path(__file__).parent / "java" / "AdminDescribe.java"
    subprocess.run([javac, "-cp", f"{libs}/*", "-d", str(tmp_path), str(source)], check=True, timeout=120)
    create_topic(bootstrap, topic_name, 2)
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic_name, b"z" * 100, partition=1)
    assert producer.flush(15) == 0
    run = subprocess.run(
        [java, "-cp", f"{libs}/*{os.pathsep}{tmp_path}", "AdminDescribe", bootstrap, topic_name],
        capture_output=True, text=True, timeout=120,
    )
    lines = [line for line in run.stdout.splitlines() if line.split(" ")[0] in ("partition", "internal", "logdir", "done")]
    assert run.returncode == 0 and lines[-1] == "done", run.stdout + run.stderr
    partitions = [line.split() for line in lines if line.startswith("partition ")]
    assert [p[1] for p in partitions] == ["0", "1"]
    assert all(p[3] == p[5] for p in partitions)  # the leader is the whole ISR
    assert "internal false" in lines
    sizes = {line.split()[2]: int(line.split()[3]) for line in lines if line.startswith("logdir ")}
    assert sizes[f"{topic_name}-0"] == 0 and sizes[f"{topic_name}-1"] > 100
