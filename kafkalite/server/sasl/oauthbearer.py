"""SASL/OAUTHBEARER (RFC 7628) with unsecured JWTs, as Kafka's default unsecured validator.

The client's first message is ``n,[a=authzid],^Aauth=Bearer TOKEN^A[key=value^A]*^A``. The
token is ``base64url(header).base64url(claims).`` with an empty signature; the header's
``alg`` must be ``none``, the ``sub`` claim (a string) is the principal, ``exp`` (seconds, a
number) must be in the future on the broker clock and ``iat``, when present, a number. A
refused token is answered with an error JSON (``{"status":"invalid_token"}``); the client then
sends a lone ^A and the exchange fails with that JSON as the message, as in Kafka.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from kafkalite.server.sasl.base import AuthenticationFailed

_SEP = "\x01"


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class InvalidToken(ValueError):
    """An unsecured JWT that Kafka's unsecured validator refuses."""


def parse_unsecured_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of an unsecured JWT ``header.claims.`` (the signature must be empty)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("an unsecured JWS has three dot-separated parts")
    if parts[2]:
        raise InvalidToken("an unsecured JWS has an empty signature")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken(f"JWS part is not base64url JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("JWS header and claims must be JSON objects")
    return header, claims


def validate_unsecured_jwt(token: str, now_ms: int) -> tuple[str, int]:
    """(principal name, expiry in ms since the epoch) of a valid token."""
    header, claims = parse_unsecured_jwt(token)
    if header.get("alg") != "none":
        raise InvalidToken(f"unsecured JWS must have alg none, not {header.get('alg')!r}")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise InvalidToken("the sub claim (the principal) is missing or not a string")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise InvalidToken("the exp claim is missing or not a number")
    iat = claims.get("iat")
    if iat is not None and (isinstance(iat, bool) or not isinstance(iat, (int, float))):
        raise InvalidToken("the iat claim is not a number")
    expires_ms = int(exp * 1000)
    if expires_ms <= now_ms:
        raise InvalidToken(f"the token expired at {expires_ms} ms, now is {now_ms} ms")
    return sub, expires_ms


def parse_client_message(message: str) -> tuple[str, str, dict[str, str]]:
    """(authzid, bearer token, extensions) of the client's initial response."""
    gs2, sep, rest = message.partition(_SEP)
    fields = gs2.split(",")
    if not sep or len(fields) != 3 or fields[0] not in ("n", "y") or fields[2]:
        raise InvalidToken("invalid OAUTHBEARER GS2 header")
    authzid = fields[1][2:] if fields[1].startswith("a=") else ""
    if not rest.endswith(_SEP + _SEP) and rest != _SEP:
        raise InvalidToken("OAUTHBEARER message does not end with two ^A")
    pairs: dict[str, str] = {}
    for item in rest.split(_SEP):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise InvalidToken(f"invalid OAUTHBEARER key/value {item!r}")
        pairs[key] = value
    auth = pairs.pop("auth", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("OAUTHBEARER message without auth=Bearer TOKEN")
    return authzid, token.strip(), pairs


class OAuthBearerServer:
    mechanism = "OAUTHBEARER"

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self.complete = False
        self.user: str | None = None
        self.token_lifetime_ms: int | None = None
        self._error: str | None = None

    def evaluate(self, token: bytes) -> bytes:
        message = token.decode("utf-8", errors="replace")
        if self._error is not None:
            if message == _SEP:
                raise AuthenticationFailed(self._error, self._error)
            raise AuthenticationFailed("OAUTHBEARER client did not acknowledge the error")
        try:
            authzid, jwt, _extensions = parse_client_message(message)
            now = self._now_ms()
            user, expires_ms = validate_unsecured_jwt(jwt, now)
        except InvalidToken as exc:
            self._error = json.dumps({"status": "invalid_token"}, separators=(",", ":"))
            self._reason = str(exc)
            return self._error.encode()
        if authzid and authzid != user:
            raise AuthenticationFailed(
                "authzid differs",
                f"Authentication failed: Client requested an authorization id ({authzid}) that is different from the token's principal name ({user})",
            )
        self.user = user
        self.token_lifetime_ms = expires_ms - now
        self.complete = True
        return b""
