# EndTxn: v0-4
#
# Version notes:
# * v1: same layout (throttling semantics)
# * v2: PRODUCER_FENCED may be returned (older versions get INVALID_PRODUCER_EPOCH)
# * v3: flexible versions
# * v4: same layout (TRANSACTION_ABORTABLE may be returned)
# * v5 (transactions v2, KIP-890 part 2: an epoch bump at every commit) is not served:
#   kafkalite finalizes no transaction.version feature, so clients use v4.
#
# The coordinator writes PrepareCommit (or PrepareAbort) to __transaction_state, the
# markers to every partition of the transaction, then CompleteCommit (CompleteAbort), all
# before answering.
"""EndTxn: commit or abort a producer's ongoing transaction."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.messages.end_txn import EndTxnRequest, EndTxnResponse


@handles(ApiKey.END_TXN, min_version=0, max_version=4)
async def end_txn(ctx: RequestContext, req: EndTxnRequest) -> EndTxnResponse:
    coordinator = ctx.broker.transactions
    error = coordinator.check_coordinator(req.transactional_id, ctx.node_id) if req.transactional_id else None
    if error is None:
        error = coordinator.end_txn(
            req.transactional_id,
            req.producer_id,
            req.producer_epoch,
            req.committed,
            producer_fenced_supported=ctx.api_version >= 2,
        )
    return EndTxnResponse(throttle_time_ms=0, error_code=error)
