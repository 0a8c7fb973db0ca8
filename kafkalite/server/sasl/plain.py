"""SASL/PLAIN (RFC 4616): one token ``[authzid] NUL authcid NUL passwd``, checked against the
configured users (as Kafka's PlainServerCallbackHandler checks its JAAS users)."""

from __future__ import annotations

import hmac

from kafkalite.server.sasl.base import AuthenticationFailed


def parse_plain(token: bytes) -> tuple[str, str, str]:
    """(authzid, username, password) of a PLAIN token.

    Raises:
        AuthenticationFailed: not three NUL-separated UTF-8 parts (client told the generic text).
    """
    try:
        text = token.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationFailed("PLAIN token is not UTF-8") from None
    parts = text.split("\x00")
    if len(parts) != 3:
        raise AuthenticationFailed(f"Invalid SASL/PLAIN response: expected 3 tokens, got {len(parts)}")
    authzid, username, password = parts
    return authzid, username, password


class PlainServer:
    mechanism = "PLAIN"

    def __init__(self, passwords: dict[str, str]) -> None:
        self._passwords = passwords
        self.complete = False
        self.user: str | None = None
        self.token_lifetime_ms: int | None = None

    def evaluate(self, token: bytes) -> bytes:
        authzid, username, password = parse_plain(token)
        if not username:
            raise AuthenticationFailed("no username", "Authentication failed: username not specified")
        if not password:
            raise AuthenticationFailed("no password", "Authentication failed: password not specified")
        expected = self._passwords.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            raise AuthenticationFailed(
                f"wrong password or unknown user {username!r}", "Authentication failed: Invalid username or password"
            )
        if authzid and authzid != username:
            raise AuthenticationFailed(
                "authzid differs",
                "Authentication failed: Client requested an authorization id that is different from username",
            )
        self.user = username
        self.complete = True
        return b""
