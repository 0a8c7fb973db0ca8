# OffsetCommit: v2-9
#
# Version notes:
# * v2: retention_time_ms (-1: the broker's offsets.retention.minutes); commit timestamps
#       are the broker's
# * v3: throttle_time_ms
# * v5: retention_time_ms removed
# * v6: committed_leader_epoch per partition (KIP-320), kept and returned by OffsetFetch
# * v7: group_instance_id (static membership, KIP-345)
# * v8: flexible versions
# * v9: a commit with a generation for a group that does not exist answers
#       GROUP_ID_NOT_FOUND (older versions: ILLEGAL_GENERATION)
#
# Generation -1 with an empty member id commits for a group without members: consumers
# using assign() and admin tools. Commits are records of __consumer_offsets.
"""OffsetCommit: store a group's consumed offsets in __consumer_offsets."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.requests import CommitRequest
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)


@handles(ApiKey.OFFSET_COMMIT, min_version=2, max_version=9)
async def offset_commit(ctx: RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse:
    broker = ctx.broker
    version = ctx.api_version
    # Every requested partition gets an answer, in request order: unknown topics and
    # partitions are answered here, the rest by the coordinator.
    answers: dict[tuple[str, int], int] = {}
    valid: list[CommitRequest] = []
    for topic in req.topics:
        known = broker.cluster.topic(topic.name)
        for p in topic.partitions:
            if known is None or not 0 <= p.partition_index < len(known.partitions):
                answers[(topic.name, p.partition_index)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                valid.append(
                    CommitRequest(
                        topic.name,
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.committed_metadata,
                    )
                )
    if valid:
        not_here = broker.groups.check_coordinator(req.group_id, ctx.node_id)
        if not_here is not None:
            errors = [not_here] * len(valid)
        else:
            errors = broker.groups.commit_offsets(
                req.group_id,
                req.member_id,
                req.group_instance_id,
                req.generation_id_or_member_epoch,
                valid,
                retention_time_ms=req.retention_time_ms if version <= 4 else -1,
                reports_group_id_not_found=version >= 9,
            )
        for c, error in zip(valid, errors):
            answers[(c.topic, c.partition)] = error
    return OffsetCommitResponse(
        throttle_time_ms=0,
        topics=[
            OffsetCommitResponseTopic(
                name=topic.name,
                partitions=[
                    OffsetCommitResponsePartition(
                        partition_index=p.partition_index, error_code=answers[(topic.name, p.partition_index)]
                    )
                    for p in topic.partitions
                ],
            )
            for topic in req.topics
        ],
    )
