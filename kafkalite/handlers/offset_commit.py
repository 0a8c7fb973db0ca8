# OffsetCommit: v0-10
#
# Version notes:
# * v0: no generation or member; Kafka 3 stored these commits in ZooKeeper, so a KRaft broker
#       (Kafka 3.9 without ZooKeeper, as kafkalite) answers UNSUPPORTED_VERSION on every
#       partition once one partition exists (partitions of unknown topics alone are answered
#       UNKNOWN_TOPIC_OR_PARTITION); removed in Kafka 4.0
# * v1: generation and member id; a commit timestamp per partition (-1: the broker's clock),
#       kept as given: the offset is dated from it for expiry; removed in Kafka 4.0
# * v2: retention_time_ms (-1: the broker's offsets.retention.minutes; else the offsets expire
#       that long after the commit); commit timestamps are the broker's
# * v3: throttle_time_ms
# * v5: retention_time_ms removed
# * v6: committed_leader_epoch per partition (KIP-320), kept and returned by OffsetFetch
# * v7: group_instance_id (static membership, KIP-345)
# * v8: flexible versions
# * v9: a commit with a generation for a group that does not exist answers
#       GROUP_ID_NOT_FOUND (older versions: ILLEGAL_GENERATION); members of consumer groups
#       (KIP-848) commit with their member epoch (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID) and
#       must use v9+ (UNSUPPORTED_VERSION)
# * v10: topics named by topic id (KIP-848); an id no topic has (the zero id too) answers
#        UNKNOWN_TOPIC_ID on its partitions
#
# Generation -1 with an empty member id commits for a group without members: consumers
# using assign() and admin tools. Commits are records of __consumer_offsets.
"""OffsetCommit: store a group's consumed offsets in __consumer_offsets."""

from __future__ import annotations

import attrs

from kafkalite.broker.commits import answer_in_order, commit_all, split_commits
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)


@handles(ApiKey.OFFSET_COMMIT, min_version=0, max_version=10)
async def offset_commit(ctx: RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse:
    broker = ctx.broker
    version = ctx.api_version
    topics = req.topics
    unknown_ids: set = set()
    if version >= 10:
        # Name each topic by its id; those no topic has are answered UNKNOWN_TOPIC_ID.
        topics = []
        for t in req.topics:
            known = broker.cluster.topics_by_id.get(t.topic_id)
            if known is None:
                unknown_ids.add(t.topic_id)
            else:
                topics.append(attrs.evolve(t, name=known.name))
    # Every requested partition gets an answer, in request order: unknown topics and
    # partitions are answered here, the rest by the coordinator.
    answers, valid = split_commits(broker.cluster, topics)
    if version == 0 and valid:
        # Kafka 3's v0 path writes to ZooKeeper; without it the whole request fails.
        return OffsetCommitResponse(topics=[
            OffsetCommitResponseTopic(name=t.name, partitions=[
                OffsetCommitResponsePartition(partition_index=p.partition_index, error_code=ErrorCode.UNSUPPORTED_VERSION)
                for p in t.partitions
            ])
            for t in req.topics
        ])
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
            api_version=version,
        ),
    )
    answered = answer_in_order(topics, answers, OffsetCommitResponseTopic, OffsetCommitResponsePartition)
    if version < 10:
        return OffsetCommitResponse(throttle_time_ms=0, topics=answered)
    by_request: list[OffsetCommitResponseTopic] = []
    named = iter(answered)
    for t in req.topics:
        if t.topic_id in unknown_ids:
            partitions = [
                OffsetCommitResponsePartition(partition_index=p.partition_index, error_code=ErrorCode.UNKNOWN_TOPIC_ID)
                for p in t.partitions
            ]
        else:
            partitions = next(named).partitions
        by_request.append(OffsetCommitResponseTopic(topic_id=t.topic_id, partitions=partitions))
    return OffsetCommitResponse(throttle_time_ms=0, topics=by_request)
