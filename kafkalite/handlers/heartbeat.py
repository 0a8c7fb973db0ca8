# Heartbeat: v0-4
#
# Version notes:
# * v1: throttle_time_ms
# * v3: group_instance_id (static membership, KIP-345)
# * v4: flexible versions
#
# REBALANCE_IN_PROGRESS while the group is preparing a rebalance tells the member to rejoin.
"""Heartbeat: keep a member's session alive and tell it when to rejoin."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse


@handles(ApiKey.HEARTBEAT, min_version=0, max_version=4)
async def heartbeat(ctx: RequestContext, req: HeartbeatRequest) -> HeartbeatResponse:
    coordinator = ctx.broker.groups
    error = coordinator.check_coordinator(req.group_id, ctx.node_id)
    if error is None:
        error = coordinator.heartbeat(req.group_id, req.member_id, req.group_instance_id, req.generation_id)
    return HeartbeatResponse(throttle_time_ms=0, error_code=error)
