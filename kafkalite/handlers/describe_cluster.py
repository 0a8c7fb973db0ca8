# DescribeCluster: v0-2
#
# Version notes:
# * v0: flexible from the start (KIP-700)
# * v1: endpoint_type (1 brokers, 2 controllers); a broker answers controllers with
#       MISMATCHED_ENDPOINT_TYPE and its own endpoint type, 1 (kafkalite's controllers have no
#       listener: DescribeQuorum describes them)
# * v2: include_fenced_brokers and is_fenced (KIP-1073). Kafka lists fenced brokers only when
#       asked, marked is_fenced; a stopped kafkalite node is a fenced broker (before v2, and
#       without the flag, the running nodes only)
#
# cluster_authorized_operations (KIP-430) are those the ACLs allow the client (all of them
# with the authorizer off).
"""DescribeCluster: the brokers, the controller and the cluster id."""

from __future__ import annotations

from kafkalite.broker.acls import CLUSTER_NAME, ResourceType
from kafkalite.broker.authorizer import authorized_operations
from kafkalite.broker.cluster import AUTHORIZED_OPERATIONS_OMITTED
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_cluster import (
    DescribeClusterBroker,
    DescribeClusterRequest,
    DescribeClusterResponse,
)

ENDPOINT_BROKERS = 1


@handles(ApiKey.DESCRIBE_CLUSTER, min_version=0, max_version=2)
async def describe_cluster(ctx: RequestContext, req: DescribeClusterRequest) -> DescribeClusterResponse:
    cluster = ctx.broker.cluster
    if req.endpoint_type != ENDPOINT_BROKERS:
        return DescribeClusterResponse(
            error_code=ErrorCode.MISMATCHED_ENDPOINT_TYPE,
            error_message="The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
            endpoint_type=ENDPOINT_BROKERS,  # the type of the endpoint that answers, as Kafka's broker says
        )
    fenced_too = ctx.api_version >= 2 and req.include_fenced_brokers
    return DescribeClusterResponse(
        throttle_time_ms=0,
        error_code=ErrorCode.NONE,
        error_message=None,
        endpoint_type=ENDPOINT_BROKERS,
        cluster_id=cluster.cluster_id,
        controller_id=cluster.controller_id,
        brokers=[
            DescribeClusterBroker(
                broker_id=n.node_id, host=n.host, port=n.port, rack=n.rack, is_fenced=n.node_id not in cluster.live_nodes
            )
            for n in sorted(cluster.nodes_on(ctx.listener).values(), key=lambda n: n.node_id)
            if fenced_too or n.node_id in cluster.live_nodes
        ],
        cluster_authorized_operations=(
            authorized_operations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
            if req.include_cluster_authorized_operations
            else AUTHORIZED_OPERATIONS_OMITTED
        ),
    )
