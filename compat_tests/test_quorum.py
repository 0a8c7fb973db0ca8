"""The controller quorum: DescribeQuorum through a broker (Kafka's too; raw, and with Kafka's
own Java admin client, which kafka-metadata-quorum.sh uses), and a cluster of three controllers
losing and regaining its majority under confluent-kafka and kafka-python."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafkalite import run_in_thread
from kafkalite.wire.messages.describe_quorum import (
    DescribeQuorumPartitionRequest,
    DescribeQuorumRequest,
    DescribeQuorumTopicRequest,
)

from .conftest import start_broker, stop_broker
from .test_admin_versions import JAVA
from .wire_client import WireClient

REQUEST_TIMED_OUT = 7
UNKNOWN_TOPIC_OR_PARTITION = 3

_cluster = pytest.mark.kafkalite_only(
    reason="three dedicated controllers stopped and started: the reference runs one combined KRaft node"
)


def _describe(topic: str = "__cluster_metadata", partitions: list[int] | None = None) -> DescribeQuorumRequest:
    return DescribeQuorumRequest(topics=[DescribeQuorumTopicRequest(
        topic_name=topic, partitions=[DescribeQuorumPartitionRequest(partition_index=p) for p in partitions or [0]],
    )])


@pytest.mark.parametrize("version", [0, 1, 2])
def test_a_broker_answers_describe_quorum_for_the_active_controller(bootstrap: str, version: int) -> None:
    with WireClient(bootstrap) as client:
        response = client.request(_describe(), version)
    assert response.error_code == 0
    (topic,) = response.topics
    (partition,) = topic.partitions
    assert topic.topic_name == "__cluster_metadata" and partition.partition_index == 0
    assert partition.error_code == 0
    voters = {v.replica_id: v for v in partition.current_voters}
    assert partition.leader_id in voters and partition.leader_epoch >= 1
    leader = voters[partition.leader_id]
    assert 0 < partition.high_watermark <= leader.log_end_offset
    if version >= 1:  # the leader reports itself fetched and caught up now
        assert leader.last_fetch_timestamp > 0 and leader.last_caught_up_timestamp == leader.last_fetch_timestamp
    if version >= 2:
        assert sorted(n.node_id for n in response.nodes) == sorted(voters)


def test_describe_quorum_of_another_partition_is_unknown(bootstrap: str) -> None:
    with WireClient(bootstrap) as client:
        response = client.request(_describe("__cluster_metadata", [1]), 1)
    assert response.topics[0].partitions[0].error_code == UNKNOWN_TOPIC_OR_PARTITION


def _create_confluent(admin: AdminClient, name: str, timeout_s: float) -> None:
    admin.create_topics([NewTopic(name, 1, 1)], operation_timeout=timeout_s, request_timeout=30)[name].result()


@_cluster
def test_confluent_metadata_changes_need_a_majority_of_controllers_and_produce_does_not() -> None:
    with run_in_thread(controllers=3) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
        broker.create_topic("orders")
        broker.stop_node(broker.controller_ids[0])
        _create_confluent(admin, f"one-down-{uuid.uuid4().hex[:6]}", 5)  # 2 of 3: a majority

        broker.stop_node(broker.controller_ids[1], clean=False)
        started = time.monotonic()
        with pytest.raises(KafkaException) as failure:
            _create_confluent(admin, "no-quorum", 1.5)
        took = time.monotonic() - started
        assert failure.value.args[0].code() == KafkaError.REQUEST_TIMED_OUT
        assert 1.4 < took < 10
        producer.produce("orders", b"still written")  # the partition leader needs no quorum
        assert producer.flush(10) == 0
        assert broker.records("orders")[-1].value == b"still written"

        broker.start_node(broker.controller_ids[0])
        _create_confluent(admin, "quorum-back", 5)
        assert "quorum-back" in admin.list_topics(timeout=10).topics
        del producer, admin  # closed before the broker stops, not retrying to reach it


@_cluster
def test_kafka_python_metadata_changes_need_a_majority_of_controllers() -> None:
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic as KpNewTopic
    from kafka.errors import RequestTimedOutError

    with run_in_thread(controllers=3) as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        try:
            broker.create_topic("orders")
            broker.stop_node(broker.controller_ids[2])
            admin.create_topics([KpNewTopic("one-down", 1, 1)], timeout_ms=5000)

            broker.stop_node(broker.controller_ids[0])
            started = time.monotonic()
            with pytest.raises(RequestTimedOutError):
                admin.create_topics([KpNewTopic("no-quorum", 1, 1)], timeout_ms=1500)
            assert 1.4 < time.monotonic() - started < 10
            producer.send("orders", b"still written").get(timeout=10)

            broker.start_node(broker.controller_ids[2])
            admin.create_topics([KpNewTopic("quorum-back", 1, 1)], timeout_ms=5000)
            assert "quorum-back" in admin.list_topics()
        finally:
            producer.close()
            admin.close()


def test_a_broker_refuses_describe_cluster_for_controllers(bootstrap: str) -> None:
    from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest

    with WireClient(bootstrap) as client:
        response = client.request(DescribeClusterRequest(endpoint_type=2), 1)
    # MISMATCHED_ENDPOINT_TYPE, the answering endpoint's type (BROKER) and nothing else
    assert (response.error_code, response.endpoint_type, response.brokers) == (114, 1, [])


def test_the_metadata_log_is_never_a_topic(bootstrap: str) -> None:
    from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest
    from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

    with WireClient(bootstrap) as client:
        for validate_only in (False, True):
            created = client.request(CreateTopicsRequest(
                topics=[CreatableTopic(name="__cluster_metadata", num_partitions=1, replication_factor=1)],
                timeout_ms=5000, validate_only=validate_only,
            ), 7).topics[0]
            assert (created.error_code, created.error_message) == (
                42, "Creation of internal topic __cluster_metadata is prohibited."
            )
        for _ in range(2):  # asked for twice: not created by the first answer either
            shown = client.request(MetadataRequest(
                topics=[MetadataRequestTopic(name="__cluster_metadata")], allow_auto_topic_creation=True
            ), 12).topics[0]
            assert (shown.error_code, shown.partitions) == (UNKNOWN_TOPIC_OR_PARTITION, [])


# -- Kafka's Java admin client: describeMetadataQuorum, what kafka-metadata-quorum.sh calls ----

_needs_java = pytest.mark.skipif(
    JAVA is None,
    reason="needs a JDK (javac) and the reference Kafka's jars: .ci/run installs and fetches both; locally, "
    "make test-kafka fetches the jars",
)


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """QuorumDescribe.java compiled once for the module."""
    assert JAVA is not None
    javac, _, libs = JAVA
    classes = tmp_path_factory.mktemp("quorum-java")
    source = Path(__file__).parent / "java" / "QuorumDescribe.java"
    subprocess.run([javac, "-cp", f"{libs}/*", "-d", str(classes), str(source)], check=True, timeout=120)
    return classes


def _java_describe(bootstrap: str, classes: Path) -> list[list[str]]:
    assert JAVA is not None
    _, java, libs = JAVA
    run = subprocess.run(
        [java, "-cp", f"{libs}/*{os.pathsep}{classes}", "QuorumDescribe", bootstrap],
        capture_output=True, text=True, timeout=120,
    )
    lines = [line.split() for line in run.stdout.splitlines() if line.split(" ")[0] in ("leader", "voter", "observer", "done")]
    assert run.returncode == 0 and lines and lines[-1] == ["done"], run.stdout + run.stderr
    return lines[:-1]


@_needs_java
def test_java_admin_client_describes_the_metadata_quorum(bootstrap: str, java_classes: Path) -> None:
    (_, leader, _, epoch, _, hw), *replicas = _java_describe(bootstrap, java_classes)
    voters = {r[1]: r for r in replicas if r[0] == "voter"}
    assert leader in voters and int(epoch) >= 1
    assert 0 < int(hw) <= int(voters[leader][3])
    assert voters[leader][5] != "-" and voters[leader][5] == voters[leader][7]  # fetched and caught up now


@_needs_java
@_cluster
def test_java_admin_client_sees_a_stopped_controller_lag(java_classes: Path) -> None:
    with run_in_thread(controllers=3) as broker:
        broker.stop_node(3000)
        broker.create_topic("lagging")
        (_, leader, _, epoch, _, hw), *replicas = _java_describe(broker.bootstrap_servers, java_classes)
    assert (leader, epoch) == ("3001", "2")
    ends = {r[1]: int(r[3]) for r in replicas if r[0] == "voter"}
    assert ends["3001"] == ends["3002"] == int(hw) > ends["3000"]
    assert [r[1] for r in replicas if r[0] == "observer"] == ["0"]


@_cluster
def test_serve_with_three_controllers_and_quorum_describe_on_the_command_line(tmp_path: Path) -> None:
    import sys

    proc, bootstrap = start_broker("--brokers", "3", "--controllers", "3", "--data-dir", str(tmp_path))
    try:
        run = subprocess.run(
            [sys.executable, "-m", "kafkalite", "quorum", "describe", "--replication", "--bootstrap-server", bootstrap],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        assert stop_broker(proc) == 0
    assert run.returncode == 0, run.stderr
    rows = [line.split() for line in run.stdout.splitlines()[1:]]
    assert [(row[0], row[-1]) for row in rows] == [
        ("3000", "Leader"), ("3001", "Follower"), ("3002", "Follower"),
        ("0", "Observer"), ("1", "Observer"), ("2", "Observer"),
    ]
    assert {row[3] for row in rows} == {"0"}  # nobody lags
    assert sorted(p.name for p in tmp_path.glob("controller-*")) == ["controller-3000", "controller-3001", "controller-3002"]
