"""Group configs (GROUP resources, KIP-848): the per-group overrides of the group coordinator's
broker settings, as Kafka 4.4.0 lists, bounds and describes them.

kafkalite stores, validates and describes them. Consumer groups read
consumer.session.timeout.ms and consumer.heartbeat.interval.ms at each heartbeat (see
`kafkalite.groups.core.CoordinatorCore.group_configs`); the others are only stored (classic
groups use their members' own session timeouts; share and streams groups are not served).

A value must parse as its type and pass the config's own lower bound ("Invalid value V for
configuration N: Value must be at least X"), then lie within the broker's allowed range for it
(Kafka's group.consumer.min/max.* settings, here at Kafka's defaults: "N must be in the range A
to B inclusive."). Errors are INVALID_CONFIG; an empty group name is INVALID_REQUEST.
"""

from __future__ import annotations

import re
from typing import Callable

import attrs

from kafkalite.broker.topic_configs import AlterOp, ConfigEntry, ConfigSource, ConfigType, InvalidConfig

_T = ConfigType


@attrs.frozen
class GroupConfigDef:
    """A group config: Kafka's type and default, the broker config behind the default, the
    config's own lower bound, the broker's allowed range, and a one-line description."""

    name: str
    type: ConfigType
    default: str
    synonym: str
    at_least: int | None = None
    allowed: tuple[int, int] | None = None  # (min, max) inclusive, Kafka's broker defaults
    doc: str = ""
    check: Callable[[str], None] | None = None


def _duration_reset(value: str) -> None:
    if value in ("earliest", "latest") or re.fullmatch(r"by_duration:P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?", value):
        return
    raise InvalidConfig(
        f"Invalid value `{value}` for configuration share.auto.offset.reset. The value must be either "
        "'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'."
    )


def _isolation(value: str) -> None:
    if value not in ("read_committed", "read_uncommitted"):
        raise InvalidConfig("String must be one of: read_committed, read_uncommitted")


def _assignor(value: str) -> None:
    if value != "sticky":
        raise InvalidConfig(
            f"streams.assignor.name '{value}' is not a registered task assignor. Registered assignors are: [sticky].",
        )


_SESSION = (45_000, 60_000)
_HEARTBEAT = (5_000, 15_000)
_ASSIGNMENT_INTERVAL = (0, 15_000)

GROUP_CONFIGS: dict[str, GroupConfigDef] = {
    d.name: d
    for d in [
        GroupConfigDef("consumer.session.timeout.ms", _T.INT, "45000", "group.consumer.session.timeout.ms", 1, _SESSION,
                       "How long a consumer group member may go without a heartbeat before it is removed."),
        GroupConfigDef("consumer.heartbeat.interval.ms", _T.INT, "5000", "group.consumer.heartbeat.interval.ms", 1,
                       _HEARTBEAT, "How often a consumer group member sends heartbeats."),
        GroupConfigDef("consumer.assignment.interval.ms", _T.INT, "1000", "group.consumer.assignment.interval.ms", 0,
                       _ASSIGNMENT_INTERVAL, "Least time between two assignments of a consumer group."),
        GroupConfigDef("share.session.timeout.ms", _T.INT, "45000", "group.share.session.timeout.ms", 1, _SESSION,
                       "How long a share group member may go without a heartbeat before it is removed."),
        GroupConfigDef("share.heartbeat.interval.ms", _T.INT, "5000", "group.share.heartbeat.interval.ms", 1,
                       _HEARTBEAT, "How often a share group member sends heartbeats."),
        GroupConfigDef("share.assignment.interval.ms", _T.INT, "1000", "group.share.assignment.interval.ms", 0,
                       _ASSIGNMENT_INTERVAL, "Least time between two assignments of a share group."),
        GroupConfigDef("share.record.lock.duration.ms", _T.INT, "30000", "group.share.record.lock.duration.ms", 1000,
                       (15_000, 60_000), "How long a share group member holds the records it was given."),
        GroupConfigDef("share.delivery.count.limit", _T.INT, "5", "group.share.delivery.count.limit", 2, (2, 10),
                       "How many times a record is delivered to a share group before it is given up on."),
        GroupConfigDef("share.partition.max.record.locks", _T.INT, "2000", "group.share.partition.max.record.locks",
                       100, (100, 4000), "Most records of one partition a share group may hold at once."),
        GroupConfigDef("share.auto.offset.reset", _T.STRING, "latest", "share.auto.offset.reset",
                       doc="Where a share group starts reading a partition it has no offset for.",
                       check=_duration_reset),
        GroupConfigDef("share.isolation.level", _T.STRING, "read_uncommitted", "share.isolation.level",
                       doc="Whether a share group reads records of transactions not yet committed.",
                       check=_isolation),
        GroupConfigDef("share.renew.acknowledge.enable", _T.BOOLEAN, "true", "share.renew.acknowledge.enable",
                       doc="Whether share group members may renew the lock on records they hold."),
        GroupConfigDef("streams.session.timeout.ms", _T.INT, "45000", "group.streams.session.timeout.ms", 1, _SESSION,
                       "How long a streams group member may go without a heartbeat before it is removed."),
        GroupConfigDef("streams.heartbeat.interval.ms", _T.INT, "5000", "group.streams.heartbeat.interval.ms", 1,
                       _HEARTBEAT, "How often a streams group member sends heartbeats."),
        GroupConfigDef("streams.assignment.interval.ms", _T.INT, "1000", "group.streams.assignment.interval.ms", 0,
                       _ASSIGNMENT_INTERVAL, "Least time between two assignments of a streams group."),
        GroupConfigDef("streams.initial.rebalance.delay.ms", _T.INT, "3000", "group.streams.initial.rebalance.delay.ms",
                       0, None, "How long a new streams group waits for more members before its first assignment."),
        GroupConfigDef("streams.num.standby.replicas", _T.INT, "0", "group.streams.num.standby.replicas", 0, None,
                       "Standby replicas of each stateful task of a streams group."),
        GroupConfigDef("streams.assignor.name", _T.STRING, "sticky", "group.streams.assignors",
                       doc="The task assignor of a streams group.", check=_assignor),
        GroupConfigDef("streams.rack.aware.assignment.tags", _T.LIST, "", "group.streams.rack.aware.assignment.tags",
                       doc="Client tags a streams group spreads standby replicas over."),
        GroupConfigDef("errors.deadletterqueue.topic.name", _T.STRING, "", "errors.deadletterqueue.topic.name",
                       doc="Topic a group writes the records it gives up on to (empty: none)."),
        GroupConfigDef("errors.deadletterqueue.copy.record.enable", _T.BOOLEAN, "false",
                       "errors.deadletterqueue.copy.record.enable",
                       doc="Whether a dead-letter record carries a copy of the record given up on."),
    ]
}

# Kafka's group.streams.max.standby.replicas default.
_MAX_STANDBY_REPLICAS = 2


class GroupConfigRefused(ValueError):
    """A group config change Kafka refuses: INVALID_CONFIG with this message."""


def _parse(definition: GroupConfigDef, value: str) -> None:
    name = definition.name
    if definition.type == ConfigType.INT:
        try:
            number = int(value.strip())
            if not -(2**31) <= number < 2**31:
                raise ValueError
        except ValueError:
            raise GroupConfigRefused(f"Invalid value {value} for configuration {name}: Not a number of type INT") from None
        if definition.at_least is not None and number < definition.at_least:
            raise GroupConfigRefused(
                f"Invalid value {value} for configuration {name}: Value must be at least {definition.at_least}"
            )
    elif definition.type == ConfigType.BOOLEAN:
        if value.strip().lower() not in ("true", "false"):
            raise GroupConfigRefused(
                f"Invalid value {value} for configuration {name}: Expected value to be either true or false"
            )
    elif definition.check is not None:
        try:
            definition.check(value.strip())
        except InvalidConfig as exc:
            text = str(exc)
            if name == "streams.assignor.name":
                raise GroupConfigRefused(text) from None
            raise GroupConfigRefused(f"Invalid value {value} for configuration {name}: {text}") from None


def validate_group_configs(configs: dict[str, str]) -> None:
    """Check the whole set of configs a group would hold, as Kafka's GroupConfig.validate:
    names, then each value's type and lower bound, then the broker's ranges.

    Raises:
        GroupConfigRefused: with Kafka's message.
    """
    for name in configs:
        if name not in GROUP_CONFIGS:
            raise GroupConfigRefused(f"Unknown group config name: {name}")
    for name, value in configs.items():
        _parse(GROUP_CONFIGS[name], value)
    for name, value in configs.items():
        definition = GROUP_CONFIGS[name]
        if definition.allowed is not None:
            low, high = definition.allowed
            if not low <= int(value) <= high:
                raise GroupConfigRefused(f"{name} must be in the range {low} to {high} inclusive.")
    standby = configs.get("streams.num.standby.replicas")
    if standby is not None and int(standby) > _MAX_STANDBY_REPLICAS:
        raise GroupConfigRefused(f"streams.num.standby.replicas must be less than or equal to {_MAX_STANDBY_REPLICAS}")
    # (Kafka also wants each session timeout above its heartbeat interval: with the broker's
    # ranges at Kafka's defaults, 45-60 s against 5-15 s, the ranges already ensure it.)


def apply_group_ops(current: dict[str, str], ops: list[tuple[str, int, str | None]]) -> dict[str, str]:
    """A group's configs after IncrementalAlterConfigs *ops* (name, operation, value), as
    Kafka's controller applies them (APPEND / SUBTRACT on list configs only). Not validated.

    Raises:
        GroupConfigRefused: APPEND / SUBTRACT on a config that is not a list, or unknown.
        ValueError: an unknown operation.
    """
    result = dict(current)
    for name, op, value in ops:
        operation = AlterOp(op)
        if operation == AlterOp.SET:
            result[name] = value or ""
        elif operation == AlterOp.DELETE:
            result.pop(name, None)
        else:
            definition = GROUP_CONFIGS.get(name)
            if definition is None or definition.type != ConfigType.LIST:
                raise GroupConfigRefused(f"Can't {operation.name} to key {name} because its type is not LIST.")
            items = [item for item in (value or "").split(",") if item]
            old = [item for item in result.get(name, definition.default).split(",") if item]
            if operation == AlterOp.APPEND:
                new = old + [item for item in items if item not in old]
            else:
                new = [item for item in old if item not in items]
            result[name] = ",".join(new)
    return result


def describe_group_configs(overrides: dict[str, str], static: dict[str, str] | None = None) -> list[ConfigEntry]:
    """Every group config of a group whose own values are *overrides*: the group's value
    (GROUP_CONFIG) if set, then the broker config that supplies the default, as Kafka 4.4
    lists them: the broker's own setting (STATIC_BROKER_CONFIG, from *static*, the broker's
    settings that differ from Kafka's defaults) before Kafka's default. None is read-only or
    sensitive."""
    static = static or {}
    entries = []
    for name, definition in sorted(GROUP_CONFIGS.items()):
        synonyms: list[tuple[str, str | None, ConfigSource]] = []
        if name in overrides:
            synonyms.append((name, overrides[name], ConfigSource.GROUP_CONFIG))
        if definition.synonym in static:
            synonyms.append((definition.synonym, static[definition.synonym], ConfigSource.STATIC_BROKER_CONFIG))
        synonyms.append((definition.synonym, definition.default, ConfigSource.DEFAULT_CONFIG))
        entries.append(
            ConfigEntry(
                name=name,
                value=synonyms[0][1],
                source=synonyms[0][2],
                type=definition.type,
                synonyms=tuple(synonyms),
                documentation=definition.doc,
            )
        )
    return entries
