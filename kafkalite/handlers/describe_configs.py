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
from kafkalite.broker.topic_configs import (
    ConfigEntry,
    ConfigResourceType,
    describe_broker_configs,
    describe_topic_configs,
)
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_configs import (
    DescribeConfigsRequest,
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
    DescribeConfigsSynonym,
)


def _rows(entries: list[ConfigEntry], keys: list[str] | None, synonyms: bool) -> list:
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
            documentation=None,
        )
        for e in entries
        if wanted is None or e.name in wanted
    ]


@handles(ApiKey.DESCRIBE_CONFIGS, min_version=1, max_version=4)
async def describe_configs(ctx: RequestContext, req: DescribeConfigsRequest) -> DescribeConfigsResponse:
    broker = ctx.broker
    cluster = broker.cluster
    results = []
    for resource in req.resources:
        base = dict(resource_type=resource.resource_type, resource_name=resource.resource_name)
        if resource.resource_type == ConfigResourceType.TOPIC:
            try:
                validate_topic_name(resource.resource_name)
            except InvalidTopicName as exc:
                results.append(
                    DescribeConfigsResult(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION, error_message=str(exc), **base)
                )
                continue
            topic = cluster.topic(resource.resource_name)
            if topic is None:
                results.append(
                    DescribeConfigsResult(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, error_message="", **base)
                )
                continue
            entries = describe_topic_configs(topic.configs)
        elif resource.resource_type == ConfigResourceType.BROKER:
            name = resource.resource_name
            if name and (not name.isdigit() or int(name) not in cluster.node_ids):
                results.append(
                    DescribeConfigsResult(
                        error_code=ErrorCode.INVALID_REQUEST,
                        error_message=f"Unexpected broker id {name!r}, expected one of {cluster.node_ids}.",
                        **base,
                    )
                )
                continue
            node_id = int(name) if name else ctx.node_id
            node = cluster.nodes[node_id]
            config = broker.config
            entries = describe_broker_configs(
                node_id=node_id,
                listeners=f"PLAINTEXT://{config.host}:{node.port}",
                advertised_listeners=f"PLAINTEXT://{node.host}:{node.port}",
                log_dir="(memory)" if config.memory else str(config.data_dir),
                num_partitions=config.num_partitions,
                default_replication_factor=config.default_replication_factor,
                auto_create_topics=config.auto_create_topics,
                max_request_bytes=config.max_request_bytes,
            )
        else:
            results.append(
                DescribeConfigsResult(
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message=f"kafkalite does not describe resources of type {resource.resource_type}.",
                    **base,
                )
            )
            continue
        results.append(
            DescribeConfigsResult(
                error_code=ErrorCode.NONE,
                error_message="",
                configs=_rows(entries, resource.configuration_keys, req.include_synonyms),
                **base,
            )
        )
    return DescribeConfigsResponse(throttle_time_ms=0, results=results)
