"""DescribeConfigs answered as Kafka 4.4 answers it: values, sources, synonyms, types,
documentation and error messages of topic and broker configs."""

from __future__ import annotations

import pytest

from kafkalite.broker.state import Broker
from kafkalite.broker.topic_configs import TOPIC_CONFIGS, ConfigType, InvalidConfig, validate_topic_config
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource

from .conftest import Client

TOPIC, BROKER = 2, 4
DEFAULT = 5


async def describe(client: Client, resource_type: int, name: str, keys=None, *, version: int = 4,
                   documentation: bool = False):
    request = DescribeConfigsRequest(
        resources=[DescribeConfigsResource(resource_type=resource_type, resource_name=name, configuration_keys=keys)],
        include_synonyms=True,
        include_documentation=documentation,
    )
    return (await client.request(request, version)).results[0]


def by_name(result) -> dict:
    return {c.name: c for c in result.configs}


def synonyms(config) -> list[tuple[str, str | None, int]]:
    return [(s.name, s.value, s.source) for s in config.synonyms]


# -- topics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "default", "type_", "bad"),
    [
        ("errors.deadletterqueue.group.enable", "false", ConfigType.BOOLEAN, "maybe"),
        ("max.decompressed.message.bytes", "2147483639", ConfigType.INT, "-1"),
        ("remote.copy.lag.bytes", "-1", ConfigType.LONG, "-2"),
        ("remote.copy.lag.ms", "0", ConfigType.LONG, "-2"),
    ],
)
async def test_kafka_4_4_topic_configs(broker: Broker, client: Client, name: str, default: str,
                                       type_: ConfigType, bad: str) -> None:
    broker.create_topic("t", 1)
    row = by_name(await describe(client, TOPIC, "t"))[name]
    assert (row.value, row.config_type, row.config_source) == (default, type_, DEFAULT)
    validate_topic_config(name, default)
    with pytest.raises(InvalidConfig):
        validate_topic_config(name, bad)


async def test_replication_throttles_are_topic_configs_only(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    configs = by_name(await describe(client, TOPIC, "t"))
    for name in ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas"):
        assert (configs[name].config_source, synonyms(configs[name])) == (DEFAULT, []), name
        assert name not in by_name(await describe(client, BROKER, "0")), name


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 4])
async def test_error_message_is_empty_on_success_and_for_an_unknown_topic(
    broker: Broker, client: Client, version: int
) -> None:
    broker.create_topic("t", 1)
    found = await describe(client, TOPIC, "t", version=version)
    assert (found.error_code, found.error_message) == (0, "")
    missing = await describe(client, TOPIC, "nope", version=version)
    assert (missing.error_code, missing.error_message, missing.configs) == (E.UNKNOWN_TOPIC_OR_PARTITION, "", [])


async def test_refused_resources_say_why(client: Client) -> None:
    invalid = await describe(client, TOPIC, "bad/name")
    assert invalid.error_code == E.INVALID_TOPIC_EXCEPTION and invalid.error_message
    other = await describe(client, BROKER, "4242")
    assert other.error_code == E.INVALID_REQUEST and other.error_message


async def test_empty_keys_ask_for_every_config(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    assert len((await describe(client, TOPIC, "t", keys=[])).configs) == len(TOPIC_CONFIGS)
    some = await describe(client, TOPIC, "t", keys=["retention.ms", "no.such.config"])
    assert [c.name for c in some.configs] == ["retention.ms"]
