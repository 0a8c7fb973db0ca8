"""SASL/SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server side.

client-first ``n,[a=authzid],n=user,r=cnonce`` -> server-first ``r=cnonce+snonce,s=salt,i=N``;
client-final ``c=base64(gs2 header),r=nonce,p=proof`` -> server-final ``v=signature``. The
proof is checked against the stored credential: H(proof XOR HMAC(StoredKey, AuthMessage)) must
be StoredKey. Kafka's ``tokenauth`` extension (delegation tokens) is refused.
"""

from __future__ import annotations

import base64
import hmac
import secrets

from kafkalite.broker.credentials import CredentialStore, hash_digest, hmac_digest
from kafkalite.server.sasl.base import AuthenticationFailed


def _unescape(name: str) -> str:
    # RFC 5802 saslname: "=2C" is ",", "=3D" is "="; any other "=" is invalid.
    out, i = [], 0
    while i < len(name):
        if name[i] == "=":
            code = name[i : i + 3]
            if code == "=2C":
                out.append(",")
            elif code == "=3D":
                out.append("=")
            else:
                raise AuthenticationFailed(f"invalid escape in SCRAM user name {name!r}")
            i += 3
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def _attributes(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or len(key) != 1:
            raise AuthenticationFailed(f"invalid SCRAM attribute {item!r}")
        result[key] = value
    return result


def parse_client_first(message: str) -> tuple[str, str, str, str, dict[str, str]]:
    """(gs2 header, authzid, user name, client nonce, extensions) of a client-first message."""
    parts = message.split(",", 2)
    if len(parts) != 3 or parts[0] not in ("n", "y") or (parts[1] and not parts[1].startswith("a=")):
        raise AuthenticationFailed(f"invalid SCRAM client-first message {message!r}")
    gs2_header = f"{parts[0]},{parts[1]},"
    authzid = _unescape(parts[1][2:]) if parts[1] else ""
    attributes = _attributes(parts[2])
    if "n" not in attributes or "r" not in attributes or not attributes["r"]:
        raise AuthenticationFailed("SCRAM client-first message without user name or nonce")
    extensions = {k: v for k, v in attributes.items() if k not in ("n", "r")}
    return gs2_header, authzid, _unescape(attributes["n"]), attributes["r"], extensions


class ScramServer:
    def __init__(self, mechanism: str, credentials: CredentialStore, nonce: str | None = None) -> None:
        self.mechanism = mechanism
        self._credentials = credentials
        self._server_nonce = nonce or secrets.token_urlsafe(24)
        self.complete = False
        self.user: str | None = None
        self.token_lifetime_ms: int | None = None
        self._state = "first"
        self._first_bare = self._server_first = self._gs2 = self._nonce = ""
        self._credential = None

    def evaluate(self, token: bytes) -> bytes:
        try:
            message = token.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthenticationFailed("SCRAM message is not UTF-8") from None
        if self._state == "first":
            return self._first(message)
        if self._state == "final":
            return self._final(message)
        raise AuthenticationFailed("SCRAM exchange already complete")

    def _first(self, message: str) -> bytes:
        gs2, authzid, user, client_nonce, extensions = parse_client_first(message)
        if extensions.get("e", "") or "tokenauth" in message.split(",", 2)[2]:
            raise AuthenticationFailed("SCRAM delegation tokens are not supported")
        credential = self._credentials.get(user, self.mechanism)
        if credential is None:
            raise AuthenticationFailed(f"no {self.mechanism} credential for user {user!r}")
        if authzid and authzid != user:
            raise AuthenticationFailed(
                "authzid differs",
                "Authentication failed: Client requested an authorization id that is different from username",
            )
        self.user, self._credential, self._gs2 = user, credential, gs2
        self._nonce = client_nonce + self._server_nonce
        self._first_bare = message[len(gs2):]
        salt = base64.b64encode(credential.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={credential.iterations}"
        self._state = "final"
        return self._server_first.encode()

    def _final(self, message: str) -> bytes:
        without_proof, sep, proof_text = message.rpartition(",p=")
        if not sep:
            raise AuthenticationFailed("SCRAM client-final message without proof")
        attributes = _attributes(without_proof)
        if attributes.get("r") != self._nonce:
            raise AuthenticationFailed("SCRAM nonce mismatch")
        if attributes.get("c") != base64.b64encode(self._gs2.encode()).decode():
            raise AuthenticationFailed("SCRAM channel binding mismatch")
        try:
            proof = base64.b64decode(proof_text, validate=True)
        except ValueError:
            raise AuthenticationFailed("SCRAM proof is not base64") from None
        credential = self._credential
        assert credential is not None
        auth_message = f"{self._first_bare},{self._server_first},{without_proof}".encode()
        client_signature = hmac_digest(self.mechanism, credential.stored_key, auth_message)
        if len(proof) != len(client_signature):
            raise AuthenticationFailed("SCRAM proof of the wrong length")
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature))
        if not hmac.compare_digest(hash_digest(self.mechanism, client_key), credential.stored_key):
            raise AuthenticationFailed(f"wrong SCRAM proof for user {self.user!r}")
        server_signature = hmac_digest(self.mechanism, credential.server_key, auth_message)
        self._state = "done"
        self.complete = True
        return f"v={base64.b64encode(server_signature).decode()}".encode()
