# InitProducerId: v0-5
#
# Version notes:
# * v1: same layout (throttling semantics)
# * v2: flexible versions
# * v3: producer_id / producer_epoch in the request, to bump an epoch (KIP-360)
# * v4: no layout change (the client may retry after PRODUCER_FENCED)
# * v5: no layout change (KIP-890 transactions v2 signalling)
#
# For an idempotent producer (no transactional id) Kafka always issues a fresh producer id
# with epoch 0, whatever producer id and epoch the request carries; so does kafkalite.
# With a transactional id the request goes to the id's transaction coordinator, which
# allocates or reuses the producer id, bumps the epoch and fences the previous incarnation.
"""InitProducerId: producer ids for idempotent and transactional producers."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse


def _error_response(req: InitProducerIdRequest, version: int, code: ErrorCode, message: str) -> InitProducerIdResponse:
    return InitProducerIdResponse(throttle_time_ms=0, error_code=code, producer_id=-1, producer_epoch=-1)


@handles(ApiKey.INIT_PRODUCER_ID, min_version=0, max_version=5, error_response=_error_response)
async def init_producer_id(ctx: RequestContext, req: InitProducerIdRequest) -> InitProducerIdResponse:
    if req.transactional_id is not None:
        coordinator = ctx.broker.transactions
        not_here = coordinator.check_coordinator(req.transactional_id, ctx.node_id) if req.transactional_id else None
        if not_here is not None:
            return _error_response(req, ctx.api_version, not_here, "")
        error, producer_id, producer_epoch = coordinator.init_producer_id(
            req.transactional_id,
            req.transaction_timeout_ms,
            req.producer_id,
            req.producer_epoch,
            producer_fenced_supported=ctx.api_version >= 4,
        )
        return InitProducerIdResponse(
            throttle_time_ms=0, error_code=error, producer_id=producer_id, producer_epoch=producer_epoch
        )
    return InitProducerIdResponse(
        throttle_time_ms=0,
        error_code=ErrorCode.NONE,
        producer_id=ctx.broker.new_producer_id(),
        producer_epoch=0,
    )
