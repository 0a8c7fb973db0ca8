# DeleteTopics: v0-6
#
# Version notes:
# * v0: topic names, error codes only (Kafka 4 removed it, KIP-896; Kafka 3.9 served it)
# * v1: throttle_time_ms
# * v4: flexible versions
# * v5: error_message per topic
# * v6: topics addressed by name or by topic id (KIP-516)
"""DeleteTopics: by name (all versions) or by topic id (v6)."""

from __future__ import annotations

import uuid

from kafkalite.broker.quorum.quorum import MetadataQuorumUnavailable
from kafkalite.broker.quorum.waiting import wait_for_quorum
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.delete_topics import (
    DeletableTopicResult,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
)

ZERO_UUID = uuid.UUID(int=0)


def _wanted(req: DeleteTopicsRequest, version: int) -> list[tuple[str | None, uuid.UUID]]:
    """(name, topic id) of each topic to delete: v6 names or ids, older versions names."""
    if version >= 6:
        return [(t.name, t.topic_id) for t in req.topics]
    return [(name, ZERO_UUID) for name in req.topic_names]


def _error_response(req: DeleteTopicsRequest, version: int, code: ErrorCode, message: str) -> DeleteTopicsResponse:
    return DeleteTopicsResponse(
        throttle_time_ms=0,
        responses=[
            DeletableTopicResult(name=name, topic_id=topic_id, error_code=code, error_message=message)
            for name, topic_id in _wanted(req, version)
        ],
    )


@handles(ApiKey.DELETE_TOPICS, min_version=0, max_version=6, error_response=_error_response)
async def delete_topics(ctx: RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse:
    broker = ctx.broker
    cluster = broker.cluster
    await wait_for_quorum(broker, req.timeout_ms)
    results = []
    for name, topic_id in _wanted(req, ctx.api_version):
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
        try:
            broker.delete_topic(topic.name)
        except MetadataQuorumUnavailable as exc:
            results.append(DeletableTopicResult(
                name=topic.name, topic_id=topic.topic_id, error_code=ErrorCode.REQUEST_TIMED_OUT, error_message=str(exc)
            ))
            continue
        results.append(
            DeletableTopicResult(name=topic.name, topic_id=topic.topic_id, error_code=ErrorCode.NONE)
        )
    return DeleteTopicsResponse(throttle_time_ms=0, responses=results)
