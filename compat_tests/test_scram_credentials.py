"""SCRAM users managed at run time (KIP-554): confluent-kafka's AdminClient adds a user, the
user logs in over SASL_SSL with SCRAM-SHA-512, Describe shows the mechanism and iterations,
a deletion locks the user out; Kafka's per-user errors checked with raw requests (no
installed kafka-python sends these APIs). Also the SASL gate on the wire: before
authentication a request other than ApiVersions / SaslHandshake closes the connection."""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from kafkalite.wire.messages.alter_user_scram_credentials import (
    AlterUserScramCredentialsRequest,
    ScramCredentialDeletion,
    ScramCredentialUpsertion,
)
from kafkalite.wire.messages.describe_user_scram_credentials import DescribeUserScramCredentialsRequest, UserName
from kafkalite.wire.messages.metadata import MetadataRequest
from kafkalite.wire.messages.sasl_handshake import SaslHandshakeRequest

from .conftest import eventually
from .security import SecureBroker, secure  # noqa: F401  (the fixture)
from .wire_client import WireClient, WireError


def _login_error(secure: SecureBroker, user: str, password: str) -> KafkaError | None:
    """None when *user* can produce over SASL_SSL with SCRAM-SHA-512, else the auth error."""
    errors: list[KafkaError] = []
    producer = Producer(secure.confluent("SASL_SSL", "SCRAM-SHA-512", user=user, password=password, error_cb=errors.append))
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            producer.poll(0.1)  # serves error_cb
            if errors:
                return errors[0]
            try:
                producer.list_topics(timeout=0.5)
                return None
            except KafkaException:
                pass
        return KafkaError(KafkaError._TIMED_OUT)
    finally:
        producer.purge()
        producer.flush(0)


def test_admin_client_adds_describes_and_deletes_a_scram_user(secure: SecureBroker) -> None:
    user = f"u{uuid.uuid4().hex[:8]}"
    admin = AdminClient(secure.confluent("SASL_SSL", "SCRAM-SHA-512", user="admin"))
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), b"pw-" + user.encode())
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(timeout=15)

    def described() -> None:
        description = admin.describe_user_scram_credentials([user])[user].result(timeout=15)
        assert [(i.mechanism, i.iterations) for i in description.scram_credential_infos] == [
            (ScramMechanism.SCRAM_SHA_512, 8192)
        ]

    eventually(described)
    eventually(lambda: _check(_login_error(secure, user, "pw-" + user) is None))
    error = _login_error(secure, user, "wrong")
    assert error is not None and error.code() == KafkaError._AUTHENTICATION
    deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
    for future in admin.alter_user_scram_credentials([deletion]).values():
        future.result(timeout=15)
    eventually(lambda: _check(_login_error(secure, user, "pw-" + user) is not None))


def _check(condition: bool) -> None:
    assert condition


def test_per_user_errors_of_alter_and_describe(bootstrap: str) -> None:
    user = f"w{uuid.uuid4().hex[:8]}"
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 4096)
    with WireClient(bootstrap) as client:
        answer = client.request(AlterUserScramCredentialsRequest(
            deletions=[ScramCredentialDeletion(name=f"{user}-missing", mechanism=1)],
            upsertions=[
                ScramCredentialUpsertion(name=user, mechanism=1, iterations=4096, salt=salt, salted_password=salted),
                ScramCredentialUpsertion(name=f"{user}-few", mechanism=1, iterations=100, salt=salt, salted_password=salted),
                ScramCredentialUpsertion(name=f"{user}-many", mechanism=2, iterations=20000, salt=salt, salted_password=salted),
                ScramCredentialUpsertion(name=f"{user}-mech", mechanism=9, iterations=4096, salt=salt, salted_password=salted),
                ScramCredentialUpsertion(name="", mechanism=1, iterations=4096, salt=salt, salted_password=salted),
            ],
        ), 0)
        assert {r.user: (r.error_code, r.error_message) for r in answer.results} == {
            user: (0, None),
            f"{user}-missing": (91, "Attempt to delete a user credential that does not exist"),
            f"{user}-few": (93, "Too few iterations"),
            f"{user}-many": (93, "Too many iterations"),
            f"{user}-mech": (33, "Unknown SCRAM mechanism"),
            "": (93, "Username must not be empty"),
        }
        twice = client.request(AlterUserScramCredentialsRequest(
            deletions=[ScramCredentialDeletion(name=user, mechanism=1)],
            upsertions=[ScramCredentialUpsertion(name=user, mechanism=2, iterations=4096, salt=salt, salted_password=salted)],
        ), 0)
        assert [(r.user, r.error_code, r.error_message) for r in twice.results] == [
            (user, 92, "A user credential cannot be altered twice in the same request")
        ]

        def described() -> None:
            answer = client.request(DescribeUserScramCredentialsRequest(
                users=[UserName(name=user), UserName(name=f"{user}-none"), UserName(name=f"{user}-2"), UserName(name=f"{user}-2")]
            ), 0)
            results = {r.user: r for r in answer.results}
            assert answer.error_code == 0 and len(answer.results) == 3
            assert [(c.mechanism, c.iterations) for c in results[user].credential_infos] == [(1, 4096)]
            assert (results[f"{user}-none"].error_code, results[f"{user}-none"].error_message) == (
                91, f"Attempt to describe a user credential that does not exist: {user}-none"
            )
            assert (results[f"{user}-2"].error_code, results[f"{user}-2"].error_message) == (
                92, f"Cannot describe SCRAM credentials for the same user twice in a single request: {user}-2"
            )

        eventually(described)
        every = client.request(DescribeUserScramCredentialsRequest(users=None), 0)
        assert user in {r.user for r in every.results}
        gone = client.request(AlterUserScramCredentialsRequest(
            deletions=[ScramCredentialDeletion(name=user, mechanism=1)], upsertions=[]
        ), 0)
        assert [(r.user, r.error_code) for r in gone.results] == [(user, 0)]


def test_sasl_listener_closes_on_a_request_before_authentication(secure: SecureBroker) -> None:
    with WireClient(secure.addresses["SASL_PLAINTEXT"], timeout=10) as client:
        with pytest.raises((WireError, OSError)):
            client.request(MetadataRequest(topics=[]), 12)
    with WireClient(secure.addresses["SASL_PLAINTEXT"], timeout=10) as client:
        answer = client.request(SaslHandshakeRequest(mechanism="GSSAPI"), 1)
        assert answer.error_code == 33  # UNSUPPORTED_SASL_MECHANISM
        assert set(answer.mechanisms) == {"PLAIN", "SCRAM-SHA-512", "OAUTHBEARER"}
        with pytest.raises((WireError, OSError)):  # and the connection is closed
            client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1)
