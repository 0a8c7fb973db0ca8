# DescribeUserScramCredentials: v0
#
# Version notes:
# * v0: KIP-554; users null or empty describe every user with a SCRAM credential
"""DescribeUserScramCredentials: which SCRAM mechanisms (and iteration counts) each user has.

A user named twice answers DUPLICATE_RESOURCE, a user without credentials RESOURCE_NOT_FOUND,
with Kafka's messages. Salts and keys are never answered.
"""

from __future__ import annotations

from kafkalite.broker.credentials import MECHANISM_TYPES
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_user_scram_credentials import (
    CredentialInfo,
    DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
    DescribeUserScramCredentialsResult,
)


@handles(ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, min_version=0, max_version=0)
async def describe_user_scram_credentials(
    ctx: RequestContext, req: DescribeUserScramCredentialsRequest
) -> DescribeUserScramCredentialsResponse:
    by_user = ctx.session.security.credentials.users() if ctx.session is not None else {}
    if not req.users:
        names = sorted(by_user)
        duplicates: set[str] = set()
    else:
        names, duplicates = [], set()
        for user in req.users:
            if user.name in names:
                duplicates.add(user.name)
            else:
                names.append(user.name)
    results = []
    for name in names:
        if name in duplicates:
            results.append(DescribeUserScramCredentialsResult(
                user=name, error_code=ErrorCode.DUPLICATE_RESOURCE,
                error_message=f"Cannot describe SCRAM credentials for the same user twice in a single request: {name}",
                credential_infos=[],
            ))
        elif name not in by_user:
            results.append(DescribeUserScramCredentialsResult(
                user=name, error_code=ErrorCode.RESOURCE_NOT_FOUND,
                error_message=f"Attempt to describe a user credential that does not exist: {name}",
                credential_infos=[],
            ))
        else:
            infos = [
                CredentialInfo(mechanism=MECHANISM_TYPES[mechanism], iterations=credential.iterations)
                for mechanism, credential in sorted(by_user[name].items())
            ]
            results.append(DescribeUserScramCredentialsResult(user=name, error_code=0, error_message=None, credential_infos=infos))
    return DescribeUserScramCredentialsResponse(error_message=None, results=results)
