"""Topic administration with kafka-python's KafkaAdminClient (a pure-Python client)."""

from __future__ import annotations

from typing import Iterator

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions
from kafka.errors import (
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidTopicError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)

from .conftest import eventually


@pytest.fixture
def admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        yield client
    finally:
        client.close()


def create(admin: KafkaAdminClient, topics: dict[str, dict]) -> None:
    admin.create_topics(topics)

    def listed() -> None:  # Kafka's broker serves a new topic a moment after CreateTopics answers
        assert set(topics) <= set(admin.list_topics()), f"{sorted(topics)} not all listed"

    eventually(listed)


def test_lists_brokers_and_controller(admin: KafkaAdminClient) -> None:
    cluster = admin.describe_cluster()
    assert cluster["cluster_id"]
    assert len(cluster["brokers"]) >= 1
    assert cluster["controller_id"] in {b["broker_id"] for b in cluster["brokers"]}


def test_created_topic_is_listed_with_its_partitions(admin: KafkaAdminClient, topic_name: str) -> None:
    create(admin, {topic_name: {"num_partitions": 3, "replication_factor": 1}})
    assert topic_name in admin.list_topics()
    (described,) = admin.describe_topics([topic_name])
    assert described["error_code"] == 0
    assert sorted(p["partition_index"] for p in described["partitions"]) == [0, 1, 2]


def test_duplicate_create_is_topic_already_exists(admin: KafkaAdminClient, topic_name: str) -> None:
    create(admin, {topic_name: {"num_partitions": 1}})
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics({topic_name: {"num_partitions": 1}})


@pytest.mark.parametrize("bad", ["has space", "b" * 250, "."])
def test_invalid_topic_name_is_refused(admin: KafkaAdminClient, bad: str) -> None:
    with pytest.raises(InvalidTopicError):
        admin.create_topics({bad: {"num_partitions": 1}})


def test_describe_configs_shows_only_the_override_as_modified(admin: KafkaAdminClient, topic_name: str) -> None:
    create(admin, {topic_name: {"num_partitions": 1, "configs": {"retention.ms": "60000"}}})
    modified = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic_name)])
    configs = modified["topic"][topic_name]
    assert set(configs) == {"retention.ms"}
    assert configs["retention.ms"]["value"] == "60000"
    everything = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic_name)], config_filter="all"
    )["topic"][topic_name]
    assert everything["cleanup.policy"]["value"] == "delete"
    assert everything["segment.bytes"]["value"] == "1073741824"


def test_alter_configs_then_describe(admin: KafkaAdminClient, topic_name: str) -> None:
    create(admin, {topic_name: {"num_partitions": 1}})
    result = admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic_name, configs={"retention.ms": "3600000"})]
    )
    assert result["topic"][topic_name] == "OK"

    def described() -> None:
        # Kafka's broker applies the change from its metadata log a moment after answering.
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic_name)])["topic"][topic_name]
        assert configs.get("retention.ms", {}).get("value") == "3600000", configs.get("retention.ms")

    eventually(described)


@pytest.mark.parametrize("incremental", [True, False])
def test_alter_with_bad_value_reports_invalid_config(
    admin: KafkaAdminClient, topic_name: str, incremental: bool
) -> None:
    create(admin, {topic_name: {"num_partitions": 1}})
    result = admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic_name, configs={"segment.bytes": "lots"})],
        incremental=incremental,
    )
    assert InvalidConfigurationError.__name__ in result["topic"][topic_name]


def test_add_partitions(admin: KafkaAdminClient, topic_name: str) -> None:
    create(admin, {topic_name: {"num_partitions": 1}})
    admin.create_partitions({topic_name: NewPartitions(total_count=4)})

    def four_partitions() -> None:  # in Kafka's Metadata a moment after the answer
        (described,) = admin.describe_topics([topic_name])
        assert len(described["partitions"]) == 4

    eventually(four_partitions)


def test_shrinking_partitions_is_invalid_partitions(admin: KafkaAdminClient, topic_name: str) -> None:
    create(admin, {topic_name: {"num_partitions": 3}})
    with pytest.raises(InvalidPartitionsError):
        admin.create_partitions({topic_name: NewPartitions(total_count=1)})


def test_delete_topic(admin: KafkaAdminClient, topic_name: str) -> None:
    create(admin, {topic_name: {"num_partitions": 1}})
    admin.delete_topics([topic_name])

    def gone() -> None:  # from Kafka's Metadata a moment after DeleteTopics answers
        assert topic_name not in admin.list_topics()

    eventually(gone)


def test_delete_unknown_topic_is_unknown_topic(admin: KafkaAdminClient, topic_name: str) -> None:
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics([topic_name])
