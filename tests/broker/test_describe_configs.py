"""DescribeConfigs answered as Kafka 4.4 answers it: values, sources, synonyms, types,
documentation and error messages of topic and broker configs."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.broker import topic_configs
from kafkalite.broker.topic_configs import (
    BROKER_CONFIGS,
    TOPIC_CONFIGS,
    ConfigType,
    InvalidConfig,
    static_broker_configs,
    validate_topic_config,
)
from kafkalite.broker.broker_configs import ALL_BROKER_CONFIGS, DYNAMIC_BROKER_CONFIGS
from kafkalite.handlers.describe_configs import broker_settings
from kafkalite.broker.settings import BrokerConfig
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource

from ..groups.helpers import connect
from .conftest import Client, make_broker

TOPIC, BROKER = 2, 4
TOPIC_CONFIG, CLUSTER_DEFAULT, STATIC, DEFAULT = 1, 3, 4, 5


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


async def test_topic_synonyms_are_the_override_then_the_broker_configs_that_are_set(
    broker: Broker, client: Client
) -> None:
    broker.create_topic("t", 1, configs={"retention.ms": "1000", "cleanup.policy": "compact"})
    configs = by_name(await describe(client, TOPIC, "t"))
    # An override, then the broker's default behind it when the broker config has one.
    assert synonyms(configs["cleanup.policy"]) == [
        ("cleanup.policy", "compact", TOPIC_CONFIG), ("log.cleanup.policy", "delete", DEFAULT)]
    # log.retention.ms is unset in Kafka (log.retention.hours supplies the value): no synonym.
    assert synonyms(configs["retention.ms"]) == [("retention.ms", "1000", TOPIC_CONFIG)]
    assert configs["retention.ms"].config_source == TOPIC_CONFIG
    for name in ("segment.ms", "segment.jitter.ms", "flush.ms"):
        assert (configs[name].config_source, synonyms(configs[name])) == (DEFAULT, []), name
    # Topic-only configs: no broker config of that name.
    for name in ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas",
                 "errors.deadletterqueue.group.enable", "remote.storage.enable"):
        assert (configs[name].config_source, synonyms(configs[name])) == (DEFAULT, []), name
    assert synonyms(configs["max.message.bytes"]) == [("message.max.bytes", "1048588", DEFAULT)]


async def test_min_insync_replicas_is_a_cluster_level_default(broker: Broker, client: Client) -> None:
    # A new Kafka 4.4 cluster (eligible leader replicas on) sets min.insync.replicas at the
    # cluster level: DYNAMIC_DEFAULT_BROKER_CONFIG, with Kafka's default behind it.
    broker.create_topic("plain", 1)
    broker.create_topic("strict", 1, configs={"min.insync.replicas": "2"})
    plain = by_name(await describe(client, TOPIC, "plain"))["min.insync.replicas"]
    assert (plain.value, plain.config_source) == ("1", CLUSTER_DEFAULT)
    assert synonyms(plain) == [("min.insync.replicas", "1", CLUSTER_DEFAULT), ("min.insync.replicas", "1", DEFAULT)]
    strict = by_name(await describe(client, TOPIC, "strict"))["min.insync.replicas"]
    assert (strict.value, strict.config_source) == ("2", TOPIC_CONFIG)
    assert [s[2] for s in synonyms(strict)] == [TOPIC_CONFIG, CLUSTER_DEFAULT, DEFAULT]
    broker_row = by_name(await describe(client, BROKER, "0"))["min.insync.replicas"]
    assert (broker_row.value, broker_row.config_source, synonyms(broker_row)) == ("1", CLUSTER_DEFAULT, synonyms(plain))


async def test_the_cluster_default_resource_holds_the_cluster_level_configs(client: Client) -> None:
    # A BROKER resource named "" is the cluster level (kafka-configs --entity-default).
    result = await describe(client, BROKER, "")
    assert (result.error_code, result.error_message) == (0, "")
    [row] = result.configs
    assert (row.name, row.value, row.config_source) == ("min.insync.replicas", "1", CLUSTER_DEFAULT)
    assert synonyms(row) == [("min.insync.replicas", "1", CLUSTER_DEFAULT)]


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


# -- brokers ---------------------------------------------------------------------------------


async def test_broker_configs_kafka_leaves_unset_have_no_value(client: Client) -> None:
    configs = by_name(await describe(client, BROKER, "0"))
    for name in ("log.retention.ms", "log.retention.minutes", "log.roll.ms", "log.roll.jitter.ms",
                 "log.flush.interval.ms"):
        assert (configs[name].value, configs[name].config_source, synonyms(configs[name])) == (None, DEFAULT, []), name
    # The hours variants carry the defaults, each its own only synonym.
    assert synonyms(configs["log.retention.hours"]) == [("log.retention.hours", "168", DEFAULT)]
    assert synonyms(configs["log.roll.hours"]) == [("log.roll.hours", "168", DEFAULT)]
    assert synonyms(configs["log.roll.jitter.hours"]) == [("log.roll.jitter.hours", "0", DEFAULT)]


async def test_broker_configs_are_kafkas_names_and_types(client: Client) -> None:
    configs = by_name(await describe(client, BROKER, "0"))
    # The replication throttles are topic configs only.
    assert "leader.replication.throttled.replicas" not in configs
    assert "follower.replication.throttled.replicas" not in configs
    for name in ("listeners", "advertised.listeners", "log.dirs", "process.roles"):
        assert configs[name].config_type == ConfigType.LIST, name
    assert configs["offsets.topic.replication.factor"].config_type == ConfigType.SHORT
    # Kafka's dynamic configs may be altered; every other one is read-only.
    assert {name for name, c in configs.items() if not c.read_only} == DYNAMIC_BROKER_CONFIGS
    assert configs["num.partitions"].read_only and not configs["log.retention.ms"].read_only


async def test_kafkas_defaults_are_default_config_and_the_rest_static(client: Client) -> None:
    configs = by_name(await describe(client, BROKER, "0"))
    for name, value in [("auto.create.topics.enable", "true"), ("default.replication.factor", "1"),
                        ("offsets.topic.num.partitions", "50"), ("socket.request.max.bytes", "104857600")]:
        assert (configs[name].value, configs[name].config_source) == (value, DEFAULT), name
        assert synonyms(configs[name]) == [(name, value, DEFAULT)], name
    # kafkalite's own defaults that are not Kafka's: set at start-up, Kafka's default behind.
    assert synonyms(configs["group.initial.rebalance.delay.ms"]) == [
        ("group.initial.rebalance.delay.ms", "60", STATIC), ("group.initial.rebalance.delay.ms", "3000", DEFAULT)]
    assert synonyms(configs["offsets.topic.replication.factor"]) == [
        ("offsets.topic.replication.factor", "1", STATIC), ("offsets.topic.replication.factor", "3", DEFAULT)]
    assert synonyms(configs["broker.id"]) == [("broker.id", "0", STATIC), ("broker.id", "-1", DEFAULT)]
    assert synonyms(configs["listeners"])[1] == ("listeners", "PLAINTEXT://:9092", DEFAULT)
    # No Kafka default: the static value alone.
    for name in ("node.id", "advertised.listeners", "log.dirs", "process.roles"):
        assert [s[2] for s in synonyms(configs[name])] == [STATIC], name
    # num.partitions is always stated (kafkalite's --partitions), as the reference states it.
    assert synonyms(configs["num.partitions"]) == [("num.partitions", "1", STATIC), ("num.partitions", "1", DEFAULT)]


async def test_broker_configs_follow_kafkalites_settings(nursery: trio.Nursery) -> None:
    broker = make_broker(auto_create_topics=False, offsets_topic_partitions=3, group_min_session_timeout_ms=100)
    client = connect(broker, nursery)
    configs = by_name(await describe(client, BROKER, "0"))
    assert synonyms(configs["auto.create.topics.enable"]) == [
        ("auto.create.topics.enable", "false", STATIC), ("auto.create.topics.enable", "true", DEFAULT)]
    assert (configs["offsets.topic.num.partitions"].value, configs["offsets.topic.num.partitions"].config_source) == (
        "3", STATIC)
    assert configs["group.min.session.timeout.ms"].value == "100"


def test_static_configs_are_those_that_differ_from_kafka() -> None:
    settings = broker_settings(BrokerConfig(memory=True), 0, "localhost", "localhost", 9092)
    static = static_broker_configs(settings)
    assert static.keys() == {
        "node.id", "broker.id", "process.roles", "listeners", "advertised.listeners", "log.dirs",
        "listener.security.protocol.map",
        "num.partitions", "offsets.topic.replication.factor", "group.initial.rebalance.delay.ms",
        "group.consumer.heartbeat.interval.ms",  # kafkalite's 200 ms (Kafka: 5000)
    }
    with pytest.raises(ValueError, match="no.such.config"):
        static_broker_configs({"no.such.config": "1"})


def test_kafkalite_settings_supply_no_topic_defaults() -> None:
    # Topic configs are described from Kafka's broker defaults and the cluster level only;
    # a kafkalite setting that stood for a topic config's broker default would have to be
    # fed into describe_topic_configs (and into the values the topics use) as well.
    settings = broker_settings(BrokerConfig(memory=True), 0, "localhost", "localhost", 9092)
    assert not set(settings) & {d.synonym for d in TOPIC_CONFIGS.values()}


# -- documentation and errors ----------------------------------------------------------------


def test_every_config_has_a_one_line_documentation() -> None:
    for definition in [*TOPIC_CONFIGS.values(), *ALL_BROKER_CONFIGS.values()]:
        assert definition.doc and "\n" not in definition.doc and definition.doc.endswith("."), definition.name


@pytest.mark.parametrize("resource", [(TOPIC, "t"), (BROKER, "0")])
async def test_documentation_only_when_asked(broker: Broker, client: Client, resource) -> None:
    broker.create_topic("t", 1)
    asked = await describe(client, *resource, documentation=True)
    assert asked.configs and all(c.documentation for c in asked.configs)
    not_asked = await describe(client, *resource)
    assert {c.documentation for c in not_asked.configs} == {None}


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


def test_a_config_defined_twice_is_refused() -> None:
    # The catalogues are built from lists: a name given twice would silently hide a row.
    twice = [BROKER_CONFIGS["num.partitions"], BROKER_CONFIGS["num.partitions"]]
    with pytest.raises(ValueError, match="num.partitions is defined twice"):
        topic_configs._by_name(twice)
