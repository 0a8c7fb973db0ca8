# ListOffsets: v0-11
#
# Version notes:
# * v0: old style offsets (Kafka's legacyFetchOffsetsBefore): up to max_num_offsets segment
#       base offsets, newest first, of the segments last modified at or before the timestamp,
#       the log end offset counting as a segment modified now; -1 asks for the log end offset,
#       -2 for the first segment's; other negative timestamps answer UNSUPPORTED_VERSION. A
#       consumer (replica_id -1) never sees an offset above the high watermark.
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
# * v11: timestamp -6 = earliest offset pending upload to remote storage (KIP-1023): offset -1
#        and leader epoch -1 here, as Kafka answers for a topic without remote storage
"""ListOffsets: earliest, latest, max-timestamp and by-timestamp offset lookups."""

from __future__ import annotations

from collections import Counter
from itertools import dropwhile

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
EARLIEST_PENDING_UPLOAD = -6
CONSUMER_REPLICA_ID = -1
#: The oldest special timestamp each version knows (older versions refuse newer ones).
_OLDEST_SPECIAL = {7: MAX_TIMESTAMP, 8: EARLIEST_LOCAL, 9: LATEST_TIERED, 11: EARLIEST_PENDING_UPLOAD}


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


def old_style_offsets(
    segments: list[tuple[int, int, int]],
    log_start_offset: int,
    log_end_offset: int,
    high_watermark: int,
    timestamp: int,
    max_num_offsets: int,
    now_ms: int,
    from_consumer: bool,
) -> list[int]:
    """ListOffsets v0's answer, as Kafka's UnifiedLog.legacyFetchOffsetsBefore computes it.

    Each segment (base offset, size, last modified ms) stands for its base offset (at least
    the log start offset) as of its last modification, and a non-empty last segment adds the
    log end offset as of *now_ms*. LATEST starts from the newest entry, EARLIEST from the
    oldest, a timestamp from the newest entry modified at or before it; from there up to
    *max_num_offsets* offsets going back, newest first. For a consumer, offsets above the
    high watermark are replaced by the high watermark (Partition.legacyFetchOffsetsForTimestamp).
    """
    entries = [(max(base, log_start_offset), modified) for base, _size, modified in segments]
    if segments and segments[-1][1] > 0:
        entries.append((log_end_offset, now_ms))
    if timestamp == LATEST:
        start = len(entries) - 1
    elif timestamp == EARLIEST:
        start = 0
    else:
        start = len(entries) - 1
        while start >= 0 and entries[start][1] > timestamp:
            start -= 1
    count = min(max_num_offsets, start + 1)
    offsets = sorted((entries[start - j][0] for j in range(count)), reverse=True)
    if from_consumer and any(o > high_watermark for o in offsets):
        offsets = [high_watermark, *dropwhile(lambda o: o > high_watermark, offsets)]
    return offsets


def _list_offsets_v0(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    broker = ctx.broker
    now = broker.clock.wall_ms()
    topics = []
    for wanted in req.topics:
        topic = broker.cluster.topic(wanted.name)
        partitions = []
        for p in wanted.partitions:
            error, offsets = ErrorCode.NONE, []
            if p.timestamp < EARLIEST:
                error = ErrorCode.UNSUPPORTED_VERSION  # only -1 and -2 are special in v0
            else:
                error, state, plog = broker.leader_partition(topic, p.partition_index, ctx.node_id, -1)
                if plog is not None and state is not None:
                    if p.max_num_offsets < 0:
                        error = ErrorCode.UNKNOWN_SERVER_ERROR  # Kafka fails on a negative array size
                    else:
                        offsets = old_style_offsets(
                            plog.segment_times, plog.log_start_offset, plog.log_end_offset, plog.high_watermark,
                            p.timestamp, p.max_num_offsets, now, req.replica_id == CONSUMER_REPLICA_ID,
                        )
            partitions.append(
                ListOffsetsPartitionResponse(
                    partition_index=p.partition_index, error_code=error, old_style_offsets=offsets
                )
            )
        topics.append(ListOffsetsTopicResponse(name=wanted.name, partitions=partitions))
    return ListOffsetsResponse(topics=topics)


def _special_known(timestamp: int, version: int) -> bool:
    """Whether *version* knows the special (negative) *timestamp*."""
    oldest = EARLIEST
    for since, special in _OLDEST_SPECIAL.items():
        if version >= since:
            oldest = special
    return timestamp >= oldest


@handles(ApiKey.LIST_OFFSETS, min_version=0, max_version=11)
async def list_offsets(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    broker = ctx.broker
    version = ctx.api_version
    if version == 0:
        return _list_offsets_v0(ctx, req)
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
            elif ts < 0 and not _special_known(ts, version):
                # A special timestamp newer than the version, or none at all (checked
                # against Kafka 4.4.0: -7 and -100 answer the same).
                answer(ErrorCode.UNSUPPORTED_VERSION)
            elif ts in (LATEST_TIERED, EARLIEST_PENDING_UPLOAD):
                answer(ErrorCode.NONE, -1, -1, -1)  # nothing is in (or bound for) remote storage
            elif ts in (EARLIEST, EARLIEST_LOCAL):
                start = plog.log_start_offset
                answer(ErrorCode.NONE, start, -1, _epoch_at(plog.leader_epochs, start, epoch))
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
