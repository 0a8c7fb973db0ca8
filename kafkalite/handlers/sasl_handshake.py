# SaslHandshake: v0-1
#
# Version notes:
# * v0: the SASL tokens that follow are raw size-prefixed frames (the connection handles them)
# * v1: the tokens follow in SaslAuthenticate requests
"""SaslHandshake: pick the SASL mechanism of this connection (or of its re-authentication).

The connection's session decides: an enabled mechanism is answered NONE with the enabled
list; another is UNSUPPORTED_SASL_MECHANISM with that list, and the connection closes after
the answer. On a listener without SASL, or a second handshake without re-authentication on,
the answer is ILLEGAL_SASL_STATE.
"""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.sasl_handshake import SaslHandshakeRequest, SaslHandshakeResponse


@handles(ApiKey.SASL_HANDSHAKE, min_version=0, max_version=1)
async def sasl_handshake(ctx: RequestContext, req: SaslHandshakeRequest) -> SaslHandshakeResponse:
    session = ctx.session
    if session is None:
        return SaslHandshakeResponse(error_code=ErrorCode.ILLEGAL_SASL_STATE, mechanisms=[])
    code, mechanisms = session.handshake(req.mechanism, ctx.api_version)
    return SaslHandshakeResponse(error_code=code, mechanisms=mechanisms)
