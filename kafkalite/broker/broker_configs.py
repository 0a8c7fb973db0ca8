"""Dynamic broker configs as Kafka's DynamicBrokerConfig: which may change, their validation,
and how DescribeConfigs shows a BROKER resource.

A BROKER resource named "" holds the cluster-wide defaults (DYNAMIC_DEFAULT_BROKER_CONFIG), one
named by a broker id that broker's own (DYNAMIC_BROKER_CONFIG). A value is found in that
order, then in kafkalite's settings (STATIC_BROKER_CONFIG, what a server.properties would set),
then Kafka's default. Only Kafka's dynamic configs may be set (`DYNAMIC_BROKER_CONFIGS`); a
name Kafka knows as read-only is refused, any other name is a custom config, kept and
described with a hidden value as Kafka does.

Effect: the defaults of topic configs (log.retention.ms, log.segment.bytes, message.max.bytes,
log.cleanup.policy, ...) apply to every topic without its own value from the moment they are
set (`DynamicLayers.topic_defaults`); the others are kept and described only (see
`kafkalite.broker.kafka_broker_configs`).
"""

from __future__ import annotations

import re
from typing import Callable

from kafkalite.broker.kafka_broker_configs import (
    KAFKA_READ_ONLY_BROKER_CONFIGS,
    LISTENER_PREFIX_ONLY,
    OTHER_DYNAMIC_BROKER_CONFIGS,
    is_per_broker_config,
)
from kafkalite.broker.topic_configs import (
    BROKER_CONFIGS,
    TOPIC_CONFIGS,
    AlterOp,
    BrokerConfigDef,
    ConfigEntry,
    ConfigSource,
    ConfigType,
    DynamicLayers,
    InvalidConfig,
    _by_name,
    _synonyms,
    static_broker_configs,
)
from kafkalite.wire.error_codes import ErrorCode

_T = ConfigType

# Every broker config kafkalite describes: its own settings' and the topic defaults'
# (`BROKER_CONFIGS`), and the other dynamic ones.
ALL_BROKER_CONFIGS: dict[str, BrokerConfigDef] = _by_name([*BROKER_CONFIGS.values(), *OTHER_DYNAMIC_BROKER_CONFIGS])

# Kafka's dynamic broker configs: the defaults of topic configs, listeners, and the rest.
DYNAMIC_BROKER_CONFIGS: frozenset[str] = frozenset(
    {d.synonym for d in TOPIC_CONFIGS.values() if d.synonym is not None}
    | {"listeners", "listener.security.protocol.map"}
    | {d.name for d in OTHER_DYNAMIC_BROKER_CONFIGS}
)

# Kafka's cluster-level listener configs: with a listener prefix they stay cluster-wide.
_CLUSTER_LEVEL_LISTENER_CONFIGS = frozenset({"max.connections", "max.connection.creation.rate", "num.network.threads"})
_LISTENER_PREFIX = re.compile(r"listener\.name\.[^.]*\.(.*)")

# The broker synonym of each topic config, and the topic config behind each broker one.
_TOPIC_OF_BROKER_CONFIG = {d.synonym: d for d in TOPIC_CONFIGS.values() if d.synonym is not None}


class BrokerConfigRefused(Exception):
    """A change Kafka refuses, with its error code (INVALID_REQUEST unless said) and message."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INVALID_REQUEST) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _base_name(name: str) -> str:
    """*name* without a listener prefix (listener.name.NAME.ssl.key.password -> ssl.key.password)."""
    match = _LISTENER_PREFIX.fullmatch(name)
    return match.group(1) if match else name


def _per_broker_only(name: str) -> bool:
    base = _base_name(name)
    if base != name:
        return base not in _CLUSTER_LEVEL_LISTENER_CONFIGS
    return is_per_broker_config(name)


def is_read_only(name: str) -> bool:
    """Whether Kafka refuses to change broker config *name* dynamically."""
    return name in KAFKA_READ_ONLY_BROKER_CONFIGS or (name in ALL_BROKER_CONFIGS and name not in DYNAMIC_BROKER_CONFIGS)


def is_custom(name: str) -> bool:
    """A name Kafka does not know: stored and described with a hidden value (Kafka's custom props)."""
    return name not in ALL_BROKER_CONFIGS and name not in KAFKA_READ_ONLY_BROKER_CONFIGS and _base_name(name) == name


def _number(kind: str, bits: int | None, parse: Callable[[str], object]) -> Callable[[str], None]:
    def check(value: str) -> None:
        try:
            number = parse(value.strip())
        except ValueError:
            raise InvalidConfig(f"Not a number of type {kind}") from None
        if bits is not None and not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):  # type: ignore[operator]
            raise InvalidConfig(f"Not a number of type {kind}")

    return check


def _boolean(value: str) -> None:
    if value.strip().lower() not in ("true", "false"):
        raise InvalidConfig("Expected value to be either true or false")


_TYPE_CHECKS: dict[ConfigType, Callable[[str], None]] = {
    _T.INT: _number("INT", 32, int),
    _T.SHORT: _number("SHORT", 16, int),
    _T.LONG: _number("LONG", 64, int),
    _T.DOUBLE: _number("DOUBLE", None, float),
    _T.BOOLEAN: _boolean,
}


def _check_value(name: str, value: str) -> None:
    """Kafka's type check of a dynamic config, then the topic config's rule for a topic default.

    Raises:
        BrokerConfigRefused: INVALID_REQUEST, "Invalid value V for configuration N: why".
    """
    definition = ALL_BROKER_CONFIGS.get(_base_name(name))
    if definition is None:
        return
    checks = [_TYPE_CHECKS.get(definition.type)]
    topic = _TOPIC_OF_BROKER_CONFIG.get(definition.name)
    if topic is not None:
        checks.append(topic.check)
    for check in checks:
        if check is None:
            continue
        try:
            check(value)
        except InvalidConfig as exc:
            raise BrokerConfigRefused(f"Invalid value {value} for configuration {name}: {exc}") from None


def _names(names: set[str]) -> str:
    return "[" + ", ".join(sorted(names)) + "]"


def validate_broker_configs(configs: dict[str, str], per_broker: bool) -> None:
    """Check the whole set of dynamic configs a BROKER resource would hold, as Kafka's
    DynamicBrokerConfig.validateConfigs: read-only names, listener-only security configs,
    values by type, per-broker configs at the cluster level. *per_broker*: the resource is a
    broker id (else "", the cluster-wide default).

    Raises:
        BrokerConfigRefused: INVALID_REQUEST with Kafka's message.
    """
    read_only = {n for n in configs if is_read_only(n)}
    if read_only:
        raise BrokerConfigRefused(f"Cannot update these configs dynamically: {_names(read_only)}")
    unprefixed = {n for n in configs if n in LISTENER_PREFIX_ONLY}
    if unprefixed:
        raise BrokerConfigRefused(
            "These security configs can be dynamically updated only per-listener using the listener prefix: "
            + _names(unprefixed)
        )
    for name, value in sorted(configs.items()):
        _check_value(name, value)
    if not per_broker:
        broker_only = {n for n in configs if _per_broker_only(n)}
        if broker_only:
            raise BrokerConfigRefused(
                "Cannot update these configs at default cluster level, broker id must be specified: "
                + _names(broker_only)
            )


def check_cluster_min_insync(name: str, configs: dict[str, str]) -> None:
    """Kafka 4 with eligible leader replicas keeps the cluster-level min.insync.replicas.

    Raises:
        BrokerConfigRefused: INVALID_CONFIG, resource "" without min.insync.replicas.
    """
    if name == "" and "min.insync.replicas" not in configs:
        raise BrokerConfigRefused(
            "Cluster-level min.insync.replicas cannot be removed while ELR is enabled.", ErrorCode.INVALID_CONFIG
        )


def _list_value(current: str | None) -> list[str]:
    return [item for item in (current or "").split(",") if item]


def apply_broker_ops(current: dict[str, str], ops: list[tuple[str, int, str | None]]) -> dict[str, str]:
    """The dynamic configs after IncrementalAlterConfigs *ops* (name, operation, value), as
    Kafka's prepareIncrementalConfigs: SET, DELETE, and APPEND / SUBTRACT on list configs
    (starting from the current value, else Kafka's default). Values are not validated here.

    Raises:
        BrokerConfigRefused: an unknown operation (INVALID_REQUEST), APPEND / SUBTRACT on a
            config that is not a list (INVALID_CONFIG).
    """
    for _, op, _ in ops:
        if op not in tuple(AlterOp):
            raise BrokerConfigRefused(f"Unknown operations type {op}")
    result = dict(current)
    for name, op, value in ops:
        operation = AlterOp(op)
        if operation == AlterOp.SET:
            result[name] = value or ""
        elif operation == AlterOp.DELETE:
            result.pop(name, None)
        else:
            definition = ALL_BROKER_CONFIGS.get(_base_name(name))
            verb = "append" if operation == AlterOp.APPEND else "subtract"
            if definition is None:
                raise BrokerConfigRefused(f"Unknown config name: {name}", ErrorCode.INVALID_CONFIG)
            if definition.type != ConfigType.LIST:
                raise BrokerConfigRefused(
                    f"Config value {verb} is not allowed for config key: {name}", ErrorCode.INVALID_CONFIG
                )
            items = _list_value(value)
            old = _list_value(result.get(name, definition.default))
            if operation == AlterOp.APPEND:
                new = old + [item for item in items if item not in old]
            else:
                new = [item for item in old if item not in items]
            result[name] = ",".join(dict.fromkeys(new))
    return result


# -- describing ------------------------------------------------------------------------------


def _entry(name: str, synonyms: list, value: str | None) -> ConfigEntry:
    definition = ALL_BROKER_CONFIGS.get(_base_name(name))
    config_type = definition.type if definition is not None else ConfigType.UNKNOWN
    # Kafka hides the values of passwords, and of custom configs (their type is unknown).
    sensitive = config_type in (ConfigType.PASSWORD, ConfigType.UNKNOWN)
    if sensitive:
        value = None
        synonyms = [(n, None, s) for n, _, s in synonyms]
    return ConfigEntry(
        name=name,
        value=value,
        source=synonyms[0][2] if synonyms else ConfigSource.DEFAULT_CONFIG,
        type=config_type,
        read_only=name not in DYNAMIC_BROKER_CONFIGS and _base_name(name) == name,
        is_sensitive=sensitive,
        synonyms=tuple(synonyms),
        documentation=definition.doc if definition is not None else None,
    )


def describe_node_configs(settings: dict[str, str], layers: DynamicLayers) -> list[ConfigEntry]:
    """Every broker config of one node: kafkalite's *settings* (broker config name -> value),
    *layers* (its dynamic configs) and Kafka's defaults, most specific first.

    A value is the first of: the broker's dynamic value, the cluster-wide one, kafkalite's
    setting when it differs from Kafka's default (STATIC_BROKER_CONFIG), Kafka's default.
    Kafka's dynamic configs are not read-only; synonyms list every layer that sets the config.
    """
    static = static_broker_configs(settings)
    names = set(ALL_BROKER_CONFIGS) | set(layers.broker) | set(layers.cluster)
    entries = []
    for name in sorted(names):
        synonyms = _synonyms(name, static, layers, ALL_BROKER_CONFIGS)
        value = next((v for n, v, _ in synonyms if n == name), None)
        entries.append(_entry(name, synonyms, value))
    return entries


def describe_cluster_defaults(layers: DynamicLayers) -> list[ConfigEntry]:
    """The BROKER resource "" (Kafka's --entity-default): only the cluster-wide dynamic configs,
    each with its cluster-level synonyms only."""
    cluster_only = DynamicLayers(broker={}, cluster=layers.cluster)
    entries = []
    for name in sorted(layers.cluster):
        synonyms = [s for s in _synonyms(name, {}, cluster_only) if s[2] == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]
        entries.append(_entry(name, synonyms, layers.cluster[name]))
    return entries


def broker_id_of(name: str, message: str) -> int:
    """*name* as a broker id. Raises BrokerConfigRefused(*message* + name) if it is not an integer."""
    try:
        return int(name)
    except ValueError:
        raise BrokerConfigRefused(f"{message}{name}") from None
