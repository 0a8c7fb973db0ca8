# CreatePartitions: v0-3
#
# Version notes:
# * v1: same as v0 (response throttling changed meaning)
# * v2: flexible versions
# * v3: no layout change
"""CreatePartitions: grow a topic's partition count (never shrink it)."""

from __future__ import annotations

from collections import Counter

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.broker.errors import ANSWERABLE, error_code_for
from kafkalite.broker.quorum.waiting import wait_for_quorum
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.create_partitions import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopicResult,
)


def _error_response(
    req: CreatePartitionsRequest, version: int, code: ErrorCode, message: str
) -> CreatePartitionsResponse:
    return CreatePartitionsResponse(
        throttle_time_ms=0,
        results=[CreatePartitionsTopicResult(name=t.name, error_code=code, error_message=message) for t in req.topics],
    )


@handles(ApiKey.CREATE_PARTITIONS, min_version=0, max_version=3, error_response=_error_response)
async def create_partitions(ctx: RequestContext, req: CreatePartitionsRequest) -> CreatePartitionsResponse:
    broker = ctx.broker
    if not req.validate_only:
        await wait_for_quorum(broker, req.timeout_ms)
    counts = Counter(t.name for t in req.topics)
    results = []
    for wanted in req.topics:
        if counts[wanted.name] > 1:
            results.append(
                CreatePartitionsTopicResult(
                    name=wanted.name,
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message="Duplicate topic in request.",
                )
            )
            continue
        assignments = (
            None if wanted.assignments is None else [list(a.broker_ids) for a in wanted.assignments]
        )
        try:
            if req.validate_only:
                broker.cluster.check_new_partitions(wanted.name, wanted.count, assignments)
            else:
                broker.add_partitions(wanted.name, wanted.count, assignments)
        except ANSWERABLE as exc:
            results.append(
                CreatePartitionsTopicResult(
                    name=wanted.name, error_code=error_code_for(exc), error_message=str(exc)
                )
            )
            continue
        results.append(CreatePartitionsTopicResult(name=wanted.name, error_code=ErrorCode.NONE))
    return CreatePartitionsResponse(throttle_time_ms=0, results=results)
