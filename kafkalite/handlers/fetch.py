# Fetch: v4-16
#
# Version notes:
# * v4: isolation_level; last_stable_offset and aborted_transactions in the response
# * v5: log_start_offset in request and response
# * v7: fetch sessions (KIP-227): session_id / session_epoch, forgotten topics
# * v9: current_leader_epoch (KIP-320 fencing)
# * v11: rack_id and preferred_read_replica (KIP-392)
# * v12: flexible versions; last_fetched_epoch, diverging_epoch (KIP-595)
# * v13: topics addressed by topic_id instead of name (KIP-516)
# * v15: replica_state replaces replica_id (KIP-903)
# * v16: node_endpoints (KIP-951)
#
# Fetch sessions: kafkalite never creates one. A request for a new session (id 0, epoch 0)
# is answered with session_id 0, which tells the client "no session": it keeps sending full
# fetch requests, and every response lists every requested partition. Legal per KIP-227.
"""Fetch: whole batches from the fetch offset up to the high watermark (read_committed: the
last stable offset, with the aborted transactions the client must skip), with long polling."""

from __future__ import annotations

import uuid

import trio

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.storage import KafkaStorageError, OffsetOutOfRange
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.fetch import (
    AbortedTransaction,
    FetchableTopicResponse,
    FetchRequest,
    FetchResponse,
    PartitionData,
)

ZERO_UUID = uuid.UUID(int=0)
READ_COMMITTED = 1


def _error(index: int, code: int, *, unknown: bool = False) -> PartitionData:
    """A partition answered with an error: offsets -1, as Kafka. *unknown*: the topic or
    partition does not exist, which Kafka answers before reading, with an empty (not null)
    aborted-transactions list."""
    return PartitionData(
        partition_index=index,
        error_code=code,
        high_watermark=-1,
        last_stable_offset=-1,
        log_start_offset=-1,
        aborted_transactions=[] if unknown else None,
        # Kafka sends an empty record set, never null: librdkafka fails to parse a null one.
        records=b"",
    )


def _fetch_once(ctx: RequestContext, req: FetchRequest, by_id: bool) -> tuple[list[FetchableTopicResponse], int, bool]:
    """Read every requested partition once; return (responses, bytes, any_error)."""
    broker = ctx.broker
    cluster = broker.cluster
    budget = req.max_bytes if req.max_bytes > 0 else 0x7FFFFFFF
    total = 0
    any_error = False
    read_committed = req.isolation_level == READ_COMMITTED
    responses = []
    for wanted in req.topics:
        topic = cluster.topics_by_id.get(wanted.topic_id) if by_id else cluster.topic(wanted.topic)
        # A topic id nobody knows is UNKNOWN_TOPIC_ID; a missing partition of a known topic,
        # or a missing topic named by name, UNKNOWN_TOPIC_OR_PARTITION.
        missing = ErrorCode.UNKNOWN_TOPIC_ID if by_id and topic is None else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        partitions = []
        for fp in wanted.partitions:
            index = fp.partition
            error, _state, plog = broker.leader_partition(
                topic, index, ctx.node_id, fp.current_leader_epoch, missing=missing
            )
            if plog is None:
                any_error = True
                partitions.append(_error(index, error, unknown=error is missing))
                continue
            hw = plog.high_watermark
            start = plog.log_start_offset
            lso = broker.producers.last_stable_offset(topic.name, index, hw)
            # The first batch of the response is always whole, whatever the limits: a
            # consumer must be able to make progress past a batch bigger than max_bytes.
            limit = min(fp.partition_max_bytes, budget - total)
            if total == 0:
                limit = max(limit, 1)
            try:
                upper = lso if read_committed else None  # read_committed stops at the LSO
                chunks = plog.read(fp.fetch_offset, limit, max_offset=upper) if limit > 0 else []
            except OffsetOutOfRange:
                any_error = True
                partitions.append(_error(index, ErrorCode.OFFSET_OUT_OF_RANGE))
                continue
            except KafkaStorageError:
                any_error = True
                partitions.append(_error(index, ErrorCode.KAFKA_STORAGE_ERROR))
                continue
            size = sum(len(c) for c in chunks)
            if size > limit and total > 0:
                # Only the first non-empty partition may exceed the limits (KIP-74); a later
                # partition whose next batch does not fit returns nothing this time.
                chunks, size = [], 0
            total += size
            aborted = None
            if read_committed:
                aborted = [
                    AbortedTransaction(producer_id=e.producer_id, first_offset=e.first_offset)
                    for e in plog.aborted_txns_for_fetch(fp.fetch_offset, chunks)
                ]
            partitions.append(
                PartitionData(
                    partition_index=index,
                    error_code=ErrorCode.NONE,
                    high_watermark=hw,
                    last_stable_offset=lso,
                    log_start_offset=start,
                    aborted_transactions=aborted,
                    preferred_read_replica=-1,
                    records=chunks,
                )
            )
        responses.append(
            FetchableTopicResponse(
                topic=topic.name if topic is not None else (wanted.topic or ""),
                topic_id=topic.topic_id if topic is not None else wanted.topic_id,
                partitions=partitions,
            )
        )
    return responses, total, any_error


@handles(ApiKey.FETCH, min_version=4, max_version=16)
async def fetch(ctx: RequestContext, req: FetchRequest) -> FetchResponse:
    version = ctx.api_version
    if version >= 7:
        if req.session_id != 0:
            return FetchResponse(error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND, session_id=0)
        if req.session_epoch not in (0, -1):
            return FetchResponse(error_code=ErrorCode.INVALID_FETCH_SESSION_EPOCH, session_id=0)
    by_id = version >= 13
    responses, total, any_error = _fetch_once(ctx, req, by_id)
    if total < max(req.min_bytes, 1) and not any_error and req.max_wait_ms > 0 and req.topics:
        # Long polling: wait for an append to any requested partition, or the deadline.
        partitions = [
            (t.topic if not by_id else _name_of(ctx, t.topic_id), p.partition)
            for t in req.topics
            for p in t.partitions
        ]
        deadline = trio.current_time() + req.max_wait_ms / 1000
        while True:
            event = ctx.broker.register_waiter(partitions)
            try:
                with trio.move_on_at(deadline):
                    await event.wait()
            finally:
                ctx.broker.unregister_waiter(event, partitions)
            responses, total, any_error = _fetch_once(ctx, req, by_id)
            if total >= max(req.min_bytes, 1) or any_error or trio.current_time() >= deadline:
                break
    return FetchResponse(throttle_time_ms=0, error_code=ErrorCode.NONE, session_id=0, responses=responses)


def _name_of(ctx: RequestContext, topic_id: uuid.UUID) -> str:
    topic = ctx.broker.cluster.topics_by_id.get(topic_id)
    return topic.name if topic is not None else ""
