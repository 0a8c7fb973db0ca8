"""KIP-554 on a real broker: credentials added at run time log in with SCRAM, survive a
restart of a broker with a data dir (kept as salted keys, never passwords), and configured
users' credentials are there from the start."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
from pathlib import Path
from typing import Any

import pytest

from kafkalite.broker.credentials import FILE_NAME
from kafkalite.testing.thread import run_in_thread
from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header
from kafkalite.wire.messages import all_apis
from kafkalite.wire.messages.alter_user_scram_credentials import AlterUserScramCredentialsRequest, ScramCredentialUpsertion
from kafkalite.wire.messages.describe_user_scram_credentials import DescribeUserScramCredentialsRequest
from kafkalite.wire.messages.metadata import MetadataRequest
from kafkalite.wire.messages.sasl_authenticate import SaslAuthenticateRequest
from kafkalite.wire.messages.sasl_handshake import SaslHandshakeRequest
from kafkalite.wire.schema import decode, encode_into, is_flexible

from tests.server.scram_client import ScramClient


class Wire:
    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.correlation = 0

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def request(self, body: Any, version: int) -> Any:
        self.correlation += 1
        cls = type(body)
        api = all_apis()[cls.__kafka_api_key__]
        out = bytearray()
        write_request_header(out, RequestHeader(api.api_key, version, self.correlation, "t"), is_flexible(cls, version))
        encode_into(out, body, version)
        self.sock.sendall(struct.pack(">i", len(out)) + out)
        size = struct.unpack(">i", self._exactly(4))[0]
        frame = self._exactly(size)
        flexible = is_flexible(api.response, version) and api.api_key != 18
        _, pos = read_response_header(frame, flexible)
        return decode(api.response, version, frame, pos)[0]

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "closed"
            data += chunk
        return data


def scram_login(address: str, user: str, password: str, mechanism: str = "SCRAM-SHA-256") -> int:
    with Wire(address) as wire:
        return _scram_login(wire, user, password, mechanism)


def _scram_login(wire: Wire, user: str, password: str, mechanism: str) -> int:
    assert wire.request(SaslHandshakeRequest(mechanism=mechanism), 1).error_code == 0
    client = ScramClient(mechanism, user, password)
    first = wire.request(SaslAuthenticateRequest(auth_bytes=client.first()), 2)
    if first.error_code:
        return first.error_code
    final = wire.request(SaslAuthenticateRequest(auth_bytes=client.final(first.auth_bytes)), 2)
    if final.error_code == 0:
        assert wire.request(MetadataRequest(topics=[]), 12).brokers
    return final.error_code


def upsert(address: str, user: str, password: str, iterations: int = 4096) -> None:
    salt = b"0123456789abcdef"
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    with Wire(address) as wire:
        answer = wire.request(AlterUserScramCredentialsRequest(
            deletions=[],
            upsertions=[ScramCredentialUpsertion(name=user, mechanism=1, iterations=iterations, salt=salt, salted_password=salted)],
        ), 0)
    assert [(r.user, r.error_code) for r in answer.results] == [(user, 0)]


def test_added_credentials_log_in_and_survive_a_restart(tmp_path: Path) -> None:
    config = dict(
        listeners="PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", memory=False, data_dir=tmp_path,
        users={"alice": "s3cret"},
    )
    with run_in_thread(**config) as broker:
        plain, sasl = broker.listener_addresses["PLAINTEXT"], broker.listener_addresses["SASL_PLAINTEXT"]
        assert scram_login(sasl, "bob", "pw") == 58  # not yet a user
        upsert(plain, "bob", "pw", 8192)
        assert scram_login(sasl, "bob", "pw") == 0
        assert scram_login(sasl, "bob", "wrong") == 58
        assert scram_login(sasl, "alice", "s3cret", "SCRAM-SHA-512") == 0
    stored = (tmp_path / "meta" / FILE_NAME).read_text()
    assert "s3cret" not in stored and '"pw"' not in stored
    assert json.loads(stored)["bob"]["SCRAM-SHA-256"]["iterations"] == 8192
    with run_in_thread(**config) as broker:
        sasl = broker.listener_addresses["SASL_PLAINTEXT"]
        assert scram_login(sasl, "bob", "pw") == 0
        with Wire(broker.listener_addresses["PLAINTEXT"]) as wire:
            described = wire.request(DescribeUserScramCredentialsRequest(users=None), 0)
        assert {r.user: [(c.mechanism, c.iterations) for c in r.credential_infos] for r in described.results} == {
            "alice": [(1, 4096), (2, 4096)], "bob": [(1, 8192)],
        }


def test_scram_iterations_follow_the_config() -> None:
    with run_in_thread(listeners="PLAINTEXT://127.0.0.1:0", users={"alice": "x"}, scram_iterations=5000,
                       sasl_mechanisms=["SCRAM-SHA-512"]) as broker:
        with Wire(broker.bootstrap_servers) as wire:
            described = wire.request(DescribeUserScramCredentialsRequest(users=[]), 0)
        assert [(r.user, [(c.mechanism, c.iterations) for c in r.credential_infos]) for r in described.results] == [
            ("alice", [(2, 5000)])
        ]


def test_the_fixed_run_in_thread_call_of_a_sasl_broker() -> None:
    with run_in_thread(
        listeners="SASL_PLAINTEXT://127.0.0.1:0", sasl_mechanisms=["PLAIN", "SCRAM-SHA-256"],
        users={"alice": "s3cret"}, super_users=["alice"], acls=True,
    ) as broker:
        assert broker.bootstrap_servers == broker.listener_addresses["SASL_PLAINTEXT"]
        assert broker.config.super_users == ("User:alice",) and broker.config.acls
        assert scram_login(broker.bootstrap_servers, "alice", "s3cret") == 0


@pytest.mark.kafkalite(listeners="PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", users={"carol": "pw"})
def test_the_fixture_takes_listeners_and_users_from_the_marker(kafkalite_broker) -> None:
    assert list(kafkalite_broker.listener_addresses) == ["PLAINTEXT", "SASL_PLAINTEXT"]
    assert scram_login(kafkalite_broker.listener_addresses["SASL_PLAINTEXT"], "carol", "pw", "SCRAM-SHA-512") == 0
