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

from kafkalite.broker.commits import answer_in_order, commit_all, split_commits
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
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
    answers, valid = split_commits(broker.cluster, req.topics)
    commit_all(
        answers,
        valid,
        broker.groups.check_coordinator(req.group_id, ctx.node_id) if valid else None,
        lambda commits: broker.groups.commit_offsets(
            req.group_id,
            req.member_id,
            req.group_instance_id,
            req.generation_id_or_member_epoch,
            commits,
            retention_time_ms=req.retention_time_ms if version <= 4 else -1,
            reports_group_id_not_found=version >= 9,
        ),
    )
    return OffsetCommitResponse(
        throttle_time_ms=0,
        topics=answer_in_order(req.topics, answers, OffsetCommitResponseTopic, OffsetCommitResponsePartition),
    )
