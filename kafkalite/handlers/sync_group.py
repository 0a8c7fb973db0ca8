# SyncGroup: v0-5
#
# Version notes:
# * v1: throttle_time_ms
# * v3: group_instance_id (static membership, KIP-345)
# * v4: flexible versions
# * v5: protocol_type and protocol_name in request and response (KIP-559): both are then
#       required, and must match the group's, else INCONSISTENT_GROUP_PROTOCOL
#
# The leader sends the assignment; every member's answer is parked until it is stored.
"""SyncGroup: the leader hands out the assignment; every member receives its own."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.requests import SyncRequest
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse


@handles(ApiKey.SYNC_GROUP, min_version=0, max_version=5)
async def sync_group(ctx: RequestContext, req: SyncGroupRequest) -> SyncGroupResponse:
    coordinator = ctx.broker.groups
    if ctx.api_version >= 5 and (req.protocol_type is None or req.protocol_name is None):
        return SyncGroupResponse(throttle_time_ms=0, error_code=ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    not_here = coordinator.check_coordinator(req.group_id, ctx.node_id)
    if not_here is not None:
        return SyncGroupResponse(throttle_time_ms=0, error_code=not_here)
    result = await coordinator.sync_group(
        SyncRequest(
            group_id=req.group_id,
            member_id=req.member_id,
            group_instance_id=req.group_instance_id,
            generation_id=req.generation_id,
            protocol_type=req.protocol_type,
            protocol_name=req.protocol_name,
            assignments=tuple((a.member_id, bytes(a.assignment)) for a in req.assignments),
        )
    )
    return SyncGroupResponse(
        throttle_time_ms=0,
        error_code=result.error,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name,
        assignment=result.assignment,
    )
