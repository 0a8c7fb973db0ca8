"""SASL mechanisms on the broker side: PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER.

Each mechanism is a small server state machine: `evaluate` takes the client's next token and
returns the broker's answer; once `complete`, `user` is the authenticated name. A failure
raises `AuthenticationFailed`; when its ``client_message`` is None the client is told only
Kafka's generic "invalid credentials" sentence (Kafka hides whether the user exists).
"""

from __future__ import annotations

from typing import Callable

from kafkalite.broker.credentials import SCRAM_HASHES, CredentialStore
from kafkalite.server.sasl.base import AuthenticationFailed, SaslServer

__all__ = ["AuthenticationFailed", "SaslServer", "create_server"]


def create_server(
    mechanism: str,
    *,
    passwords: dict[str, str],
    credentials: CredentialStore,
    now_ms: Callable[[], int],
) -> SaslServer:
    """A fresh server exchange for *mechanism* (one the broker enables)."""
    if mechanism == "PLAIN":
        from kafkalite.server.sasl.plain import PlainServer

        return PlainServer(passwords)
    if mechanism in SCRAM_HASHES:
        from kafkalite.server.sasl.scram import ScramServer

        return ScramServer(mechanism, credentials)
    if mechanism == "OAUTHBEARER":
        from kafkalite.server.sasl.oauthbearer import OAuthBearerServer

        return OAuthBearerServer(now_ms)
    raise ValueError(f"no SASL mechanism {mechanism}")
