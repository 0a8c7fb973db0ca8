# DescribeConfigs: v0-4
#
# Version notes:
# * v0: is_default instead of config_source, no synonyms (served as Kafka 3.9 did; Kafka 4
#   removed it, KIP-896): is_default is true exactly when the value is Kafka's default
# * v1: include_synonyms; config_source replaces is_default
# * v2: same layout as v1
# * v3: include_documentation; config_type and documentation in the response
# * v4: flexible versions
#
# results[].error_message is "" unless Kafka's answer names a reason: a described resource and
# an unknown topic (UNKNOWN_TOPIC_OR_PARTITION says it all) carry "", a refused request
# (an invalid topic name, another node's id, a resource type not served) carries the reason.
"""DescribeConfigs for topics, brokers, loggers and groups, with Kafka's sources, types and synonyms."""

from __future__ import annotations

from kafkalite.broker.cluster import ClusterState, InvalidTopicName, validate_topic_name
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.broker_configs import BrokerConfigRefused, broker_id_of, describe_cluster_defaults, describe_node_configs
from kafkalite.broker.broker_loggers import describe_loggers
from kafkalite.broker.group_configs import describe_group_configs
from kafkalite.broker.topic_configs import (
    ConfigEntry,
    ConfigResourceType,
    ConfigSource,
    describe_topic_configs,
    static_broker_configs,
)
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_configs import (
    DescribeConfigsRequest,
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
    DescribeConfigsSynonym,
)


def _rows(entries: list[ConfigEntry], keys: list[str] | None, synonyms: bool, documentation: bool) -> list:
    wanted = None if not keys else set(keys)  # Kafka: null or empty keys ask for every config
    return [
        DescribeConfigsResourceResult(
            name=e.name,
            value=e.value,
            read_only=e.read_only,
            is_default=e.source == ConfigSource.DEFAULT_CONFIG,
            config_source=int(e.source),
            is_sensitive=e.is_sensitive,
            synonyms=(
                [DescribeConfigsSynonym(name=n, value=v, source=int(s)) for n, v, s in e.synonyms]
                if synonyms
                else []
            ),
            config_type=int(e.type),
            documentation=e.documentation if documentation else None,
        )
        for e in entries
        if wanted is None or e.name in wanted
    ]


def security_settings(config: BrokerConfig, cluster: ClusterState, node_id: int) -> dict[str, str]:
    """The listeners of a node configured with ``listeners``, as Kafka describes them (a
    broker with the one PLAINTEXT listener describes what `broker_settings` says)."""
    if config.listeners is None:
        return {}
    listeners = config.listener_list
    bound = [(l, cluster.listener_bound.get((l.name, node_id), (l.host, l.port))) for l in listeners]
    advertised = [(l, cluster.listener_nodes.get(l.name, {}).get(node_id)) for l in listeners]
    settings = {
        "listeners": ",".join(f"{l.name}://{_host(h)}:{p}" for l, (h, p) in bound),
        "advertised.listeners": ",".join(f"{l.name}://{_host(n.host)}:{n.port}" for l, n in advertised if n is not None),
        "listener.security.protocol.map": ",".join(
            [f"{l.name}:{l.security_protocol}" for l in listeners] + ["CONTROLLER:PLAINTEXT"]
        ),
    }
    return settings


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def broker_settings(config: BrokerConfig, node_id: int, listen_host: str, host: str, port: int) -> dict[str, str]:
    """kafkalite's settings of one node, under the names of the Kafka broker configs."""
    return {
        "node.id": str(node_id),
        "broker.id": str(node_id),
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://{listen_host}:{port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        # Kafka's map of a combined node (kafkalite's process.roles), CONTROLLER included.
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": "(memory)" if config.memory else str(config.data_dir),
        "num.partitions": str(config.num_partitions),
        "default.replication.factor": str(config.default_replication_factor),
        **({"broker.rack": config.broker_racks[node_id - config.node_id]} if config.broker_racks else {}),
        **({"replica.selector.class": config.replica_selector_class} if config.replica_selector_class else {}),
        "auto.create.topics.enable": str(config.auto_create_topics).lower(),
        "socket.request.max.bytes": str(config.max_request_bytes),
        "log.retention.check.interval.ms": str(config.retention_check_interval_ms),
        "offsets.topic.num.partitions": str(config.offsets_topic_partitions),
        "offsets.topic.replication.factor": "1",  # one copy of everything (README)
        "offsets.retention.minutes": str(config.offsets_retention_minutes),
        "offsets.retention.check.interval.ms": str(config.offsets_retention_check_interval_ms),
        "offset.metadata.max.bytes": str(config.offset_metadata_max_bytes),
        "group.initial.rebalance.delay.ms": str(config.group_initial_rebalance_delay_ms),
        "group.min.session.timeout.ms": str(config.group_min_session_timeout_ms),
        "group.max.session.timeout.ms": str(config.group_max_session_timeout_ms),
        "group.max.size": str(config.group_max_size),
        "group.consumer.heartbeat.interval.ms": str(config.group_consumer_heartbeat_interval_ms),
        "group.consumer.session.timeout.ms": str(config.group_consumer_session_timeout_ms),
        "group.consumer.assignors": ",".join(config.group_consumer_assignors),
        "group.consumer.max.size": str(config.group_consumer_max_size),
        "group.consumer.migration.policy": config.group_consumer_migration_policy,
        "transaction.state.log.num.partitions": str(config.transaction_state_partitions),
        "transaction.max.timeout.ms": str(config.transaction_max_timeout_ms),
        "transactional.id.expiration.ms": str(config.transactional_id_expiration_ms),
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": str(
            config.transaction_abort_timed_out_interval_ms
        ),
        "transaction.remove.expired.transaction.cleanup.interval.ms": str(
            config.transaction_remove_expired_interval_ms
        ),
        "max.incremental.fetch.session.cache.slots": str(config.max_incremental_fetch_session_cache_slots),
    }


def _describe(ctx: RequestContext, resource_type: int, name: str) -> list[ConfigEntry]:
    """The configs of one resource, as `ConfigEntry` rows.

    Raises:
        BrokerConfigRefused: the resource is refused (its code and Kafka's message).
    """
    broker = ctx.broker
    cluster = broker.cluster
    if resource_type == ConfigResourceType.TOPIC:
        try:
            validate_topic_name(name)
        except InvalidTopicName as exc:
            raise BrokerConfigRefused(str(exc), ErrorCode.INVALID_TOPIC_EXCEPTION) from None
        topic = cluster.topic(name)
        if topic is None:
            raise BrokerConfigRefused("", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        return describe_topic_configs(topic.configs, broker.dynamic.layers(broker.config.node_id))
    if resource_type == ConfigResourceType.BROKER:
        if not name:
            return describe_cluster_defaults(broker.dynamic.layers(ctx.node_id))
        node_id = broker_id_of(name, "Broker id must be an integer, but it is: ")
        # kafkalite emulates every node of its cluster in one process: each describes itself.
        if node_id not in cluster.node_ids:
            raise BrokerConfigRefused(f"Unexpected broker id, expected {ctx.node_id} or empty string, but received {name}")
        node = cluster.nodes[node_id]
        config = broker.config
        settings = broker_settings(config, node.node_id, config.host, node.host, node.port)
        settings.update(security_settings(config, cluster, node_id))
        return describe_node_configs(settings, broker.dynamic.layers(node_id))
    if resource_type == ConfigResourceType.BROKER_LOGGER:
        if not name:
            raise BrokerConfigRefused("Broker id must not be empty")
        if broker_id_of(name, "Broker id must be an integer, but it is: ") != ctx.node_id:
            raise BrokerConfigRefused(f"Unexpected broker id, expected {ctx.node_id} but received {name}")
        return describe_loggers()
    if resource_type == ConfigResourceType.GROUP:
        if not name:
            raise BrokerConfigRefused("Group name must not be empty")
        # A group config not set on the group is the broker's setting behind it.
        node, config = cluster.nodes[ctx.node_id], broker.config
        settings = broker_settings(config, node.node_id, config.host, node.host, node.port)
        return describe_group_configs(broker.dynamic.group(name), static_broker_configs(settings))
    if resource_type == ConfigResourceType.CLIENT_METRICS:
        raise BrokerConfigRefused("kafkalite does not support client metrics subscriptions (KIP-714).")
    raise BrokerConfigRefused(f"Unsupported resource type: {resource_type}")


@handles(ApiKey.DESCRIBE_CONFIGS, min_version=0, max_version=4)
async def describe_configs(ctx: RequestContext, req: DescribeConfigsRequest) -> DescribeConfigsResponse:
    results = []
    for resource in req.resources:
        base = dict(resource_type=resource.resource_type, resource_name=resource.resource_name)
        try:
            entries = _describe(ctx, resource.resource_type, resource.resource_name)
        except BrokerConfigRefused as exc:
            results.append(DescribeConfigsResult(error_code=exc.code, error_message=exc.message, configs=[], **base))
            continue
        results.append(
            DescribeConfigsResult(
                error_code=ErrorCode.NONE,
                error_message="",
                configs=_rows(entries, resource.configuration_keys, req.include_synonyms, req.include_documentation),
                **base,
            )
        )
    return DescribeConfigsResponse(throttle_time_ms=0, results=results)
