# DeleteTopics: v1-6
#
# Version notes:
# * v1: throttle_time_ms
# * v4: flexible versions
# * v5: error_message per topic
# * v6: topics addressed by name or by topic id (KIP-516)
"""DeleteTopics: by name (all versions) or by topic id (v6)."""

from __future__ import annotations

import uuid

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.delete_topics import (
    DeletableTopicResult,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
)

ZERO_UUID = uuid.UUID(int=0)


@handles(ApiKey.DELETE_TOPICS, min_version=1, max_version=6)
async def delete_topics(ctx: RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse:
    broker = ctx.broker
    cluster = broker.cluster
    if ctx.api_version >= 6:
        wanted = [(t.name, t.topic_id) for t in req.topics]
    else:
        wanted = [(name, ZERO_UUID) for name in req.topic_names]
    results = []
    for name, topic_id in wanted:
        if name is not None and topic_id != ZERO_UUID:
            results.append(
                DeletableTopicResult(
                    name=name,
                    topic_id=topic_id,
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message="A topic is given by both name and id.",
                )
            )
            continue
        topic = cluster.topic(name) if name is not None else cluster.topics_by_id.get(topic_id)
        if topic is None:
            by_id = name is None
            results.append(
                DeletableTopicResult(
                    name=name,
                    topic_id=topic_id,
                    error_code=ErrorCode.UNKNOWN_TOPIC_ID if by_id else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    error_message=(
                        f"Topic id {topic_id} does not exist." if by_id else f"Topic '{name}' does not exist."
                    ),
                )
            )
            continue
        broker.delete_topic(topic.name)
        results.append(
            DeletableTopicResult(name=topic.name, topic_id=topic.topic_id, error_code=ErrorCode.NONE)
        )
    return DeleteTopicsResponse(throttle_time_ms=0, responses=results)
