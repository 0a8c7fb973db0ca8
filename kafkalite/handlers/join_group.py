# JoinGroup: v0-9
#
# Version notes:
# * v0: no rebalance_timeout_ms: the session timeout is the rebalance timeout
# * v1: rebalance_timeout_ms
# * v2: throttle_time_ms
# * v4: a dynamic member's first join (empty member_id) is answered MEMBER_ID_REQUIRED with
#       a fresh member_id, and the client joins again with it (KIP-394)
# * v5: group_instance_id (static membership, KIP-345), also per member in the response
# * v6: flexible versions
# * v7: protocol_type in the response; protocol_name nullable (KIP-559)
# * v8: reason (KIP-800), logged
# * v9: skip_assignment: a static leader that rejoins a stable group learns the members but
#       does not compute an assignment (KIP-814)
#
# The response is parked until the group's join phase completes; a JoinGroup to a consumer
# group with members (a classic member of a KIP-848 group) is answered at once.
"""JoinGroup: join (or rejoin) a consumer group; the answer waits for the rebalance."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.requests import JoinRequest, client_host
from kafkalite.groups.consumer_group import TopicMetadata
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.join_group import (
    JoinGroupRequest,
    JoinGroupResponse,
    JoinGroupResponseMember,
)


@handles(ApiKey.JOIN_GROUP, min_version=0, max_version=9)
async def join_group(ctx: RequestContext, req: JoinGroupRequest) -> JoinGroupResponse:
    version = ctx.api_version
    coordinator = ctx.broker.groups

    def answer(error: int, member_id: str, generation_id: int = -1, protocol_type: str | None = None,
               protocol_name: str | None = None, leader: str = "", skip_assignment: bool = False,
               members: list[JoinGroupResponseMember] | None = None) -> JoinGroupResponse:
        if version < 7 and protocol_name is None:
            protocol_name = ""  # not nullable before v7
        elif version >= 7 and protocol_name == "":
            protocol_name = None
        return JoinGroupResponse(
            throttle_time_ms=0,
            error_code=error,
            generation_id=generation_id,
            protocol_type=protocol_type,
            protocol_name=protocol_name,
            leader=leader,
            skip_assignment=skip_assignment,
            member_id=member_id,
            members=members or [],
        )

    not_here = coordinator.check_coordinator(req.group_id, ctx.node_id)
    if not_here is not None:
        return answer(not_here, req.member_id)
    request = JoinRequest(
        group_id=req.group_id,
        member_id=req.member_id,
        group_instance_id=req.group_instance_id,
        session_timeout_ms=req.session_timeout_ms,
        rebalance_timeout_ms=req.session_timeout_ms if version == 0 else req.rebalance_timeout_ms,
        protocol_type=req.protocol_type,
        protocols=tuple((p.name, bytes(p.metadata)) for p in req.protocols),
        client_id=ctx.header.client_id or "",
        client_host=client_host(ctx.peer),
        require_known_member_id=version >= 4,
        supports_skip_assignment=version >= 9,
        reason=req.reason,
    )
    if coordinator.make_room_for_classic(req.group_id):
        result = await coordinator.join_group(request)
    else:
        # A consumer group (KIP-848) with members: the classic member joins it (mixed group).
        topics = {
            name: TopicMetadata(name, topic.topic_id, len(topic.partitions))
            for name, topic in ctx.broker.cluster.topics.items()
            if not topic.is_internal
        }
        result = coordinator.classic_join_to_consumer_group(request, topics)
    if result.error is not ErrorCode.NONE:
        return answer(result.error, result.member_id, result.generation_id, result.protocol_type,
                      result.protocol_name, result.leader_id)
    return answer(
        ErrorCode.NONE,
        result.member_id,
        result.generation_id,
        result.protocol_type,
        result.protocol_name,
        result.leader_id,
        result.skip_assignment,
        [
            JoinGroupResponseMember(member_id=member_id, group_instance_id=instance_id, metadata=metadata)
            for member_id, instance_id, metadata in result.members
        ],
    )
