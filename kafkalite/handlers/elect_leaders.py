# ElectLeaders: v0-2
#
# Version notes:
# * v0: preferred leader election only; errors per partition
# * v1: election_type (0 PREFERRED, 1 UNCLEAN) and a top-level error_code
# * v2: flexible versions
#
# Kafka forwards it to the controller, which answers each partition: ELECTION_NOT_NEEDED when
# the preferred replica leads already (PREFERRED) or there is a leader (UNCLEAN),
# PREFERRED_LEADER_NOT_AVAILABLE when the preferred replica is not live and in the ISR,
# ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live, UNKNOWN_TOPIC_OR_PARTITION for an
# unknown one. A null topic list means every partition, and then the partitions that needed
# no election are left out of the answer. It needs ALTER on the cluster.
"""ElectLeaders: move leadership to the preferred replica, or elect one for an offline partition."""

from __future__ import annotations

from kafkalite.broker.elections import ElectionType
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.elect_leaders import (
    ElectLeadersRequest,
    ElectLeadersResponse,
    PartitionResult,
    ReplicaElectionResult,
)


def _error_response(req: ElectLeadersRequest, version: int, code: ErrorCode, message: str) -> ElectLeadersResponse:
    # As Kafka: the top-level error, and each partition asked for with it too.
    return ElectLeadersResponse(
        throttle_time_ms=0,
        error_code=code,
        replica_election_results=[
            ReplicaElectionResult(
                topic=t.topic,
                partition_result=[
                    PartitionResult(partition_id=p, error_code=code, error_message=message) for p in t.partitions
                ],
            )
            for t in req.topic_partitions or []
        ],
    )


def _message(code: ErrorCode, topic: str, partition: int, known_topic: bool) -> str | None:
    if code is ErrorCode.NONE:
        return None
    if code is ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        return f"No such topic as {topic}" if not known_topic else f"No such partition as {topic}-{partition}"
    return code.description


@handles(ApiKey.ELECT_LEADERS, min_version=0, max_version=2, error_response=_error_response)
async def elect_leaders(ctx: RequestContext, req: ElectLeadersRequest) -> ElectLeadersResponse:
    broker = ctx.broker
    cluster = broker.cluster
    elections = broker.nodes.elections
    try:
        election = ElectionType(req.election_type if ctx.api_version >= 1 else ElectionType.PREFERRED)
    except ValueError:
        return _error_response(req, ctx.api_version, ErrorCode.INVALID_REQUEST,
                               f"Unknown election type {req.election_type}")
    results = []
    changed = False
    if req.topic_partitions is None:
        for topic in list(cluster.topics.values()):
            answered = []
            for partition in topic.partitions:
                code = elections.elect(topic, partition, election)
                changed |= code is ErrorCode.NONE
                if code is not ErrorCode.ELECTION_NOT_NEEDED:
                    answered.append(PartitionResult(
                        partition_id=partition.partition_index, error_code=code,
                        error_message=_message(code, topic.name, partition.partition_index, True),
                    ))
            results.append(ReplicaElectionResult(topic=topic.name, partition_result=answered))
    else:
        for wanted in req.topic_partitions:
            topic = cluster.topic(wanted.topic)
            answered = []
            for index in wanted.partitions:
                partition = cluster.partition(wanted.topic, index)
                if topic is None or partition is None:
                    code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                else:
                    code = elections.elect(topic, partition, election)
                    changed |= code is ErrorCode.NONE
                answered.append(PartitionResult(
                    partition_id=index, error_code=code,
                    error_message=_message(code, wanted.topic, index, topic is not None),
                ))
            results.append(ReplicaElectionResult(topic=wanted.topic, partition_result=answered))
    if changed:
        broker.save_metadata()
    return ElectLeadersResponse(throttle_time_ms=0, error_code=ErrorCode.NONE, replica_election_results=results)
