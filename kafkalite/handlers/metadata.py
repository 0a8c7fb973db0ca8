# Metadata: v0-13
#
# Version notes:
# * v0: an empty topic list means all topics
# * v1: null topic list means all topics (empty means none); controller_id, is_internal, rack
# * v2: cluster_id
# * v3: throttle_time_ms
# * v4: allow_auto_topic_creation (before v4 every request may auto-create)
# * v5: offline_replicas
# * v7: leader_epoch per partition
# * v8: authorized operations (cluster-level until v10)
# * v9: flexible versions
# * v10: topic_id in request and response
# * v12: topic name nullable in the response (lookups by topic id)
# * v13: no layout change (KIP-1102 rebootstrap hint only)
#
# Partitions as Kafka's KRaft metadata cache answers them (kafkalite.broker.replica_status):
# replicas on stopped nodes are offline replicas; no running leader is leader -1 with
# LEADER_NOT_AVAILABLE; v0 leaves stopped nodes out of replicas and ISR (REPLICA_NOT_AVAILABLE
# when it did). The broker list holds the running nodes only (Kafka's alive brokers).
"""Metadata: brokers, controller, topics, partitions, leaders; auto-creation."""

from __future__ import annotations

import uuid

from kafkalite.broker.acls import CLUSTER_NAME, AclOperation, ResourceType
from kafkalite.broker.authorizer import allowed, authorized_operations
from kafkalite.broker.cluster import (
    AUTHORIZED_OPERATIONS_OMITTED,
    INTERNAL_TOPICS,
    METADATA_TOPIC,
    PartitionState,
    Topic,
    TopicError,
    validate_topic_name,
)
from kafkalite.broker.quorum.quorum import MetadataQuorumUnavailable
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.broker.replica_status import metadata_view
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)

ZERO_UUID = uuid.UUID(int=0)


def _partition(ctx: RequestContext, p: PartitionState) -> MetadataResponsePartition:
    code, leader, replicas, isr, offline = metadata_view(ctx.broker.cluster, p, v0=ctx.api_version == 0)
    return MetadataResponsePartition(
        error_code=code,
        partition_index=p.partition_index,
        leader_id=leader,
        leader_epoch=p.leader_epoch,
        replica_nodes=replicas,
        isr_nodes=isr,
        offline_replicas=offline,
    )


def topic_metadata(ctx: RequestContext, topic: Topic, include_operations: bool) -> MetadataResponseTopic:
    return MetadataResponseTopic(
        error_code=ErrorCode.NONE,
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=topic.is_internal,
        partitions=[_partition(ctx, p) for p in topic.partitions],
        topic_authorized_operations=(
            authorized_operations(ctx, ResourceType.TOPIC, topic.name) if include_operations
            else AUTHORIZED_OPERATIONS_OMITTED
        ),
    )


def _error_topic(code: int, name: str | None, topic_id: uuid.UUID = ZERO_UUID) -> MetadataResponseTopic:
    # (name None only from v12, where the response's name is nullable)
    return MetadataResponseTopic(
        error_code=code,
        name=name,
        topic_id=topic_id,
        is_internal=False,
        partitions=[],
        topic_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED,
    )


def _error_response(req: MetadataRequest, version: int, code: ErrorCode, message: str) -> MetadataResponse:
    # As Kafka: every topic asked for carries the error (none, when all were asked for).
    return MetadataResponse(
        throttle_time_ms=0,
        topics=[
            _error_topic(code, t.name if t.name is not None or version >= 12 else "", t.topic_id)
            for t in req.topics or []
        ],
        cluster_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED,
    )


@handles(ApiKey.METADATA, min_version=0, max_version=13, error_response=_error_response)
async def metadata(ctx: RequestContext, req: MetadataRequest) -> MetadataResponse:
    broker = ctx.broker
    cluster = broker.cluster
    version = ctx.api_version
    include_ops = version >= 8 and req.include_topic_authorized_operations
    all_topics = req.topics is None or (version == 0 and not req.topics)
    if not all_topics and version < 12:
        # v10-11 carry topic ids but may not use them: a topic is asked for by name (as Kafka).
        for wanted in req.topics:
            if wanted.name is None or wanted.topic_id != ZERO_UUID:
                what = "a null topic name" if wanted.name is None else "a topic id"
                return _error_response(req, version, ErrorCode.INVALID_REQUEST, f"{what} in Metadata v{version}")
    # Before v4 there is no flag and every Metadata request may create topics.
    may_create = broker.config.auto_create_topics and (version < 4 or req.allow_auto_topic_creation)

    # With the authorizer on (kafkalite.broker.authorizer): a topic the client may not
    # DESCRIBE is left out of "all topics" and answered TOPIC_AUTHORIZATION_FAILED when named;
    # auto-creation needs CREATE on the cluster or the topic.
    acls = broker.config.acls

    def described(name: str) -> bool:
        return not acls or allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name)

    def creatable(name: str) -> bool:
        return allowed(ctx, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME) or allowed(
            ctx, AclOperation.CREATE, ResourceType.TOPIC, name
        )

    topics: list[MetadataResponseTopic] = []
    if all_topics:
        topics = [topic_metadata(ctx, t, include_ops) for t in cluster.topics.values() if not acls or described(t.name)]
    else:
        for wanted in req.topics:
            name = wanted.name
            if name is None:
                found = cluster.topics_by_id.get(wanted.topic_id)
                if found is None:
                    topics.append(_error_topic(ErrorCode.UNKNOWN_TOPIC_ID, None, wanted.topic_id))
                elif not described(found.name):
                    topics.append(_error_topic(ErrorCode.TOPIC_AUTHORIZATION_FAILED, None, wanted.topic_id))
                else:
                    topics.append(topic_metadata(ctx, found, include_ops))
                continue
            if not described(name):
                topics.append(_error_topic(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name))
                continue
            topic = cluster.topic(name)
            # Internal topics are created when asked for, whatever the client allows (as Kafka).
            # The controllers' log is never created as a topic: unknown, as Kafka answers.
            if topic is None and (may_create or name in INTERNAL_TOPICS) and name != METADATA_TOPIC:
                if not creatable(name):
                    topics.append(_error_topic(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name))
                    continue
                try:
                    validate_topic_name(name)
                    topic = broker.auto_create_topic(name)
                except MetadataQuorumUnavailable:  # no controller to create it: not there yet
                    topics.append(_error_topic(ErrorCode.LEADER_NOT_AVAILABLE, name))
                    continue
                except TopicError:
                    topics.append(_error_topic(ErrorCode.INVALID_TOPIC_EXCEPTION, name))
                    continue
            if topic is None:
                topics.append(_error_topic(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name))
            else:
                topics.append(topic_metadata(ctx, topic, include_ops))

    return MetadataResponse(
        throttle_time_ms=0,
        brokers=[
            MetadataResponseBroker(node_id=n.node_id, host=n.host, port=n.port, rack=n.rack)
            for n in sorted(cluster.nodes_on(ctx.listener).values(), key=lambda n: n.node_id)
            if n.node_id in cluster.live_nodes
        ],
        cluster_id=cluster.cluster_id,
        controller_id=cluster.controller_id,
        topics=topics,
        cluster_authorized_operations=(
            authorized_operations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
            if 8 <= version <= 10 and req.include_cluster_authorized_operations
            else AUTHORIZED_OPERATIONS_OMITTED
        ),
    )
