# CreateAcls: v0-3
#
# Version notes:
# * v0: LITERAL patterns only (another pattern type is refused: UNSUPPORTED_VERSION)
# * v1: resource_pattern_type (LITERAL, PREFIXED)
# * v2: flexible versions
# * v3: unchanged (KIP-554 USER resources)
#
# Needs ALTER on the CLUSTER (kafkalite.broker.authorizer). Without the authorizer Kafka
# answers SECURITY_DISABLED per creation. Each creation is checked as Kafka's controller does
# (INVALID_REQUEST with its message); an ACL already there is a success.
"""CreateAcls: add ACLs, durably."""

from __future__ import annotations

from kafkalite.broker.acls import AclBinding, PatternType
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.create_acls import AclCreationResult, CreateAclsRequest, CreateAclsResponse


def _error_response(req: CreateAclsRequest, version: int, code: ErrorCode, message: str) -> CreateAclsResponse:
    # As Kafka: every creation answers the error.
    return CreateAclsResponse(results=[AclCreationResult(error_code=code, error_message=message) for _ in req.creations])


@handles(ApiKey.CREATE_ACLS, min_version=0, max_version=3, error_response=_error_response)
async def create_acls(ctx: RequestContext, req: CreateAclsRequest) -> CreateAclsResponse:
    if not ctx.broker.config.acls:
        return _error_response(req, ctx.api_version, ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.")
    results: list[AclCreationResult] = []
    valid: list[AclBinding] = []
    for creation in req.creations:
        binding = AclBinding(
            resource_type=creation.resource_type, resource_name=creation.resource_name,
            pattern_type=creation.resource_pattern_type, principal=creation.principal, host=creation.host,
            operation=creation.operation, permission=creation.permission_type,
        )
        if ctx.api_version == 0 and binding.pattern_type != PatternType.LITERAL:
            problem, code = "Version 0 only supports literal resource pattern types", ErrorCode.UNSUPPORTED_VERSION
        else:
            problem, code = binding.invalid(), ErrorCode.INVALID_REQUEST
        if problem is None:
            valid.append(binding)
            results.append(AclCreationResult(error_code=ErrorCode.NONE, error_message=None))
        else:
            results.append(AclCreationResult(error_code=code, error_message=problem))
    ctx.broker.acls.add(valid)
    return CreateAclsResponse(results=results)
