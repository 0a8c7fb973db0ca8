# AlterPartitionReassignments: v0-1
#
# Version notes:
# * v0: KIP-455
# * v1: allow_replication_factor_change (KIP-860): off, a target of another size than the
#       partition's replicas (those not being added) is INVALID_REPLICATION_FACTOR; the
#       response echoes the flag
#
# As Kafka's controller (kafkalite.broker.reassignments): each partition is answered on its
# own, in request order; a target starts (or re-targets) a reassignment, null cancels one.
"""AlterPartitionReassignments: move partitions to other brokers, or cancel a move."""

from __future__ import annotations

from kafkalite.broker.reassignments import ReassignmentError
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.alter_partition_reassignments import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    ReassignablePartitionResponse,
    ReassignableTopicResponse,
)


@handles(ApiKey.ALTER_PARTITION_REASSIGNMENTS, min_version=0, max_version=1)
async def alter_partition_reassignments(
    ctx: RequestContext, req: AlterPartitionReassignmentsRequest
) -> AlterPartitionReassignmentsResponse:
    reassignments = ctx.broker.reassignments
    allow = ctx.api_version < 1 or req.allow_replication_factor_change
    responses = []
    for topic in req.topics:
        partitions = []
        for p in topic.partitions:
            code, message = ErrorCode.NONE, None
            try:
                reassignments.alter(topic.name, p.partition_index, p.replicas, allow_rf_change=allow)
            except ReassignmentError as exc:
                code, message = exc.code, exc.message
            partitions.append(
                ReassignablePartitionResponse(partition_index=p.partition_index, error_code=code, error_message=message)
            )
        responses.append(ReassignableTopicResponse(name=topic.name, partitions=partitions))
    return AlterPartitionReassignmentsResponse(
        throttle_time_ms=0,
        allow_replication_factor_change=allow,
        error_code=ErrorCode.NONE,
        error_message=None,
        responses=responses,
    )
