"""SaslAuthenticate (key 36): versions 0-2, flexible from 2.

Version notes:
* v1: session_lifetime_ms in the response (KIP-368 re-authentication)
* v2: flexible versions
"""

from kafkalite.wire.schema import field, message

API_KEY = 36

SaslAuthenticateRequest = message(
    "SaslAuthenticateRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("auth_bytes", "bytes", "0+"),
    ],
)

SaslAuthenticateResponse = message(
    "SaslAuthenticateResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+"),
        field("auth_bytes", "bytes", "0+"),
        field("session_lifetime_ms", "int64", "1+", default=0),
    ],
)
