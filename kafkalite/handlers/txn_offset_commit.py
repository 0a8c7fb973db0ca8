# TxnOffsetCommit: v0-4
#
# Version notes:
# * v1: same layout (throttling semantics)
# * v2: committed_leader_epoch per partition
# * v3: flexible versions; member_id, generation_id and group_instance_id (KIP-447), so the
#       group coordinator can fence a zombie member's commits
# * v4: same layout (TRANSACTION_ABORTABLE may be returned)
# * v5 (transactions v2) is not served: kafkalite finalizes no transaction.version.
#
# Sent to the group's coordinator after AddOffsetsToTxn. The coordinator first checks with
# the transaction coordinator that the group's __consumer_offsets partition is in the
# producer's ongoing transaction (KIP-890 verification), then writes the offsets as a
# transactional batch; they become the group's offsets when the transaction's marker says
# COMMIT, and are dropped on ABORT.
"""TxnOffsetCommit: commit a consumer group's offsets inside a transaction."""

from __future__ import annotations

from kafkalite.broker.commits import answer_in_order, commit_all, split_commits
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.txn_offset_commit import (
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
    TxnOffsetCommitResponsePartition,
    TxnOffsetCommitResponseTopic,
)

#: Verification errors as a TxnOffsetCommit v0-4 answers them (TRANSACTION_ABORTABLE is v5+).
_VERIFY_ANSWERS = {
    ErrorCode.TRANSACTION_ABORTABLE: ErrorCode.INVALID_TXN_STATE,
    ErrorCode.INVALID_PRODUCER_ID_MAPPING: ErrorCode.INVALID_PRODUCER_ID_MAPPING,
}


@handles(ApiKey.TXN_OFFSET_COMMIT, min_version=0, max_version=4)
async def txn_offset_commit(ctx: RequestContext, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse:
    broker = ctx.broker
    groups = broker.groups
    answers, valid = split_commits(broker.cluster, req.topics)
    not_here = groups.check_coordinator(req.group_id, ctx.node_id) if valid else None
    if valid and not_here is None:
        partition = groups.partition_for(req.group_id)
        verified = broker.transactions.verify_partitions(
            req.transactional_id, req.producer_id, req.producer_epoch, [(OFFSETS_TOPIC, partition)]
        )
        error = verified[(OFFSETS_TOPIC, partition)]
        if error is not ErrorCode.NONE:
            not_here = _VERIFY_ANSWERS.get(error, error)
            if not_here is ErrorCode.PRODUCER_FENCED and ctx.api_version < 2:
                not_here = ErrorCode.INVALID_PRODUCER_EPOCH
    commit_all(
        answers,
        valid,
        not_here,
        lambda commits: groups.commit_transactional_offsets(
            req.group_id,
            req.producer_id,
            req.producer_epoch,
            req.member_id,
            req.group_instance_id,
            req.generation_id,
            commits,
        ),
    )
    return TxnOffsetCommitResponse(
        throttle_time_ms=0,
        topics=answer_in_order(req.topics, answers, TxnOffsetCommitResponseTopic, TxnOffsetCommitResponsePartition),
    )
