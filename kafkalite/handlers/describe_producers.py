# DescribeProducers: v0
#
# Version notes:
# * v0: the producers with state on each partition, and the offset their open transaction
#       started at (KIP-664); flexible
#
# Answered by each partition's leader (NOT_LEADER_OR_FOLLOWER elsewhere), from the same
# producer state that checks idempotent sequences and tracks open transactions.
"""DescribeProducers: the active producers of partitions."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_producers import (
    DescribeProducersRequest,
    DescribeProducersResponse,
    PartitionResponse,
    ProducerState,
    TopicResponse,
)


@handles(ApiKey.DESCRIBE_PRODUCERS, min_version=0, max_version=0)
async def describe_producers(ctx: RequestContext, req: DescribeProducersRequest) -> DescribeProducersResponse:
    broker = ctx.broker
    topics = []
    for wanted in req.topics:
        topic = broker.cluster.topic(wanted.name)
        partitions = []
        for index in wanted.partition_indexes:
            error, _state, plog = broker.leader_partition(topic, index, ctx.node_id)
            if plog is None:
                partitions.append(PartitionResponse(partition_index=index, error_code=error))
                continue
            partitions.append(
                PartitionResponse(
                    partition_index=index,
                    error_code=ErrorCode.NONE,
                    active_producers=[
                        ProducerState(
                            producer_id=v.producer_id,
                            producer_epoch=v.producer_epoch,
                            last_sequence=v.last_sequence,
                            last_timestamp=v.last_timestamp,
                            coordinator_epoch=v.coordinator_epoch,
                            current_txn_start_offset=v.current_txn_start_offset,
                        )
                        for v in broker.producers.producers_on(wanted.name, index)
                    ],
                )
            )
        topics.append(TopicResponse(name=wanted.name, partitions=partitions))
    return DescribeProducersResponse(throttle_time_ms=0, topics=topics)
