# ListPartitionReassignments: v0
#
# Version notes:
# * v0: KIP-455
#
# As Kafka's controller: null topics lists every partition in reassignment; named topics and
# partitions list those of them in reassignment; an unknown topic or partition is left out,
# not an error. Each partition shows its full replica list (target and those being removed)
# and the adding and removing replicas.
"""ListPartitionReassignments: the reassignments in progress."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.list_partition_reassignments import (
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    OngoingPartitionReassignment,
    OngoingTopicReassignment,
)


@handles(ApiKey.LIST_PARTITION_REASSIGNMENTS, min_version=0, max_version=0)
async def list_partition_reassignments(
    ctx: RequestContext, req: ListPartitionReassignmentsRequest
) -> ListPartitionReassignmentsResponse:
    wanted = None
    if req.topics is not None:
        wanted = {}
        for t in req.topics:
            wanted.setdefault(t.name, []).extend(t.partition_indexes)
    return ListPartitionReassignmentsResponse(
        throttle_time_ms=0,
        error_code=ErrorCode.NONE,
        error_message=None,
        topics=[
            OngoingTopicReassignment(
                name=name,
                partitions=[
                    OngoingPartitionReassignment(
                        partition_index=p.partition_index,
                        replicas=list(p.replicas),
                        adding_replicas=list(p.adding_replicas),
                        removing_replicas=list(p.removing_replicas),
                    )
                    for p in partitions
                ],
            )
            for name, partitions in ctx.broker.reassignments.ongoing(wanted)
        ],
    )
