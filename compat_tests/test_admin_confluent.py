"""Topic administration with confluent-kafka's AdminClient (librdkafka)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)

from .conftest import eventually, wait_for_topic

TIMEOUT = 10


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def create(admin: AdminClient, *topics: NewTopic, **kwargs: object) -> None:
    for future in admin.create_topics(list(topics), **kwargs).values():
        future.result(TIMEOUT)
    if not kwargs.get("validate_only"):
        # Kafka answers once its controller has the topic; its broker serves it in Metadata
        # a moment later (the AdminClient says so). Wait for that, as a Kafka user must.
        for topic in topics:
            wait_for_topic(admin, topic.topic)


def error_of(future: object) -> KafkaError:
    with pytest.raises(KafkaException) as info:
        future.result(TIMEOUT)  # type: ignore[attr-defined]
    return info.value.args[0]


def test_lists_brokers_and_cluster_id(admin: AdminClient) -> None:
    md = admin.list_topics(timeout=TIMEOUT)
    assert len(md.brokers) >= 1
    assert md.cluster_id
    assert md.controller_id in md.brokers


def test_created_topic_is_listed_with_its_partitions(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=3, replication_factor=1))
    md = admin.list_topics(timeout=TIMEOUT)
    assert topic_name in md.topics
    partitions = md.topics[topic_name].partitions
    assert sorted(partitions) == [0, 1, 2]
    for p in partitions.values():
        assert p.leader in md.brokers
        assert p.replicas == [p.leader]
        assert p.isrs == [p.leader]


def test_default_partitions_and_replication(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name))  # -1 / -1: broker defaults (KIP-464)
    md = admin.list_topics(topic_name, timeout=TIMEOUT)
    assert len(md.topics[topic_name].partitions) >= 1


def test_duplicate_create_is_topic_already_exists(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=1))
    futures = admin.create_topics([NewTopic(topic_name, num_partitions=1)])
    assert error_of(futures[topic_name]).code() == KafkaError.TOPIC_ALREADY_EXISTS


@pytest.mark.parametrize("bad", ["has space", "a" * 250, "..", "slash/topic"])
def test_invalid_topic_name_is_refused(admin: AdminClient, bad: str) -> None:
    futures = admin.create_topics([NewTopic(bad, num_partitions=1)])
    assert error_of(futures[bad]).code() == KafkaError.TOPIC_EXCEPTION


def test_replication_factor_above_broker_count_is_refused(admin: AdminClient, topic_name: str) -> None:
    md = admin.list_topics(timeout=TIMEOUT)
    too_many = len(md.brokers) + 1
    futures = admin.create_topics([NewTopic(topic_name, num_partitions=1, replication_factor=too_many)])
    assert error_of(futures[topic_name]).code() == KafkaError.INVALID_REPLICATION_FACTOR


def test_validate_only_creates_nothing(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=2), validate_only=True)
    assert topic_name not in admin.list_topics(timeout=TIMEOUT).topics


def test_unknown_config_is_refused(admin: AdminClient, topic_name: str) -> None:
    futures = admin.create_topics([NewTopic(topic_name, num_partitions=1, config={"no.such.config": "1"})])
    assert error_of(futures[topic_name]).code() == KafkaError.INVALID_CONFIG


def describe_topic(admin: AdminClient, topic: str) -> dict[str, ConfigEntry]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result(TIMEOUT)


def test_describe_topic_configs_shows_defaults_and_overrides(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=1, config={"retention.ms": "60000"}))
    configs = describe_topic(admin, topic_name)
    assert configs["retention.ms"].value == "60000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["max.message.bytes"].value == "1048588"


def test_incremental_alter_then_describe(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=1))
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[
            ConfigEntry("retention.ms", "120000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
        ],
    )
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)
    configs = describe_topic(admin, topic_name)
    assert configs["retention.ms"].value == "120000"
    assert configs["cleanup.policy"].value == "delete,compact"


def test_alter_with_bad_value_is_invalid_config(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=1))
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[
            ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET),
        ],
    )
    err = error_of(admin.incremental_alter_configs([resource])[resource])
    assert err.code() == KafkaError.INVALID_CONFIG


def test_describe_broker_configs(admin: AdminClient) -> None:
    md = admin.list_topics(timeout=TIMEOUT)
    resource = ConfigResource(ConfigResource.Type.BROKER, str(md.controller_id))
    configs = admin.describe_configs([resource])[resource].result(TIMEOUT)
    assert "num.partitions" in configs
    assert "log.retention.hours" in configs or "log.retention.ms" in configs


def test_add_partitions(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=2))
    for future in admin.create_partitions([NewPartitions(topic_name, 5)]).values():
        future.result(TIMEOUT)

    def five_partitions() -> None:  # in Kafka's Metadata a moment after the answer
        md = admin.list_topics(topic_name, timeout=TIMEOUT)
        assert sorted(md.topics[topic_name].partitions) == [0, 1, 2, 3, 4]

    eventually(five_partitions)


def test_shrinking_partitions_is_invalid_partitions(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=3))
    err = error_of(admin.create_partitions([NewPartitions(topic_name, 2)])[topic_name])
    assert err.code() == KafkaError.INVALID_PARTITIONS


def test_delete_topic(admin: AdminClient, topic_name: str) -> None:
    create(admin, NewTopic(topic_name, num_partitions=1))
    for future in admin.delete_topics([topic_name]).values():
        future.result(TIMEOUT)

    def gone() -> None:  # from Kafka's Metadata a moment after the answer
        assert topic_name not in admin.list_topics(timeout=TIMEOUT).topics

    eventually(gone)


def test_delete_unknown_topic_is_unknown_topic(admin: AdminClient, topic_name: str) -> None:
    err = error_of(admin.delete_topics([topic_name])[topic_name])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_cluster(admin: AdminClient) -> None:
    desc = admin.describe_cluster().result(TIMEOUT)
    assert desc.cluster_id
    assert desc.controller is not None
    assert len(desc.nodes) >= 1
