# AddOffsetsToTxn: v0-4
#
# Version notes:
# * v1: same layout (throttling semantics)
# * v2: PRODUCER_FENCED may be returned (older versions get INVALID_PRODUCER_EPOCH)
# * v3: flexible versions
# * v4: same layout (TRANSACTION_ABORTABLE may be returned)
#
# The group's __consumer_offsets partition joins the transaction, so that the transaction's
# marker reaches it and the offsets the producer then commits (TxnOffsetCommit) are applied
# or dropped with the transaction.
"""AddOffsetsToTxn: add a consumer group's offsets partition to a transaction."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.messages.add_offsets_to_txn import AddOffsetsToTxnRequest, AddOffsetsToTxnResponse


@handles(ApiKey.ADD_OFFSETS_TO_TXN, min_version=0, max_version=4)
async def add_offsets_to_txn(ctx: RequestContext, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse:
    coordinator = ctx.broker.transactions
    error = coordinator.check_coordinator(req.transactional_id, ctx.node_id) if req.transactional_id else None
    if error is None:
        partition = ctx.broker.groups.partition_for(req.group_id)
        error = coordinator.add_offsets(
            req.transactional_id,
            req.producer_id,
            req.producer_epoch,
            (OFFSETS_TOPIC, partition),
            producer_fenced_supported=ctx.api_version >= 2,
        )
    return AddOffsetsToTxnResponse(throttle_time_ms=0, error_code=error)
