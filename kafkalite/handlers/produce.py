# Produce: v0-13
#
# Version notes:
# * v0-2: message formats v0 and v1 ("message sets", CRC32), served as Kafka 3 did: validated
#   and up-converted to one RecordBatch v2 on append (kafkalite/broker/upconvert.py; Kafka 4
#   removed these versions, KIP-896). A v2 batch sent at these versions takes the v3+ path.
# * v1: throttle_time_ms in the response; v2: log_append_time_ms in the response
# * v3: transactional_id; only RecordBatch v2 (magic 2), exactly one batch per partition
# * v5: log_start_offset in the response
# * v7: zstd allowed
# * v8: record_errors and error_message in the response (KIP-467)
# * v9: flexible versions
# * v10: current_leader and node_endpoints tagged fields for NOT_LEADER_OR_FOLLOWER (KIP-951)
# * v11: no layout change (KIP-890 server-side defence)
# * v12: no layout change. It tells the broker that the producer may rely on transactions v2
#   (KIP-890 part 2: the partition added to the transaction by the Produce itself). kafkalite
#   finalizes no transaction.version, so clients stay on transactions v1 (kafka-clients 4.4.0's
#   Sender caps a transactional producer at v11 unless transactions v2 is enabled, and sends
#   the latest version when it is not transactional):
#   a transactional batch at v12+ is verified exactly as at v11 (the partition must have been
#   added with AddPartitionsToTxn), nothing is added implicitly.
# * v13: topics named by topic_id instead of name, in request and response (KIP-516); an
#   unknown id is UNKNOWN_TOPIC_ID for each of its partitions
"""Produce: validate the batch (`kafkalite.broker.validator`, Kafka's LogValidator), check
idempotent sequences, append.

Records are decoded only when the header cannot answer (see the validator); the log patches
the base offset in place.
"""

from __future__ import annotations

from typing import Any

import attrs

from kafkalite.broker.upconvert import is_legacy, upconvert
from kafkalite.broker.validator import Refused as _Refused
from kafkalite.broker.validator import TopicPolicy, check_batch, validate_records
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.broker.producers import SequenceVerdict
from kafkalite.storage import KafkaStorageError
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.produce import (
    BatchIndexAndErrorMessage,
    LeaderIdAndEpoch,
    NodeEndpoint,
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceResponse,
)

_SEQUENCE_ERRORS = {
    SequenceVerdict.OUT_OF_ORDER: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    SequenceVerdict.STALE_EPOCH: ErrorCode.INVALID_PRODUCER_EPOCH,
    SequenceVerdict.UNKNOWN_PRODUCER: ErrorCode.UNKNOWN_PRODUCER_ID,
    SequenceVerdict.INVALID_TXN_STATE: ErrorCode.INVALID_TXN_STATE,
    SequenceVerdict.COORDINATOR_FENCED: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
}

#: Transaction verification failures as Kafka's partition leader answers them: retriable
#: coordinator trouble becomes NOT_ENOUGH_REPLICAS (older clients retry it without a
#: metadata refresh), a fenced producer INVALID_PRODUCER_EPOCH.
_VERIFICATION_ERRORS = {
    ErrorCode.CONCURRENT_TRANSACTIONS: ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS: ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.COORDINATOR_NOT_AVAILABLE: ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.NOT_COORDINATOR: ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.PRODUCER_FENCED: ErrorCode.INVALID_PRODUCER_EPOCH,
}


@handles(ApiKey.PRODUCE, min_version=0, max_version=13)
async def produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | None:
    broker = ctx.broker
    version = ctx.api_version
    by_id = version >= 13
    leaders_moved: set[int] = set()
    responses = []
    # acks=all: (responses list, position, topic, partition, offset the HW must reach, epoch)
    waiting: list[tuple[list, int, Any, int, int, int]] = []
    for topic_data in req.topic_data:
        if by_id:
            topic = broker.cluster.topics_by_id.get(topic_data.topic_id)
            name = topic.name if topic is not None else str(topic_data.topic_id)
            missing = ErrorCode.UNKNOWN_TOPIC_ID if topic is None else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        else:
            name = topic_data.name
            topic = broker.cluster.topic(name)
            missing = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        partition_responses = []
        for data in topic_data.partition_data:
            index = data.index
            try:
                error, partition, _plog = broker.leader_partition(topic, index, ctx.node_id)
                if partition is None:
                    raise _Refused(missing, f"{name}-{index} does not exist on this cluster")
                if error is ErrorCode.NOT_LEADER_OR_FOLLOWER:
                    leaders_moved.add(partition.leader_id)
                    partition_responses.append(
                        PartitionProduceResponse(
                            index=index,
                            error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER,
                            base_offset=-1,
                            error_message=f"node {ctx.node_id} is not the leader of {name}-{index}",
                            current_leader=LeaderIdAndEpoch(
                                leader_id=partition.leader_id, leader_epoch=partition.leader_epoch
                            ),
                        )
                    )
                    continue
                if req.acks == -1 and not broker.replicas.enough_replicas(topic, partition):
                    raise _Refused(
                        ErrorCode.NOT_ENOUGH_REPLICAS,
                        f"the ISR of {name}-{index} has {len(partition.isr)} replica(s), fewer than "
                        f"min.insync.replicas {broker.replicas.min_insync_replicas(topic, partition)}",
                    )
                answer = _append(ctx, topic, index, data.records, req.transactional_id)
                if req.acks == -1 and answer.error_code == ErrorCode.NONE:
                    plog = broker.log_for(name, index)
                    if plog is not None and plog.high_watermark < plog.log_end_offset:
                        waiting.append(
                            (partition_responses, len(partition_responses), topic, index,
                             plog.log_end_offset, partition.leader_epoch)
                        )
                partition_responses.append(answer)
            except _Refused as refused:
                validation = refused.record_level
                partition_responses.append(
                    PartitionProduceResponse(
                        index=index,
                        error_code=refused.code,
                        base_offset=-1,
                        error_message=refused.message if validation else None,
                        record_errors=[
                            BatchIndexAndErrorMessage(batch_index=i, batch_index_error_message=message)
                            for i, message in refused.record_errors
                        ],
                    )
                )
        responses.append(
            TopicProduceResponse(
                name="" if by_id else name, topic_id=topic_data.topic_id,
                partition_responses=partition_responses,
            )
        )
    if req.acks == 0:
        return None
    if waiting:
        # acks=all: answer once the ISR has every batch (the high watermark passed it).
        deadline = broker.clock.monotonic() + req.timeout_ms / 1000
        for answers, i, topic, index, required, epoch in waiting:
            error = await broker.replicas.wait_for_acks(topic, index, required, epoch, deadline)
            if error is not ErrorCode.NONE:
                answers[i] = attrs.evolve(answers[i], error_code=error, base_offset=-1)
    node_endpoints = []
    if leaders_moved and version >= 10:
        nodes = broker.cluster.nodes_on(ctx.listener)
        node_endpoints = [
            NodeEndpoint(node_id=n, host=nodes[n].host, port=nodes[n].port, rack=nodes[n].rack)
            for n in sorted(leaders_moved)
            if n in nodes
        ]
    return ProduceResponse(responses=responses, throttle_time_ms=0, node_endpoints=node_endpoints)


def _verify_transaction(ctx: RequestContext, transactional_id: str | None, header, name: str, index: int) -> None:
    """A transactional batch is accepted only for a partition the producer added to its
    open transaction (Kafka's verification with the coordinator, KIP-890)."""
    if transactional_id is None:
        raise _Refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "a transactional batch needs a transactional id")
    verified = ctx.broker.transactions.verify_partitions(
        transactional_id, header.producer_id, header.producer_epoch, [(name, index)]
    )
    error = verified[(name, index)]
    if error is ErrorCode.NONE:
        return
    if error is ErrorCode.TRANSACTION_ABORTABLE and ctx.api_version < 11:
        error = ErrorCode.INVALID_TXN_STATE  # what clients before Produce v11 understand
    raise _Refused(_VERIFICATION_ERRORS.get(error, error), f"{name}-{index} is not in the producer's transaction")


def _append(ctx: RequestContext, topic, index: int, records, transactional_id: str | None) -> PartitionProduceResponse:
    broker = ctx.broker
    name = topic.name
    tp = f"{name}-{index}"
    policy = TopicPolicy.of(broker.topic_configs(topic))
    if ctx.api_version < 3 and is_legacy(records):
        return _append_legacy(ctx, topic, index, records, policy)
    header = check_batch(records, policy, tp)
    if header.is_transactional:
        _verify_transaction(ctx, transactional_id, header, name, index)
    now = broker.clock.wall_ms()  # LogAppendTime and the timestamp checks: the broker's clock
    log_append_time = policy.log_append_time
    validated = validate_records(records, header, policy, tp, now)
    records, header = validated.records, validated.header

    producer_id = header.producer_id
    idempotent = producer_id >= 0 and header.base_sequence >= 0
    if idempotent:
        last_seq = header.base_sequence + header.last_offset_delta
        check = broker.producers.check(
            name, index, producer_id, header.producer_epoch, header.base_sequence, last_seq,
            transactional=header.is_transactional,
        )
        if check.verdict is SequenceVerdict.DUPLICATE:
            cached = check.duplicate_of
            assert cached is not None
            plog = broker.log_for(name, index)
            return PartitionProduceResponse(
                index=index,
                error_code=ErrorCode.NONE,
                base_offset=cached.base_offset,
                log_append_time_ms=cached.timestamp if log_append_time else -1,
                log_start_offset=plog.log_start_offset if plog else -1,
            )
        if check.verdict is not SequenceVerdict.APPEND:
            raise _Refused(_SEQUENCE_ERRORS[check.verdict], check.message)

    try:
        info = broker.append(name, index, records, now_ms=now, log_append_time_ms=now if log_append_time else None)
    except KafkaStorageError as exc:
        raise _Refused(ErrorCode.KAFKA_STORAGE_ERROR, str(exc)) from None
    if idempotent:
        broker.producers.record(
            name,
            index,
            producer_id,
            header.producer_epoch,
            header.base_sequence,
            header.base_sequence + header.last_offset_delta,
            info.base_offset,
            info.last_offset,
            now if log_append_time else header.max_timestamp,
            transactional=header.is_transactional,
        )
    return PartitionProduceResponse(
        index=index,
        error_code=ErrorCode.NONE,
        base_offset=info.base_offset,
        log_append_time_ms=now if log_append_time else -1,
        log_start_offset=broker.log_for(name, index).log_start_offset,
    )


def _append_legacy(ctx: RequestContext, topic, index: int, records, policy: TopicPolicy) -> PartitionProduceResponse:
    """An old producer's message set (format v0/v1): validated and up-converted to one v2
    batch as Kafka 3 did, then appended like any batch (no producer id: never idempotent)."""
    broker = ctx.broker
    name = topic.name
    now = broker.clock.wall_ms()  # LogAppendTime and the timestamp checks: the broker's clock
    validated = upconvert(records, policy, f"{name}-{index}", now)
    if validated is None:
        # No whole message: Kafka appends nothing and answers without error.
        return PartitionProduceResponse(index=index, error_code=ErrorCode.NONE, base_offset=-1)
    log_append_time = policy.log_append_time
    try:
        info = broker.append(
            name, index, validated.records, now_ms=now, log_append_time_ms=now if log_append_time else None
        )
    except KafkaStorageError as exc:
        raise _Refused(ErrorCode.KAFKA_STORAGE_ERROR, str(exc)) from None
    return PartitionProduceResponse(
        index=index,
        error_code=ErrorCode.NONE,
        base_offset=info.base_offset,
        log_append_time_ms=now if log_append_time else -1,
        log_start_offset=broker.log_for(name, index).log_start_offset,
    )
