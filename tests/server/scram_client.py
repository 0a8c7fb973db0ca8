"""A minimal SCRAM client (RFC 5802) for the tests: what librdkafka and kafka-python send."""

from __future__ import annotations

import base64
import hashlib
import hmac

_HASH = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


class ScramClient:
    def __init__(self, mechanism: str, user: str, password: str, nonce: str = "fyko+d2lbbFgONRv9qkxdawL") -> None:
        self.hash = _HASH[mechanism]
        self.user, self.password, self.nonce = user, password, nonce

    def first(self) -> bytes:
        self.first_bare = f"n={self.user},r={self.nonce}"
        return ("n,," + self.first_bare).encode()

    def final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        attrs = dict(item.split("=", 1) for item in text.split(","))
        salted = hashlib.pbkdf2_hmac(self.hash, self.password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = hashlib.new(self.hash, client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.expected_server_final = b"v=" + base64.b64encode(hmac.new(server_key, auth_message, self.hash).digest())
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
