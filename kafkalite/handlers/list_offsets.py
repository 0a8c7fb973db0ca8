# ListOffsets: v1-10
#
# Version notes:
# * v1: one offset per partition (timestamp + offset), replacing v0's offset lists
# * v2: isolation_level (read_committed: latest is the last stable offset, and nothing at or
#       past it is found by timestamp); throttle_time_ms
# * v4: current_leader_epoch in the request, leader_epoch in the response (KIP-320)
# * v6: flexible versions
# * v7: timestamp -3 = the record with the largest timestamp (KIP-734): the first record
#       that has it, found inside its batch (KAFKA-16310), not the batch's last offset
# * v8: timestamp -4 = earliest local offset (KIP-405): the log start here, no tiered storage
# * v9: timestamp -5 = latest tiered offset (KIP-1005): offset -1 and leader epoch -1 here,
#       as Kafka answers for a topic without remote storage
# * v10: timeout_ms (KIP-1075)
"""ListOffsets: earliest, latest, max-timestamp and by-timestamp offset lookups."""

from __future__ import annotations

from collections import Counter

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.batch import parse_batch_header
from kafkalite.wire.records import decode_records, record_timestamp
from kafkalite.wire.messages.list_offsets import (
    ListOffsetsPartitionResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
)

LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL = -4
LATEST_TIERED = -5


def _epoch_at(epochs: list[tuple[int, int]], offset: int, current: int) -> int:
    """The leader epoch of *offset* from the log's (epoch, start offset) entries. A log
    without one that covers it (nothing appended yet) answers the *current* leader epoch:
    Kafka's leader records its epoch in the cache when it becomes leader."""
    found = current
    for epoch, start in epochs:
        if start > offset:
            break
        found = epoch
    return found


def _record_at_or_after(plog, target: int) -> tuple[int, int] | None:
    """The first record whose timestamp is >= *target*: (offset, timestamp), or None.

    The time index finds the first batch whose max timestamp reaches the target; like Kafka
    (LogSegment.findOffsetByTimestamp) we then look inside that batch for the exact record,
    decompressing it if need be. Only this lookup decodes records, never produce or fetch.
    """
    found = plog.offset_for_timestamp(target)
    if found is None:
        return None
    batch_offset, batch_max_timestamp = found
    chunks = plog.read(batch_offset, 1)
    if not chunks:
        return found
    view = chunks[0]
    header = parse_batch_header(view, 0)
    try:
        records = decode_records(view[: header.size])
    except DecodeError:
        return batch_offset, batch_max_timestamp
    for record in records:
        timestamp = record_timestamp(header, record)
        offset = header.base_offset + record.offset_delta
        if timestamp >= target and offset >= batch_offset:
            return offset, timestamp
    return batch_offset, batch_max_timestamp


@handles(ApiKey.LIST_OFFSETS, min_version=1, max_version=10)
async def list_offsets(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    broker = ctx.broker
    version = ctx.api_version
    counts = Counter((t.name, p.partition_index) for t in req.topics for p in t.partitions)
    read_committed = version >= 2 and req.isolation_level == 1
    topics = []
    for wanted in req.topics:
        topic = broker.cluster.topic(wanted.name)
        partitions = []
        for p in wanted.partitions:
            index = p.partition_index

            def answer(code: int, offset: int = -1, timestamp: int = -1, epoch: int = -1) -> None:
                partitions.append(
                    ListOffsetsPartitionResponse(
                        partition_index=index, error_code=code, timestamp=timestamp, offset=offset, leader_epoch=epoch
                    )
                )

            if counts[(wanted.name, index)] > 1:
                answer(ErrorCode.INVALID_REQUEST)
                continue
            error, state, plog = broker.leader_partition(topic, index, ctx.node_id, p.current_leader_epoch)
            if plog is None or state is None:
                answer(error)
                continue
            epoch = state.leader_epoch
            # What a consumer of this isolation level may read up to.
            fetchable = plog.high_watermark
            if read_committed:
                fetchable = broker.producers.last_stable_offset(wanted.name, index, fetchable)
            ts = p.timestamp
            if ts == LATEST:
                answer(ErrorCode.NONE, fetchable, -1, epoch)
            elif ts == LATEST_TIERED and version >= 9:
                answer(ErrorCode.NONE, -1, -1, -1)  # nothing is in remote storage
            elif ts == EARLIEST or (ts == EARLIEST_LOCAL and version >= 8):
                start = plog.log_start_offset
                answer(ErrorCode.NONE, start, -1, _epoch_at(plog.leader_epochs, start, epoch))
            elif ts < 0 and not (ts == MAX_TIMESTAMP and version >= 7):
                answer(ErrorCode.UNSUPPORTED_VERSION if ts >= LATEST_TIERED else ErrorCode.INVALID_REQUEST)
            else:
                if ts == MAX_TIMESTAMP:
                    max_ts, _batch_last_offset = plog.max_timestamp
                    found = _record_at_or_after(plog, max_ts) if max_ts >= 0 else None
                else:
                    found = _record_at_or_after(plog, ts)
                if found is None or found[0] >= fetchable:
                    answer(ErrorCode.NONE, -1, -1, -1)
                else:
                    offset, timestamp = found
                    answer(ErrorCode.NONE, offset, timestamp, epoch)
        topics.append(ListOffsetsTopicResponse(name=wanted.name, partitions=partitions))
    return ListOffsetsResponse(throttle_time_ms=0, topics=topics)
