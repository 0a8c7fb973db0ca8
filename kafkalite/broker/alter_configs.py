"""Logic shared by the config-altering handlers (AlterConfigs, IncrementalAlterConfigs).

Both take a list of (resource type, resource name, changes) and answer per resource. TOPIC
resources change a topic's overrides; BROKER resources the dynamic broker configs (per broker
id, or "" for the cluster-wide defaults); GROUP resources a group's configs; BROKER_LOGGER
resources (IncrementalAlterConfigs only) logger levels. The two APIs differ in how the new set
is computed: AlterConfigs replaces the whole set, IncrementalAlterConfigs applies operations.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from kafkalite.broker import broker_configs, broker_loggers, group_configs
from kafkalite.broker.broker_configs import BrokerConfigRefused
from kafkalite.broker.broker_loggers import LoggerChangeRefused
from kafkalite.broker.group_configs import GroupConfigRefused
from kafkalite.broker.quorum.quorum import MetadataQuorumUnavailable
from kafkalite.broker.state import Broker
from kafkalite.broker.topic_configs import AlterOp, ConfigResourceType, DynamicLayers, InvalidConfig
from kafkalite.storage import LogConfig
from kafkalite.wire.error_codes import ErrorCode

NewConfigs = Callable[[dict[str, str], Any], dict[str, str]]
Result = tuple[int, "str | None"]


def _alter_topic(broker: Broker, resource: Any, validate_only: bool, new_configs: NewConfigs) -> Result:
    topic = broker.cluster.topic(resource.resource_name)
    if topic is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{resource.resource_name}' does not exist."
    try:
        configs = new_configs(topic.configs, resource)
    except InvalidConfig as exc:
        return ErrorCode.INVALID_CONFIG, str(exc)
    if not validate_only:
        try:
            broker.set_topic_configs(topic.name, configs)
        except MetadataQuorumUnavailable as exc:
            return ErrorCode.REQUEST_TIMED_OUT, str(exc)
    return ErrorCode.NONE, None


def alter_configs(
    broker: Broker, node_id: int, resources: list[Any], validate_only: bool, *, incremental: bool,
    topic_configs: NewConfigs,
) -> list[Result]:
    """Answer each resource of an AlterConfigs (*incremental* False) or IncrementalAlterConfigs
    request received by broker *node_id*; a topic's new overrides are
    *topic_configs(current_overrides, resource)*, and raising `InvalidConfig` is INVALID_CONFIG
    (an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, a duplicated resource INVALID_REQUEST).
    Returns one (error code, error message) per resource, in order. Nothing changes when
    *validate_only*.

    Raises:
        KafkaStorageError: the new configs could not be saved.
    """
    counts = Counter((r.resource_type, r.resource_name) for r in resources)
    results: list[Result] = []
    for resource in resources:
        if counts[(resource.resource_type, resource.resource_name)] > 1:
            results.append((ErrorCode.INVALID_REQUEST, "Duplicate resource in request."))
            continue
        kind = resource.resource_type
        if kind == ConfigResourceType.TOPIC:
            results.append(_alter_topic(broker, resource, validate_only, topic_configs))
            continue
        ops = [
            (c.name, c.config_operation if incremental else AlterOp.SET, c.value) for c in resource.configs
        ]
        try:
            _check_names_and_values(ops, incremental)
            if kind == ConfigResourceType.BROKER:
                _alter_broker(broker, node_id, resource.resource_name, ops, validate_only, incremental)
            elif kind == ConfigResourceType.BROKER_LOGGER and incremental:
                _alter_loggers(node_id, resource.resource_name, ops, validate_only)
            elif kind == ConfigResourceType.GROUP:
                _alter_group(broker, resource.resource_name, ops, validate_only, incremental)
            elif kind == ConfigResourceType.CLIENT_METRICS:
                raise BrokerConfigRefused("kafkalite does not support client metrics subscriptions (KIP-714).")
            else:
                raise BrokerConfigRefused(f"Unknown resource type {kind}")
        except (BrokerConfigRefused, LoggerChangeRefused) as exc:
            results.append((exc.code, exc.message))
            continue
        except MetadataQuorumUnavailable as exc:
            results.append((ErrorCode.REQUEST_TIMED_OUT, str(exc)))
            continue
        except GroupConfigRefused as exc:
            results.append((ErrorCode.INVALID_CONFIG, str(exc)))
            continue
        results.append((ErrorCode.NONE, None))
    return results


def _check_names_and_values(ops: list[tuple[str, int, str | None]], incremental: bool) -> None:
    """Kafka's first checks of a resource's configs: no name twice, no null value to set."""
    names = [name for name, _, _ in ops]
    if len(set(names)) != len(names):
        raise BrokerConfigRefused("Error due to duplicate config keys")
    nulls = [name for name, op, value in ops if value is None and (op != AlterOp.DELETE or not incremental)]
    if nulls:
        raise BrokerConfigRefused("Null value not supported for : " + ", ".join(nulls))


def _alter_broker(
    broker: Broker, node_id: int, name: str, ops: list, validate_only: bool, incremental: bool
) -> None:
    if name:
        requested = broker_configs.broker_id_of(name, "Node id must be an integer, but it is: ")
        if requested != node_id:
            raise BrokerConfigRefused(f"Unexpected broker id, expected {node_id}, but received {name}")
    if incremental:
        configs = broker_configs.apply_broker_ops(broker.dynamic.broker(name), ops)
    else:
        configs = {config_name: value for config_name, _, value in ops}
    broker_configs.validate_broker_configs(configs, per_broker=bool(name))
    broker_configs.check_cluster_min_insync(name, configs)
    # The topic defaults these set must make a log config (kafkalite's own bounds, e.g.
    # log.retention.bytes below -1, which the log cannot act on).
    layers = broker.dynamic.layers(int(name) if name else node_id)
    layers = DynamicLayers(broker=configs, cluster=layers.cluster) if name else DynamicLayers(layers.broker, configs)
    try:
        LogConfig.from_topic_configs(layers.topic_defaults())
    except (ValueError, TypeError) as exc:
        raise BrokerConfigRefused(f"Invalid value for a topic default: {exc}") from None
    if not validate_only:
        broker.set_dynamic_broker_configs(name, configs)


def _alter_loggers(node_id: int, name: str, ops: list, validate_only: bool) -> None:
    requested = broker_configs.broker_id_of(name, "Node id must be an integer, but it is: ")
    if requested != node_id:
        raise BrokerConfigRefused(f"Unexpected node id. Expected {node_id}, but received {name}")
    broker_loggers.validate_logger_ops(ops)
    if not validate_only:
        broker_loggers.apply_logger_ops(ops)


def _alter_group(broker: Broker, group_id: str, ops: list, validate_only: bool, incremental: bool) -> None:
    if not group_id:
        raise BrokerConfigRefused("Default group resources are not allowed.")
    if incremental:
        unknown = [op for _, op, _ in ops if op not in tuple(AlterOp)]
        if unknown:
            raise BrokerConfigRefused(f"Unknown operations type {unknown[0]}")
        configs = group_configs.apply_group_ops(broker.dynamic.group(group_id), ops)
    else:
        configs = {config_name: value for config_name, _, value in ops}
    group_configs.validate_group_configs(configs)
    if not validate_only:
        broker.dynamic.set_group(group_id, configs)


def resource_responses(entry_cls: type, resources: list[Any], results: list[tuple[int, str | None]]) -> list[Any]:
    """One *entry_cls* (the API's per-resource response) for each resource and its result."""
    return [
        entry_cls(
            error_code=code,
            error_message=message,
            resource_type=resource.resource_type,
            resource_name=resource.resource_name,
        )
        for resource, (code, message) in zip(resources, results)
    ]


def failed_resources(entry_cls: type, resources: list[Any], code: ErrorCode, message: str) -> list[Any]:
    """Every resource answered with the same error (the request failed as a whole)."""
    return resource_responses(entry_cls, resources, [(code, message)] * len(resources))
