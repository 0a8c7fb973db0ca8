# IncrementalAlterConfigs: v0-1
#
# Version notes:
# * v1: flexible versions
#
# Operations SET, DELETE, APPEND and SUBTRACT (the last two on list configs only) on the
# configs of topics, brokers (a broker id, or "" for the cluster-wide defaults) and groups;
# SET and DELETE on logger levels (BROKER_LOGGER).
"""IncrementalAlterConfigs: change single configs of topics, brokers, loggers and groups (KIP-339)."""

from __future__ import annotations

from kafkalite.broker.alter_configs import alter_configs, failed_resources, resource_responses
from kafkalite.broker.topic_configs import ConfigResourceType, apply_incremental
from kafkalite.broker.quorum.waiting import wait_for_quorum
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.incremental_alter_configs import (
    AlterConfigsResourceResponse,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)


def _apply_ops(current: dict[str, str], resource) -> dict[str, str]:
    return apply_incremental(current, [(c.name, c.config_operation, c.value) for c in resource.configs])


def _error_response(req: IncrementalAlterConfigsRequest, version: int, code: ErrorCode, message: str) -> IncrementalAlterConfigsResponse:
    return IncrementalAlterConfigsResponse(
        throttle_time_ms=0, responses=failed_resources(AlterConfigsResourceResponse, req.resources, code, message)
    )


@handles(ApiKey.INCREMENTAL_ALTER_CONFIGS, min_version=0, max_version=1, error_response=_error_response)
async def incremental_alter_configs(
    ctx: RequestContext, req: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    # Logger levels are the receiving broker's own business; every other resource goes to the
    # controller quorum (no timeout_ms in this request: request_timeout_ms).
    if not req.validate_only and any(r.resource_type != ConfigResourceType.BROKER_LOGGER for r in req.resources):
        await wait_for_quorum(ctx.broker)
    results = alter_configs(
        ctx.broker, ctx.node_id, req.resources, req.validate_only, incremental=True, topic_configs=_apply_ops
    )
    return IncrementalAlterConfigsResponse(throttle_time_ms=0, responses=resource_responses(AlterConfigsResourceResponse, req.resources, results))
