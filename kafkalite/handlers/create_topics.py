# CreateTopics: v0-7
#
# Version notes:
# * v0: no validate_only (every request creates) and no error_message: the answer carries
#       error codes only (Kafka 4 removed v0-1, KIP-896; Kafka 3.9 served them, and so do we)
# * v1: validate_only; error_message in the response
# * v2: throttle_time_ms
# * v4: num_partitions / replication_factor may be -1 (broker defaults, KIP-464); Kafka's
#       client refuses -1 below v4, but its KRaft controller applies the defaults whatever the
#       version, and so do we
# * v5: flexible versions; the response carries the created topic's partitions,
#       replication factor and configs (KIP-525)
# * v7: topic_id in the response
#
# validate_only answers as a real creation would, with a fresh random topic id that no topic
# gets (Kafka's controller draws the id before it knows whether to commit the records).
"""CreateTopics: validate and create topics, with Kafka's error codes per topic."""

from __future__ import annotations

import uuid
from collections import Counter

from kafkalite.broker.topic_configs import describe_topic_configs
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.broker.errors import ANSWERABLE, error_code_for
from kafkalite.broker.quorum.quorum import METADATA_TOPIC
from kafkalite.broker.quorum.waiting import wait_for_quorum
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.create_topics import (
    CreatableTopicConfigs,
    CreatableTopicResult,
    CreateTopicsRequest,
    CreateTopicsResponse,
)


def _planned_size(
    ctx: RequestContext, num_partitions: int, replication_factor: int, assignments: dict[int, list[int]]
) -> tuple[int, int]:
    """Partitions and replication factor a validate_only create would have produced."""
    if assignments:
        return len(assignments), len(next(iter(assignments.values())))
    config = ctx.broker.config
    return (
        num_partitions if num_partitions != -1 else config.num_partitions,
        replication_factor if replication_factor != -1 else config.default_replication_factor,
    )


def _error_response(req: CreateTopicsRequest, version: int, code: ErrorCode, message: str) -> CreateTopicsResponse:
    return CreateTopicsResponse(
        throttle_time_ms=0,
        topics=[CreatableTopicResult(name=t.name, error_code=code, error_message=message) for t in req.topics],
    )


@handles(ApiKey.CREATE_TOPICS, min_version=0, max_version=7, error_response=_error_response)
async def create_topics(ctx: RequestContext, req: CreateTopicsRequest) -> CreateTopicsResponse:
    broker = ctx.broker
    if not req.validate_only:
        await wait_for_quorum(broker, req.timeout_ms)
    counts = Counter(t.name for t in req.topics)
    results = []
    for wanted in req.topics:
        name = wanted.name
        if name == METADATA_TOPIC:  # the controllers' own log (Kafka's broker checks it first)
            results.append(
                CreatableTopicResult(
                    name=name, error_code=ErrorCode.INVALID_REQUEST,
                    error_message=f"Creation of internal topic {METADATA_TOPIC} is prohibited.",
                )
            )
            continue
        if counts[name] > 1:
            results.append(
                CreatableTopicResult(
                    name=name,
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message=f"Create topics request contains multiple entries for the topic {name}.",
                )
            )
            continue
        assignments = {a.partition_index: list(a.broker_ids) for a in wanted.assignments}
        if assignments and (wanted.num_partitions != -1 or wanted.replication_factor != -1):
            results.append(
                CreatableTopicResult(
                    name=name,
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message="Both numPartitions or replicationFactor and replicasAssignments were set. "
                    "Both cannot be used at the same time.",
                )
            )
            continue
        configs = {c.name: c.value for c in wanted.configs}
        try:
            if req.validate_only:
                broker.check_new_topic(
                    name, wanted.num_partitions, wanted.replication_factor, assignments or None, configs
                )
                num_partitions, rf = _planned_size(ctx, wanted.num_partitions, wanted.replication_factor, assignments)
                topic_id = uuid.uuid4()
                overrides = {k: v for k, v in configs.items() if v is not None}
            else:
                topic = broker.create_topic(
                    name, wanted.num_partitions, wanted.replication_factor, assignments or None, configs
                )
                num_partitions = len(topic.partitions)
                rf = len(topic.partitions[0].replicas)
                topic_id = topic.topic_id
                overrides = topic.configs
        except ANSWERABLE as exc:
            results.append(CreatableTopicResult(name=name, error_code=error_code_for(exc), error_message=str(exc)))
            continue
        results.append(
            CreatableTopicResult(
                name=name,
                topic_id=topic_id,
                error_code=ErrorCode.NONE,
                error_message=None,
                num_partitions=num_partitions,
                replication_factor=rf,
                configs=[
                    CreatableTopicConfigs(
                        name=entry.name,
                        value=entry.value,
                        read_only=False,
                        config_source=int(entry.source),
                        is_sensitive=False,
                    )
                    for entry in describe_topic_configs(overrides, broker.dynamic.layers(ctx.node_id))
                ],
            )
        )
    return CreateTopicsResponse(throttle_time_ms=0, topics=results)

