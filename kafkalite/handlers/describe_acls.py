# DescribeAcls: v0-3
#
# Version notes:
# * v0: LITERAL patterns only
# * v1: pattern_type_filter (ANY, MATCH, LITERAL, PREFIXED) and pattern_type per resource
# * v2: flexible versions
# * v3: unchanged (KIP-554 USER resources)
#
# Needs DESCRIBE on the CLUSTER (kafkalite.broker.authorizer). Without the authorizer Kafka
# answers SECURITY_DISABLED. The ACLs matching the filter are grouped by resource pattern.
"""DescribeAcls: the ACLs matching a filter."""

from __future__ import annotations

from kafkalite.broker.acls import AclFilter, AclBinding
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_acls import (
    AclDescription,
    DescribeAclsRequest,
    DescribeAclsResource,
    DescribeAclsResponse,
)


def by_resource(acls: list[AclBinding]) -> list[DescribeAclsResource]:
    """*acls* grouped by resource pattern, in the order each pattern first appears."""
    grouped: dict[tuple[int, str, int], list[AclDescription]] = {}
    for acl in acls:
        key = (acl.resource_type, acl.resource_name, acl.pattern_type)
        grouped.setdefault(key, []).append(AclDescription(
            principal=acl.principal, host=acl.host, operation=acl.operation, permission_type=acl.permission,
        ))
    return [
        DescribeAclsResource(resource_type=t, resource_name=n, pattern_type=p, acls=descriptions)
        for (t, n, p), descriptions in grouped.items()
    ]


@handles(ApiKey.DESCRIBE_ACLS, min_version=0, max_version=3)
async def describe_acls(ctx: RequestContext, req: DescribeAclsRequest) -> DescribeAclsResponse:
    if not ctx.broker.config.acls:
        return DescribeAclsResponse(
            error_code=ErrorCode.SECURITY_DISABLED, error_message="No Authorizer is configured on the broker"
        )
    acl_filter = AclFilter(
        resource_type=req.resource_type_filter, resource_name=req.resource_name_filter,
        pattern_type=req.pattern_type_filter, principal=req.principal_filter, host=req.host_filter,
        operation=req.operation, permission=req.permission_type,
    )
    problem = acl_filter.invalid()
    if problem is not None:
        return DescribeAclsResponse(error_code=ErrorCode.INVALID_REQUEST, error_message=problem)
    return DescribeAclsResponse(error_message=None, resources=by_resource(ctx.broker.acls.matching(acl_filter)))
