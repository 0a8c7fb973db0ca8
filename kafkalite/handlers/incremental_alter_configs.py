# IncrementalAlterConfigs: v0-1
#
# Version notes:
# * v1: flexible versions
#
# Operations SET, DELETE, APPEND and SUBTRACT (the last two on list configs only) on topic
# configs. Dynamic broker configs are not supported: a BROKER resource gets INVALID_REQUEST.
"""IncrementalAlterConfigs: change single topic configs (KIP-339)."""

from __future__ import annotations

from collections import Counter

from kafkalite.configs import ConfigResourceType, InvalidConfig, apply_incremental
from kafkalite.dispatch import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.incremental_alter_configs import (
    AlterConfigsResourceResponse,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)


@handles(ApiKey.INCREMENTAL_ALTER_CONFIGS, min_version=0, max_version=1)
async def incremental_alter_configs(
    ctx: RequestContext, req: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    broker = ctx.broker
    counts = Counter((r.resource_type, r.resource_name) for r in req.resources)
    responses = []
    for resource in req.resources:

        def answer(code: int, message: str | None = None) -> None:
            responses.append(
                AlterConfigsResourceResponse(
                    error_code=code,
                    error_message=message,
                    resource_type=resource.resource_type,
                    resource_name=resource.resource_name,
                )
            )

        if counts[(resource.resource_type, resource.resource_name)] > 1:
            answer(ErrorCode.INVALID_REQUEST, "Duplicate resource in request.")
            continue
        if resource.resource_type != ConfigResourceType.TOPIC:
            answer(ErrorCode.INVALID_REQUEST, "kafkalite supports altering topic configs only.")
            continue
        topic = broker.cluster.topic(resource.resource_name)
        if topic is None:
            answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{resource.resource_name}' does not exist.")
            continue
        ops = [(c.name, c.config_operation, c.value) for c in resource.configs]
        try:
            new = apply_incremental(topic.configs, ops)
        except InvalidConfig as exc:
            answer(ErrorCode.INVALID_CONFIG, str(exc))
            continue
        if not req.validate_only:
            broker.set_topic_configs(topic.name, new)
        answer(ErrorCode.NONE)
    return IncrementalAlterConfigsResponse(throttle_time_ms=0, responses=responses)
