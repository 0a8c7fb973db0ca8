# DescribeTopicPartitions: v0
#
# Version notes:
# * v0: KIP-966; Kafka 4's admin client describes topics with it (Metadata before)
#
# Paging as Kafka's DescribeTopicPartitionsRequestHandler and its metadata cache:
# * the topics are the named ones (duplicates once), or every topic (internal ones too) for an
#   empty list; with a cursor, only names >= the cursor's topic; in name order;
# * a named list must contain the cursor's topic and a cursor's partition must be >= 0, else
#   the whole request is INVALID_REQUEST;
# * the partition budget is response_partition_limit, at most 2000 (Kafka's
#   max.request.partition.size.limit) and at least 1; the cursor's topic starts at its
#   partition, others at 0;
# * a topic whose remaining partitions exceed the budget is cut, and next_cursor points at its
#   first partition left out; once the budget is used up exactly, next_cursor points at
#   partition 0 of the next topic in line (which need not exist);
# * a named topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION if
#   the name is not a legal one), with a zero topic id and no partitions, and costs nothing of
#   the budget;
# * every topic carries Kafka's topic operations (no authorizer: all of them).
#
# Replicas on stopped nodes (Kafka's fenced brokers) are offline replicas; a partition without
# a running leader has leader -1 (and error NONE, as Kafka's handler). kafkalite keeps no
# eligible leader replicas (KIP-966's ELR; it finalizes no eligible.leader.replicas.version),
# so they and the last known ELR are empty lists, as Kafka answers them without ELR.
"""DescribeTopicPartitions: topics and their partitions, paged by a cursor."""

from __future__ import annotations

import uuid
from typing import Collection

import attrs

from kafkalite.broker.acls import AclOperation, ResourceType
from kafkalite.broker.authorizer import allowed, authorized_operations
from kafkalite.broker.cluster import (
    AUTHORIZED_OPERATIONS_OMITTED,
    INTERNAL_TOPICS,
    NO_LEADER,
    TOPIC_OPERATIONS,
    InvalidTopicName,
    Topic,
    validate_topic_name,
)
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_topic_partitions import (
    Cursor,
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
    DescribeTopicPartitionsResponsePartition,
    DescribeTopicPartitionsResponseTopic,
)

ZERO_UUID = uuid.UUID(int=0)
#: Kafka's max.request.partition.size.limit default.
MAX_PARTITIONS_PER_RESPONSE = 2000


class InvalidCursor(ValueError):
    """A cursor Kafka refuses: its topic missing from the named topics, or a negative partition."""


def _error_response(
    req: DescribeTopicPartitionsRequest, version: int, code: ErrorCode, message: str
) -> DescribeTopicPartitionsResponse:
    return DescribeTopicPartitionsResponse(
        throttle_time_ms=0,
        topics=[DescribeTopicPartitionsResponseTopic(name=t.name, error_code=code) for t in req.topics],
    )


def _partitions(
    topic: Topic, start: int, budget: int, live: Collection[int] | None
) -> tuple[list[DescribeTopicPartitionsResponsePartition], int]:
    """The topic's partitions from *start*, at most *budget*, and the next index (-1: none);
    *live*: the running nodes (None: all of them)."""
    count = len(topic.partitions)
    upper = min(count, start + budget)
    next_index = upper if upper < count else -1
    return [
        DescribeTopicPartitionsResponsePartition(
            error_code=ErrorCode.NONE,
            partition_index=p.partition_index,
            leader_id=p.leader_id if live is None or p.leader_id in live else NO_LEADER,
            leader_epoch=p.leader_epoch,
            replica_nodes=list(p.replicas),
            isr_nodes=list(p.isr),
            eligible_leader_replicas=[],
            last_known_elr=[],
            offline_replicas=[] if live is None else [r for r in p.replicas if r not in live],
        )
        for p in topic.partitions[start:upper]
    ], next_index


def _unknown(name: str) -> DescribeTopicPartitionsResponseTopic:
    try:
        validate_topic_name(name)
        code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    except InvalidTopicName:
        code = ErrorCode.INVALID_TOPIC_EXCEPTION
    return DescribeTopicPartitionsResponseTopic(
        error_code=code,
        name=name,
        topic_id=ZERO_UUID,
        is_internal=name in INTERNAL_TOPICS,
        partitions=[],
        topic_authorized_operations=TOPIC_OPERATIONS,
    )


def describe(
    topics: dict[str, Topic], req: DescribeTopicPartitionsRequest, live: Collection[int] | None = None
) -> DescribeTopicPartitionsResponse:
    """The answer to *req* over *topics* (by name), paged as Kafka pages it; *live*: the
    broker nodes that run (None: all), the others' replicas being offline.

    Raises:
        InvalidCursor: as Kafka's handler, for the whole request.
    """
    cursor = req.cursor
    cursor_topic = cursor.topic_name if cursor is not None else ""
    fetch_all = not req.topics
    candidates = topics.keys() if fetch_all else {t.name for t in req.topics}
    names = sorted(name for name in candidates if name >= cursor_topic)
    if not fetch_all and cursor is not None and cursor.topic_name not in names:
        raise InvalidCursor(
            f"DescribeTopicPartitionsRequest topic list should contain the cursor topic: {cursor.topic_name}"
        )
    if cursor is not None and cursor.partition_index < 0:
        raise InvalidCursor(f"DescribeTopicPartitionsRequest cursor partition must be valid: {cursor}")
    remaining = max(min(MAX_PARTITIONS_PER_RESPONSE, req.response_partition_limit), 1)
    described: list[DescribeTopicPartitionsResponseTopic] = []
    next_cursor = None
    for name in names:
        if remaining == 0:
            next_cursor = Cursor(topic_name=name, partition_index=0)
            break
        topic = topics.get(name)
        if topic is None:
            if not fetch_all:
                described.append(_unknown(name))
            continue
        start = cursor.partition_index if cursor is not None and name == cursor_topic else 0
        partitions, next_index = _partitions(topic, start, remaining, live)
        described.append(
            DescribeTopicPartitionsResponseTopic(
                error_code=ErrorCode.NONE,
                name=name,
                topic_id=topic.topic_id,
                is_internal=topic.is_internal,
                partitions=partitions,
                topic_authorized_operations=TOPIC_OPERATIONS,
            )
        )
        if next_index != -1:
            next_cursor = Cursor(topic_name=name, partition_index=next_index)
            break
        remaining -= len(partitions)
    return DescribeTopicPartitionsResponse(throttle_time_ms=0, topics=described, next_cursor=next_cursor)


def _authorized(ctx: RequestContext, req: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse:
    # As Kafka: topics the client may not DESCRIBE are left out of "all topics", and answered
    # TOPIC_AUTHORIZATION_FAILED when named; topic_authorized_operations are the client's.
    def described(name: str) -> bool:
        return allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name)

    visible = {name: topic for name, topic in ctx.broker.cluster.topics.items() if described(name)}
    response = describe(visible, req, ctx.broker.cluster.live_nodes)
    topics = [
        attrs.evolve(t, topic_authorized_operations=authorized_operations(ctx, ResourceType.TOPIC, t.name))
        if described(t.name)
        else attrs.evolve(
            t, error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED, is_internal=False,
            topic_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED,
        )
        for t in response.topics
    ]
    return attrs.evolve(response, topics=topics)


@handles(ApiKey.DESCRIBE_TOPIC_PARTITIONS, min_version=0, max_version=0, error_response=_error_response)
async def describe_topic_partitions(
    ctx: RequestContext, req: DescribeTopicPartitionsRequest
) -> DescribeTopicPartitionsResponse:
    try:
        if not ctx.broker.config.acls:
            return describe(ctx.broker.cluster.topics, req, ctx.broker.cluster.live_nodes)
        return _authorized(ctx, req)
    except InvalidCursor:
        return _error_response(req, ctx.api_version, ErrorCode.INVALID_REQUEST, "")
