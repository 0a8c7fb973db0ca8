# ConsumerGroupHeartbeat: v0-1
#
# Version notes:
# * v0: the consumer group protocol (KIP-848); the coordinator generates member ids
# * v1: subscribed_topic_regex; the client generates its member id (Kafka 4.1)
#
# Every response carries the heartbeat interval (group.consumer.heartbeat.interval.ms);
# errors answer member epoch 0, no member id and no assignment, as Kafka does.
"""ConsumerGroupHeartbeat: join, stay in and leave a consumer group, and get assignments."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.consumer_group import TopicMetadata
from kafkalite.groups.consumer_membership import ConsumerHeartbeat
from kafkalite.groups.requests import client_host
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.messages.consumer_group_heartbeat import (
    ConsumerGroupHeartbeatAssignment,
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
    ConsumerGroupHeartbeatTopicPartitions,
)


def cluster_topics(ctx: RequestContext) -> dict[str, TopicMetadata]:
    """The topics a consumer group may subscribe to: every topic but the internal ones."""
    return {
        name: TopicMetadata(name, topic.topic_id, len(topic.partitions))
        for name, topic in ctx.broker.cluster.topics.items()
        if not topic.is_internal
    }


@handles(ApiKey.CONSUMER_GROUP_HEARTBEAT, min_version=0, max_version=1)
async def consumer_group_heartbeat(
    ctx: RequestContext, req: ConsumerGroupHeartbeatRequest
) -> ConsumerGroupHeartbeatResponse:
    coordinator = ctx.broker.groups
    error = coordinator.check_coordinator(req.group_id, ctx.node_id) if req.group_id else None
    if error is not None:
        return ConsumerGroupHeartbeatResponse(throttle_time_ms=0, error_code=error)
    owned = None
    if req.topic_partitions is not None:
        owned = [(tp.topic_id, list(tp.partitions)) for tp in req.topic_partitions]
    result = coordinator.consumer_heartbeat(
        ConsumerHeartbeat(
            group_id=req.group_id,
            member_id=req.member_id,
            member_epoch=req.member_epoch,
            instance_id=req.instance_id,
            rack_id=req.rack_id,
            rebalance_timeout_ms=req.rebalance_timeout_ms,
            subscribed_topic_names=None if req.subscribed_topic_names is None else tuple(req.subscribed_topic_names),
            subscribed_topic_regex=req.subscribed_topic_regex,
            server_assignor=req.server_assignor,
            topic_partitions=owned,
            client_id=ctx.header.client_id or "",
            client_host=client_host(ctx.peer),
            api_version=ctx.api_version,
        ),
        cluster_topics(ctx),
    )
    assignment = None
    if result.assignment is not None:
        assignment = ConsumerGroupHeartbeatAssignment(
            topic_partitions=[
                ConsumerGroupHeartbeatTopicPartitions(topic_id=topic_id, partitions=partitions)
                for topic_id, partitions in result.assignment
            ]
        )
    return ConsumerGroupHeartbeatResponse(
        throttle_time_ms=0,
        error_code=result.error,
        error_message=result.error_message,
        member_id=result.member_id,
        member_epoch=result.member_epoch,
        heartbeat_interval_ms=result.heartbeat_interval_ms,
        assignment=assignment,
    )
