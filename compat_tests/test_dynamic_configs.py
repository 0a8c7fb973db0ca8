"""Dynamic configs through real admin clients: BROKER (per broker id and the cluster-wide
default), BROKER_LOGGER and GROUP resources, as Kafka 4.4 answers them.

The session's broker is shared by every compat test: each test here puts back what it changes.
Kafka applies a config change to its broker a moment after it answers: reads go through
``eventually()``. Neither installed client sends a BROKER resource named "" (the cluster-wide
default), so those tests use raw requests through kafkalite's codec.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewTopic
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource as KafkaPythonResource
from kafka.admin import ConfigResourceType

from kafkalite.wire.messages import describe_configs as dc
from kafkalite.wire.messages import incremental_alter_configs as inc
from kafkalite.wire.messages.alter_configs import AlterableConfig, AlterConfigsRequest, AlterConfigsResource

from .conftest import RestartableBroker, eventually, wait_for_topic
from .wire_client import WireClient

TIMEOUT = 10
INVALID_CONFIG, INVALID_REQUEST = 40, 42
BROKER, BROKER_LOGGER, GROUP, TOPIC = 4, 8, 32, 2
SET, DELETE = 0, 1


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def kp_admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def node_id(admin: AdminClient) -> str:
    """The id of a broker of the cluster, as a BROKER resource name."""
    return str(admin.list_topics(timeout=TIMEOUT).controller_id)


def entry(name: str, value: str | None, op: AlterConfigOpType = AlterConfigOpType.SET) -> ConfigEntry:
    return ConfigEntry(name, value, incremental_operation=op)


def alter(admin: AdminClient, kind: ConfigResource.Type, name: str, *entries: ConfigEntry) -> None:
    resource = ConfigResource(kind, name, incremental_configs=list(entries))
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)


def refusal(future: Any) -> KafkaError:
    with pytest.raises(KafkaException) as info:
        future.result(TIMEOUT)
    return info.value.args[0]


def described(admin: AdminClient, kind: ConfigResource.Type, name: str) -> dict:
    resource = ConfigResource(kind, name)
    return admin.describe_configs([resource])[resource].result(TIMEOUT)


def synonyms(config: Any) -> list[tuple[str, str | None, int]]:
    # (confluent-kafka keeps synonyms by name: of two with one name, it shows the last.)
    return [(s.name, s.value, s.source) for s in config.synonyms.values()]


# -- BROKER, per broker id (confluent-kafka) --------------------------------------------------


def test_a_broker_config_set_described_and_deleted(admin: AdminClient, node_id: str) -> None:
    alter(admin, ConfigResource.Type.BROKER, node_id, entry("log.retention.ms", "5000"))
    try:
        def dynamic() -> None:
            row = described(admin, ConfigResource.Type.BROKER, node_id)["log.retention.ms"]
            assert (row.value, row.source, row.is_read_only) == ("5000", ConfigSource.DYNAMIC_BROKER_CONFIG.value, False)
            assert synonyms(row) == [("log.retention.ms", "5000", ConfigSource.DYNAMIC_BROKER_CONFIG.value),
                                     ("log.retention.hours", "168", ConfigSource.DEFAULT_CONFIG.value)]

        eventually(dynamic)
    finally:
        alter(admin, ConfigResource.Type.BROKER, node_id, entry("log.retention.ms", None, AlterConfigOpType.DELETE))

    def back() -> None:
        row = described(admin, ConfigResource.Type.BROKER, node_id)["log.retention.ms"]
        assert (row.value, row.source) == (None, ConfigSource.DEFAULT_CONFIG.value)

    eventually(back)


@pytest.mark.parametrize("name", ["num.partitions", "group.initial.rebalance.delay.ms",
                                  "max.incremental.fetch.session.cache.slots", "log.retention.hours"])
def test_read_only_broker_configs_are_refused(admin: AdminClient, node_id: str, name: str) -> None:
    resource = ConfigResource(ConfigResource.Type.BROKER, node_id, incremental_configs=[entry(name, "3")])
    error = refusal(admin.incremental_alter_configs([resource])[resource])
    assert error.code() == KafkaError.INVALID_REQUEST
    assert error.str() == f"Cannot update these configs dynamically: [{name}]"
    row = described(admin, ConfigResource.Type.BROKER, node_id)[name]
    assert row.is_read_only


def test_a_broker_value_of_the_wrong_type_is_refused(admin: AdminClient, node_id: str) -> None:
    resource = ConfigResource(ConfigResource.Type.BROKER, node_id, incremental_configs=[entry("message.max.bytes", "abc")])
    error = refusal(admin.incremental_alter_configs([resource])[resource])
    assert error.code() == KafkaError.INVALID_REQUEST
    assert error.str() == "Invalid value abc for configuration message.max.bytes: Not a number of type INT"


def test_a_topic_inherits_a_broker_value(admin: AdminClient, node_id: str, topic_name: str) -> None:
    for future in admin.create_topics([NewTopic(topic_name, 1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, topic_name)
    alter(admin, ConfigResource.Type.BROKER, node_id, entry("log.retention.bytes", "2000000"))
    try:
        def inherited() -> None:
            row = described(admin, ConfigResource.Type.TOPIC, topic_name)["retention.bytes"]
            assert (row.value, row.source) == ("2000000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)

        eventually(inherited)
    finally:
        alter(admin, ConfigResource.Type.BROKER, node_id, entry("log.retention.bytes", None, AlterConfigOpType.DELETE))


# -- GROUP (confluent-kafka) ------------------------------------------------------------------


def test_a_group_config_set_described_and_deleted(admin: AdminClient, topic_name: str) -> None:
    group = f"g-{topic_name}"
    alter(admin, ConfigResource.Type.GROUP, group, entry("consumer.session.timeout.ms", "50000"))

    def set_on_the_group() -> None:
        row = described(admin, ConfigResource.Type.GROUP, group)["consumer.session.timeout.ms"]
        assert (row.value, row.source, row.is_read_only) == ("50000", ConfigSource.GROUP_CONFIG.value, False)
        assert synonyms(row) == [("consumer.session.timeout.ms", "50000", ConfigSource.GROUP_CONFIG.value),
                                 ("group.consumer.session.timeout.ms", "45000", ConfigSource.DEFAULT_CONFIG.value)]

    eventually(set_on_the_group)
    alter(admin, ConfigResource.Type.GROUP, group, entry("consumer.session.timeout.ms", None, AlterConfigOpType.DELETE))

    def default_again() -> None:
        row = described(admin, ConfigResource.Type.GROUP, group)["consumer.session.timeout.ms"]
        assert (row.value, row.source) == ("45000", ConfigSource.DEFAULT_CONFIG.value)

    eventually(default_again)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("consumer.session.timeout.ms", "5", "consumer.session.timeout.ms must be in the range 45000 to 60000 inclusive."),
        ("consumer.heartbeat.interval.ms", "60000",
         "consumer.heartbeat.interval.ms must be in the range 5000 to 15000 inclusive."),
        ("no.such.config", "1", "Unknown group config name: no.such.config"),
    ],
)
def test_group_values_out_of_bounds_are_invalid_config(admin: AdminClient, topic_name: str, name: str, value: str,
                                                       message: str) -> None:
    resource = ConfigResource(ConfigResource.Type.GROUP, f"g-{topic_name}", incremental_configs=[entry(name, value)])
    error = refusal(admin.incremental_alter_configs([resource])[resource])
    assert (error.code(), error.str()) == (KafkaError.INVALID_CONFIG, message)


# -- kafka-python ------------------------------------------------------------------------------


def test_kafka_python_describes_what_may_change(kp_admin: KafkaAdminClient, node_id: str) -> None:
    answer = kp_admin.describe_configs(
        [KafkaPythonResource(ConfigResourceType.BROKER, node_id, ["num.partitions", "log.retention.ms"])],
        config_filter="all",
    )
    configs = answer["broker"][node_id]
    assert configs["num.partitions"]["read_only"] is True
    assert configs["log.retention.ms"]["read_only"] is False


def test_kafka_python_alters_a_broker_config(kp_admin: KafkaAdminClient, node_id: str) -> None:
    resource = KafkaPythonResource(ConfigResourceType.BROKER, node_id, {"log.cleaner.backoff.ms": "20000"})
    kp_admin.alter_configs([resource], incremental=True)
    try:
        def changed() -> None:
            answer = kp_admin.describe_configs(
                [KafkaPythonResource(ConfigResourceType.BROKER, node_id, ["log.cleaner.backoff.ms"])],
                config_filter="all")
            row = answer["broker"][node_id]["log.cleaner.backoff.ms"]
            assert (row["value"], row["config_source"]) == ("20000", "DYNAMIC_BROKER_CONFIG")

        eventually(changed)
    finally:
        kp_admin.alter_configs(
            [KafkaPythonResource(ConfigResourceType.BROKER, node_id, {"log.cleaner.backoff.ms": ("DELETE", None)})],
            incremental=True)


def test_kafka_python_sets_the_root_logger_level(kp_admin: KafkaAdminClient, node_id: str) -> None:
    def root_level() -> dict:
        answer = kp_admin.describe_configs([KafkaPythonResource(ConfigResourceType.BROKER_LOGGER, node_id, ["root"])],
                                           config_filter="all")
        return answer["broker_logger"][node_id]["root"]

    before = root_level()
    assert before["config_source"] == "DYNAMIC_BROKER_LOGGER_CONFIG" and before["read_only"] is False
    wanted = "ERROR" if before["value"] != "ERROR" else "WARN"
    kp_admin.alter_configs([KafkaPythonResource(ConfigResourceType.BROKER_LOGGER, node_id, {"root": wanted})],
                           incremental=True, raise_on_unknown=False)
    try:
        eventually(lambda: _assert_equal(root_level()["value"], wanted))
    finally:
        kp_admin.alter_configs(
            [KafkaPythonResource(ConfigResourceType.BROKER_LOGGER, node_id, {"root": before["value"]})],
            incremental=True, raise_on_unknown=False)


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


# -- raw requests: the cluster-wide default, loggers, legacy AlterConfigs ------------------------


def incremental(client: WireClient, kind: int, name: str, *ops: tuple[str, int, str | None]) -> tuple[int, str | None]:
    request = inc.IncrementalAlterConfigsRequest(
        resources=[inc.AlterConfigsResource(resource_type=kind, resource_name=name, configs=[
            inc.AlterableConfig(name=n, config_operation=op, value=v) for n, op, v in ops])],
        validate_only=False)
    response = client.request(request, 1).responses[0]
    return response.error_code, response.error_message


def legacy(client: WireClient, kind: int, name: str, configs: dict[str, str]) -> tuple[int, str | None]:
    request = AlterConfigsRequest(
        resources=[AlterConfigsResource(resource_type=kind, resource_name=name, configs=[
            AlterableConfig(name=n, value=v) for n, v in configs.items()])],
        validate_only=False)
    response = client.request(request, 2).responses[0]
    return response.error_code, response.error_message


def raw_describe(client: WireClient, kind: int, name: str, keys: list[str] | None = None, version: int = 4):
    request = dc.DescribeConfigsRequest(
        resources=[dc.DescribeConfigsResource(resource_type=kind, resource_name=name, configuration_keys=keys)],
        include_synonyms=version > 0, include_documentation=False)
    return client.request(request, version).results[0]


@pytest.fixture
def wire(bootstrap: str) -> Iterator[WireClient]:
    with WireClient(bootstrap) as client:
        yield client


def test_the_cluster_wide_default(wire: WireClient, admin: AdminClient, node_id: str, topic_name: str) -> None:
    for future in admin.create_topics([NewTopic(topic_name, 1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, topic_name)
    assert incremental(wire, BROKER, "", ("log.retention.ms", SET, "86400001")) == (0, None)
    try:
        def everywhere() -> None:
            # Kafka applies a dynamic config a moment after answering: until then the
            # cluster default lists no log.retention.ms at all.
            default = {c.name: c for c in raw_describe(wire, BROKER, "").configs}.get("log.retention.ms")
            assert default is not None
            assert (default.value, default.config_source) == ("86400001", 3)
            assert [(s.name, s.value, s.source) for s in default.synonyms] == [("log.retention.ms", "86400001", 3)]
            topic = {c.name: c for c in raw_describe(wire, TOPIC, topic_name, ["retention.ms"]).configs}["retention.ms"]
            assert (topic.value, topic.config_source) == ("86400001", 3)
            assert [(s.name, s.value, s.source) for s in topic.synonyms] == [
                ("log.retention.ms", "86400001", 3), ("log.retention.hours", "168", 5)]

        eventually(everywhere)
    finally:
        assert incremental(wire, BROKER, "", ("log.retention.ms", DELETE, None)) == (0, None)


def test_another_broker_id_is_refused(wire: WireClient, node_id: str) -> None:
    assert incremental(wire, BROKER, "4242", ("log.retention.ms", SET, "1")) == (
        INVALID_REQUEST, f"Unexpected broker id, expected {node_id}, but received 4242")
    other = raw_describe(wire, BROKER, "4242")
    assert (other.error_code, other.error_message) == (
        INVALID_REQUEST, f"Unexpected broker id, expected {node_id} or empty string, but received 4242")


def test_per_broker_configs_are_refused_at_the_cluster_level(wire: WireClient) -> None:
    assert incremental(wire, BROKER, "", ("listeners", SET, "PLAINTEXT://:1")) == (
        INVALID_REQUEST, "Cannot update these configs at default cluster level, broker id must be specified: [listeners]")


def test_the_cluster_min_insync_replicas_cannot_be_dropped(wire: WireClient) -> None:
    # Kafka 4 (eligible leader replicas on) holds it at the cluster level; a legacy
    # AlterConfigs that replaces the whole default set without it is refused.
    assert legacy(wire, BROKER, "", {"log.retention.bytes": "77"}) == (
        INVALID_CONFIG, "Cluster-level min.insync.replicas cannot be removed while ELR is enabled.")


def test_logger_errors(wire: WireClient, node_id: str) -> None:
    assert incremental(wire, BROKER_LOGGER, node_id, ("no.such.logger", SET, "DEBUG")) == (
        INVALID_CONFIG, "Logger no.such.logger does not exist!")
    assert incremental(wire, BROKER_LOGGER, node_id, ("root", SET, "LOUD")) == (
        INVALID_CONFIG, "Cannot set the log level of root to LOUD as it is not a supported log level. "
        "Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN")
    assert incremental(wire, BROKER_LOGGER, node_id, ("root", DELETE, None)) == (
        INVALID_REQUEST, "Removing the log level of the root logger is not allowed")
    # The legacy AlterConfigs does not take loggers.
    assert legacy(wire, BROKER_LOGGER, node_id, {"root": "INFO"}) == (INVALID_REQUEST, "Unknown resource type 8")


def test_group_resources_need_a_name(wire: WireClient) -> None:
    assert incremental(wire, GROUP, "", ("consumer.session.timeout.ms", SET, "50000")) == (
        INVALID_REQUEST, "Default group resources are not allowed.")
    empty = raw_describe(wire, GROUP, "")
    assert (empty.error_code, empty.error_message) == (INVALID_REQUEST, "Group name must not be empty")


@pytest.mark.kafkalite_only(reason="DescribeConfigs v0 was removed in Kafka 4 (KIP-896); Kafka 3.9 served it")
def test_describe_configs_v0(wire: WireClient, admin: AdminClient, topic_name: str) -> None:
    for future in admin.create_topics([NewTopic(topic_name, 1, config={"retention.ms": "1000"})]).values():
        future.result(TIMEOUT)
    result = raw_describe(wire, TOPIC, topic_name, version=0)
    configs = {c.name: c for c in result.configs}
    assert (configs["retention.ms"].value, configs["retention.ms"].is_default) == ("1000", False)
    assert configs["segment.bytes"].is_default is True


@pytest.mark.kafkalite_only(reason="crashes and restarts a kafkalite process on its data dir")
def test_dynamic_configs_survive_kill_9(restartable_broker: RestartableBroker) -> None:
    admin = AdminClient({"bootstrap.servers": restartable_broker.bootstrap})
    alter(admin, ConfigResource.Type.BROKER, "0", entry("log.retention.ms", "5000"))
    alter(admin, ConfigResource.Type.GROUP, "g", entry("consumer.session.timeout.ms", "50000"))
    with WireClient(restartable_broker.bootstrap) as client:
        assert incremental(client, BROKER, "", ("message.max.bytes", SET, "2000000")) == (0, None)
    restartable_broker.crash_and_restart()
    admin = AdminClient({"bootstrap.servers": restartable_broker.bootstrap})
    node = described(admin, ConfigResource.Type.BROKER, "0")
    assert (node["log.retention.ms"].value, node["log.retention.ms"].source) == (
        "5000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    assert (node["message.max.bytes"].value, node["message.max.bytes"].source) == (
        "2000000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
    assert described(admin, ConfigResource.Type.GROUP, "g")["consumer.session.timeout.ms"].value == "50000"
