# DeleteRecords: v0-2
#
# Version notes:
# * v1: same layout (throttling semantics)
# * v2: flexible versions
"""DeleteRecords: move a partition's log start offset forward (offset -1 = high watermark)."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.storage import KafkaStorageError, OffsetOutOfRange
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.delete_records import (
    DeleteRecordsPartitionResult,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopicResult,
)


@handles(ApiKey.DELETE_RECORDS, min_version=0, max_version=2)
async def delete_records(ctx: RequestContext, req: DeleteRecordsRequest) -> DeleteRecordsResponse:
    broker = ctx.broker
    topics = []
    for wanted in req.topics:
        topic = broker.cluster.topic(wanted.name)
        partitions = []
        for p in wanted.partitions:
            index = p.partition_index
            error, _state, plog = broker.leader_partition(topic, index, ctx.node_id)
            if plog is None:
                partitions.append(DeleteRecordsPartitionResult(partition_index=index, low_watermark=-1, error_code=error))
                continue
            target = plog.high_watermark if p.offset == -1 else p.offset
            try:
                low = plog.delete_records(target)
            except OffsetOutOfRange:
                partitions.append(
                    DeleteRecordsPartitionResult(
                        partition_index=index, low_watermark=-1, error_code=ErrorCode.OFFSET_OUT_OF_RANGE
                    )
                )
                continue
            except KafkaStorageError:
                partitions.append(
                    DeleteRecordsPartitionResult(
                        partition_index=index, low_watermark=-1, error_code=ErrorCode.KAFKA_STORAGE_ERROR
                    )
                )
                continue
            broker.replicas.wake_followers(wanted.name, index)  # they follow the log start
            partitions.append(
                DeleteRecordsPartitionResult(partition_index=index, low_watermark=low, error_code=ErrorCode.NONE)
            )
        topics.append(DeleteRecordsTopicResult(name=wanted.name, partitions=partitions))
    return DeleteRecordsResponse(throttle_time_ms=0, topics=topics)
