"""What every SASL mechanism shares: the failure and the server exchange's shape."""

from __future__ import annotations

from typing import Protocol


class AuthenticationFailed(Exception):
    """The client's token was refused. ``client_message``: what the client may be told."""

    def __init__(self, reason: str, client_message: str | None = None) -> None:
        super().__init__(reason)
        self.client_message = client_message


class SaslServer(Protocol):
    mechanism: str
    complete: bool
    user: str | None
    #: For OAUTHBEARER: the token's remaining lifetime (ms) once complete; None otherwise.
    token_lifetime_ms: int | None

    def evaluate(self, token: bytes) -> bytes: ...
