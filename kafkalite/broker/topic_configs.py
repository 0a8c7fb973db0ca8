"""The topic configs Kafka knows, with their types, defaults, valid values and broker synonyms.

Used to validate CreateTopics / AlterConfigs / IncrementalAlterConfigs, and to answer
DescribeConfigs the way Kafka does (value, source, type, synonyms). Values are kept as the
strings clients send; `TopicConfig` parses the ones the broker acts on.
"""

from __future__ import annotations

import enum
from typing import Callable

import attrs

LONG_MAX = 9223372036854775807


class ConfigType(enum.IntEnum):
    """DescribeConfigs config_type (v3+)."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class ConfigSource(enum.IntEnum):
    """DescribeConfigs config_source (v1+)."""

    UNKNOWN = 0
    TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6


class ConfigResourceType(enum.IntEnum):
    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8


class InvalidConfig(ValueError):
    """A config name or value that Kafka would refuse (INVALID_CONFIG)."""


@attrs.frozen
class ConfigDef:
    name: str
    type: ConfigType
    default: str
    synonym: str | None = None  # the broker-level config that supplies the default
    check: Callable[[str], None] | None = None


def _int_check(lo: int | None = None, hi: int | None = None, bits: int = 64) -> Callable[[str], None]:
    limit = 2 ** (bits - 1)

    def check(value: str) -> None:
        try:
            n = int(value.strip())
        except ValueError:
            raise InvalidConfig(f"value {value!r} is not a number") from None
        if not -limit <= n < limit:
            raise InvalidConfig(f"value {value} is out of range for a {bits}-bit number")
        if lo is not None and n < lo:
            raise InvalidConfig(f"value {n} must be at least {lo}")
        if hi is not None and n > hi:
            raise InvalidConfig(f"value {n} must be at most {hi}")

    return check


def _bool_check(value: str) -> None:
    if value.strip().lower() not in ("true", "false"):
        raise InvalidConfig(f"value {value!r} is not a boolean (true or false)")


def _one_of(*choices: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if value.strip() not in choices:
            raise InvalidConfig(f"value {value!r} is not one of {', '.join(choices)}")

    return check


def _list_of(*choices: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        items = [item.strip() for item in value.split(",") if item.strip()]
        bad = [item for item in items if item not in choices]
        if bad:
            raise InvalidConfig(f"{', '.join(bad)} not in {', '.join(choices)}")

    return check


def _ratio_check(value: str) -> None:
    try:
        x = float(value)
    except ValueError:
        raise InvalidConfig(f"value {value!r} is not a number") from None
    if not 0.0 <= x <= 1.0:
        raise InvalidConfig(f"value {x} must be between 0 and 1")


_T = ConfigType

TOPIC_CONFIGS: dict[str, ConfigDef] = {
    d.name: d
    for d in [
        ConfigDef("cleanup.policy", _T.LIST, "delete", "log.cleanup.policy", _list_of("delete", "compact")),
        ConfigDef(
            "compression.type",
            _T.STRING,
            "producer",
            "compression.type",
            _one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
        ),
        ConfigDef("compression.gzip.level", _T.INT, "-1", "compression.gzip.level", _int_check(-1, 9, 32)),
        ConfigDef("compression.lz4.level", _T.INT, "9", "compression.lz4.level", _int_check(1, 17, 32)),
        ConfigDef("compression.zstd.level", _T.INT, "3", "compression.zstd.level", _int_check(-131072, 22, 32)),
        ConfigDef("delete.retention.ms", _T.LONG, "86400000", "log.cleaner.delete.retention.ms", _int_check(0)),
        ConfigDef("errors.deadletterqueue.group.enable", _T.BOOLEAN, "false", None, _bool_check),
        ConfigDef("file.delete.delay.ms", _T.LONG, "60000", "log.segment.delete.delay.ms", _int_check(0)),
        ConfigDef("flush.messages", _T.LONG, str(LONG_MAX), "log.flush.interval.messages", _int_check(1)),
        ConfigDef("flush.ms", _T.LONG, str(LONG_MAX), "log.flush.interval.ms", _int_check(0)),
        # The replication throttles are topic configs only: no broker config supplies them.
        ConfigDef("follower.replication.throttled.replicas", _T.LIST, "", None),
        ConfigDef("index.interval.bytes", _T.INT, "4096", "log.index.interval.bytes", _int_check(0, None, 32)),
        ConfigDef("leader.replication.throttled.replicas", _T.LIST, "", None),
        ConfigDef("local.retention.bytes", _T.LONG, "-2", "log.local.retention.bytes", _int_check(-2)),
        ConfigDef("local.retention.ms", _T.LONG, "-2", "log.local.retention.ms", _int_check(-2)),
        ConfigDef("max.compaction.lag.ms", _T.LONG, str(LONG_MAX), "log.cleaner.max.compaction.lag.ms", _int_check(1)),
        ConfigDef(
            "max.decompressed.message.bytes", _T.INT, "2147483639", "max.decompressed.message.bytes",
            _int_check(0, None, 32),
        ),
        ConfigDef("max.message.bytes", _T.INT, "1048588", "message.max.bytes", _int_check(0, None, 32)),
        ConfigDef(
            "message.timestamp.after.max.ms", _T.LONG, "3600000", "log.message.timestamp.after.max.ms", _int_check(0)
        ),
        ConfigDef(
            "message.timestamp.before.max.ms",
            _T.LONG,
            str(LONG_MAX),
            "log.message.timestamp.before.max.ms",
            _int_check(0),
        ),
        ConfigDef(
            "message.timestamp.type",
            _T.STRING,
            "CreateTime",
            "log.message.timestamp.type",
            _one_of("CreateTime", "LogAppendTime"),
        ),
        ConfigDef("min.cleanable.dirty.ratio", _T.DOUBLE, "0.5", "log.cleaner.min.cleanable.ratio", _ratio_check),
        ConfigDef("min.compaction.lag.ms", _T.LONG, "0", "log.cleaner.min.compaction.lag.ms", _int_check(0)),
        ConfigDef("min.insync.replicas", _T.INT, "1", "min.insync.replicas", _int_check(1, None, 32)),
        ConfigDef("preallocate", _T.BOOLEAN, "false", "log.preallocate", _bool_check),
        ConfigDef("remote.copy.lag.bytes", _T.LONG, "-1", "log.remote.copy.lag.bytes", _int_check(-1)),
        ConfigDef("remote.copy.lag.ms", _T.LONG, "0", "log.remote.copy.lag.ms", _int_check(-1)),
        ConfigDef("remote.log.copy.disable", _T.BOOLEAN, "false", None, _bool_check),
        ConfigDef("remote.log.delete.on.disable", _T.BOOLEAN, "false", None, _bool_check),
        ConfigDef("remote.storage.enable", _T.BOOLEAN, "false", None, _bool_check),
        ConfigDef("retention.bytes", _T.LONG, "-1", "log.retention.bytes", _int_check()),
        ConfigDef("retention.ms", _T.LONG, "604800000", "log.retention.ms", _int_check(-1)),
        # Kafka 4 requires at least 1 MiB; we allow small segments (as Kafka 3 did, 14 bytes)
        # because rolling is something people want to watch happen in tests.
        ConfigDef("segment.bytes", _T.INT, "1073741824", "log.segment.bytes", _int_check(14, None, 32)),
        ConfigDef("segment.index.bytes", _T.INT, "10485760", "log.index.size.max.bytes", _int_check(4, None, 32)),
        ConfigDef("segment.jitter.ms", _T.LONG, "0", "log.roll.jitter.ms", _int_check(0)),
        ConfigDef("segment.ms", _T.LONG, "604800000", "log.roll.ms", _int_check(1)),
        ConfigDef(
            "unclean.leader.election.enable", _T.BOOLEAN, "false", "unclean.leader.election.enable", _bool_check
        ),
    ]
}


def validate_topic_config(name: str, value: str | None) -> None:
    """Raise `InvalidConfig` if *name* is not a topic config or *value* is not valid for it."""
    definition = TOPIC_CONFIGS.get(name)
    if definition is None:
        raise InvalidConfig(f"Unknown topic config name: {name}")
    if value is None:
        raise InvalidConfig(f"Null value not supported for topic config {name}")
    if definition.check is not None:
        try:
            definition.check(value)
        except InvalidConfig as exc:
            raise InvalidConfig(f"Invalid value {value} for configuration {name}: {exc}") from None


def validate_topic_configs(configs: dict[str, str | None]) -> None:
    for name, value in configs.items():
        validate_topic_config(name, value)


def topic_config_value(overrides: dict[str, str], name: str) -> str:
    """The effective value of topic config *name*: the override, else Kafka's default."""
    value = overrides.get(name)
    return value if value is not None else TOPIC_CONFIGS[name].default


def topic_config_int(overrides: dict[str, str], name: str) -> int:
    return int(topic_config_value(overrides, name))


# -- describing configs ----------------------------------------------------------------------


@attrs.frozen
class ConfigEntry:
    """One row of a DescribeConfigs answer."""

    name: str
    value: str | None
    source: ConfigSource
    type: ConfigType
    read_only: bool = False
    is_sensitive: bool = False
    synonyms: tuple[tuple[str, str | None, ConfigSource], ...] = ()


def describe_topic_configs(overrides: dict[str, str]) -> list[ConfigEntry]:
    """Every topic config with its effective value and where that value comes from.

    Synonyms list the topic override first (if any), then the broker-level default, as
    Kafka orders them (most specific first).
    """
    entries = []
    for name, definition in sorted(TOPIC_CONFIGS.items()):
        synonyms: list[tuple[str, str | None, ConfigSource]] = []
        if name in overrides:
            synonyms.append((name, overrides[name], ConfigSource.TOPIC_CONFIG))
        if definition.synonym is not None:
            synonyms.append((definition.synonym, definition.default, ConfigSource.DEFAULT_CONFIG))
        source = ConfigSource.TOPIC_CONFIG if name in overrides else ConfigSource.DEFAULT_CONFIG
        entries.append(
            ConfigEntry(
                name=name,
                value=overrides.get(name, definition.default),
                source=source,
                type=definition.type,
                synonyms=tuple(synonyms),
            )
        )
    return entries


def describe_broker_configs(
    *,
    node_id: int,
    listeners: str,
    advertised_listeners: str,
    log_dir: str,
    num_partitions: int,
    default_replication_factor: int,
    auto_create_topics: bool,
    max_request_bytes: int,
    offsets_topic_partitions: int = 50,
    initial_rebalance_delay_ms: int = 0,
) -> list[ConfigEntry]:
    """The broker configs kafkalite has, as a static broker config (read-only).

    Topic-config synonyms (log.retention.ms, message.max.bytes, ...) are listed with their
    defaults so that a client reading broker defaults sees what new topics will get.
    """
    static = ConfigSource.STATIC_BROKER_CONFIG
    default = ConfigSource.DEFAULT_CONFIG
    rows: list[tuple[str, str | None, ConfigType, ConfigSource]] = [
        ("node.id", str(node_id), ConfigType.INT, static),
        ("broker.id", str(node_id), ConfigType.INT, static),
        ("process.roles", "broker,controller", ConfigType.LIST, static),
        ("listeners", listeners, ConfigType.STRING, static),
        ("advertised.listeners", advertised_listeners, ConfigType.STRING, static),
        ("log.dirs", log_dir, ConfigType.STRING, static),
        ("num.partitions", str(num_partitions), ConfigType.INT, static),
        ("default.replication.factor", str(default_replication_factor), ConfigType.INT, static),
        ("auto.create.topics.enable", str(auto_create_topics).lower(), ConfigType.BOOLEAN, static),
        ("socket.request.max.bytes", str(max_request_bytes), ConfigType.INT, static),
        ("offsets.topic.num.partitions", str(offsets_topic_partitions), ConfigType.INT, static),
        ("offsets.topic.replication.factor", "1", ConfigType.SHORT, static),
        ("group.initial.rebalance.delay.ms", str(initial_rebalance_delay_ms), ConfigType.INT, static),
        ("group.min.session.timeout.ms", "6000", ConfigType.INT, default),
        ("group.max.session.timeout.ms", "1800000", ConfigType.INT, default),
        ("log.retention.hours", "168", ConfigType.INT, default),
        ("log.roll.hours", "168", ConfigType.INT, default),
    ]
    seen = {row[0] for row in rows}
    for definition in TOPIC_CONFIGS.values():
        if definition.synonym and definition.synonym not in seen:
            seen.add(definition.synonym)
            rows.append((definition.synonym, definition.default, definition.type, default))
    return [
        ConfigEntry(name=name, value=value, source=source, type=type_, read_only=True,
                    synonyms=((name, value, source),))
        for name, value, type_, source in sorted(rows)
    ]


class AlterOp(enum.IntEnum):
    """IncrementalAlterConfigs config_operation."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


def apply_incremental(overrides: dict[str, str], ops: list[tuple[str, int, str | None]]) -> dict[str, str]:
    """Return the overrides after IncrementalAlterConfigs *ops* (name, op, value).

    Raises:
        InvalidConfig: unknown name or operation, a bad value, or APPEND / SUBTRACT on a
            config that is not a list.
    """
    result = dict(overrides)
    names = [name for name, _, _ in ops]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidConfig(f"Error due to duplicate config keys: {', '.join(duplicates)}")
    for name, op, value in ops:
        definition = TOPIC_CONFIGS.get(name)
        if definition is None:
            raise InvalidConfig(f"Unknown topic config name: {name}")
        try:
            operation = AlterOp(op)
        except ValueError:
            raise InvalidConfig(f"Unknown config operation {op} for {name}") from None
        if operation in (AlterOp.APPEND, AlterOp.SUBTRACT) and definition.type != ConfigType.LIST:
            raise InvalidConfig(
                f"Config value append/subtract is not allowed for config key {name} "
                "because it is not a list"
            )
        if operation == AlterOp.DELETE:
            result.pop(name, None)
            continue
        if value is None:
            raise InvalidConfig(f"Null value not supported for topic config {name}")
        if operation == AlterOp.SET:
            result[name] = value
            continue
        current = [v.strip() for v in topic_config_value(result, name).split(",") if v.strip()]
        items = [v.strip() for v in value.split(",") if v.strip()]
        if operation == AlterOp.APPEND:
            current += [item for item in items if item not in current]
        else:
            current = [item for item in current if item not in items]
        result[name] = ",".join(current)
    validate_topic_configs(result)
    return result
