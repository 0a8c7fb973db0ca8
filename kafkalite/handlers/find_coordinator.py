# FindCoordinator: v0-6
#
# Version notes:
# * v0: one group id; the answer is one node
# * v1: key_type (0 group, 1 transaction); throttle_time_ms and error_message
# * v3: flexible versions
# * v4: batched lookups (KIP-699): coordinator_keys in, a coordinators list out
# * v5: no layout change (may answer TRANSACTION_ABORTABLE, KIP-890)
# * v6: no layout change; key_type 2 (share groups, KIP-932) answers INVALID_REQUEST here
#
# The coordinator of a key is the leader of its __consumer_offsets partition,
# abs(javaHash(key)) % partitions. Transactional ids hash into the same partitions: there is
# no __transaction_state topic yet, and on one node the answer is the same node anyway.
"""FindCoordinator: which node coordinates a consumer group (or a transactional id)."""

from __future__ import annotations

from kafkalite.broker.quorum.quorum import MetadataQuorumUnavailable
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.find_coordinator import (
    Coordinator,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)

KEY_TYPE_GROUP = 0
KEY_TYPE_TRANSACTION = 1

NO_NODE = (-1, "", -1)


def _lookup(ctx: RequestContext, key_type: int, key: str) -> tuple[ErrorCode, tuple[int, str, int]]:
    if key_type not in (KEY_TYPE_GROUP, KEY_TYPE_TRANSACTION):
        return ErrorCode.INVALID_REQUEST, NO_NODE
    try:
        if key_type == KEY_TYPE_TRANSACTION:
            node_id = ctx.broker.transactions.coordinator_node(key)
        else:
            node_id = ctx.broker.groups.coordinator_node(key)
    except MetadataQuorumUnavailable:
        # Its internal topic does not exist yet and no controller can create it: Kafka's
        # broker asks for the topic and answers COORDINATOR_NOT_AVAILABLE meanwhile.
        return ErrorCode.COORDINATOR_NOT_AVAILABLE, NO_NODE
    node = None if node_id is None else ctx.broker.cluster.live_nodes_on(ctx.listener).get(node_id)
    if node is None:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE, NO_NODE
    return ErrorCode.NONE, (node.node_id, node.host, node.port)


def _message(error: ErrorCode) -> str:
    # v1-3: Kafka puts Errors.message() here: the enum name for NONE, else the description.
    return "NONE" if error is ErrorCode.NONE else error.description


# v4+: Kafka sets only the error code of each key's entry; its error_message keeps the field's
# default, "" (the code says what went wrong), on success and on error alike.
BATCHED_ERROR_MESSAGE = ""


@handles(ApiKey.FIND_COORDINATOR, min_version=0, max_version=6)
async def find_coordinator(ctx: RequestContext, req: FindCoordinatorRequest) -> FindCoordinatorResponse:
    if ctx.api_version >= 4:
        coordinators = []
        for key in req.coordinator_keys:
            error, (node_id, host, port) = _lookup(ctx, req.key_type, key)
            coordinators.append(
                Coordinator(
                    key=key,
                    node_id=node_id,
                    host=host,
                    port=port,
                    error_code=error,
                    error_message=BATCHED_ERROR_MESSAGE,
                )
            )
        return FindCoordinatorResponse(throttle_time_ms=0, coordinators=coordinators)
    error, (node_id, host, port) = _lookup(ctx, req.key_type, req.key)
    return FindCoordinatorResponse(
        throttle_time_ms=0,
        error_code=error,
        error_message=_message(error),
        node_id=node_id,
        host=host,
        port=port,
    )
