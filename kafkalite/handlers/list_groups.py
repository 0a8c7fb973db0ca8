# ListGroups: v0-5
#
# Version notes:
# * v1: throttle_time_ms
# * v3: flexible versions
# * v4: states_filter, compared case-insensitively; group_state per group (KIP-518)
# * v5: types_filter; group_type per group (KIP-848): "classic", or "consumer" for groups of
#       the consumer group protocol (protocol type "consumer", Kafka's consumer group states)
#
# Each node lists the groups it coordinates, so that an admin client asking every node sees
# each group once.
"""ListGroups: the consumer groups this node coordinates."""

from __future__ import annotations

from kafkalite.broker.acls import CLUSTER_NAME, AclOperation, ResourceType
from kafkalite.broker.authorizer import allowed
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.coordinator import GROUP_TYPE_CLASSIC, GROUP_TYPE_CONSUMER
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.list_groups import ListedGroup, ListGroupsRequest, ListGroupsResponse


@handles(ApiKey.LIST_GROUPS, min_version=0, max_version=5)
async def list_groups(ctx: RequestContext, req: ListGroupsRequest) -> ListGroupsResponse:
    coordinator = ctx.broker.groups
    version = ctx.api_version
    states = req.states_filter if version >= 4 else ()
    types = req.types_filter if version >= 5 else ()
    listed = [
        ListedGroup(
            group_id=g.group_id,
            protocol_type=g.protocol_type or "",
            group_state=g.state.value,
            group_type=GROUP_TYPE_CLASSIC,
        )
        for g in coordinator.list_groups(states=states, types=types)
    ] + [
        ListedGroup(
            group_id=g.group_id,
            protocol_type="consumer",
            group_state=g.state.value,
            group_type=GROUP_TYPE_CONSUMER,
        )
        for g in coordinator.list_consumer_groups(states=states, types=types)
    ]
    # With the authorizer on, as Kafka: DESCRIBE on the cluster lists every group, else only
    # the groups the client may DESCRIBE.
    every = allowed(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)
    return ListGroupsResponse(
        throttle_time_ms=0,
        error_code=ErrorCode.NONE,
        groups=[
            g for g in listed
            if coordinator.coordinator_node(g.group_id) == ctx.node_id
            and (every or allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, g.group_id))
        ],
    )
