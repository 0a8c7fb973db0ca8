# DescribeQuorum: v0-2
#
# Version notes:
# * v0: leader, epoch, high watermark, voters and observers with their log end offsets
# * v1: each replica's last fetch and last caught-up timestamps
# * v2: error messages, replica directory ids (zero: the voters are static, no directory
#       ids) and the voters' nodes with their listeners (none: kafkalite's controllers are
#       in-process and have no listener of their own)
#
# A Kafka 4 broker forwards DescribeQuorum to the active controller, and answers
# REQUEST_TIMED_OUT when no controller answered in time: here it waits up to
# request_timeout_ms for a leader. The controller refuses any partition but
# __cluster_metadata-0 with UNKNOWN_TOPIC_OR_PARTITION. Observers are the brokers (with
# dedicated controllers; a combined node has none).
"""DescribeQuorum: the controller quorum's leader, epoch, high watermark and replicas."""

from __future__ import annotations

import uuid

from kafkalite.broker.quorum.quorum import METADATA_TOPIC
from kafkalite.broker.quorum.waiting import wait_for_quorum
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_quorum import (
    DescribeQuorumNode,
    DescribeQuorumPartition,
    DescribeQuorumRequest,
    DescribeQuorumResponse,
    DescribeQuorumTopic,
    ReplicaState,
)

_UNKNOWN_PARTITION_MESSAGE = "This server does not host this topic-partition."


def _replica(replica_id: int, end_offset: int, last_fetch: int, caught_up: int) -> ReplicaState:
    return ReplicaState(
        replica_id=replica_id, replica_directory_id=uuid.UUID(int=0), log_end_offset=end_offset,
        last_fetch_timestamp=last_fetch, last_caught_up_timestamp=caught_up,
    )


@handles(ApiKey.DESCRIBE_QUORUM, min_version=0, max_version=2)
async def describe_quorum(ctx: RequestContext, req: DescribeQuorumRequest) -> DescribeQuorumResponse:
    topics = req.topics
    if not (
        len(topics) == 1 and topics[0].topic_name == METADATA_TOPIC
        and [p.partition_index for p in topics[0].partitions] == [0]
    ):
        return DescribeQuorumResponse(
            error_code=ErrorCode.NONE,
            topics=[
                DescribeQuorumTopic(
                    topic_name=t.topic_name,
                    partitions=[
                        DescribeQuorumPartition(
                            partition_index=p.partition_index, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                            error_message=_UNKNOWN_PARTITION_MESSAGE,
                        )
                        for p in t.partitions
                    ],
                )
                for t in topics
            ],
        )
    quorum = ctx.broker.quorum
    await wait_for_quorum(ctx.broker)
    state = quorum.describe()
    if state is None:
        return DescribeQuorumResponse(
            error_code=ErrorCode.REQUEST_TIMED_OUT,
            error_message="No active controller answered in time: the controller quorum has no leader.",
        )
    return DescribeQuorumResponse(
        error_code=ErrorCode.NONE,
        topics=[
            DescribeQuorumTopic(
                topic_name=METADATA_TOPIC,
                partitions=[
                    DescribeQuorumPartition(
                        partition_index=0,
                        error_code=ErrorCode.NONE,
                        leader_id=state["leader_id"],
                        leader_epoch=state["leader_epoch"],
                        high_watermark=state["high_watermark"],
                        current_voters=[_replica(*v) for v in state["voters"]],
                        observers=[_replica(*o) for o in state["observers"]],
                    )
                ],
            )
        ],
        nodes=[DescribeQuorumNode(node_id=v[0], listeners=[]) for v in state["voters"]],
    )
