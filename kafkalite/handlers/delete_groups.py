# DeleteGroups: v0-2
#
# Version notes:
# * v0: delete empty groups and their committed offsets: GROUP_ID_NOT_FOUND for an unknown
#       group, NON_EMPTY_GROUP for one with members
# * v2: flexible versions
#
# A deleted group's offsets and metadata become tombstones in __consumer_offsets.
"""DeleteGroups: remove empty consumer groups and their offsets."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.messages.delete_groups import (
    DeletableGroupResult,
    DeleteGroupsRequest,
    DeleteGroupsResponse,
)


@handles(ApiKey.DELETE_GROUPS, min_version=0, max_version=2)
async def delete_groups(ctx: RequestContext, req: DeleteGroupsRequest) -> DeleteGroupsResponse:
    coordinator = ctx.broker.groups
    results = []
    for group_id in dict.fromkeys(req.groups_names):  # each group once, in request order
        error = coordinator.check_coordinator(group_id, ctx.node_id)
        if error is None:
            [(_, error)] = coordinator.delete_groups([group_id])
        results.append(DeletableGroupResult(group_id=group_id, error_code=error))
    return DeleteGroupsResponse(throttle_time_ms=0, results=results)
