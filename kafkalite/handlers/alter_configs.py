# AlterConfigs: v0-2
#
# Version notes:
# * v1: same layout as v0
# * v2: flexible versions
#
# Replaces the whole set of a topic's config overrides. Dynamic broker configs are not
# supported: a BROKER resource is answered with INVALID_REQUEST.
"""AlterConfigs: replace a topic's config overrides (non-incremental)."""

from __future__ import annotations

from collections import Counter

from kafkalite.configs import ConfigResourceType, InvalidConfig, validate_topic_configs
from kafkalite.dispatch import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.alter_configs import (
    AlterConfigsRequest,
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
)


@handles(ApiKey.ALTER_CONFIGS, min_version=0, max_version=2)
async def alter_configs(ctx: RequestContext, req: AlterConfigsRequest) -> AlterConfigsResponse:
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
        configs = {c.name: c.value for c in resource.configs}
        try:
            validate_topic_configs(configs)
        except InvalidConfig as exc:
            answer(ErrorCode.INVALID_CONFIG, str(exc))
            continue
        if not req.validate_only:
            broker.set_topic_configs(topic.name, configs)
        answer(ErrorCode.NONE)
    return AlterConfigsResponse(throttle_time_ms=0, responses=responses)
