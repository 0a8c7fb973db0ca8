# LeaveGroup: v0-5
#
# Version notes:
# * v1: throttle_time_ms
# * v3: batch leave (KIP-345): a members list of (member_id, group_instance_id), answered per
#       member; an empty member_id with a group_instance_id removes that static member
# * v4: flexible versions
# * v5: a reason per member (KIP-800), logged
#
# Before v3 the one member's error is the response's error_code.
"""LeaveGroup: members leave a group, which then rebalances without them."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.leave_group import LeaveGroupRequest, LeaveGroupResponse, MemberResponse


@handles(ApiKey.LEAVE_GROUP, min_version=0, max_version=5)
async def leave_group(ctx: RequestContext, req: LeaveGroupRequest) -> LeaveGroupResponse:
    coordinator = ctx.broker.groups
    if ctx.api_version >= 3:
        leaving = [(m.member_id, m.group_instance_id, m.reason) for m in req.members]
    else:
        leaving = [(req.member_id, None, None)]
    error = coordinator.check_coordinator(req.group_id, ctx.node_id)
    errors: list[ErrorCode] = []
    if error is None:
        error, errors = coordinator.leave_group(req.group_id, leaving)
    if ctx.api_version < 3:
        if error is ErrorCode.NONE:
            error = errors[0]
        return LeaveGroupResponse(throttle_time_ms=0, error_code=error)
    return LeaveGroupResponse(
        throttle_time_ms=0,
        error_code=error,
        members=[
            MemberResponse(member_id=member_id, group_instance_id=instance_id, error_code=member_error)
            for (member_id, instance_id, _reason), member_error in zip(leaving, errors)
        ],
    )
