# DescribeTransactions: v0
#
# Version notes:
# * v0: state, producer id and epoch, timeout, start time and partitions of each
#       transactional id (KIP-664); flexible
#
# Sent to each id's coordinator; an id coordinated by another node answers NOT_COORDINATOR.
"""DescribeTransactions: the state of transactional ids."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
    TopicData,
    TransactionState,
)


@handles(ApiKey.DESCRIBE_TRANSACTIONS, min_version=0, max_version=0)
async def describe_transactions(ctx: RequestContext, req: DescribeTransactionsRequest) -> DescribeTransactionsResponse:
    coordinator = ctx.broker.transactions
    states = []
    for transactional_id in req.transactional_ids:
        not_here = coordinator.check_coordinator(transactional_id, ctx.node_id) if transactional_id else None
        if not_here is not None:
            states.append(TransactionState(error_code=not_here, transactional_id=transactional_id))
            continue
        d = coordinator.describe(transactional_id)
        states.append(
            TransactionState(
                error_code=d.error,
                transactional_id=d.transactional_id,
                transaction_state=d.state_name,
                transaction_timeout_ms=d.transaction_timeout_ms,
                transaction_start_time_ms=d.transaction_start_time_ms,
                producer_id=d.producer_id,
                producer_epoch=d.producer_epoch,
                topics=[TopicData(topic=t, partitions=list(ps)) for t, ps in d.topics],
            )
        )
    return DescribeTransactionsResponse(throttle_time_ms=0, transaction_states=states)
