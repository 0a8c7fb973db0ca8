# DescribeGroups: v0-6
#
# Version notes:
# * v1: throttle_time_ms
# * v3: include_authorized_operations / authorized_operations (KIP-430): the group operations
#       (READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS) the ACLs allow the client
#       (all of them with the authorizer off)
# * v4: group_instance_id per member (KIP-345)
# * v5: flexible versions
# * v6: error_message; an unknown group answers GROUP_ID_NOT_FOUND (KIP-1043) where older
#       versions answer NONE with state "Dead"
#
# Member metadata and assignments are shown only while the group is Stable, as Kafka does.
# A consumer group (KIP-848) is not described here, as in Kafka: it is "Dead" (v6:
# GROUP_ID_NOT_FOUND, "is not a classic group"); ConsumerGroupDescribe describes it.
"""DescribeGroups: state, protocol and members of groups."""

from __future__ import annotations

from kafkalite.broker.acls import ResourceType
from kafkalite.broker.authorizer import operations_if
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_groups import (
    DescribedGroup,
    DescribedGroupMember,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
)


@handles(ApiKey.DESCRIBE_GROUPS, min_version=0, max_version=6)
async def describe_groups(ctx: RequestContext, req: DescribeGroupsRequest) -> DescribeGroupsResponse:
    coordinator = ctx.broker.groups
    version = ctx.api_version
    include_ops = version >= 3 and req.include_authorized_operations
    described = []
    for group_id in req.groups:
        error = coordinator.check_coordinator(group_id, ctx.node_id)
        if error is not None:
            described.append(
                DescribedGroup(error_code=error, group_id=group_id, group_state="", protocol_type="", protocol_data="")
            )
            continue
        summary = coordinator.describe_group(group_id)
        if summary is None:
            if version >= 6:
                described.append(
                    DescribedGroup(
                        error_code=ErrorCode.GROUP_ID_NOT_FOUND,
                        error_message=(
                            f"Group {group_id} is not a classic group."
                            if coordinator.consumer_group(group_id) is not None
                            else f"Group {group_id} not found."
                        ),
                        group_id=group_id,
                        group_state="Dead",
                    )
                )
            else:
                described.append(
                    DescribedGroup(
                        error_code=ErrorCode.NONE,
                        group_id=group_id,
                        group_state="Dead",
                        authorized_operations=operations_if(ctx, include_ops, ResourceType.GROUP, group_id),
                    )
                )
            continue
        described.append(
            DescribedGroup(
                error_code=ErrorCode.NONE,
                group_id=group_id,
                group_state=summary.state.value,
                protocol_type=summary.protocol_type,
                protocol_data=summary.protocol_data,
                members=[
                    DescribedGroupMember(
                        member_id=m.member_id,
                        group_instance_id=m.group_instance_id,
                        client_id=m.client_id,
                        client_host=m.client_host,
                        member_metadata=m.metadata,
                        member_assignment=m.assignment,
                    )
                    for m in summary.members
                ],
                authorized_operations=operations_if(ctx, include_ops, ResourceType.GROUP, group_id),
            )
        )
    return DescribeGroupsResponse(throttle_time_ms=0, groups=described)
