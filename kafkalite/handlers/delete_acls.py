# DeleteAcls: v0-3
#
# Version notes:
# * v0: LITERAL patterns only
# * v1: pattern_type_filter per filter, pattern_type per matching ACL
# * v2: flexible versions
# * v3: unchanged (KIP-554 USER resources)
#
# Needs ALTER on the CLUSTER (kafkalite.broker.authorizer). Without the authorizer Kafka
# answers SECURITY_DISABLED per filter. Each filter answers the ACLs it matched (and removed).
"""DeleteAcls: remove the ACLs matching filters, durably."""

from __future__ import annotations

from kafkalite.broker.acls import AclFilter
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.delete_acls import (
    DeleteAclsFilterResult,
    DeleteAclsMatchingAcl,
    DeleteAclsRequest,
    DeleteAclsResponse,
)


def _error_response(req: DeleteAclsRequest, version: int, code: ErrorCode, message: str) -> DeleteAclsResponse:
    # As Kafka: every filter answers the error.
    return DeleteAclsResponse(filter_results=[
        DeleteAclsFilterResult(error_code=code, error_message=message) for _ in req.filters
    ])


@handles(ApiKey.DELETE_ACLS, min_version=0, max_version=3, error_response=_error_response)
async def delete_acls(ctx: RequestContext, req: DeleteAclsRequest) -> DeleteAclsResponse:
    if not ctx.broker.config.acls:
        return _error_response(req, ctx.api_version, ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.")
    store = ctx.broker.acls
    results = []
    for f in req.filters:
        acl_filter = AclFilter(
            resource_type=f.resource_type_filter, resource_name=f.resource_name_filter,
            pattern_type=f.pattern_type_filter, principal=f.principal_filter, host=f.host_filter,
            operation=f.operation, permission=f.permission_type,
        )
        problem = acl_filter.invalid()
        if problem is not None:
            results.append(DeleteAclsFilterResult(error_code=ErrorCode.INVALID_REQUEST, error_message=problem))
            continue
        matched = store.matching(acl_filter)
        store.remove(matched)
        results.append(DeleteAclsFilterResult(error_message=None, matching_acls=[
            DeleteAclsMatchingAcl(
                error_message=None, resource_type=acl.resource_type, resource_name=acl.resource_name, pattern_type=acl.pattern_type,
                principal=acl.principal, host=acl.host, operation=acl.operation, permission_type=acl.permission,
            )
            for acl in matched
        ]))
    return DeleteAclsResponse(filter_results=results)
