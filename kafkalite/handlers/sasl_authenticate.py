# SaslAuthenticate: v0-2
#
# Version notes:
# * v0: one SASL token each way
# * v1: session_lifetime_ms in the response (KIP-368): when the client must re-authenticate
# * v2: flexible versions
"""SaslAuthenticate: one SASL token of the connection's exchange.

A refused token answers SASL_AUTHENTICATION_FAILED with Kafka's message and the connection
closes after the answer; outside an exchange the answer is ILLEGAL_SASL_STATE.
"""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.sasl_authenticate import SaslAuthenticateRequest, SaslAuthenticateResponse


@handles(ApiKey.SASL_AUTHENTICATE, min_version=0, max_version=2)
async def sasl_authenticate(ctx: RequestContext, req: SaslAuthenticateRequest) -> SaslAuthenticateResponse:
    session = ctx.session
    if session is None or not session.listener.uses_sasl:
        return SaslAuthenticateResponse(
            error_code=ErrorCode.ILLEGAL_SASL_STATE,
            error_message="SaslAuthenticate request received on a listener without SASL",
            auth_bytes=b"",
        )
    code, message, answer, lifetime_ms = session.authenticate(bytes(req.auth_bytes))
    return SaslAuthenticateResponse(
        error_code=code, error_message=message, auth_bytes=answer, session_lifetime_ms=lifetime_ms
    )
