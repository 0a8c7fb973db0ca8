# ConsumerGroupDescribe: v0-1
#
# Version notes:
# * v0: consumer groups (KIP-848): epochs, assignor, members' current and target assignments
# * v1: member_type per member (1: a member of the consumer group protocol, 0: a classic one)
#
# A group that does not exist, or is a classic group, answers GROUP_ID_NOT_FOUND; an empty
# group id INVALID_GROUP_ID, as Kafka's coordinator service does.
"""ConsumerGroupDescribe: what a consumer group's members have and are meant to have."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.assignors import Assignment
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.consumer_group_describe import (
    ConsumerGroupDescribeRequest,
    ConsumerGroupDescribeResponse,
    DescribedAssignment,
    DescribedConsumerGroup,
    DescribedConsumerGroupMember,
    DescribedTopicPartitions,
)

MEMBER_TYPE_CONSUMER = 1
MEMBER_TYPE_CLASSIC = 0


def _assignment(ctx: RequestContext, assignment: Assignment) -> DescribedAssignment:
    topics_by_id = ctx.broker.cluster.topics_by_id
    described = []
    for topic_id, partitions in sorted(assignment.items(), key=lambda tp: str(tp[0])):
        topic = topics_by_id.get(topic_id)
        if topic is None or not partitions:
            continue  # deleted since: Kafka leaves out topics its metadata no longer has
        described.append(
            DescribedTopicPartitions(topic_id=topic_id, topic_name=topic.name, partitions=sorted(partitions))
        )
    return DescribedAssignment(topic_partitions=described)


@handles(ApiKey.CONSUMER_GROUP_DESCRIBE, min_version=0, max_version=1)
async def consumer_group_describe(
    ctx: RequestContext, req: ConsumerGroupDescribeRequest
) -> ConsumerGroupDescribeResponse:
    coordinator = ctx.broker.groups
    described = []
    for group_id in req.group_ids:
        if not group_id:
            described.append(DescribedConsumerGroup(error_code=ErrorCode.INVALID_GROUP_ID, group_id=group_id))
            continue
        error = coordinator.check_coordinator(group_id, ctx.node_id)
        if error is not None:
            described.append(DescribedConsumerGroup(error_code=error, group_id=group_id))
            continue
        group = coordinator.consumer_group(group_id)
        if group is None:
            message = f"Group {group_id} is not a consumer group." if coordinator.group(group_id) else f"Group {group_id} not found."
            described.append(
                DescribedConsumerGroup(error_code=ErrorCode.GROUP_ID_NOT_FOUND, error_message=message, group_id=group_id)
            )
            continue
        members = [
            DescribedConsumerGroupMember(
                member_id=m.member_id,
                instance_id=m.instance_id,
                rack_id=m.rack_id,
                member_epoch=m.member_epoch,
                client_id=m.client_id,
                client_host=m.client_host,
                subscribed_topic_names=list(m.subscribed_topic_names),
                subscribed_topic_regex=m.subscribed_topic_regex,
                assignment=_assignment(ctx, m.assigned),
                target_assignment=_assignment(ctx, group.target.get(m.member_id, {})),
                member_type=MEMBER_TYPE_CLASSIC if m.uses_classic_protocol else MEMBER_TYPE_CONSUMER,
            )
            for m in group.members.values()
        ]
        described.append(
            DescribedConsumerGroup(
                error_code=ErrorCode.NONE,
                group_id=group_id,
                group_state=group.state.value,
                group_epoch=group.group_epoch,
                assignment_epoch=group.assignment_epoch,
                assignor_name=coordinator.group_assignor(group),
                members=members,
            )
        )
    return ConsumerGroupDescribeResponse(throttle_time_ms=0, groups=described)
