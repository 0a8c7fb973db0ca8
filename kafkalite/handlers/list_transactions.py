# ListTransactions: v0-1
#
# Version notes:
# * v0: state and producer id filters (KIP-664); flexible
# * v1: duration_filter: only transactions running longer than this (KIP-994)
#
# Each broker lists the transactional ids it coordinates; admin clients ask every broker.
"""ListTransactions: the transactional ids this broker coordinates, with their states."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.messages.list_transactions import (
    ListTransactionsRequest,
    ListTransactionsResponse,
    TransactionState,
)


@handles(ApiKey.LIST_TRANSACTIONS, min_version=0, max_version=1)
async def list_transactions(ctx: RequestContext, req: ListTransactionsRequest) -> ListTransactionsResponse:
    listed = ctx.broker.transactions.list_transactions(
        req.state_filters, req.producer_id_filters, req.duration_filter, node_id=ctx.node_id
    )
    return ListTransactionsResponse(
        throttle_time_ms=0,
        error_code=listed.error,
        unknown_state_filters=list(listed.unknown_state_filters),
        transaction_states=[
            TransactionState(
                transactional_id=t.transactional_id, producer_id=t.producer_id, transaction_state=t.state.kafka_name
            )
            for t in listed.transactions
        ],
    )
