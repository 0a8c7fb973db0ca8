"""One connection's state: who is at the other end, on which listener, authenticated how.

`Security` is the broker-wide part (enabled SASL mechanisms, users' passwords for PLAIN,
SCRAM credentials, the TLS context); `Session` is per connection. On a SASL listener a
connection starts unauthenticated and only ApiVersions and SaslHandshake are answered; after
the handshake only SaslAuthenticate (or, after a v0 handshake, raw size-prefixed SASL tokens)
until the mechanism completes. Anything else closes the connection, as Kafka's
SaslServerAuthenticator does. With ``connections_max_reauth_ms`` (KIP-368) or a token
lifetime the session expires: a request other than a re-authentication after that closes it.
"""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path

import attrs

from kafkalite.broker.credentials import SCRAM_HASHES, CredentialStore, ScramCredential
from kafkalite.broker.listeners import Listener
from kafkalite.broker.state import Broker
from kafkalite.clock import BrokerClock
from kafkalite.server.sasl import AuthenticationFailed, SaslServer, create_server
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.session")

ANONYMOUS = "User:ANONYMOUS"
_BEFORE_AUTH = frozenset({int(ApiKey.API_VERSIONS), int(ApiKey.SASL_HANDSHAKE)})
_REAUTH = frozenset({int(ApiKey.SASL_HANDSHAKE), int(ApiKey.SASL_AUTHENTICATE)})


class SessionClosed(Exception):
    """The connection must close (the reason is logged): a request outside the SASL exchange,
    a failed raw-token exchange, or an expired session."""


def load_users_file(path: Path) -> dict[str, str]:
    """``{"alice": "s3cret", ...}`` from a JSON file."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"{path}: users file must be a JSON object of user name -> password")
    return data


@attrs.define(eq=False)
class Security:
    """The broker-wide authentication settings every session reads."""

    mechanisms: tuple[str, ...]
    passwords: dict[str, str]
    credentials: CredentialStore
    clock: BrokerClock
    reauth_ms: int = 0
    ssl_context: ssl.SSLContext | None = None

    @classmethod
    def for_broker(cls, broker: Broker) -> Security:
        """The broker's security settings: its users (the config's and the users file's), the
        SCRAM credentials kept in its data dir, and the TLS context when it has a certificate.

        Raises:
            KafkaStorageError: the credentials cannot be read or saved.
            OSError, ValueError: the users file or a certificate cannot be loaded.
        """
        config = broker.config
        passwords = dict(config.users)
        if config.users_file is not None:
            passwords.update(load_users_file(config.users_file))
        credentials = CredentialStore.open(broker.store)
        # Configured users get a SCRAM credential for each enabled SCRAM mechanism (derived
        # again at each start: the password is the configuration's, the salt new).
        credentials.apply({
            (user, mechanism): ScramCredential.from_password(mechanism, password, config.scram_iterations)
            for user, password in passwords.items()
            for mechanism in config.sasl_mechanisms
            if mechanism in SCRAM_HASHES
        })
        ssl_context = None
        if config.ssl_certfile is not None and config.ssl_keyfile is not None:
            from kafkalite.server.tls import server_context

            ssl_context = server_context(config)
        return cls(config.sasl_mechanisms, passwords, credentials, broker.clock, config.connections_max_reauth_ms, ssl_context)


@attrs.define(eq=False)
class Session:
    """The authentication state of one connection."""

    security: Security
    listener: Listener
    node_id: int
    peer: str
    principal: str = ANONYMOUS
    authenticated: bool = False
    #: "handshake" (expects ApiVersions / SaslHandshake), "authenticate", or "done".
    state: str = "handshake"
    mechanism: str | None = None
    raw_tokens: bool = False  # after a v0 SaslHandshake the tokens come as raw frames
    expires_at_ms: int | None = None  # on the broker clock (KIP-368)
    close_after_response: str | None = None  # why the connection closes after this response
    _server: SaslServer | None = None
    _reauthenticating: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.listener.uses_sasl:
            self.authenticated, self.state = True, "done"

    @property
    def security_protocol(self) -> str:
        return self.listener.security_protocol

    def admit(self, api_key: int) -> None:
        """Raise `SessionClosed` unless a request of *api_key* may be handled now."""
        if self.state == "done":
            if self.expires_at_ms is not None and api_key not in _REAUTH:
                if self.security.clock.wall_ms() > self.expires_at_ms:
                    raise SessionClosed("the SASL session expired without re-authentication")
            return
        if self.state == "handshake" and api_key not in _BEFORE_AUTH:
            raise SessionClosed(f"unexpected Kafka request of API key {api_key} during SASL handshake")
        if self.state == "authenticate" and api_key != ApiKey.SASL_AUTHENTICATE:
            raise SessionClosed(f"unexpected Kafka request of API key {api_key} during SASL authentication")

    def handshake(self, mechanism: str, version: int) -> tuple[ErrorCode, list[str]]:
        """SaslHandshake: (error code, the enabled mechanisms)."""
        enabled = list(self.security.mechanisms)
        if not self.listener.uses_sasl:
            return ErrorCode.ILLEGAL_SASL_STATE, []
        if self.state == "done":
            # A re-authentication (KIP-368): only with session lifetimes on, same mechanism.
            if not self.security.reauth_ms and self.expires_at_ms is None:
                return ErrorCode.ILLEGAL_SASL_STATE, []
            if mechanism != self.mechanism:
                self.close_after_response = f"re-authentication changed the SASL mechanism to {mechanism}"
                return ErrorCode.ILLEGAL_SASL_STATE, enabled
            self._reauthenticating = True
        elif self.state != "handshake":
            return ErrorCode.ILLEGAL_SASL_STATE, enabled
        if mechanism not in enabled:
            self.close_after_response = f"unsupported SASL mechanism {mechanism}"
            return ErrorCode.UNSUPPORTED_SASL_MECHANISM, enabled
        self.mechanism = mechanism
        sec = self.security
        self._server = create_server(mechanism, passwords=sec.passwords, credentials=sec.credentials, now_ms=sec.clock.wall_ms)
        self.state = "authenticate"
        self.raw_tokens = version == 0
        return ErrorCode.NONE, enabled

    def authenticate(self, token: bytes) -> tuple[ErrorCode, str | None, bytes, int]:
        """One SASL token: (error code, error message, the broker's token, session lifetime ms)."""
        if self.state != "authenticate" or self._server is None:
            message = "SaslAuthenticate request received after successful authentication"
            if self.state == "handshake":
                message = "SaslAuthenticate request received before SaslHandshake"
            return ErrorCode.ILLEGAL_SASL_STATE, message, b"", 0
        server = self._server
        during = "re-authentication" if self._reauthenticating else "authentication"
        try:
            answer = server.evaluate(token)
            if server.complete:
                principal = f"User:{server.user}"
                if self._reauthenticating and principal != self.principal:
                    raise AuthenticationFailed(
                        "principal changed",
                        f"Cannot change principals during re-authentication from {self.principal}: {principal}",
                    )
        except AuthenticationFailed as exc:
            message = exc.client_message or (
                f"Authentication failed during {during} due to invalid credentials with SASL mechanism {self.mechanism}"
            )
            log.info("SASL %s from %s failed (%s): %s", self.mechanism, self.peer, exc, message)
            self.close_after_response = f"SASL {during} failed"
            self.state = "failed"
            return ErrorCode.SASL_AUTHENTICATION_FAILED, message, b"", 0
        if not server.complete:
            return ErrorCode.NONE, None, answer, 0
        return ErrorCode.NONE, None, answer, self._complete(server)

    def raw_token(self, token: bytes) -> bytes:
        """A raw SASL token after a v0 handshake: the broker's raw answer.

        Raises:
            SessionClosed: the exchange failed (v0 has no way to say why: the connection closes).
        """
        code, message, answer, _lifetime = self.authenticate(token)
        if code != ErrorCode.NONE:
            raise SessionClosed(message or "SASL authentication failed")
        return answer

    def _complete(self, server: SaslServer) -> int:
        self.principal = f"User:{server.user}"
        self.authenticated, self.state, self.raw_tokens = True, "done", False
        self._server, self._reauthenticating = None, False
        now = self.security.clock.wall_ms()
        lifetimes = [ms for ms in (server.token_lifetime_ms, self.security.reauth_ms or None) if ms is not None]
        lifetime = max(0, min(lifetimes)) if lifetimes else 0
        self.expires_at_ms = now + lifetime if lifetimes else None
        log.debug("%s authenticated as %s with %s on %s", self.peer, self.principal, self.mechanism, self.listener.name)
        return lifetime
