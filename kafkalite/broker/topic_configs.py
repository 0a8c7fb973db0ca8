"""The topic configs Kafka knows, with their types, defaults, valid values and broker synonyms,
and the broker configs kafkalite describes.

Used to validate CreateTopics / AlterConfigs / IncrementalAlterConfigs, and to answer
DescribeConfigs the way Kafka does (value, source, type, synonyms, documentation). Values are
kept as the strings clients send; `TopicConfig` parses the ones the broker acts on.
"""

from __future__ import annotations

import enum
import typing
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
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8


class ConfigResourceType(enum.IntEnum):
    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


class InvalidConfig(ValueError):
    """A config name or value that Kafka would refuse (INVALID_CONFIG)."""


@attrs.frozen
class ConfigDef:
    name: str
    type: ConfigType
    default: str
    synonym: str | None = None  # the broker-level config that supplies the default
    check: Callable[[str], None] | None = None
    doc: str = ""  # one line, DescribeConfigs' documentation


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
_D = typing.TypeVar("_D", "ConfigDef", "BrokerConfigDef")


def _by_name(definitions: list[_D]) -> dict[str, _D]:
    """A catalogue keyed by name; a name defined twice is a mistake, not a silent override."""
    catalogue: dict[str, _D] = {}
    for definition in definitions:
        if definition.name in catalogue:
            raise ValueError(f"config {definition.name} is defined twice")
        catalogue[definition.name] = definition
    return catalogue


# Each topic config: Kafka's type, default and validation, the broker config that supplies its
# default (the first of Kafka's ServerTopicConfigSynonyms for it; None where Kafka has none),
# and a one-line description of our own (DescribeConfigs' documentation).
TOPIC_CONFIGS: dict[str, ConfigDef] = _by_name(
    [
        ConfigDef("cleanup.policy", _T.LIST, "delete", "log.cleanup.policy", _list_of("delete", "compact"),
                  "How old records go: delete (by age and size), compact (keep the last record of each key), or both."),
        ConfigDef(
            "compression.type",
            _T.STRING,
            "producer",
            "compression.type",
            _one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
            "Codec the stored batches use; producer keeps the codec each batch was produced with.",
        ),
        ConfigDef("compression.gzip.level", _T.INT, "-1", "compression.gzip.level", _int_check(-1, 9, 32),
                  "Level used when the broker itself compresses batches with gzip."),
        ConfigDef("compression.lz4.level", _T.INT, "9", "compression.lz4.level", _int_check(1, 17, 32),
                  "Level used when the broker itself compresses batches with lz4."),
        ConfigDef("compression.zstd.level", _T.INT, "3", "compression.zstd.level", _int_check(-131072, 22, 32),
                  "Level used when the broker itself compresses batches with zstd."),
        ConfigDef("delete.retention.ms", _T.LONG, "86400000", "log.cleaner.delete.retention.ms", _int_check(0),
                  "How long a tombstone (a record with a null value) stays readable in a compacted topic."),
        ConfigDef("errors.deadletterqueue.group.enable", _T.BOOLEAN, "false", None, _bool_check,
                  "Whether groups may write the records they give up on to this topic, as a dead-letter queue."),
        ConfigDef("file.delete.delay.ms", _T.LONG, "60000", "log.segment.delete.delay.ms", _int_check(0),
                  "How long a removed segment's files stay on disk before they are deleted."),
        ConfigDef("flush.messages", _T.LONG, str(LONG_MAX), "log.flush.interval.messages", _int_check(1),
                  "Sync the log to disk after this many records (the default leaves it to the operating system)."),
        ConfigDef("flush.ms", _T.LONG, str(LONG_MAX), "log.flush.interval.ms", _int_check(0),
                  "Sync the log to disk when this long has passed since the last sync (the default: never)."),
        ConfigDef("follower.replication.throttled.replicas", _T.LIST, "", None, None,
                  "Replicas (partition:broker, or *) whose fetching from the leader is throttled."),
        ConfigDef("index.interval.bytes", _T.INT, "4096", "log.index.interval.bytes", _int_check(0, None, 32),
                  "Bytes of records between two entries of a segment's offset index."),
        ConfigDef("leader.replication.throttled.replicas", _T.LIST, "", None, None,
                  "Replicas (partition:broker, or *) whose serving of followers is throttled on the leader."),
        ConfigDef("local.retention.bytes", _T.LONG, "-2", "log.local.retention.bytes", _int_check(-2),
                  "With tiered storage, bytes of a partition kept on local disk (-2: as retention.bytes)."),
        ConfigDef("local.retention.ms", _T.LONG, "-2", "log.local.retention.ms", _int_check(-2),
                  "With tiered storage, how long segments stay on local disk (-2: as retention.ms)."),
        ConfigDef("max.compaction.lag.ms", _T.LONG, str(LONG_MAX), "log.cleaner.max.compaction.lag.ms", _int_check(1),
                  "Longest time a record may wait before a compacted topic's cleaner considers it."),
        ConfigDef("max.decompressed.message.bytes", _T.INT, "2147483639", "max.decompressed.message.bytes",
                  _int_check(0, None, 32), "Largest size a record may have once its batch is decompressed."),
        ConfigDef("max.message.bytes", _T.INT, "1048588", "message.max.bytes", _int_check(0, None, 32),
                  "Largest record batch, as sent (compressed), that the topic accepts."),
        ConfigDef(
            "message.timestamp.after.max.ms", _T.LONG, "3600000", "log.message.timestamp.after.max.ms", _int_check(0),
            "How far ahead of the broker's clock a CreateTime timestamp may be.",
        ),
        ConfigDef(
            "message.timestamp.before.max.ms",
            _T.LONG,
            str(LONG_MAX),
            "log.message.timestamp.before.max.ms",
            _int_check(0),
            "How far behind the broker's clock a CreateTime timestamp may be.",
        ),
        ConfigDef(
            "message.timestamp.type",
            _T.STRING,
            "CreateTime",
            "log.message.timestamp.type",
            _one_of("CreateTime", "LogAppendTime"),
            "Which time a record carries: the producer's (CreateTime) or the broker's on append (LogAppendTime).",
        ),
        ConfigDef("min.cleanable.dirty.ratio", _T.DOUBLE, "0.5", "log.cleaner.min.cleanable.ratio", _ratio_check,
                  "Share of not yet compacted log at which a compacted partition is cleaned."),
        ConfigDef("min.compaction.lag.ms", _T.LONG, "0", "log.cleaner.min.compaction.lag.ms", _int_check(0),
                  "Shortest time a record stays as written before compaction may remove it."),
        ConfigDef("min.insync.replicas", _T.INT, "1", "min.insync.replicas", _int_check(1, None, 32),
                  "Fewest in-sync replicas that must have a write for an acks=all produce to succeed."),
        ConfigDef("preallocate", _T.BOOLEAN, "false", "log.preallocate", _bool_check,
                  "Whether a new segment's file is allocated at its full size up front."),
        ConfigDef("remote.copy.lag.bytes", _T.LONG, "-1", "log.remote.copy.lag.bytes", _int_check(-1),
                  "With tiered storage, bytes of closed segments that may wait locally before they are copied."),
        ConfigDef("remote.copy.lag.ms", _T.LONG, "0", "log.remote.copy.lag.ms", _int_check(-1),
                  "With tiered storage, how long a closed segment may wait locally before it is copied."),
        ConfigDef("remote.log.copy.disable", _T.BOOLEAN, "false", None, _bool_check,
                  "With tiered storage, stop copying new segments to remote storage."),
        ConfigDef("remote.log.delete.on.disable", _T.BOOLEAN, "false", None, _bool_check,
                  "With tiered storage, delete the remote segments when remote storage is turned off."),
        ConfigDef("remote.storage.enable", _T.BOOLEAN, "false", None, _bool_check,
                  "Whether the topic's older segments move to tiered (remote) storage."),
        ConfigDef("retention.bytes", _T.LONG, "-1", "log.retention.bytes", _int_check(),
                  "Size a partition may reach before its oldest segments are deleted (-1: no limit)."),
        ConfigDef("retention.ms", _T.LONG, "604800000", "log.retention.ms", _int_check(-1),
                  "How long records are kept before their segment is deleted (-1: forever)."),
        # Kafka 4 requires at least 1 MiB; we allow small segments (as Kafka 3 did, 14 bytes)
        # because rolling is something people want to watch happen in tests.
        ConfigDef("segment.bytes", _T.INT, "1073741824", "log.segment.bytes", _int_check(14, None, 32),
                  "Size at which the active segment is closed and a new one begun."),
        ConfigDef("segment.index.bytes", _T.INT, "10485760", "log.index.size.max.bytes", _int_check(4, None, 32),
                  "Size of a segment's offset and time index files."),
        ConfigDef("segment.jitter.ms", _T.LONG, "0", "log.roll.jitter.ms", _int_check(0),
                  "Up to this much is taken at random off segment.ms, so that segments do not all roll at once."),
        ConfigDef("segment.ms", _T.LONG, "604800000", "log.roll.ms", _int_check(1),
                  "Age at which the active segment is closed even if it is not full."),
        ConfigDef(
            "unclean.leader.election.enable", _T.BOOLEAN, "false", "unclean.leader.election.enable", _bool_check,
            "Whether a replica that is out of sync may become leader, losing what it lacks.",
        ),
    ]
)


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


# -- broker configs --------------------------------------------------------------------------


@attrs.frozen
class BrokerConfigDef:
    """A broker config kafkalite describes: Kafka's type and default (None: Kafka has none)."""

    name: str
    type: ConfigType
    default: str | None
    doc: str


def _broker_defaults_of_topic_configs() -> list[BrokerConfigDef]:
    """The broker configs that supply topic defaults, with Kafka's broker-side defaults."""
    # Kafka leaves these unset: the hours variant (log.retention.hours, log.roll.hours,
    # log.roll.jitter.hours) or the flush scheduler supplies the value.
    unset = {
        "log.retention.ms": "Default of retention.ms; unset, so log.retention.minutes, then log.retention.hours apply.",
        "log.roll.ms": "Default of segment.ms; unset, so log.roll.hours applies.",
        "log.roll.jitter.ms": "Default of segment.jitter.ms; unset, so log.roll.jitter.hours applies.",
        "log.flush.interval.ms": "Default of flush.ms; unset, so time-based syncs follow the flush scheduler.",
    }
    rows = []
    for topic in TOPIC_CONFIGS.values():
        if topic.synonym is None:
            continue
        if topic.synonym in unset:
            rows.append(BrokerConfigDef(topic.synonym, topic.type, None, unset[topic.synonym]))
        else:
            doc = f"Default of the topic config {topic.name}. {topic.doc}"
            rows.append(BrokerConfigDef(topic.synonym, topic.type, topic.default, doc))
    return rows


BROKER_CONFIGS: dict[str, BrokerConfigDef] = _by_name(
    [
        BrokerConfigDef("node.id", _T.INT, None, "Id of this node in the cluster."),
        BrokerConfigDef("broker.id", _T.INT, "-1", "Id of this broker; the same as node.id."),
        BrokerConfigDef("process.roles", _T.LIST, None, "What this node is: a broker, a controller, or both."),
        BrokerConfigDef("listeners", _T.LIST, "PLAINTEXT://:9092", "Addresses the broker accepts connections on."),
        BrokerConfigDef("advertised.listeners", _T.LIST, None, "Addresses Metadata tells clients to connect to."),
        BrokerConfigDef("listener.security.protocol.map", _T.STRING,
                        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
                        "Security protocol of each listener name."),
        BrokerConfigDef("log.dirs", _T.LIST, None, "Directories that hold the partitions' segment files."),
        BrokerConfigDef("num.partitions", _T.INT, "1", "Partitions of a topic created without a count."),
        BrokerConfigDef("default.replication.factor", _T.INT, "1",
                        "Replication factor of a topic created without one."),
        BrokerConfigDef("broker.rack", _T.STRING, None, "The node's rack: replicas spread over racks."),
        BrokerConfigDef("replica.selector.class", _T.STRING, None,
                        "Chooses the replica a consumer with a rack reads from (KIP-392)."),
        BrokerConfigDef("auto.create.topics.enable", _T.BOOLEAN, "true",
                        "Whether asking Metadata for an unknown topic creates it."),
        BrokerConfigDef("socket.request.max.bytes", _T.INT, "104857600",
                        "Largest request the broker reads; a larger one closes the connection."),
        BrokerConfigDef("offsets.topic.num.partitions", _T.INT, "50",
                        "Partitions of __consumer_offsets, fixed when it is created."),
        BrokerConfigDef("offsets.topic.replication.factor", _T.SHORT, "3", "Replication factor of __consumer_offsets."),
        BrokerConfigDef("offsets.retention.minutes", _T.INT, "10080",
                        "How long the committed offsets of a group without members are kept."),
        BrokerConfigDef("offsets.retention.check.interval.ms", _T.LONG, "600000",
                        "How often expired committed offsets are looked for."),
        BrokerConfigDef("offset.metadata.max.bytes", _T.INT, "4096",
                        "Longest metadata string a committed offset may carry."),
        BrokerConfigDef("group.initial.rebalance.delay.ms", _T.INT, "3000",
                        "How long a new group waits for more members before its first rebalance."),
        BrokerConfigDef("group.min.session.timeout.ms", _T.INT, "6000",
                        "Shortest session timeout a group member may ask for."),
        BrokerConfigDef("group.max.session.timeout.ms", _T.INT, "1800000",
                        "Longest session timeout a group member may ask for."),
        BrokerConfigDef("group.max.size", _T.INT, "2147483647", "Most members a group may have."),
        BrokerConfigDef("group.consumer.heartbeat.interval.ms", _T.INT, "5000",
                        "Heartbeat interval given to consumer group members (the group's own config first)."),
        BrokerConfigDef("group.consumer.session.timeout.ms", _T.INT, "45000",
                        "How long a consumer group member may go without a heartbeat (the group's own config first)."),
        BrokerConfigDef("group.consumer.min.heartbeat.interval.ms", _T.INT, "5000",
                        "Least consumer.heartbeat.interval.ms a group may set."),
        BrokerConfigDef("group.consumer.max.heartbeat.interval.ms", _T.INT, "15000",
                        "Largest consumer.heartbeat.interval.ms a group may set."),
        BrokerConfigDef("group.consumer.min.session.timeout.ms", _T.INT, "45000",
                        "Least consumer.session.timeout.ms a group may set."),
        BrokerConfigDef("group.consumer.max.session.timeout.ms", _T.INT, "60000",
                        "Largest consumer.session.timeout.ms a group may set."),
        BrokerConfigDef("group.consumer.min.assignment.interval.ms", _T.INT, "0",
                        "Least consumer.assignment.interval.ms a group may set."),
        BrokerConfigDef("group.consumer.max.assignment.interval.ms", _T.INT, "15000",
                        "Largest consumer.assignment.interval.ms a group may set."),
        BrokerConfigDef("group.consumer.assignors", _T.LIST, "uniform,range",
                        "Server-side assignors of consumer groups; the first is used when members name none."),
        BrokerConfigDef("group.consumer.max.size", _T.INT, "2147483647", "Most members a consumer group may have."),
        BrokerConfigDef("group.consumer.migration.policy", _T.STRING, "bidirectional",
                        "Whether a group with members may switch between the classic and consumer protocols."),
        BrokerConfigDef("transaction.state.log.num.partitions", _T.INT, "50",
                        "Partitions of __transaction_state, fixed when it is created."),
        BrokerConfigDef("transaction.max.timeout.ms", _T.INT, "900000",
                        "Longest transaction timeout a producer may ask for."),
        BrokerConfigDef("transactional.id.expiration.ms", _T.INT, "604800000",
                        "How long an idle transactional id's state is kept."),
        BrokerConfigDef("transaction.abort.timed.out.transaction.cleanup.interval.ms", _T.INT, "10000",
                        "How often transactions open past their timeout are looked for and aborted."),
        BrokerConfigDef("transaction.remove.expired.transaction.cleanup.interval.ms", _T.INT, "3600000",
                        "How often expired transactional ids are removed."),
        BrokerConfigDef("max.incremental.fetch.session.cache.slots", _T.INT, "1000",
                        "Most incremental fetch sessions (KIP-227) the broker keeps at once."),
        BrokerConfigDef("log.retention.check.interval.ms", _T.LONG, "300000",
                        "How often partitions are checked for segments past their retention."),
        BrokerConfigDef("log.retention.minutes", _T.INT, None,
                        "Default of retention.ms in minutes; unset, so log.retention.hours applies."),
        BrokerConfigDef(
            "log.retention.hours", _T.INT, "168",
            "Default of retention.ms in hours, used while log.retention.ms and log.retention.minutes are unset.",
        ),
        BrokerConfigDef("log.roll.hours", _T.INT, "168",
                        "Default of segment.ms in hours, used while log.roll.ms is unset."),
        BrokerConfigDef("log.roll.jitter.hours", _T.INT, "0",
                        "Default of segment.jitter.ms in hours, used while log.roll.jitter.ms is unset."),
        *_broker_defaults_of_topic_configs(),
    ]
)

# Kafka's brokerConfigSynonyms: the broker configs that stand for the same setting, most
# specific first. Every other config is its own only synonym.
_SYNONYM_CHAINS: dict[str, tuple[str, ...]] = {}
for _chain in (
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
):
    for _name in _chain:
        _SYNONYM_CHAINS[_name] = _chain
# (log.flush.scheduler.interval.ms, which kafkalite does not describe, follows it in Kafka:
# it is dropped from the synonyms as an entry before the config itself would be.)
_SYNONYM_CHAINS["log.flush.interval.ms"] = ("log.flush.interval.ms",)

# Cluster-level dynamic broker configs (DYNAMIC_DEFAULT_BROKER_CONFIG). A new Kafka 4 cluster
# with eligible leader replicas (KIP-966, on by default) holds min.insync.replicas at the
# cluster level, so every broker and every topic without an override describes it as that.
CLUSTER_DEFAULTS: dict[str, str] = {"min.insync.replicas": "1"}

# kafkalite settings described as set at start-up (STATIC_BROKER_CONFIG) even where the value
# is Kafka's default, as a server.properties that names it: num.partitions is kafkalite's
# `--partitions`, which test suites set as a matter of course.
ALWAYS_STATED = frozenset({"num.partitions"})

_Synonym = tuple[str, "str | None", ConfigSource]


@attrs.frozen
class DynamicLayers:
    """The dynamic broker configs in force on one broker: its own (DYNAMIC_BROKER_CONFIG) and
    the cluster-wide defaults (DYNAMIC_DEFAULT_BROKER_CONFIG), broker config name -> value."""

    broker: dict[str, str] = attrs.field(factory=dict)
    cluster: dict[str, str] = attrs.field(factory=lambda: dict(CLUSTER_DEFAULTS))

    def broker_value(self, name: str) -> str | None:
        """The dynamic value of broker config *name*: the broker's own, else the cluster's."""
        value = self.broker.get(name)
        return value if value is not None else self.cluster.get(name)

    def topic_defaults(self) -> dict[str, str]:
        """Topic config name -> the default its broker synonym gets from these layers, for the
        topic configs whose broker config is set dynamically (Kafka's LogConfig defaults)."""
        defaults = {}
        for name, definition in TOPIC_CONFIGS.items():
            if definition.synonym is not None:
                value = self.broker_value(definition.synonym)
                if value is not None:
                    defaults[name] = value
        return defaults


NO_DYNAMIC_CONFIGS = DynamicLayers()


def _synonyms(
    name: str,
    static: dict[str, str],
    layers: DynamicLayers = NO_DYNAMIC_CONFIGS,
    catalogue: dict[str, BrokerConfigDef] | None = None,
) -> list[_Synonym]:
    """Kafka's synonyms of broker config *name*: every layer that sets it, most specific first.

    Layers in Kafka's order: the broker's dynamic configs, the cluster-level dynamic ones,
    static (server.properties), default (from *catalogue*, else `BROKER_CONFIGS`); each lists
    the configs of *name*'s chain. Entries
    before *name*'s own first one are dropped, as Kafka does (log.retention.ms lists no
    log.retention.hours default behind it).
    """
    chain = _SYNONYM_CHAINS.get(name, (name,))
    known = BROKER_CONFIGS if catalogue is None else catalogue
    kafka_defaults = {n: known[n].default for n in chain if n in known}
    ordered = (
        (layers.broker, ConfigSource.DYNAMIC_BROKER_CONFIG),
        (layers.cluster, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),
        (static, ConfigSource.STATIC_BROKER_CONFIG),
        (kafka_defaults, ConfigSource.DEFAULT_CONFIG),
    )
    found = [(n, layer[n], source) for layer, source in ordered for n in chain if layer.get(n) is not None]
    while found and found[0][0] != name:
        found.pop(0)
    return found


def static_broker_configs(settings: dict[str, str]) -> dict[str, str]:
    """Of kafkalite's settings (broker config name -> value), those that differ from Kafka's
    defaults, or that kafkalite always states: what a server.properties would set."""
    unknown = sorted(set(settings) - set(BROKER_CONFIGS))
    if unknown:
        raise ValueError(f"not broker configs kafkalite describes: {', '.join(unknown)}")
    return {
        name: value
        for name, value in settings.items()
        if name in ALWAYS_STATED or value != BROKER_CONFIGS[name].default
    }


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
    synonyms: tuple[_Synonym, ...] = ()
    documentation: str | None = None


def describe_topic_configs(overrides: dict[str, str], layers: DynamicLayers = NO_DYNAMIC_CONFIGS) -> list[ConfigEntry]:
    """Every topic config with its effective value and where that value comes from.

    Synonyms list the topic override first (if any), then the broker configs that supply the
    default (the broker's dynamic value, the cluster-level dynamic one, then Kafka's default:
    *layers* holds the dynamic ones), as Kafka lists them; a topic config
    with no broker config behind it, or whose broker config is unset (retention.ms ->
    log.retention.ms), lists none. The source is the first synonym's, else DEFAULT_CONFIG.
    """
    entries = []
    for name, definition in sorted(TOPIC_CONFIGS.items()):
        synonyms: list[_Synonym] = []
        if name in overrides:
            synonyms.append((name, overrides[name], ConfigSource.TOPIC_CONFIG))
        if definition.synonym is not None:
            synonyms += _synonyms(definition.synonym, {}, layers)
        value = overrides.get(name)
        if value is None and definition.synonym is not None:
            value = layers.broker_value(definition.synonym)
        if value is None:
            value = definition.default
        entries.append(
            ConfigEntry(
                name=name,
                value=value,
                source=synonyms[0][2] if synonyms else ConfigSource.DEFAULT_CONFIG,
                type=definition.type,
                synonyms=tuple(synonyms),
                documentation=definition.doc,
            )
        )
    return entries


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
