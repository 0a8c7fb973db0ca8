# AddPartitionsToTxn: v0-5
#
# Version notes:
# * v1: same layout (throttling semantics)
# * v2: PRODUCER_FENCED may be returned (older versions get INVALID_PRODUCER_EPOCH)
# * v3: flexible versions
# * v4: several transactions per request, and verify_only (KIP-890): what Kafka's partition
#       leaders send the coordinator; kafkalite has no ACLs, so any client may send it
# * v5: TRANSACTION_ABORTABLE from verification
#
# A partition of an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, and then the others of the
# transaction are OPERATION_NOT_ATTEMPTED, as Kafka answers.
"""AddPartitionsToTxn: add partitions to a producer's ongoing transaction."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.add_partitions_to_txn import (
    AddPartitionsToTxnPartitionResult,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    AddPartitionsToTxnResult,
    AddPartitionsToTxnTopicResult,
)

TopicPartition = tuple[str, int]


def _topic_results(results: dict[TopicPartition, ErrorCode]) -> list[AddPartitionsToTxnTopicResult]:
    by_topic: dict[str, list[AddPartitionsToTxnPartitionResult]] = {}
    for (topic, partition), error in results.items():
        by_topic.setdefault(topic, []).append(
            AddPartitionsToTxnPartitionResult(partition_index=partition, partition_error_code=error)
        )
    return [AddPartitionsToTxnTopicResult(name=t, results_by_partition=ps) for t, ps in by_topic.items()]


def _one_transaction(
    ctx: RequestContext, transactional_id: str, producer_id: int, producer_epoch: int, topics: list, verify_only: bool
) -> dict[TopicPartition, ErrorCode]:
    wanted = [(t.name, p) for t in topics for p in t.partitions]
    coordinator = ctx.broker.transactions
    not_here = coordinator.check_coordinator(transactional_id, ctx.node_id) if transactional_id else None
    if not_here is not None:
        return {tp: not_here for tp in wanted}
    if verify_only:
        return coordinator.verify_partitions(transactional_id, producer_id, producer_epoch, wanted)
    cluster = ctx.broker.cluster
    rejected = {}
    for topic, partition in wanted:
        state = cluster.partition(topic, partition)
        if state is None:
            rejected[(topic, partition)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    return coordinator.add_partitions(
        transactional_id,
        producer_id,
        producer_epoch,
        wanted,
        rejected=rejected,
        producer_fenced_supported=ctx.api_version >= 2,
    )


def _error_response(
    req: AddPartitionsToTxnRequest, version: int, code: ErrorCode, message: str
) -> AddPartitionsToTxnResponse:
    if version >= 4:
        return AddPartitionsToTxnResponse(throttle_time_ms=0, error_code=code)
    wanted = {(t.name, p): code for t in req.v3_and_below_topics for p in t.partitions}
    return AddPartitionsToTxnResponse(throttle_time_ms=0, results_by_topic_v3_and_below=_topic_results(wanted))


@handles(ApiKey.ADD_PARTITIONS_TO_TXN, min_version=0, max_version=5, error_response=_error_response)
async def add_partitions_to_txn(ctx: RequestContext, req: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse:
    if ctx.api_version < 4:
        results = _one_transaction(
            ctx,
            req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id,
            req.v3_and_below_producer_epoch,
            req.v3_and_below_topics,
            verify_only=False,
        )
        return AddPartitionsToTxnResponse(throttle_time_ms=0, results_by_topic_v3_and_below=_topic_results(results))
    answers = []
    for txn in req.transactions:
        results = _one_transaction(
            ctx, txn.transactional_id, txn.producer_id, txn.producer_epoch, txn.topics, txn.verify_only
        )
        answers.append(
            AddPartitionsToTxnResult(transactional_id=txn.transactional_id, topic_results=_topic_results(results))
        )
    return AddPartitionsToTxnResponse(throttle_time_ms=0, error_code=ErrorCode.NONE, results_by_transaction=answers)
