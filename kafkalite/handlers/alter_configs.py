# AlterConfigs: v0-2
#
# Version notes:
# * v1: same layout as v0
# * v2: flexible versions
#
# Replaces the whole set of configs of a resource: a topic's overrides, the dynamic configs of
# a broker (or, named "", the cluster-wide defaults), or a group's configs. BROKER_LOGGER is
# refused as Kafka refuses it here (INVALID_REQUEST, "Unknown resource type 8").
"""AlterConfigs: replace the configs of topics, brokers and groups (non-incremental)."""

from __future__ import annotations

from kafkalite.broker.alter_configs import alter_configs as alter_configs_of, failed_resources, resource_responses
from kafkalite.broker.topic_configs import validate_topic_configs
from kafkalite.broker.quorum.waiting import wait_for_quorum
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.alter_configs import (
    AlterConfigsRequest,
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
)


def _replace_all(current: dict[str, str], resource) -> dict[str, str]:
    configs = {c.name: c.value for c in resource.configs}
    validate_topic_configs(configs)
    return configs


def _error_response(req: AlterConfigsRequest, version: int, code: ErrorCode, message: str) -> AlterConfigsResponse:
    return AlterConfigsResponse(
        throttle_time_ms=0, responses=failed_resources(AlterConfigsResourceResponse, req.resources, code, message)
    )


@handles(ApiKey.ALTER_CONFIGS, min_version=0, max_version=2, error_response=_error_response)
async def alter_configs(ctx: RequestContext, req: AlterConfigsRequest) -> AlterConfigsResponse:
    if not req.validate_only:
        await wait_for_quorum(ctx.broker)  # no timeout_ms in this request: request_timeout_ms
    results = alter_configs_of(
        ctx.broker, ctx.node_id, req.resources, req.validate_only, incremental=False, topic_configs=_replace_all
    )
    return AlterConfigsResponse(throttle_time_ms=0, responses=resource_responses(AlterConfigsResourceResponse, req.resources, results))
