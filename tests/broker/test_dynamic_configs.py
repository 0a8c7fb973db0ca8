"""Dynamic broker configs (BROKER resources) as Kafka 4.4 answers them: which names may change,
at which level, their validation, sources and synonyms, their effect on topics, durability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from kafkalite.broker.broker_configs import (
    DYNAMIC_BROKER_CONFIGS,
    apply_broker_ops,
    validate_broker_configs,
    BrokerConfigRefused,
)
from kafkalite.broker.dynamic_store import DynamicConfigStore
from kafkalite.broker.settings import BrokerConfig
from kafkalite.storage import KafkaStorageError
from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.alter_configs import AlterableConfig as LegacyConfig
from kafkalite.wire.messages.alter_configs import AlterConfigsRequest, AlterConfigsResource
from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest
from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource
from kafkalite.wire.messages.incremental_alter_configs import (
    AlterableConfig,
    IncrementalAlterConfigsRequest,
)
from kafkalite.wire.messages.incremental_alter_configs import AlterConfigsResource as IncResource

from ..groups.helpers import connect
from .test_produce_fetch import batch, produce
from .conftest import Client, make_broker

TOPIC, BROKER = 2, 4
TOPIC_CONFIG, DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC, DEFAULT = 1, 2, 3, 4, 5
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


async def incremental(client: Client, name: str, *ops, resource_type: int = BROKER, validate_only: bool = False):
    request = IncrementalAlterConfigsRequest(
        resources=[IncResource(resource_type=resource_type, resource_name=name, configs=[
            AlterableConfig(name=n, config_operation=op, value=v) for n, op, v in ops])],
        validate_only=validate_only,
    )
    response = (await client.request(request, 1)).responses[0]
    return response.error_code, response.error_message


async def legacy(client: Client, name: str, configs: dict, resource_type: int = BROKER):
    request = AlterConfigsRequest(
        resources=[AlterConfigsResource(resource_type=resource_type, resource_name=name, configs=[
            LegacyConfig(name=n, value=v) for n, v in configs.items()])],
        validate_only=False,
    )
    response = (await client.request(request, 2)).responses[0]
    return response.error_code, response.error_message


async def describe(client: Client, resource_type: int, name: str, keys=None, version: int = 4):
    request = DescribeConfigsRequest(
        resources=[DescribeConfigsResource(resource_type=resource_type, resource_name=name, configuration_keys=keys)],
        include_synonyms=True, include_documentation=False,
    )
    return (await client.request(request, version)).results[0]


async def rows(client: Client, resource_type: int, name: str, keys=None) -> dict:
    result = await describe(client, resource_type, name, keys)
    assert result.error_code == 0, result.error_message
    return {c.name: c for c in result.configs}


def synonyms(config) -> list[tuple[str, str | None, int]]:
    return [(s.name, s.value, s.source) for s in config.synonyms]


OK = (0, None)


# -- levels and precedence -------------------------------------------------------------------


async def test_a_cluster_default_is_described_at_the_default_and_on_every_broker(
    broker: Broker, client: Client
) -> None:
    assert await incremental(client, "", ("log.retention.ms", SET, "5000")) == OK
    default = (await rows(client, BROKER, ""))["log.retention.ms"]
    assert (default.value, default.config_source, default.read_only) == ("5000", DYNAMIC_DEFAULT, False)
    # The "" resource lists its own layer only; a broker lists every layer, Kafka's order.
    assert synonyms(default) == [("log.retention.ms", "5000", DYNAMIC_DEFAULT)]
    node = (await rows(client, BROKER, "0"))["log.retention.ms"]
    assert synonyms(node) == [("log.retention.ms", "5000", DYNAMIC_DEFAULT), ("log.retention.hours", "168", DEFAULT)]


async def test_a_broker_value_wins_over_the_cluster_default(broker: Broker, client: Client) -> None:
    assert await incremental(client, "", ("log.retention.bytes", SET, "1000")) == OK
    assert await incremental(client, "0", ("log.retention.bytes", SET, "2000")) == OK
    node = (await rows(client, BROKER, "0"))["log.retention.bytes"]
    assert (node.value, node.config_source) == ("2000", DYNAMIC_BROKER)
    assert synonyms(node) == [
        ("log.retention.bytes", "2000", DYNAMIC_BROKER), ("log.retention.bytes", "1000", DYNAMIC_DEFAULT),
        ("log.retention.bytes", "-1", DEFAULT)]
    # The cluster default itself is unchanged.
    assert (await rows(client, BROKER, ""))["log.retention.bytes"].value == "1000"


async def test_a_dynamic_value_wins_over_kafkalites_static_setting(nursery: trio.Nursery) -> None:
    # kafkalite's settings are STATIC_BROKER_CONFIG; listeners is per-broker dynamic in Kafka.
    broker = make_broker()
    client = connect(broker, nursery)
    assert await incremental(client, "0", ("listeners", SET, "PLAINTEXT://:1234")) == OK
    row = (await rows(client, BROKER, "0"))["listeners"]
    assert [s[2] for s in synonyms(row)] == [DYNAMIC_BROKER, STATIC, DEFAULT]
    assert row.value == "PLAINTEXT://:1234"


async def test_topics_inherit_dynamic_defaults_with_their_source(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    broker.create_topic("own", 1, configs={"retention.ms": "42"})
    assert await incremental(client, "", ("log.retention.ms", SET, "5000"), ("message.max.bytes", SET, "2000000")) == OK
    configs = await rows(client, TOPIC, "t")
    assert (configs["retention.ms"].value, configs["retention.ms"].config_source) == ("5000", DYNAMIC_DEFAULT)
    assert synonyms(configs["retention.ms"]) == [
        ("log.retention.ms", "5000", DYNAMIC_DEFAULT), ("log.retention.hours", "168", DEFAULT)]
    assert synonyms(configs["max.message.bytes"]) == [
        ("message.max.bytes", "2000000", DYNAMIC_DEFAULT), ("message.max.bytes", "1048588", DEFAULT)]
    own = (await rows(client, TOPIC, "own"))["retention.ms"]
    assert (own.value, own.config_source) == ("42", TOPIC_CONFIG)


async def test_create_topics_answers_with_the_dynamic_defaults(client: Client) -> None:
    assert await incremental(client, "", ("log.retention.ms", SET, "5000")) == OK
    response = await client.request(
        CreateTopicsRequest(topics=[CreatableTopic(name="fresh", num_partitions=1, replication_factor=1)],
                            timeout_ms=1000), 7)
    [created] = response.topics
    configs = {c.name: c for c in created.configs}
    assert (configs["retention.ms"].value, configs["retention.ms"].config_source) == ("5000", DYNAMIC_DEFAULT)


# -- what may change -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["num.partitions", "default.replication.factor", "group.initial.rebalance.delay.ms",
             "max.incremental.fetch.session.cache.slots", "log.retention.hours", "auto.create.topics.enable",
             "controller.quorum.voters"],
)
async def test_read_only_configs_are_refused(client: Client, name: str) -> None:
    assert await incremental(client, "", (name, SET, "3")) == (
        E.INVALID_REQUEST, f"Cannot update these configs dynamically: [{name}]")
    assert await incremental(client, "0", (name, SET, "3")) == (
        E.INVALID_REQUEST, f"Cannot update these configs dynamically: [{name}]")


async def test_per_broker_configs_need_a_broker_id(client: Client) -> None:
    assert await incremental(client, "", ("listeners", SET, "PLAINTEXT://:1")) == (
        E.INVALID_REQUEST,
        "Cannot update these configs at default cluster level, broker id must be specified: [listeners]")
    assert await incremental(client, "0", ("listeners", SET, "PLAINTEXT://:1")) == OK


async def test_keystore_configs_need_a_listener_prefix(client: Client) -> None:
    assert await incremental(client, "0", ("ssl.key.password", SET, "x")) == (
        E.INVALID_REQUEST,
        "These security configs can be dynamically updated only per-listener using the listener prefix: "
        "[ssl.key.password]")
    assert await incremental(client, "0", ("listener.name.plaintext.ssl.key.password", SET, "x")) == OK
    row = (await rows(client, BROKER, "0"))["listener.name.plaintext.ssl.key.password"]
    # A password: its value is hidden, in the synonyms too.
    assert (row.value, row.is_sensitive, synonyms(row)) == (
        None, True, [("listener.name.plaintext.ssl.key.password", None, DYNAMIC_BROKER)])


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("message.max.bytes", "abc", "Not a number of type INT"),
        ("message.max.bytes", "3000000000", "Not a number of type INT"),
        ("log.retention.bytes", "abc", "Not a number of type LONG"),
        ("sasl.login.refresh.buffer.seconds", "99999", "Not a number of type SHORT"),
        ("log.cleaner.io.buffer.load.factor", "x", "Not a number of type DOUBLE"),
        ("log.preallocate", "maybe", "Expected value to be either true or false"),
    ],
)
async def test_values_are_checked_by_type(client: Client, name: str, value: str, why: str) -> None:
    assert await incremental(client, "", (name, SET, value)) == (
        E.INVALID_REQUEST, f"Invalid value {value} for configuration {name}: {why}")


async def test_topic_defaults_follow_the_topic_configs_rules(client: Client) -> None:
    code, message = await incremental(client, "", ("log.cleanup.policy", SET, "bogus"))
    assert code == E.INVALID_REQUEST
    assert message.startswith("Invalid value bogus for configuration log.cleanup.policy: ")


async def test_custom_configs_are_kept_and_hidden(client: Client) -> None:
    # Kafka accepts names it does not know (custom props) and describes them with no value.
    assert await incremental(client, "", ("my.custom.setting", SET, "1")) == OK
    row = (await rows(client, BROKER, ""))["my.custom.setting"]
    assert (row.value, row.read_only, row.is_sensitive, row.config_type) == (None, True, True, 0)
    assert synonyms(row) == [("my.custom.setting", None, DYNAMIC_DEFAULT)]


async def test_broker_names_are_checked(client: Client) -> None:
    assert await incremental(client, "7", ("log.retention.ms", SET, "1")) == (
        E.INVALID_REQUEST, "Unexpected broker id, expected 0, but received 7")
    assert await incremental(client, "x", ("log.retention.ms", SET, "1")) == (
        E.INVALID_REQUEST, "Node id must be an integer, but it is: x")
    other = await describe(client, BROKER, "7")
    assert (other.error_code, other.error_message) == (
        E.INVALID_REQUEST, "Unexpected broker id, expected 0 or empty string, but received 7")
    bad = await describe(client, BROKER, "x")
    assert (bad.error_code, bad.error_message) == (E.INVALID_REQUEST, "Broker id must be an integer, but it is: x")


# -- operations ------------------------------------------------------------------------------


async def test_delete_append_and_subtract(client: Client) -> None:
    assert await incremental(client, "0", ("log.cleanup.policy", APPEND, "compact")) == OK
    assert (await rows(client, BROKER, "0"))["log.cleanup.policy"].value == "delete,compact"
    assert await incremental(client, "0", ("log.cleanup.policy", SUBTRACT, "delete")) == OK
    assert (await rows(client, BROKER, "0"))["log.cleanup.policy"].value == "compact"
    assert await incremental(client, "0", ("log.cleanup.policy", DELETE, None)) == OK
    row = (await rows(client, BROKER, "0"))["log.cleanup.policy"]
    assert (row.value, row.config_source) == ("delete", DEFAULT)
    # Deleting a config that is not set (even a read-only one) changes nothing and succeeds.
    assert await incremental(client, "0", ("num.partitions", DELETE, None)) == OK


async def test_append_to_a_config_that_is_not_a_list_is_invalid_config(client: Client) -> None:
    assert await incremental(client, "0", ("log.retention.ms", APPEND, "1")) == (
        E.INVALID_CONFIG, "Config value append is not allowed for config key: log.retention.ms")
    assert await incremental(client, "0", ("log.retention.ms", 7, "1")) == (E.INVALID_REQUEST, "Unknown operations type 7")


async def test_duplicate_keys_and_null_values_are_refused(client: Client) -> None:
    assert await incremental(client, "", ("log.retention.bytes", SET, "1"), ("log.retention.bytes", SET, "2")) == (
        E.INVALID_REQUEST, "Error due to duplicate config keys")
    assert await incremental(client, "", ("log.retention.bytes", SET, None)) == (
        E.INVALID_REQUEST, "Null value not supported for : log.retention.bytes")


async def test_validate_only_changes_nothing(client: Client) -> None:
    assert await incremental(client, "", ("log.retention.ms", SET, "5000"), validate_only=True) == OK
    assert "log.retention.ms" not in await rows(client, BROKER, "")


async def test_legacy_alter_configs_replaces_the_whole_set(client: Client) -> None:
    assert await incremental(client, "", ("log.retention.ms", SET, "5000")) == OK
    assert await legacy(client, "", {"min.insync.replicas": "1", "log.retention.bytes": "77"}) == OK
    assert set(await rows(client, BROKER, "")) == {"min.insync.replicas", "log.retention.bytes"}
    assert await legacy(client, "", {"num.partitions": "3", "min.insync.replicas": "1"}) == (
        E.INVALID_REQUEST, "Cannot update these configs dynamically: [num.partitions]")


async def test_the_cluster_level_min_insync_replicas_stays(client: Client) -> None:
    # Kafka 4 with eligible leader replicas refuses to drop it (a new cluster sets it).
    message = "Cluster-level min.insync.replicas cannot be removed while ELR is enabled."
    assert await legacy(client, "", {"log.retention.bytes": "77"}) == (E.INVALID_CONFIG, message)
    assert await incremental(client, "", ("min.insync.replicas", DELETE, None)) == (E.INVALID_CONFIG, message)
    assert await incremental(client, "", ("min.insync.replicas", SET, "1")) == OK


def test_apply_broker_ops_starts_a_list_from_kafkas_default() -> None:
    assert apply_broker_ops({}, [("log.cleanup.policy", APPEND, "compact,delete")]) == {
        "log.cleanup.policy": "delete,compact"}
    assert apply_broker_ops({"metric.reporters": "a,b"}, [("metric.reporters", SUBTRACT, "a")]) == {
        "metric.reporters": "b"}


def test_the_dynamic_set_is_kafkas() -> None:
    # A few of each group Kafka 4.4 marks read-write, and its read-only ones are not in it.
    for name in ("log.retention.ms", "message.max.bytes", "log.segment.bytes", "log.cleaner.threads",
                 "num.io.threads", "max.connections", "ssl.cipher.suites", "producer.id.expiration.ms"):
        assert name in DYNAMIC_BROKER_CONFIGS, name
    for name in ("num.partitions", "log.retention.hours", "max.incremental.fetch.session.cache.slots",
                 "advertised.listeners", "group.initial.rebalance.delay.ms"):
        assert name not in DYNAMIC_BROKER_CONFIGS, name
    with pytest.raises(BrokerConfigRefused, match="Cannot update these configs dynamically"):
        validate_broker_configs({"num.partitions": "2"}, per_broker=True)


async def test_a_topic_default_the_log_cannot_use_is_refused(client: Client) -> None:
    code, message = await incremental(client, "", ("log.retention.bytes", SET, "-5"))
    assert code == E.INVALID_REQUEST and "retention" in message


# -- effect ----------------------------------------------------------------------------------


async def test_dynamic_topic_defaults_reach_the_open_logs(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    broker.create_topic("own", 1, configs={"segment.bytes": "5000"})
    assert await incremental(client, "", ("log.segment.bytes", SET, "2000000"), ("log.retention.ms", SET, "60000")) == OK
    log = broker.log_for("t", 0)
    assert (log.config.segment_bytes, log.config.retention_ms) == (2_000_000, 60_000)
    assert broker.log_for("own", 0).config.segment_bytes == 5000  # the topic's own value wins
    # A broker value wins over the cluster default; deleting it falls back.
    assert await incremental(client, "0", ("log.segment.bytes", SET, "3000000")) == OK
    assert broker.log_for("t", 0).config.segment_bytes == 3_000_000
    assert await incremental(client, "0", ("log.segment.bytes", DELETE, None)) == OK
    assert broker.log_for("t", 0).config.segment_bytes == 2_000_000
    # A topic created later starts with them too.
    broker.create_topic("later", 1)
    assert broker.log_for("later", 0).config.retention_ms == 60_000


async def test_message_max_bytes_applies_to_produce(broker: Broker, client: Client) -> None:
    broker.create_topic("t", 1)
    broker.create_topic("own", 1, configs={"max.message.bytes": "1000"})
    assert (await produce(client, "t", batch(b"x" * 300))).error_code == 0
    assert await incremental(client, "", ("message.max.bytes", SET, "200")) == OK
    assert (await produce(client, "t", batch(b"x" * 300))).error_code == E.MESSAGE_TOO_LARGE
    assert (await produce(client, "own", batch(b"x" * 300))).error_code == 0


async def test_reset_forgets_dynamic_configs(broker: Broker, client: Client) -> None:
    assert await incremental(client, "", ("log.retention.ms", SET, "5000")) == OK
    broker.reset()
    assert set(await rows(client, BROKER, "")) == {"min.insync.replicas"}


# -- durability ------------------------------------------------------------------------------


async def test_dynamic_configs_survive_a_restart(tmp_path: Path, nursery: trio.Nursery) -> None:
    first = Broker.create(BrokerConfig(data_dir=tmp_path))
    client = connect(first, nursery)
    assert await incremental(client, "", ("log.retention.ms", SET, "5000")) == OK
    assert await incremental(client, "0", ("log.segment.bytes", SET, "2000000")) == OK
    saved = json.loads((tmp_path / "meta" / "dynamic-configs.json").read_text())
    assert saved["brokers"] == {"": {"min.insync.replicas": "1", "log.retention.ms": "5000"},
                                "0": {"log.segment.bytes": "2000000"}}
    first.close()
    again = Broker.create(BrokerConfig(data_dir=tmp_path))
    try:
        layers = again.dynamic.layers(0)
        assert layers.cluster == {"min.insync.replicas": "1", "log.retention.ms": "5000"}
        assert layers.broker == {"log.segment.bytes": "2000000"}
    finally:
        again.close()


def test_a_new_data_dir_starts_with_the_cluster_min_insync_replicas(tmp_path: Path) -> None:
    broker = Broker.create(BrokerConfig(data_dir=tmp_path))
    try:
        assert broker.dynamic.brokers == {"": {"min.insync.replicas": "1"}}
    finally:
        broker.close()


class _FailingFiles:
    """Files whose atomic writes fail, as a full disk would."""

    def write_atomic(self, path: Path, data: bytes, *, durable: bool = True) -> None:
        raise OSError(28, "No space left on device")


def test_a_failed_save_keeps_the_previous_configs() -> None:
    store = DynamicConfigStore(_FailingFiles(), Path("/nowhere/dynamic-configs.json"))
    with pytest.raises(KafkaStorageError):
        store.set_broker("", {"log.retention.ms": "5000"})
    assert store.brokers == {"": {"min.insync.replicas": "1"}}
    with pytest.raises(KafkaStorageError):
        store.set_group("g", {"consumer.session.timeout.ms": "50000"})
    assert store.groups == {}


def test_topic_defaults_follow_every_change_and_a_failed_one_changes_nothing() -> None:
    store = DynamicConfigStore(None, None)
    assert store.topic_defaults(0) == {"min.insync.replicas": "1"}
    store.set_broker("", {"log.retention.ms": "5000"})
    assert store.topic_defaults(0) == {"retention.ms": "5000"}
    store.set_broker("0", {"log.retention.ms": "7000"})
    assert store.topic_defaults(0)["retention.ms"] == "7000" and store.topic_defaults(1)["retention.ms"] == "5000"
    store.reset()
    assert store.topic_defaults(0) == {"min.insync.replicas": "1"}
    failing = DynamicConfigStore(_FailingFiles(), Path("/nowhere/dynamic-configs.json"))
    before = failing.topic_defaults(0)
    with pytest.raises(KafkaStorageError):
        failing.set_broker("", {"log.retention.ms": "5000"})
    assert failing.topic_defaults(0) == before


def test_an_unreadable_file_stops_the_broker(tmp_path: Path) -> None:
    Broker.create(BrokerConfig(data_dir=tmp_path)).close()
    (tmp_path / "meta" / "dynamic-configs.json").write_text("{not json")
    with pytest.raises(KafkaStorageError, match="dynamic configs"):
        Broker.create(BrokerConfig(data_dir=tmp_path))
