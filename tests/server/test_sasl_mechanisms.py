"""The SASL mechanisms' server sides: SCRAM against RFC 7677's example, PLAIN parsing, and
unsecured JWTs as Kafka's default OAUTHBEARER validator checks them."""

from __future__ import annotations

import base64
import json

import pytest

from kafkalite.broker.credentials import CredentialStore, ScramCredential
from kafkalite.storage import KafkaStorageError, LogStore
from kafkalite.storage.files import OsFiles
from kafkalite.server.sasl import AuthenticationFailed, create_server
from kafkalite.server.sasl.oauthbearer import InvalidToken, OAuthBearerServer, parse_client_message, validate_unsecured_jwt
from kafkalite.server.sasl.plain import PlainServer, parse_plain
from kafkalite.server.sasl.scram import ScramServer, parse_client_first

from tests.server.scram_client import ScramClient

# RFC 7677 section 3: user "user", password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"


def test_scram_sha_256_reproduces_the_rfc_7677_exchange() -> None:
    store = CredentialStore()
    store.apply({("user", "SCRAM-SHA-256"): ScramCredential.from_password("SCRAM-SHA-256", "pencil", 4096, RFC_SALT)})
    server = ScramServer("SCRAM-SHA-256", store, nonce=RFC_SERVER_NONCE)
    server_first = server.evaluate(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert server_first == b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    assert not server.complete
    server_final = server.evaluate(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert server_final == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert (server.complete, server.user) == (True, "user")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_round_trip_and_wrong_password(mechanism: str) -> None:
    store = CredentialStore()
    store.apply({("alice", mechanism): ScramCredential.from_password(mechanism, "s3cret")})
    client = ScramClient(mechanism, "alice", "s3cret")
    server = ScramServer(mechanism, store)
    final = server.evaluate(client.final(server.evaluate(client.first())))
    assert final == client.expected_server_final and server.user == "alice"

    wrong = ScramClient(mechanism, "alice", "nope")
    server = ScramServer(mechanism, store)
    last = wrong.final(server.evaluate(wrong.first()))
    with pytest.raises(AuthenticationFailed) as failed:
        server.evaluate(last)
    assert failed.value.client_message is None  # the client is told only the generic sentence


def test_scram_refuses_unknown_users_tampered_nonces_and_tokens() -> None:
    store = CredentialStore()
    store.apply({("alice", "SCRAM-SHA-512"): ScramCredential.from_password("SCRAM-SHA-512", "pw")})
    with pytest.raises(AuthenticationFailed):
        ScramServer("SCRAM-SHA-512", store).evaluate(b"n,,n=bob,r=abc")
    with pytest.raises(AuthenticationFailed):
        ScramServer("SCRAM-SHA-512", store).evaluate(b"n,,n=alice,r=abc,tokenauth=true")
    server = ScramServer("SCRAM-SHA-512", store)
    client = ScramClient("SCRAM-SHA-512", "alice", "pw")
    final = client.final(server.evaluate(client.first())).replace(b"r=", b"r=x", 1)
    with pytest.raises(AuthenticationFailed, match="nonce"):
        server.evaluate(final)


def test_scram_client_first_parsing() -> None:
    assert parse_client_first("n,,n=a=2Cb=3Dc,r=xyz") == ("n,,", "", "a,b=c", "xyz", {})
    assert parse_client_first("n,a=bob,n=bob,r=1")[:3] == ("n,a=bob,", "bob", "bob")
    for bad in ("p=tls,,n=a,r=1", "n,,r=1", "n,,n=a", "n,,n=a=2X,r=1", "garbage"):
        with pytest.raises(AuthenticationFailed):
            parse_client_first(bad)


def test_scram_credentials_keep_no_password_and_survive_a_restart(tmp_path) -> None:
    (tmp_path / "meta").mkdir()  # a broker's data dir has it

    def reopened() -> CredentialStore:
        logs = LogStore.open(tmp_path)
        try:
            return CredentialStore.open(logs)
        finally:
            logs.close()

    credential = ScramCredential.from_password("SCRAM-SHA-256", "pencil", 4096, RFC_SALT)
    reopened().apply({("user", "SCRAM-SHA-256"): credential})
    assert b"pencil" not in (tmp_path / "meta" / "scram-credentials.json").read_bytes()
    again = reopened()
    assert again.get("user", "SCRAM-SHA-256") == credential
    again.apply({}, [("user", "SCRAM-SHA-256")])
    assert reopened().users() == {}


class _FailingFiles(OsFiles):
    def write_atomic(self, path, data, *, durable=True):
        raise OSError(28, "No space left on device")


def test_a_failed_save_changes_nothing(tmp_path) -> None:
    store = CredentialStore(_FailingFiles(), tmp_path / "scram-credentials.json")
    with pytest.raises(KafkaStorageError, match="No space left"):
        store.apply({("user", "SCRAM-SHA-256"): ScramCredential.from_password("SCRAM-SHA-256", "pw")})
    assert store.users() == {}


def test_plain_parsing_and_checks() -> None:
    assert parse_plain(b"\x00alice\x00s3cret") == ("", "alice", "s3cret")
    assert parse_plain(b"alice\x00alice\x00s3cret") == ("alice", "alice", "s3cret")
    with pytest.raises(AuthenticationFailed, match="expected 3 tokens, got 2"):
        parse_plain(b"alice\x00s3cret")
    users = {"alice": "s3cret"}
    server = PlainServer(users)
    assert server.evaluate(b"\x00alice\x00s3cret") == b"" and server.user == "alice" and server.complete
    cases = {
        b"\x00alice\x00wrong": "Authentication failed: Invalid username or password",
        b"\x00bob\x00s3cret": "Authentication failed: Invalid username or password",
        b"\x00\x00s3cret": "Authentication failed: username not specified",
        b"\x00alice\x00": "Authentication failed: password not specified",
        b"bob\x00alice\x00s3cret": "Authentication failed: Client requested an authorization id that is different from username",
    }
    for token, message in cases.items():
        with pytest.raises(AuthenticationFailed) as failed:
            PlainServer(users).evaluate(token)
        assert failed.value.client_message == message


def _jwt(header: dict, claims: dict, signature: str = "") -> str:
    def enc(part: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{enc(header)}.{enc(claims)}.{signature}"


NOW_MS = 1_700_000_000_000


def test_unsecured_jwt_validation() -> None:
    good = _jwt({"alg": "none"}, {"sub": "alice", "iat": NOW_MS / 1000, "exp": NOW_MS / 1000 + 3600})
    assert validate_unsecured_jwt(good, NOW_MS) == ("alice", NOW_MS + 3_600_000)
    bad = {
        "alg": _jwt({"alg": "HS256"}, {"sub": "a", "exp": 2e9}),
        "sub": _jwt({"alg": "none"}, {"exp": 2e9}),
        "exp claim": _jwt({"alg": "none"}, {"sub": "a"}),
        "expired": _jwt({"alg": "none"}, {"sub": "a", "exp": NOW_MS / 1000 - 1}),
        "iat": _jwt({"alg": "none"}, {"sub": "a", "exp": 2e9, "iat": "yesterday"}),
        "empty signature": _jwt({"alg": "none"}, {"sub": "a", "exp": 2e9}, "sig"),
        "three dot-separated": "abc.def",
    }
    for reason, token in bad.items():
        with pytest.raises(InvalidToken, match=reason):
            validate_unsecured_jwt(token, NOW_MS)


def test_oauthbearer_client_message() -> None:
    assert parse_client_message("n,,\x01auth=Bearer abc.def.\x01k=v\x01\x01") == ("", "abc.def.", {"k": "v"})
    assert parse_client_message("n,a=alice,\x01auth=Bearer t\x01\x01")[0] == "alice"
    for bad in ("n,,auth=Bearer t", "n,,\x01auth=Basic t\x01\x01", "n,,\x01auth=Bearer t\x01"):
        with pytest.raises(InvalidToken):
            parse_client_message(bad)


def test_oauthbearer_exchange_and_its_error_round() -> None:
    token = _jwt({"alg": "none"}, {"sub": "alice", "exp": NOW_MS / 1000 + 60})
    server = OAuthBearerServer(lambda: NOW_MS)
    assert server.evaluate(f"n,,\x01auth=Bearer {token}\x01\x01".encode()) == b""
    assert (server.user, server.token_lifetime_ms) == ("alice", 60_000)
    # A refused token: an error JSON first, then the failure once the client acknowledges.
    server = OAuthBearerServer(lambda: NOW_MS + 61_000)
    assert server.evaluate(f"n,,\x01auth=Bearer {token}\x01\x01".encode()) == b'{"status":"invalid_token"}'
    with pytest.raises(AuthenticationFailed) as failed:
        server.evaluate(b"\x01")
    assert failed.value.client_message == '{"status":"invalid_token"}'


def test_create_server_picks_the_mechanism() -> None:
    kinds = {m: type(create_server(m, passwords={}, credentials=CredentialStore(), now_ms=lambda: 0)).__name__
             for m in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")}
    assert kinds == {"PLAIN": "PlainServer", "SCRAM-SHA-256": "ScramServer", "SCRAM-SHA-512": "ScramServer", "OAUTHBEARER": "OAuthBearerServer"}
