"""Transactional errors in plain words (learning mode), from the request and the state of
the transaction coordinator and of the partitions' producers."""

from __future__ import annotations

from typing import Any

from kafkalite.trace.sites import Context, ErrorSite, Reason
from kafkalite.wire.error_codes import ErrorCode

#: Kafka's ids of the transaction APIs (a reason depends on which asked).
_INIT_PRODUCER_ID, _PRODUCE, _TXN_OFFSET_COMMIT = 22, 0, 28


def _txn(ctx: Context) -> tuple[str | None, Any]:
    """(transactional id of the request, its description by the coordinator or None)."""
    request = ctx.request
    txn_id = getattr(request, "transactional_id", None) or getattr(request, "v3_and_below_transactional_id", None)
    if not txn_id or ctx.broker.cluster.topic("__transaction_state") is None:
        return txn_id, None
    described = ctx.broker.transactions.describe(txn_id)
    return txn_id, (described if described.error == ErrorCode.NONE else None)


def _producer(ctx: Context) -> tuple[int, int]:
    request = ctx.request
    pid = getattr(request, "producer_id", getattr(request, "v3_and_below_producer_id", -1))
    epoch = getattr(request, "producer_epoch", getattr(request, "v3_and_below_producer_epoch", -1))
    return pid, epoch


def _fenced(ctx: Context, site: ErrorSite) -> str | None:
    txn_id, current = _txn(ctx)
    pid, epoch = _producer(ctx)
    if current is None:
        return None
    return (
        f"producer {pid} epoch {epoch} of transactional id {txn_id!r} was fenced: a newer incarnation "
        f"(epoch {current.producer_epoch}) called InitProducerId with the same transactional.id, or the "
        "coordinator aborted a transaction that ran past its timeout; this producer must close"
    )


def _invalid_mapping(ctx: Context, site: ErrorSite) -> str | None:
    txn_id, current = _txn(ctx)
    pid, _epoch = _producer(ctx)
    if current is None:
        return f"the coordinator knows no transactional id {txn_id!r}: InitProducerId first (or the id expired)"
    return f"transactional id {txn_id!r} belongs to producer {current.producer_id}, not {pid}"


def _concurrent(ctx: Context, site: ErrorSite) -> str | None:
    txn_id, current = _txn(ctx)
    if current is None:
        return None
    if ctx.api_key == _INIT_PRODUCER_ID and current.state_name == "CompleteAbort":
        return (
            f"the previous incarnation of {txn_id!r} had a transaction open: the coordinator just aborted it "
            "(markers written); the client retries InitProducerId and then gets its epoch"
        )
    return f"transactional id {txn_id!r} is {current.state_name}: the previous transaction is still completing; retry"


def _invalid_txn_state(ctx: Context, site: ErrorSite) -> str | None:
    txn_id, current = _txn(ctx)
    if ctx.api_key == _PRODUCE:
        where = f"{site.topic}-{site.partition}" if site.topic is not None else "the partition"
        return f"{where} was not added to the open transaction of {txn_id!r} (AddPartitionsToTxn first)"
    if ctx.api_key == _TXN_OFFSET_COMMIT:
        return f"the group's offsets partition is not in the transaction of {txn_id!r} (AddOffsetsToTxn first)"
    if current is not None:
        return f"transactional id {txn_id!r} is {current.state_name}, where this request is not allowed"
    return None


def _unstable_offset(ctx: Context, site: ErrorSite) -> str | None:
    return (
        "an open transaction is committing an offset of this partition (TxnOffsetCommit) and the "
        "client asked for stable offsets (require_stable): it retries until the transaction ends"
    )


def _timeout(ctx: Context, site: ErrorSite) -> str | None:
    timeout = getattr(ctx.request, "transaction_timeout_ms", None)
    limit = ctx.broker.config.transaction_max_timeout_ms
    return f"transaction.timeout.ms {timeout} is not within 1..{limit} (transaction.max.timeout.ms)"


def _abortable(ctx: Context, site: ErrorSite) -> str | None:
    txn_id, _current = _txn(ctx)
    return (
        f"the partition is not in the open transaction of {txn_id!r}: the producer must abort the "
        "transaction and may then continue (KIP-890)"
    )


TXN_REASONS: dict[int, Reason] = {
    ErrorCode.PRODUCER_FENCED: _fenced,
    ErrorCode.INVALID_PRODUCER_EPOCH: _fenced,
    ErrorCode.INVALID_PRODUCER_ID_MAPPING: _invalid_mapping,
    ErrorCode.CONCURRENT_TRANSACTIONS: _concurrent,
    ErrorCode.INVALID_TXN_STATE: _invalid_txn_state,
    ErrorCode.UNSTABLE_OFFSET_COMMIT: _unstable_offset,
    ErrorCode.INVALID_TRANSACTION_TIMEOUT: _timeout,
    ErrorCode.TRANSACTION_ABORTABLE: _abortable,
}
