# DescribeConfigs: v1-4
#
# Version notes:
# * v1: include_synonyms; config_source replaces is_default
# * v2: same layout as v1
# * v3: include_documentation; config_type and documentation in the response
# * v4: flexible versions
#
# results[].error_message is "" unless Kafka's answer names a reason: a described resource and
# an unknown topic (UNKNOWN_TOPIC_OR_PARTITION says it all) carry "", a refused request
# (an invalid topic name, another node's id, a resource type not served) carries the reason.
"""DescribeConfigs for topics and brokers, with Kafka's sources, types and synonyms."""

from __future__ import annotations

from kafkalite.broker.cluster import InvalidTopicName, validate_topic_name
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.topic_configs import (
    ConfigEntry,
    ConfigResourceType,
    describe_broker_configs,
    describe_cluster_default_configs,
    describe_topic_configs,
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


def broker_settings(config: BrokerConfig, node_id: int, listen_host: str, host: str, port: int) -> dict[str, str]:
    """kafkalite's settings of one node, under the names of the Kafka broker configs."""
    return {
        "node.id": str(node_id),
        "broker.id": str(node_id),
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://{listen_host}:{port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "log.dirs": "(memory)" if config.memory else str(config.data_dir),
        "num.partitions": str(config.num_partitions),
        "default.replication.factor": str(config.default_replication_factor),
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
        "transaction.state.log.num.partitions": str(config.transaction_state_partitions),
        "transaction.max.timeout.ms": str(config.transaction_max_timeout_ms),
        "transactional.id.expiration.ms": str(config.transactional_id_expiration_ms),
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": str(
            config.transaction_abort_timed_out_interval_ms
        ),
        "transaction.remove.expired.transaction.cleanup.interval.ms": str(
            config.transaction_remove_expired_interval_ms
        ),
    }


@handles(ApiKey.DESCRIBE_CONFIGS, min_version=1, max_version=4)
async def describe_configs(ctx: RequestContext, req: DescribeConfigsRequest) -> DescribeConfigsResponse:
    broker = ctx.broker
    cluster = broker.cluster
    results = []
    for resource in req.resources:
        base = dict(resource_type=resource.resource_type, resource_name=resource.resource_name)

        def refused(code: ErrorCode, message: str) -> None:
            results.append(DescribeConfigsResult(error_code=code, error_message=message, configs=[], **base))

        if resource.resource_type == ConfigResourceType.TOPIC:
            try:
                validate_topic_name(resource.resource_name)
            except InvalidTopicName as exc:
                refused(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc))
                continue
            topic = cluster.topic(resource.resource_name)
            if topic is None:
                refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "")
                continue
            entries = describe_topic_configs(topic.configs)
        elif resource.resource_type == ConfigResourceType.BROKER:
            name = resource.resource_name
            if not name:
                entries = describe_cluster_default_configs()
            elif not name.isdigit() or int(name) not in cluster.node_ids:
                refused(
                    ErrorCode.INVALID_REQUEST, f"Unexpected broker id {name!r}, expected one of {cluster.node_ids}."
                )
                continue
            else:
                node = cluster.nodes[int(name)]
                config = broker.config
                settings = broker_settings(config, node.node_id, config.host, node.host, node.port)
                entries = describe_broker_configs(settings)
        else:
            refused(
                ErrorCode.INVALID_REQUEST,
                f"kafkalite does not describe resources of type {resource.resource_type}.",
            )
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
