"""KIP-368 with real clients: with connections.max.reauth.ms the broker tells each SASL
session its lifetime, librdkafka re-authenticates on the same connection before it ends and
keeps producing; a connection that lets its session expire is closed at its next request,
and OAUTHBEARER tokens expire on the broker clock."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import KafkaError, Producer

from kafkalite import run_in_thread

from .security import unsecured_jwt
from .wire_client import WireClient, WireError

pytestmark = pytest.mark.kafkalite_only(
    reason="needs connections.max.reauth.ms on a SASL listener and the broker clock; the reference's SASL "
    "listeners have no re-authentication limit (it is broker-wide and would make every SASL test re-authenticate)"
)


def test_librdkafka_reauthenticates_on_the_same_connection_and_keeps_producing() -> None:
    with run_in_thread(listeners="SASL_PLAINTEXT://127.0.0.1:0", users={"alice": "s3cret"}, connections_max_reauth_ms=600) as broker:
        topic = f"reauth-{uuid.uuid4().hex[:8]}"
        producer = Producer({
            "bootstrap.servers": broker.bootstrap_servers, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "alice", "sasl.password": "s3cret",
        })
        errors: list[KafkaError] = []
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            producer.produce(topic, b"v", on_delivery=lambda err, _msg: err and errors.append(err))
            assert producer.flush(5) == 0
            time.sleep(0.1)
        assert errors == []
        logins = broker.journal.query(api="SaslAuthenticate")
        final_steps = [e for e in logins if e["response"]["session_lifetime_ms"] == 600]
        by_peer: dict[str, int] = {}
        for entry in final_steps:
            by_peer[entry["peer"]] = by_peer.get(entry["peer"], 0) + 1
        assert max(by_peer.values()) >= 3, by_peer  # one connection authenticated again and again


def test_an_expired_session_is_closed_at_its_next_request() -> None:
    from kafkalite.wire.messages.metadata import MetadataRequest
    from kafkalite.wire.messages.sasl_authenticate import SaslAuthenticateRequest
    from kafkalite.wire.messages.sasl_handshake import SaslHandshakeRequest

    with run_in_thread(listeners="SASL_PLAINTEXT://127.0.0.1:0", users={"alice": "s3cret"}, connections_max_reauth_ms=60_000) as broker:
        with WireClient(broker.bootstrap_servers, timeout=10) as client:
            assert client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1).error_code == 0
            login = client.request(SaslAuthenticateRequest(auth_bytes=b"\x00alice\x00s3cret"), 2)
            assert (login.error_code, login.session_lifetime_ms) == (0, 60_000)
            assert client.request(MetadataRequest(topics=[]), 12).brokers
            broker.clock.advance(61)
            with pytest.raises((WireError, OSError)):
                client.request(MetadataRequest(topics=[]), 12)


def test_an_oauthbearer_session_lasts_as_long_as_its_token_on_the_broker_clock() -> None:
    from kafkalite.wire.messages.sasl_authenticate import SaslAuthenticateRequest
    from kafkalite.wire.messages.sasl_handshake import SaslHandshakeRequest

    with run_in_thread(listeners="SASL_PLAINTEXT://127.0.0.1:0", sasl_mechanisms=["OAUTHBEARER"]) as broker:
        token = unsecured_jwt("alice", lifetime_s=300)
        with WireClient(broker.bootstrap_servers, timeout=10) as client:
            assert client.request(SaslHandshakeRequest(mechanism="OAUTHBEARER"), 1).error_code == 0
            login = client.request(SaslAuthenticateRequest(auth_bytes=f"n,,\x01auth=Bearer {token}\x01\x01".encode()), 2)
            assert login.error_code == 0 and 290_000 < login.session_lifetime_ms <= 300_000
        broker.clock.advance(301)  # the same token is now expired on the broker clock
        with WireClient(broker.bootstrap_servers, timeout=10) as client:
            client.request(SaslHandshakeRequest(mechanism="OAUTHBEARER"), 1)
            refused = client.request(SaslAuthenticateRequest(auth_bytes=f"n,,\x01auth=Bearer {token}\x01\x01".encode()), 2)
            assert (refused.error_code, refused.auth_bytes) == (0, b'{"status":"invalid_token"}')
            failed = client.request(SaslAuthenticateRequest(auth_bytes=b"\x01"), 2)
            assert (failed.error_code, failed.error_message) == (58, '{"status":"invalid_token"}')
