# OffsetForLeaderEpoch: v0-4
#
# Version notes:
# * v0: the end offset only (no leader epoch in the answer)
# * v1: the answer names the leader epoch the end offset belongs to (KIP-279)
# * v2: current_leader_epoch for fencing; throttle_time_ms
# * v3: replica_id (consumers send -1, the default -2 marks a debug client)
# * v4: flexible versions
#
# A consumer asks for the end offset of the leader epoch it last fetched, to detect log
# truncation. Never answer a negative epoch or offset for a known partition: librdkafka
# takes that as truncation and resets its position.
"""OffsetForLeaderEpoch: the end offset of a leader epoch, from the epochs in the log."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.offset_for_leader_epoch import (
    EpochEndOffset,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderTopicResult,
)


@handles(ApiKey.OFFSET_FOR_LEADER_EPOCH, min_version=0, max_version=4)
async def offset_for_leader_epoch(
    ctx: RequestContext, req: OffsetForLeaderEpochRequest
) -> OffsetForLeaderEpochResponse:
    broker = ctx.broker
    topics = []
    for wanted in req.topics:
        topic = broker.cluster.topic(wanted.topic)
        partitions = []
        for p in wanted.partitions:
            index = p.partition
            error, state, plog = broker.leader_partition(topic, index, ctx.node_id, p.current_leader_epoch)
            if plog is None or state is None:
                partitions.append(EpochEndOffset(error_code=error, partition=index))
                continue
            if p.leader_epoch >= state.leader_epoch:
                # The current epoch ends at the log end offset (Kafka's answer for the
                # leader's own epoch, also for an empty log).
                epoch, end_offset = state.leader_epoch, plog.log_end_offset
            else:
                epoch, end_offset = plog.leader_epoch_end_offset(p.leader_epoch)
            partitions.append(
                EpochEndOffset(error_code=ErrorCode.NONE, partition=index, leader_epoch=epoch, end_offset=end_offset)
            )
        topics.append(OffsetForLeaderTopicResult(topic=wanted.topic, partitions=partitions))
    return OffsetForLeaderEpochResponse(throttle_time_ms=0, topics=topics)
