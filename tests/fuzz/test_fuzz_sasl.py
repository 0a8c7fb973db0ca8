"""Fuzzing the SASL exchange on a SASL_PLAINTEXT listener: handshakes with odd mechanisms,
SaslAuthenticate with random or damaged PLAIN / SCRAM / OAUTHBEARER messages at every
version, raw tokens after a v0 handshake, and requests sent before authenticating. The
broker answers or closes (with a logged reason) each, keeps answering another connection,
logs no internal error, and a correct login still works afterwards."""

from __future__ import annotations

import base64
import json
import os
import random

import kafkalite
from kafkalite.wire.messages.metadata import MetadataRequest
from kafkalite.wire.messages.sasl_authenticate import SaslAuthenticateRequest
from kafkalite.wire.messages.sasl_handshake import SaslHandshakeRequest

from tests.fuzz.grammar import mutate
from tests.fuzz.harness import Campaign, LogCollector
from tests.fuzz.wire import connect, decode_response, frame, read_frame, request_body

SEED = int(os.environ.get("KAFKALITE_FUZZ_SEED", "0"))
CASES = 300
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI", "", "plain", "X" * 300]


def _jwt(rng: random.Random) -> bytes:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = rng.choice([{"sub": "alice", "exp": 2**40}, {"sub": None}, {}, {"exp": "soon"}, [1]])
    token = f"{part({'alg': 'none'})}.{part(claims)}."
    return f"n,,\x01auth=Bearer {token}\x01\x01".encode()


def auth_bytes(rng: random.Random) -> bytes:
    valid = rng.choice([
        b"\0alice\0s3cret", b"\0alice\0wrong", b"alice\0alice\0s3cret",
        b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", b"n,,n=al=2Cice,r=x", b"p=tls-unique,,n=alice,r=x",
        _jwt(rng),
    ])
    roll = rng.random()
    if roll < 0.4:
        return valid
    if roll < 0.8:
        return mutate(rng, valid) if valid else valid
    return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 16, 300])))


def sasl_case(rng: random.Random) -> list[bytes]:
    """The request frames (bodies) of one case, sent back to back on one connection."""
    correlation = iter(range(1, 100))
    handshake_version = rng.choice([0, 1])
    mechanism = rng.choice(MECHANISMS)
    bodies = [request_body(SaslHandshakeRequest(mechanism=mechanism), handshake_version, next(correlation))]
    for _ in range(rng.randint(0, 3)):
        roll = rng.random()
        if handshake_version == 0 and roll < 0.5:
            bodies.append(auth_bytes(rng))  # a raw token: what a v0 handshake announces
        elif roll < 0.85:
            version = rng.randint(0, 2)
            bodies.append(request_body(SaslAuthenticateRequest(auth_bytes=auth_bytes(rng)), version, next(correlation)))
        else:
            bodies.append(request_body(MetadataRequest(topics=None), 9, next(correlation)))  # not yet allowed
    if rng.random() < 0.2:
        bodies[0] = request_body(MetadataRequest(topics=None), 9, 1)  # no handshake at all
    if rng.random() < 0.2:
        at = rng.randrange(len(bodies))
        bodies[at] = mutate(rng, bodies[at])
    return bodies


def test_fuzz_sasl_exchange() -> None:
    with LogCollector() as logs, kafkalite.run_in_thread(
        listeners="SASL_PLAINTEXT://127.0.0.1:0", users={"alice": "s3cret"},
        sasl_mechanisms=["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"],
    ) as broker:
        campaign = Campaign(broker.bootstrap_servers, logs)  # the canary: ApiVersions, allowed before login
        try:
            for case in range(CASES):
                seed = f"{SEED}:sasl:{case}"
                bodies = sasl_case(random.Random(seed))
                campaign.send(bodies[0], f"SASL case seed {seed}", raw=b"".join(frame(b) for b in bodies),
                              frames=len(bodies))
        finally:
            campaign.close()
        assert campaign.failures == []
        assert not logs.internal_errors(), [r.getMessage() for r in logs.internal_errors()]
        assert campaign.outcomes["closed"] > 0 and campaign.outcomes["answered"] > 0
        with connect(broker.bootstrap_servers) as sock:  # a correct login still works
            sock.sendall(frame(request_body(SaslHandshakeRequest(mechanism="PLAIN"), 1, 1)))
            assert decode_response(read_frame(sock), SaslHandshakeRequest, 1, 1).error_code == 0
            sock.sendall(frame(request_body(SaslAuthenticateRequest(auth_bytes=b"\0alice\0s3cret"), 2, 2)))
            assert decode_response(read_frame(sock), SaslAuthenticateRequest, 2, 2).error_code == 0
            sock.sendall(frame(request_body(MetadataRequest(topics=None), 9, 3)))
            assert decode_response(read_frame(sock), MetadataRequest, 9, 3).brokers
