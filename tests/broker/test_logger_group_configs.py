"""BROKER_LOGGER and GROUP resources as Kafka 4.4 answers them, DescribeConfigs v0, and the
fetch session cache size as a static setting."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import pytest
import trio

from kafkalite.broker.fetch_sessions import cache_of
from kafkalite.broker.group_configs import GROUP_CONFIGS, validate_group_configs
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.cli import build_parser, config_from_args
from kafkalite.wire.error_codes import ErrorCode as E

from ..groups.helpers import connect
from .conftest import Client, make_broker
from .test_dynamic_configs import DEFAULT, DELETE, OK, SET, STATIC, describe, incremental, legacy, rows, synonyms

BROKER, BROKER_LOGGER, GROUP = 4, 8, 32
LOGGER_SOURCE, GROUP_SOURCE = 6, 8


@pytest.fixture(autouse=True)
def restore_levels() -> Iterator[None]:
    """Logger levels are process-wide: put back those the tests change."""
    names = ["", "kafkalite", "kafkalite.broker"]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


# -- BROKER_LOGGER ---------------------------------------------------------------------------


async def test_loggers_are_listed_with_their_effective_level(client: Client) -> None:
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("kafkalite.broker").setLevel(logging.NOTSET)
    configs = await rows(client, BROKER_LOGGER, "0")
    assert "root" in configs and "kafkalite.broker" in configs
    assert all(name == "root" or name.startswith("kafkalite") for name in configs)
    row = configs["kafkalite.broker"]
    assert (row.value, row.config_source, row.read_only, row.is_sensitive, synonyms(row)) == (
        "INFO", LOGGER_SOURCE, False, False, [])


async def test_set_and_delete_a_loggers_level(client: Client) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    assert await incremental(client, "0", ("kafkalite.broker", SET, "TRACE"), resource_type=BROKER_LOGGER) == OK
    assert logging.getLogger("kafkalite.broker").getEffectiveLevel() == 5
    assert (await rows(client, BROKER_LOGGER, "0", ["kafkalite.broker"]))["kafkalite.broker"].value == "TRACE"
    # DELETE: the logger follows its parents again (here the root's WARN).
    assert await incremental(client, "0", ("kafkalite.broker", DELETE, None), resource_type=BROKER_LOGGER) == OK
    assert (await rows(client, BROKER_LOGGER, "0", ["kafkalite.broker"]))["kafkalite.broker"].value == "WARN"
    assert await incremental(client, "0", ("root", SET, "FATAL"), resource_type=BROKER_LOGGER) == OK
    assert logging.getLogger().level == logging.CRITICAL


@pytest.mark.parametrize(
    ("op", "code", "message"),
    [
        (("no.such.logger", SET, "DEBUG"), E.INVALID_CONFIG, "Logger no.such.logger does not exist!"),
        (("no.such.logger", DELETE, None), E.INVALID_CONFIG, "Logger no.such.logger does not exist!"),
        (("kafkalite.broker", SET, "debug"), E.INVALID_CONFIG,
         "Cannot set the log level of kafkalite.broker to debug as it is not a supported log level. "
         "Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN"),
        (("root", DELETE, None), E.INVALID_REQUEST, "Removing the log level of the root logger is not allowed"),
        (("kafkalite.broker", 2, "x"), E.INVALID_REQUEST, "APPEND operation is not allowed for the BROKER_LOGGER resource"),
        (("kafkalite.broker", 3, "x"), E.INVALID_REQUEST,
         "SUBTRACT operation is not allowed for the BROKER_LOGGER resource"),
        (("kafkalite.broker", 7, "x"), E.INVALID_REQUEST,
         "Unknown operation type 7 is not allowed for the BROKER_LOGGER resource"),
        (("kafkalite.broker", SET, None), E.INVALID_REQUEST, "Null value not supported for : kafkalite.broker"),
    ],
)
async def test_logger_changes_kafka_refuses(client: Client, op, code, message) -> None:
    assert await incremental(client, "0", op, resource_type=BROKER_LOGGER) == (code, message)


async def test_logger_resource_names(client: Client) -> None:
    op = ("kafkalite", SET, "DEBUG")
    assert await incremental(client, "", op, resource_type=BROKER_LOGGER) == (
        E.INVALID_REQUEST, "Node id must be an integer, but it is: ")
    assert await incremental(client, "7", op, resource_type=BROKER_LOGGER) == (
        E.INVALID_REQUEST, "Unexpected node id. Expected 0, but received 7")
    empty = await describe(client, BROKER_LOGGER, "")
    assert (empty.error_code, empty.error_message) == (E.INVALID_REQUEST, "Broker id must not be empty")
    other = await describe(client, BROKER_LOGGER, "7")
    assert (other.error_code, other.error_message) == (
        E.INVALID_REQUEST, "Unexpected broker id, expected 0 but received 7")


async def test_legacy_alter_configs_refuses_loggers(client: Client) -> None:
    assert await legacy(client, "0", {"kafkalite": "DEBUG"}, resource_type=BROKER_LOGGER) == (
        E.INVALID_REQUEST, "Unknown resource type 8")


# -- GROUP -----------------------------------------------------------------------------------


async def test_group_configs_default_to_the_brokers(client: Client) -> None:
    configs = await rows(client, GROUP, "g")
    assert set(configs) == set(GROUP_CONFIGS)
    row = configs["consumer.session.timeout.ms"]
    assert (row.value, row.config_source, row.read_only, row.config_type) == ("45000", DEFAULT, False, 3)
    assert synonyms(row) == [("group.consumer.session.timeout.ms", "45000", DEFAULT)]
    assert synonyms(configs["share.auto.offset.reset"]) == [("share.auto.offset.reset", "latest", DEFAULT)]


async def test_set_describe_and_delete_a_group_config(client: Client) -> None:
    assert await incremental(client, "g", ("consumer.session.timeout.ms", SET, "50000"), resource_type=GROUP) == OK
    row = (await rows(client, GROUP, "g"))["consumer.session.timeout.ms"]
    assert (row.value, row.config_source) == ("50000", GROUP_SOURCE)
    assert synonyms(row) == [("consumer.session.timeout.ms", "50000", GROUP_SOURCE),
                             ("group.consumer.session.timeout.ms", "45000", DEFAULT)]
    assert (await rows(client, GROUP, "other"))["consumer.session.timeout.ms"].value == "45000"
    assert await incremental(client, "g", ("consumer.session.timeout.ms", DELETE, None), resource_type=GROUP) == OK
    assert (await rows(client, GROUP, "g"))["consumer.session.timeout.ms"].config_source == DEFAULT


async def test_legacy_alter_configs_replaces_a_groups_configs(client: Client) -> None:
    assert await incremental(client, "g", ("consumer.heartbeat.interval.ms", SET, "6000"), resource_type=GROUP) == OK
    assert await legacy(client, "g", {"consumer.session.timeout.ms": "50000"}, resource_type=GROUP) == OK
    configs = await rows(client, GROUP, "g")
    # Back to the broker's setting: kafkalite's 200 ms (STATIC), not the group's 6000.
    row = configs["consumer.heartbeat.interval.ms"]
    assert (row.value, row.config_source) == ("200", STATIC)
    assert configs["consumer.session.timeout.ms"].value == "50000"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("consumer.session.timeout.ms", "5", "consumer.session.timeout.ms must be in the range 45000 to 60000 inclusive."),
        ("consumer.heartbeat.interval.ms", "60000",
         "consumer.heartbeat.interval.ms must be in the range 5000 to 15000 inclusive."),
        ("consumer.session.timeout.ms", "abc",
         "Invalid value abc for configuration consumer.session.timeout.ms: Not a number of type INT"),
        ("no.such", "5", "Unknown group config name: no.such"),
        ("share.record.lock.duration.ms", "999",
         "Invalid value 999 for configuration share.record.lock.duration.ms: Value must be at least 1000"),
        ("share.delivery.count.limit", "11", "share.delivery.count.limit must be in the range 2 to 10 inclusive."),
        ("streams.num.standby.replicas", "9", "streams.num.standby.replicas must be less than or equal to 2"),
        ("share.isolation.level", "x",
         "Invalid value x for configuration share.isolation.level: String must be one of: read_committed, "
         "read_uncommitted"),
        ("streams.assignor.name", "range",
         "streams.assignor.name 'range' is not a registered task assignor. Registered assignors are: [sticky]."),
        ("share.renew.acknowledge.enable", "no",
         "Invalid value no for configuration share.renew.acknowledge.enable: Expected value to be either true or false"),
    ],
)
async def test_group_values_kafka_refuses(client: Client, name: str, value: str, message: str) -> None:
    assert await incremental(client, "g", (name, SET, value), resource_type=GROUP) == (E.INVALID_CONFIG, message)


@pytest.mark.parametrize(
    ("name", "value"),
    [("share.auto.offset.reset", "by_duration:PT1H"), ("share.auto.offset.reset", "earliest"),
     ("streams.initial.rebalance.delay.ms", "99999999"), ("streams.rack.aware.assignment.tags", "a,b"),
     ("consumer.assignment.interval.ms", "0")],
)
def test_group_values_kafka_accepts(name: str, value: str) -> None:
    validate_group_configs({name: value})


async def test_group_names_and_operations(client: Client) -> None:
    op = ("consumer.session.timeout.ms", SET, "50000")
    assert await incremental(client, "", op, resource_type=GROUP) == (
        E.INVALID_REQUEST, "Default group resources are not allowed.")
    empty = await describe(client, GROUP, "")
    assert (empty.error_code, empty.error_message) == (E.INVALID_REQUEST, "Group name must not be empty")
    assert await incremental(client, "g", ("consumer.session.timeout.ms", 2, "1"), resource_type=GROUP) == (
        E.INVALID_CONFIG, "Can't APPEND to key consumer.session.timeout.ms because its type is not LIST.")
    assert await incremental(client, "g", ("streams.rack.aware.assignment.tags", 2, "a"), resource_type=GROUP) == OK


async def test_group_configs_survive_a_restart(tmp_path: Path, nursery: trio.Nursery) -> None:
    first = Broker.create(BrokerConfig(data_dir=tmp_path))
    client = connect(first, nursery)
    assert await incremental(client, "g", ("consumer.session.timeout.ms", SET, "50000"), resource_type=GROUP) == OK
    first.close()
    again = Broker.create(BrokerConfig(data_dir=tmp_path))
    try:
        assert again.dynamic.group("g") == {"consumer.session.timeout.ms": "50000"}
    finally:
        again.close()


# -- DescribeConfigs v0 ----------------------------------------------------------------------


async def test_v0_has_is_default_and_no_synonyms(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1, configs={"retention.ms": "1000"})
    result = await describe(client, 2, "t", version=0)
    configs = {c.name: c for c in result.configs}
    assert configs["retention.ms"].is_default is False
    assert configs["segment.bytes"].is_default is True
    assert configs["min.insync.replicas"].is_default is False  # the cluster-level value
    assert all(c.synonyms == [] for c in result.configs)
    node = {c.name: c for c in (await describe(client, BROKER, "0", version=0)).configs}
    assert node["node.id"].is_default is False and node["socket.request.max.bytes"].is_default is True


# -- the fetch session cache ------------------------------------------------------------------


def test_fetch_session_cache_slots_is_a_serve_option() -> None:
    args = build_parser().parse_args(["serve", "--memory", "--fetch-session-cache-slots", "7"])
    assert config_from_args(args).max_incremental_fetch_session_cache_slots == 7
    default = build_parser().parse_args(["serve", "--memory"])
    assert config_from_args(default).max_incremental_fetch_session_cache_slots == 1000


async def test_fetch_session_cache_slots_is_static_and_read_only(nursery: trio.Nursery) -> None:
    broker = make_broker(max_incremental_fetch_session_cache_slots=7)
    assert cache_of(broker).max_entries == 7
    client = connect(broker, nursery)
    row = (await rows(client, BROKER, "0"))["max.incremental.fetch.session.cache.slots"]
    assert (row.value, row.read_only) == ("7", True)
    assert synonyms(row) == [("max.incremental.fetch.session.cache.slots", "7", STATIC),
                             ("max.incremental.fetch.session.cache.slots", "1000", DEFAULT)]
    assert await incremental(client, "", ("max.incremental.fetch.session.cache.slots", SET, "10")) == (
        E.INVALID_REQUEST, "Cannot update these configs dynamically: [max.incremental.fetch.session.cache.slots]")
