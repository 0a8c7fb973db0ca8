from __future__ import annotations

import uuid

import pytest

from kafkalite.broker.state import Broker
from kafkalite.wire.messages.alter_configs import AlterableConfig, AlterConfigsRequest, AlterConfigsResource
from kafkalite.wire.messages.create_partitions import (
    CreatePartitionsAssignment,
    CreatePartitionsRequest,
    CreatePartitionsTopic,
)
from kafkalite.wire.messages.create_topics import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)
from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest, DeleteTopicState
from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest
from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource
from kafkalite.wire.messages import incremental_alter_configs as iac

from .conftest import Client


def topic(name: str, partitions: int = 1, rf: int = 1, **kw) -> CreatableTopic:
    return CreatableTopic(name=name, num_partitions=partitions, replication_factor=rf, **kw)


async def create(client: Client, *topics: CreatableTopic, version: int = 7, validate_only: bool = False):
    return await client.request(CreateTopicsRequest(topics=list(topics), validate_only=validate_only), version)


async def test_create_returns_id_partitions_and_configs(broker: Broker, client: Client) -> None:
    response = await create(client, topic("t", 3))
    (result,) = response.topics
    assert (result.error_code, result.num_partitions, result.replication_factor) == (0, 3, 1)
    assert result.topic_id == broker.cluster.topic("t").topic_id
    assert {c.name for c in result.configs} >= {"retention.ms", "cleanup.policy"}


@pytest.mark.parametrize(
    ("name", "partitions", "rf", "code"),
    [
        ("bad/name", 1, 1, 17),
        ("x" * 250, 1, 1, 17),
        ("..", 1, 1, 17),
        ("ok", 0, 1, 37),
        ("ok", 1, 2, 38),
        ("ok", 1, 0, 38),
    ],
)
async def test_create_errors(client: Client, name: str, partitions: int, rf: int, code: int) -> None:
    response = await create(client, topic(name, partitions, rf))
    assert response.topics[0].error_code == code
    assert response.topics[0].error_message


async def test_create_existing_is_topic_already_exists(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    assert (await create(client, topic("t"))).topics[0].error_code == 36


async def test_create_colliding_name_is_invalid_topic(broker: Broker, client: Client) -> None:
    broker.create_topic("a.b", 1)
    assert (await create(client, topic("a_b"))).topics[0].error_code == 17


async def test_duplicate_in_one_request_is_invalid_request(client: Client) -> None:
    response = await create(client, topic("t"), topic("t"))
    assert [t.error_code for t in response.topics] == [42, 42]


async def test_bad_config_is_invalid_config(broker: Broker, client: Client) -> None:
    bad = topic("t", configs=[CreatableTopicConfig(name="retention.ms", value="forever")])
    assert (await create(client, bad)).topics[0].error_code == 40
    assert broker.cluster.topic("t") is None


async def test_validate_only_creates_nothing(broker: Broker, client: Client) -> None:
    response = await create(client, topic("t", 4), validate_only=True)
    assert (response.topics[0].error_code, response.topics[0].num_partitions) == (0, 4)
    assert broker.cluster.topic("t") is None


async def test_validate_only_answers_a_fresh_topic_id(broker: Broker, client: Client) -> None:
    # Kafka's controller draws a random id before it decides not to commit: never the zero UUID.
    first = (await create(client, topic("t"), validate_only=True)).topics[0].topic_id
    second = (await create(client, topic("t"), validate_only=True)).topics[0].topic_id
    assert uuid.UUID(int=0) not in (first, second)
    assert first != second
    assert first not in broker.cluster.topics_by_id


async def test_default_partitions_with_minus_one(broker: Broker, client: Client) -> None:
    response = await create(client, topic("t", -1, -1))
    assert response.topics[0].num_partitions == broker.config.num_partitions


async def test_explicit_assignment(broker: Broker, client: Client) -> None:
    t = topic(
        "t",
        -1,
        -1,
        assignments=[
            CreatableReplicaAssignment(partition_index=0, broker_ids=[0]),
            CreatableReplicaAssignment(partition_index=1, broker_ids=[0]),
        ],
    )
    assert (await create(client, t)).topics[0].error_code == 0
    assert len(broker.cluster.topic("t").partitions) == 2


async def test_assignment_with_unknown_broker_is_invalid_replica_assignment(client: Client) -> None:
    t = topic("t", -1, -1, assignments=[CreatableReplicaAssignment(partition_index=0, broker_ids=[7])])
    assert (await create(client, t)).topics[0].error_code == 39


async def test_delete_by_name_and_by_id(broker: Broker, client: Client) -> None:
    broker.create_topic("a", 1)
    b = broker.create_topic("b", 1)
    response = await client.request(DeleteTopicsRequest(topic_names=["a", "nope"]), 5)
    assert [(r.name, r.error_code) for r in response.responses] == [("a", 0), ("nope", 3)]
    response = await client.request(
        DeleteTopicsRequest(topics=[DeleteTopicState(topic_id=b.topic_id), DeleteTopicState(topic_id=uuid.uuid4())]),
        6,
    )
    assert [(r.name, r.error_code) for r in response.responses] == [("b", 0), (None, 100)]
    assert list(broker.cluster.topics) == []


async def test_create_partitions(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 2)
    response = await client.request(
        CreatePartitionsRequest(
            topics=[
                CreatePartitionsTopic(name="t", count=4, assignments=None),
                CreatePartitionsTopic(name="nope", count=4, assignments=None),
            ]
        ),
        3,
    )
    assert [r.error_code for r in response.results] == [0, 3]
    assert len(broker.cluster.topic("t").partitions) == 4


@pytest.mark.parametrize(("count", "code"), [(1, 37), (2, 37)])
async def test_create_partitions_must_grow(broker: Broker, client: Client, count: int, code: int) -> None:
    broker.create_topic("t", 2)
    response = await client.request(
        CreatePartitionsRequest(topics=[CreatePartitionsTopic(name="t", count=count, assignments=None)]), 3
    )
    assert response.results[0].error_code == code


async def test_create_partitions_with_wrong_assignment_count(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    request = CreatePartitionsRequest(
        topics=[
            CreatePartitionsTopic(name="t", count=3, assignments=[CreatePartitionsAssignment(broker_ids=[0])])
        ]
    )
    assert (await client.request(request, 3)).results[0].error_code == 39


async def describe(client: Client, name: str, keys=None, version: int = 4, synonyms: bool = True):
    request = DescribeConfigsRequest(
        resources=[DescribeConfigsResource(resource_type=2, resource_name=name, configuration_keys=keys)],
        include_synonyms=synonyms,
    )
    return (await client.request(request, version)).results[0]


async def test_describe_configs_sources_and_synonyms(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1, configs={"retention.ms": "1000"})
    result = await describe(client, "t")
    by_name = {c.name: c for c in result.configs}
    retention = by_name["retention.ms"]
    assert (retention.value, retention.config_source, retention.config_type) == ("1000", 1, 5)
    # Kafka leaves log.retention.ms unset (log.retention.hours supplies it): no broker synonym.
    assert [(s.name, s.source) for s in retention.synonyms] == [("retention.ms", 1)]
    cleanup = by_name["cleanup.policy"]
    assert [(s.name, s.source) for s in cleanup.synonyms] == [("log.cleanup.policy", 5)]
    assert by_name["segment.bytes"].config_source == 5


async def test_describe_configs_filters_keys(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    result = await describe(client, "t", keys=["cleanup.policy"])
    assert [c.name for c in result.configs] == ["cleanup.policy"]


async def test_describe_unknown_topic(client: Client) -> None:
    assert (await describe(client, "nope")).error_code == 3


async def test_describe_broker(client: Client) -> None:
    request = DescribeConfigsRequest(resources=[DescribeConfigsResource(resource_type=4, resource_name="0", configuration_keys=None)])
    result = (await client.request(request, 4)).results[0]
    assert result.error_code == 0
    assert {"num.partitions", "log.retention.ms", "message.max.bytes"} <= {c.name for c in result.configs}
    assert {c.name: c.value for c in result.configs}["log.retention.ms"] is None  # unset, as in Kafka


async def test_alter_configs_replaces_all_overrides(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1, configs={"retention.ms": "1000"})
    request = AlterConfigsRequest(
        resources=[
            AlterConfigsResource(
                resource_type=2, resource_name="t", configs=[AlterableConfig(name="segment.ms", value="5000")]
            )
        ]
    )
    assert (await client.request(request, 2)).responses[0].error_code == 0
    assert broker.cluster.topic("t").configs == {"segment.ms": "5000"}


async def test_incremental_alter_ops(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1, configs={"retention.ms": "1000"})

    def op(name: str, operation: int, value: str | None) -> iac.AlterableConfig:
        return iac.AlterableConfig(name=name, config_operation=operation, value=value)

    request = iac.IncrementalAlterConfigsRequest(
        resources=[
            iac.AlterConfigsResource(
                resource_type=2,
                resource_name="t",
                configs=[op("retention.ms", 1, None), op("cleanup.policy", 2, "compact"), op("segment.ms", 0, "9")],
            )
        ]
    )
    assert (await client.request(request, 1)).responses[0].error_code == 0
    assert broker.cluster.topic("t").configs == {"cleanup.policy": "delete,compact", "segment.ms": "9"}


async def test_incremental_append_on_non_list_is_invalid_config(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    request = iac.IncrementalAlterConfigsRequest(
        resources=[
            iac.AlterConfigsResource(
                resource_type=2,
                resource_name="t",
                configs=[iac.AlterableConfig(name="retention.ms", config_operation=2, value="1")],
            )
        ]
    )
    assert (await client.request(request, 1)).responses[0].error_code == 40


async def test_describe_cluster(broker: Broker, client: Client) -> None:
    response = await client.request(DescribeClusterRequest(), 1)
    assert (response.error_code, response.cluster_id, response.controller_id) == (0, broker.cluster.cluster_id, 0)
    assert [b.broker_id for b in response.brokers] == [0]
    # Kafka's cluster operations: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS,
    # ALTER_CONFIGS, IDEMPOTENT_WRITE (the token operations are a USER resource's)
    asked = await client.request(DescribeClusterRequest(include_cluster_authorized_operations=True), 1)
    assert asked.cluster_authorized_operations == sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12)) == 8096
    controllers = await client.request(DescribeClusterRequest(endpoint_type=2), 1)
    # Kafka 4.4's broker: MISMATCHED_ENDPOINT_TYPE (114), naming its own endpoint type (BROKER)
    assert (controllers.error_code, controllers.endpoint_type) == (114, 1)
