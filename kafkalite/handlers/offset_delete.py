# OffsetDelete: v0
#
# Version notes:
# * v0: delete a group's committed offsets for some partitions (KIP-496). The group must be
#       empty, or a consumer group not subscribed to the topic (else, per partition,
#       GROUP_SUBSCRIBED_TO_TOPIC); a non-consumer group with members answers
#       NON_EMPTY_GROUP. Deleted offsets are tombstones in __consumer_offsets.
"""OffsetDelete: remove committed offsets of a group."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.offset_delete import (
    OffsetDeleteRequest,
    OffsetDeleteResponse,
    OffsetDeleteResponsePartition,
    OffsetDeleteResponseTopic,
)


@handles(ApiKey.OFFSET_DELETE, min_version=0, max_version=0)
async def offset_delete(ctx: RequestContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse:
    broker = ctx.broker
    answers: dict[tuple[str, int], int] = {}
    valid: list[tuple[str, list[int]]] = []
    for topic in req.topics:
        known = broker.cluster.topic(topic.name)
        existing = []
        for p in topic.partitions:
            if known is None or not 0 <= p.partition_index < len(known.partitions):
                answers[(topic.name, p.partition_index)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                existing.append(p.partition_index)
        if existing:
            valid.append((topic.name, existing))
    error = broker.groups.check_coordinator(req.group_id, ctx.node_id) if req.group_id else None
    if error is None:
        error, result = broker.groups.delete_offsets(req.group_id, valid)
        for name, partitions in result:
            for index, partition_error in partitions:
                answers[(name, index)] = partition_error
    if error is not ErrorCode.NONE:
        return OffsetDeleteResponse(error_code=error, throttle_time_ms=0, topics=[])
    return OffsetDeleteResponse(
        error_code=ErrorCode.NONE,
        throttle_time_ms=0,
        topics=[
            OffsetDeleteResponseTopic(
                name=topic.name,
                partitions=[
                    OffsetDeleteResponsePartition(
                        partition_index=p.partition_index, error_code=answers[(topic.name, p.partition_index)]
                    )
                    for p in topic.partitions
                ],
            )
            for topic in req.topics
        ],
    )
