"""DescribeConfigs answered as Kafka 4.4 answers it: values, sources, synonyms, types,
documentation and error messages of topic and broker configs."""

from __future__ import annotations

import pytest

from kafkalite.broker.state import Broker
from kafkalite.broker.topic_configs import TOPIC_CONFIGS
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource

from .conftest import Client

TOPIC, BROKER = 2, 4


async def describe(client: Client, resource_type: int, name: str, keys=None, *, version: int = 4,
                   documentation: bool = False):
    request = DescribeConfigsRequest(
        resources=[DescribeConfigsResource(resource_type=resource_type, resource_name=name, configuration_keys=keys)],
        include_synonyms=True,
        include_documentation=documentation,
    )
    return (await client.request(request, version)).results[0]


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
