# Fetch: v0-18
#
# Version notes:
# * v0-3: answered in the message format the version reads, as Kafka 3 did (Kafka 4 removed
#   them, KIP-896): stored v2 batches down-converted to magic 0 (v0-1) or magic 1 (v2-3) by
#   kafkalite/wire/down_convert.py; no isolation level (read_uncommitted), no aborted
#   transactions, zstd data UNSUPPORTED_COMPRESSION_TYPE. v0-2 limits are hard (no whole first
#   batch guaranteed); v3 adds max_bytes and KIP-74's first-batch rule.
# * v0-9: a topic whose compression.type is zstd answers UNSUPPORTED_COMPRESSION_TYPE (KIP-110)
# * v0-5: a storage error is answered NOT_LEADER_OR_FOLLOWER (such clients may not know
#   KAFKA_STORAGE_ERROR; they refresh metadata and retry), as Kafka does
# * v1: throttle_time_ms; v2: magic 1 (timestamps)
# * v4: isolation_level; last_stable_offset and aborted_transactions in the response
# * v5: log_start_offset in request and response
# * v7: fetch sessions (KIP-227): session_id / session_epoch, forgotten topics
# * v9: current_leader_epoch (KIP-320 fencing)
# * v11: rack_id and preferred_read_replica (KIP-392)
# * v12: flexible versions; last_fetched_epoch, diverging_epoch (KIP-595)
# * v13: topics addressed by topic_id instead of name (KIP-516)
# * v15: replica_state replaces replica_id (KIP-903)
# * v16: node_endpoints (KIP-951)
# * v17: replica_directory_id per partition (KIP-853) and v18: high_watermark per partition
#   (KIP-1166): tagged fields only followers send; a consumer's fetch is unchanged
#
# Fetch sessions (v7+, KIP-227): see kafkalite/broker/fetch_sessions.py for the rules. A
# full request (epoch 0) makes a session when the cache has room; an incremental one names
# only the partitions that changed, and is answered with the partitions that have news.
"""Fetch: whole batches from the fetch offset up to the high watermark (read_committed: the
last stable offset, with the aborted transactions the client must skip), with long polling
and incremental fetch sessions."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any, Iterable

import attrs

from kafkalite.broker.cluster import Topic
from kafkalite.broker.fetch_sessions import (
    FINAL_EPOCH,
    INITIAL_EPOCH,
    INVALID_SESSION_ID,
    CachedPartition,
    FetchSession,
    PartitionKey,
    cache_of,
    next_epoch,
    partition_key,
)
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.storage import KafkaStorageError, OffsetOutOfRange
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.batch import LOG_OVERHEAD
from kafkalite.wire.down_convert import ZstdDownConversionError, down_convert
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.primitives import DecodeError
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


_NO_FAULT = object()


def _fault(faults: dict[tuple[str, int | None], ErrorCode | None], name: str, index: int) -> Any:
    fault = faults.get((name, index), _NO_FAULT)
    return faults.get((name, None), _NO_FAULT) if fault is _NO_FAULT else fault


def _stalled(ctx: RequestContext, name: str, index: int, plog: Any) -> PartitionData:
    """A stalled partition: its offsets as they are, no records."""
    return PartitionData(
        partition_index=index,
        error_code=ErrorCode.NONE,
        high_watermark=plog.high_watermark,
        last_stable_offset=ctx.broker.producers.last_stable_offset(name, index, plog.high_watermark),
        log_start_offset=plog.log_start_offset,
        aborted_transactions=None,
        preferred_read_replica=-1,
        records=b"",
    )


#: One partition to read: (key, topic name as asked, topic id as asked, the FetchPartition).
Wanted = tuple[PartitionKey, "str | None", uuid.UUID, Any]
#: One partition read: (key, topic name, topic id, PartitionData).
Answer = tuple[PartitionKey, str, uuid.UUID, PartitionData]


def _requested(req: FetchRequest, by_id: bool) -> list[Wanted]:
    """The partitions a request names, keyed as Kafka keys them (topic id from v13)."""
    out = []
    for t in req.topics:
        name = None if by_id else t.topic
        topic_id = t.topic_id if by_id else ZERO_UUID
        for fp in t.partitions:
            out.append((partition_key(name, topic_id, fp.partition), name, topic_id, fp))
    return out


def _forgotten(req: FetchRequest, by_id: bool) -> list[PartitionKey]:
    return [
        partition_key(None if by_id else t.topic, t.topic_id if by_id else ZERO_UUID, p)
        for t in req.forgotten_topics_data or ()
        for p in t.partitions
    ]


def _of_session(session: FetchSession) -> list[Wanted]:
    return [(key, c.topic, c.topic_id, c.request) for key, c in session.partitions.items()]


def _fetch_once(ctx: RequestContext, req: FetchRequest, wanted: list[Wanted], by_id: bool) -> tuple[list[Answer], int, bool]:
    """Read every wanted partition once; return (answers, bytes, any_error)."""
    broker = ctx.broker
    cluster = broker.cluster
    budget = req.max_bytes if req.max_bytes > 0 else 0x7FFFFFFF
    total = 0
    any_error = False
    read_committed = req.isolation_level == READ_COMMITTED
    old_client = ctx.api_version < 10
    replica_id = req.replica_id if ctx.api_version < 15 else getattr(req.replica_state, "replica_id", -1)
    from_follower = replica_id >= 0
    answers: list[Answer] = []
    # A topic id nobody knows is UNKNOWN_TOPIC_ID; a missing partition of a known topic, or
    # a missing topic named by name, UNKNOWN_TOPIC_OR_PARTITION.
    resolved: dict[Any, Topic | None] = {}
    for key, name, topic_id, fp in wanted:
        ref = topic_id if by_id else name
        if ref in resolved:
            topic = resolved[ref]
        else:
            topic = resolved[ref] = cluster.topics_by_id.get(topic_id) if by_id else cluster.topic(name)
        missing = ErrorCode.UNKNOWN_TOPIC_ID if by_id and topic is None else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        out_name = topic.name if topic is not None else (name or "")
        out_id = topic.topic_id if topic is not None else topic_id
        index = fp.partition
        error, _state, plog = broker.leader_partition(topic, index, ctx.node_id, fp.current_leader_epoch, missing=missing)
        if plog is None:
            any_error = True
            answers.append((key, out_name, out_id, _error(index, error, unknown=error is missing)))
            continue
        if ctx.fetch_faults is not None and (fault := _fault(ctx.fetch_faults, topic.name, index)) is not _NO_FAULT:
            # A test's fault rule (kafkalite.server.faults): an injected error, or a stall
            # (nothing to read, so the request waits its max wait like an empty fetch).
            if fault is not None:
                any_error = True
                answers.append((key, out_name, out_id, _error(index, fault)))
                continue
            answers.append((key, out_name, out_id, _stalled(ctx, topic.name, index, plog)))
            continue
        if old_client and topic.configs.get("compression.type") == "zstd":
            # Fetch before v10 cannot read zstd (KIP-110): Kafka refuses the whole partition of
            # a zstd topic, whatever its data.
            any_error = True
            answers.append((key, out_name, out_id, _error(index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)))
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
            # read_committed stops at the LSO, a consumer at the high watermark; a follower
            # (replica_id >= 0) reads the leader's whole log, as Kafka serves it.
            upper = lso if read_committed else (None if from_follower else hw)
            chunks = plog.read(fp.fetch_offset, limit, max_offset=upper) if limit > 0 else []
        except OffsetOutOfRange:
            any_error = True
            answers.append((key, out_name, out_id, _error(index, ErrorCode.OFFSET_OUT_OF_RANGE)))
            continue
        except KafkaStorageError:
            any_error = True
            # Clients of Fetch v5 and older may not know KAFKA_STORAGE_ERROR: Kafka answers
            # NOT_LEADER_OR_FOLLOWER, which makes them refresh metadata and retry.
            code = ErrorCode.KAFKA_STORAGE_ERROR if ctx.api_version > 5 else ErrorCode.NOT_LEADER_OR_FOLLOWER
            answers.append((key, out_name, out_id, _error(index, code)))
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
        answers.append(
            (
                key,
                out_name,
                out_id,
                PartitionData(
                    partition_index=index,
                    error_code=ErrorCode.NONE,
                    high_watermark=hw,
                    last_stable_offset=lso,
                    log_start_offset=start,
                    aborted_transactions=aborted,
                    preferred_read_replica=-1,
                    records=chunks,
                ),
            )
        )
    return answers, total, any_error


def _down_converted(answers: list[Answer], wanted: list[Wanted], version: int) -> list[Answer]:
    """The answers of a Fetch v0-3 in the format it reads: magic 0 for v0-1, magic 1 for v2-3.

    Sizes as Kafka 3's lazy down-conversion: the partition's records are the converted batches,
    cut at the larger of the stored bytes read and the first converted batch (a partial last
    message, which clients skip). v0-2 limits are hard: stored batches past the partition's
    max bytes are not sent, and a first batch larger than it arrives cut to it (Kafka sends an
    overflow message then: either way the client learns its fetch size is too small).
    """
    magic = 0 if version <= 1 else 1
    requested = {key: fp for key, _name, _id, fp in wanted}
    out: list[Answer] = []
    for key, name, topic_id, data in answers:
        chunks = data.records
        if data.error_code != ErrorCode.NONE or not chunks:
            out.append((key, name, topic_id, data))
            continue
        fp = requested[key]
        stored = b"".join(chunks) if len(chunks) > 1 else chunks[0]
        if version <= 2:
            stored = _whole_batches_within(stored, fp.partition_max_bytes)
        try:
            converted = down_convert(stored, magic, fp.fetch_offset)
        except ZstdDownConversionError:
            out.append((key, name, topic_id, _error(data.partition_index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)))
            continue
        except DecodeError:
            out.append((key, name, topic_id, _error(data.partition_index, ErrorCode.CORRUPT_MESSAGE)))
            continue
        size = max(len(stored), len(converted[0])) if converted else 0
        if version <= 2:
            size = min(size, max(fp.partition_max_bytes, 0)) if len(stored) > fp.partition_max_bytes else size
        records = b"".join(converted)[:size]
        out.append((key, name, topic_id, attrs.evolve(data, records=records)))
    return out


def _whole_batches_within(stored: Any, limit: int) -> Any:
    """The leading whole batches of *stored* that fit in *limit* bytes; the first batch alone
    when even it does not fit (the caller cuts its conversion)."""
    end = 0
    while end + LOG_OVERHEAD <= len(stored):
        size = int.from_bytes(stored[end + 8 : end + 12], "big") + LOG_OVERHEAD
        if end + size > limit:
            break
        end += size
    if end == 0:
        return stored[: int.from_bytes(stored[8:12], "big") + LOG_OVERHEAD]
    return stored[:end]


def _group(answers: Iterable[Answer]) -> list[FetchableTopicResponse]:
    """The response's topics: consecutive partitions of one topic under one entry."""
    responses: list[FetchableTopicResponse] = []
    last = None
    for _key, name, topic_id, data in answers:
        if last is not None and (name, topic_id) == last:
            responses[-1].partitions.append(data)
        else:
            responses.append(FetchableTopicResponse(topic=name, topic_id=topic_id, partitions=[data]))
            last = (name, topic_id)
    return responses


def _session_error(code: ErrorCode) -> FetchResponse:
    # As Kafka's SessionErrorContext: the error, no session id, no partitions.
    return FetchResponse(throttle_time_ms=0, error_code=code, session_id=INVALID_SESSION_ID, responses=[])


@handles(ApiKey.FETCH, min_version=0, max_version=18)
async def fetch(ctx: RequestContext, req: FetchRequest) -> FetchResponse:
    version = ctx.api_version
    by_id = version >= 13
    session: FetchSession | None = None
    create = False
    if version >= 7:
        cache = cache_of(ctx.broker)
        if req.session_epoch in (INITIAL_EPOCH, FINAL_EPOCH):
            # A full request: it ends the session it names; epoch 0 asks for a new one.
            if req.session_id != INVALID_SESSION_ID:
                cache.remove(req.session_id)
            create = req.session_epoch == INITIAL_EPOCH
        else:
            session = cache.get(req.session_id)
            if session is None:
                return _session_error(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
            if session.epoch != req.session_epoch:
                return _session_error(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
            if session.uses_topic_ids != by_id:
                return _session_error(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR)
            session.update(_requested(req, by_id), _forgotten(req, by_id))
            if not session.partitions:
                # Nothing left to fetch: the session goes, the request is sessionless.
                cache.remove(session.id)
                session = None
            else:
                cache.touch(session, int(ctx.broker.clock.monotonic() * 1000))
                session.epoch = next_epoch(session.epoch)
    wanted = _of_session(session) if session is not None else _requested(req, by_id)
    answers, total, any_error = _fetch_once(ctx, req, wanted, by_id)
    if total < max(req.min_bytes, 1) and not any_error and req.max_wait_ms > 0 and wanted:
        # Long polling: wait for an append to any partition fetched (all of the session's,
        # for an incremental request), or the deadline on the broker's clock (a jump past it
        # ends the wait at once).
        partitions = list({(name, data.partition_index) for _k, name, _i, data in answers})
        clock = ctx.broker.clock
        deadline = clock.monotonic() + req.max_wait_ms / 1000
        while True:
            event = ctx.broker.register_waiter(partitions)
            try:
                with clock.move_on_at(deadline):
                    await event.wait()
            finally:
                ctx.broker.unregister_waiter(event, partitions)
            answers, total, any_error = _fetch_once(ctx, req, wanted, by_id)
            if total >= max(req.min_bytes, 1) or any_error or clock.monotonic() >= deadline:
                break
    if session is not None:
        if session.epoch != next_epoch(req.session_epoch):
            # Another request of the session came meanwhile (a duplicate): as Kafka.
            return FetchResponse(
                throttle_time_ms=0, error_code=ErrorCode.INVALID_FETCH_SESSION_EPOCH, session_id=session.id, responses=[]
            )
        news = []
        for answer in answers:
            key, data = answer[0], answer[3]
            cached = session.partitions.get(key)
            if cached is None:  # forgotten meanwhile
                continue
            if cached.must_respond(data):
                news.append(answer)
                session.answered(key, bool(data.records) and sum(len(c) for c in data.records) > 0)
        return FetchResponse(throttle_time_ms=0, error_code=ErrorCode.NONE, session_id=session.id, responses=_group(news))
    session_id = INVALID_SESSION_ID
    if create:
        cached_partitions: OrderedDict[PartitionKey, CachedPartition] = OrderedDict()
        requests = {key: (name, topic_id, fp) for key, name, topic_id, fp in wanted}
        for key, _name, _id, data in answers:
            name, topic_id, fp = requests[key]
            cached_partitions[key] = CachedPartition(
                name,
                topic_id,
                fp,
                high_watermark=data.high_watermark,
                log_start_offset=data.log_start_offset,
                last_stable_offset=data.last_stable_offset,
            )
        session_id = cache_of(ctx.broker).maybe_create(int(ctx.broker.clock.monotonic() * 1000), False, cached_partitions, by_id)
    if version < 4:
        answers = _down_converted(answers, wanted, version)
    return FetchResponse(throttle_time_ms=0, error_code=ErrorCode.NONE, session_id=session_id, responses=_group(answers))
