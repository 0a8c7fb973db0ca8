"""SCRAM credentials (RFC 5802, RFC 7677): what the broker keeps of a user's password.

A credential is the salt, the iteration count, StoredKey = H(HMAC(SaltedPassword, "Client
Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"); the password itself is never kept.
`CredentialStore` holds them per user and mechanism and, on a broker with a data dir, keeps
them in ``scram-credentials.json`` beside the cluster metadata (written whole, then renamed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any, Iterable

import attrs

from kafkalite.storage import KafkaStorageError, LogStore

#: SCRAM mechanism -> hashlib name (Kafka's ScramMechanism: 256 and 512 only).
SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
#: The mechanisms' numbers in DescribeUserScramCredentials / AlterUserScramCredentials.
MECHANISM_TYPES = {"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}
MECHANISM_NAMES = {number: name for name, number in MECHANISM_TYPES.items()}
#: Kafka's ScramMechanism minimum iterations; its default for new credentials is 4096.
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384
FILE_NAME = "scram-credentials.json"


def hmac_digest(mechanism: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, SCRAM_HASHES[mechanism]).digest()


def hash_digest(mechanism: str, data: bytes) -> bytes:
    return hashlib.new(SCRAM_HASHES[mechanism], data).digest()


def salted_password(mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
    """Hi(Normalize(password), salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC."""
    return hashlib.pbkdf2_hmac(SCRAM_HASHES[mechanism], password.encode("utf-8"), salt, iterations)


@attrs.frozen
class ScramCredential:
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int

    @classmethod
    def from_salted(cls, mechanism: str, salted: bytes, salt: bytes, iterations: int) -> ScramCredential:
        client_key = hmac_digest(mechanism, salted, b"Client Key")
        return cls(
            salt=salt,
            stored_key=hash_digest(mechanism, client_key),
            server_key=hmac_digest(mechanism, salted, b"Server Key"),
            iterations=iterations,
        )

    @classmethod
    def from_password(
        cls, mechanism: str, password: str, iterations: int = MIN_ITERATIONS, salt: bytes | None = None
    ) -> ScramCredential:
        salt = os.urandom(32) if salt is None else salt
        return cls.from_salted(mechanism, salted_password(mechanism, password, salt, iterations), salt, iterations)

    def to_json(self) -> dict[str, object]:
        b64 = base64.b64encode
        return {
            "salt": b64(self.salt).decode(), "stored_key": b64(self.stored_key).decode(),
            "server_key": b64(self.server_key).decode(), "iterations": self.iterations,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ScramCredential:
        d = base64.b64decode
        return cls(
            d(str(data["salt"])), d(str(data["stored_key"])), d(str(data["server_key"])), int(data["iterations"])  # type: ignore[arg-type]
        )


class CredentialStore:
    """SCRAM credentials by (user, mechanism); saved through the data dir's files (atomic
    replace, fsynced) when the broker has one. Use `open` for a broker's store."""

    def __init__(self, files: Any = None, path: Path | None = None) -> None:
        self._files = files
        self._path = path
        self._credentials: dict[tuple[str, str], ScramCredential] = {}

    @classmethod
    def open(cls, store: LogStore) -> CredentialStore:
        """The credentials kept beside *store*'s metadata (none in memory, or not saved yet).

        Raises:
            KafkaStorageError: the file cannot be read or is not what this module writes.
        """
        path = None if store.metadata_path is None else store.metadata_path.parent / FILE_NAME
        credentials = cls(store.files, path)
        if path is None:
            return credentials
        try:
            data = store.files.read_bytes(path)
            if data is not None:
                for user, by_mechanism in json.loads(data).items():
                    for mechanism, fields in by_mechanism.items():
                        credentials._credentials[(user, mechanism)] = ScramCredential.from_json(fields)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KafkaStorageError(f"cannot read the SCRAM credentials {path}: {exc}") from exc
        return credentials

    def get(self, user: str, mechanism: str) -> ScramCredential | None:
        return self._credentials.get((user, mechanism))

    def users(self) -> dict[str, dict[str, ScramCredential]]:
        result: dict[str, dict[str, ScramCredential]] = {}
        for (user, mechanism), credential in sorted(self._credentials.items()):
            result.setdefault(user, {})[mechanism] = credential
        return result

    def apply(
        self,
        upserts: dict[tuple[str, str], ScramCredential],
        deletions: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Set *upserts* and remove *deletions* ((user, mechanism) keys), then save; all or
        nothing.

        Raises:
            KafkaStorageError: the save failed; nothing changed, in memory or on disk.
        """
        previous = dict(self._credentials)
        for key in deletions:
            self._credentials.pop(key, None)
        self._credentials.update(upserts)
        try:
            self._save()
        except KafkaStorageError:
            self._credentials = previous
            raise

    def _save(self) -> None:
        if self._path is None:
            return
        data = {user: {m: c.to_json() for m, c in by.items()} for user, by in self.users().items()}
        try:
            self._files.write_atomic(self._path, json.dumps(data, indent=1, sort_keys=True).encode() + b"\n", durable=True)
        except OSError as exc:
            raise KafkaStorageError(f"cannot save the SCRAM credentials {self._path}: {exc}") from exc
