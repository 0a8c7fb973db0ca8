"""The SASL gate of a connection on a SASL listener, over in-memory streams: what is answered
before authentication, the handshake and authenticate answers, closing after a failure, the
v0 handshake's raw tokens, the principal requests carry, and KIP-368 session lifetimes."""

from __future__ import annotations

import struct
from typing import Any, AsyncIterator, Callable

import pytest
import trio
import trio.testing

from kafkalite.broker.registry import RequestContext
from kafkalite.broker.state import Broker
from kafkalite.server import dispatch as dispatch_module
from kafkalite.server.connection import handle_connection
from kafkalite.server.session import Security, Session
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.metadata import MetadataRequest
from kafkalite.wire.messages.sasl_authenticate import SaslAuthenticateRequest
from kafkalite.wire.messages.sasl_handshake import SaslHandshakeRequest

from tests.broker.conftest import Client, make_broker
from tests.server.scram_client import ScramClient


def sasl_broker(**overrides: Any) -> Broker:
    return make_broker(listeners="SASL_PLAINTEXT://127.0.0.1:0", users={"alice": "s3cret"}, **overrides)


@pytest.fixture
def broker() -> Broker:
    return sasl_broker()


@pytest.fixture
def principals() -> AsyncIterator[list[tuple[str, str, str]]]:
    seen: list[tuple[str, str, str]] = []

    def observe(ctx: RequestContext, _request: Any) -> None:
        seen.append((ctx.principal, ctx.listener, ctx.security_protocol))

    dispatch_module.REQUEST_OBSERVERS.append(observe)
    yield seen
    dispatch_module.REQUEST_OBSERVERS.remove(observe)


@pytest.fixture
async def connect(broker: Broker, nursery: trio.Nursery) -> AsyncIterator[Callable[[], Client]]:
    security = Security.for_broker(broker)
    opened = []

    def open_client() -> Client:
        ours, theirs = trio.testing.memory_stream_pair()
        session = Session(security, broker.config.listener_list[0], 0, "test-peer")
        nursery.start_soon(handle_connection, broker, theirs, 0, session)
        opened.append(ours)
        return Client(ours)

    yield open_client
    for stream in opened:
        await stream.aclose()


async def closed(client: Client) -> bool:
    with trio.fail_after(2):
        return await client.receive_frame() is None


async def plain_login(client: Client, password: str = "s3cret", version: int = 2) -> Any:
    handshake = await client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1)
    assert handshake.error_code == 0
    return await client.request(SaslAuthenticateRequest(auth_bytes=f"\x00alice\x00{password}".encode()), version)


async def test_before_authentication_only_api_versions_and_the_handshake_are_answered(connect) -> None:
    client = connect()
    versions = await client.request(ApiVersionsRequest(), 2)
    assert versions.error_code == 0 and {k.api_key for k in versions.api_keys} >= {17, 36}
    await client.send_raw(client.encode_request(MetadataRequest(topics=None), 12))
    assert await closed(client)


async def test_sasl_authenticate_before_the_handshake_closes(connect) -> None:
    client = connect()
    await client.send_raw(client.encode_request(SaslAuthenticateRequest(auth_bytes=b"x"), 2))
    assert await closed(client)


async def test_plain_login_then_requests_carry_the_principal(connect, principals) -> None:
    client = connect()
    handshake = await client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1)
    assert (handshake.error_code, handshake.mechanisms) == (0, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])
    # After the handshake only SaslAuthenticate: ApiVersions now closes.
    answer = await client.request(SaslAuthenticateRequest(auth_bytes=b"\x00alice\x00s3cret"), 2)
    assert (answer.error_code, answer.error_message, answer.auth_bytes, answer.session_lifetime_ms) == (0, None, b"", 0)
    metadata = await client.request(MetadataRequest(topics=None), 12)
    assert metadata.brokers[0].port == 9092
    assert principals[-1] == ("User:alice", "SASL_PLAINTEXT", "SASL_PLAINTEXT")
    assert principals[0] == ("User:ANONYMOUS", "SASL_PLAINTEXT", "SASL_PLAINTEXT")


async def test_a_request_other_than_authenticate_after_the_handshake_closes(connect) -> None:
    client = connect()
    await client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1)
    await client.send_raw(client.encode_request(ApiVersionsRequest(), 2))
    assert await closed(client)


async def test_wrong_password_answers_kafkas_message_then_closes(connect) -> None:
    client = connect()
    answer = await plain_login(client, "wrong")
    assert answer.error_code == ErrorCode.SASL_AUTHENTICATION_FAILED
    assert answer.error_message == "Authentication failed: Invalid username or password"
    assert await closed(client)


async def test_scram_failure_tells_only_the_generic_sentence(connect) -> None:
    client = connect()
    await client.request(SaslHandshakeRequest(mechanism="SCRAM-SHA-512"), 1)
    scram = ScramClient("SCRAM-SHA-512", "alice", "wrong")
    first = await client.request(SaslAuthenticateRequest(auth_bytes=scram.first()), 2)
    assert first.error_code == 0
    final = await client.request(SaslAuthenticateRequest(auth_bytes=scram.final(first.auth_bytes)), 2)
    assert final.error_code == ErrorCode.SASL_AUTHENTICATION_FAILED
    assert final.error_message == (
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
    )
    assert await closed(client)


async def test_scram_login_succeeds(connect, principals) -> None:
    client = connect()
    await client.request(SaslHandshakeRequest(mechanism="SCRAM-SHA-256"), 1)
    scram = ScramClient("SCRAM-SHA-256", "alice", "s3cret")
    first = await client.request(SaslAuthenticateRequest(auth_bytes=scram.first()), 1)
    final = await client.request(SaslAuthenticateRequest(auth_bytes=scram.final(first.auth_bytes)), 1)
    assert (final.error_code, final.auth_bytes) == (0, scram.expected_server_final)
    await client.request(MetadataRequest(topics=None), 12)
    assert principals[-1][0] == "User:alice"


async def test_unsupported_mechanism_lists_the_enabled_ones_then_closes(connect) -> None:
    client = connect()
    handshake = await client.request(SaslHandshakeRequest(mechanism="GSSAPI"), 1)
    assert handshake.error_code == ErrorCode.UNSUPPORTED_SASL_MECHANISM
    assert handshake.mechanisms == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
    assert await closed(client)


async def test_v0_handshake_takes_raw_tokens(connect, principals) -> None:
    client = connect()
    handshake = await client.request(SaslHandshakeRequest(mechanism="PLAIN"), 0)
    assert handshake.error_code == 0
    await client.send_raw(b"\x00alice\x00s3cret")  # a raw size-prefixed token, no Kafka header
    assert await client.receive_frame() == b""  # PLAIN's empty answer, size-prefixed
    await client.request(MetadataRequest(topics=None), 12)
    assert principals[-1][0] == "User:alice"


async def test_v0_raw_token_failure_closes_without_an_answer(connect) -> None:
    client = connect()
    await client.request(SaslHandshakeRequest(mechanism="PLAIN"), 0)
    await client.send_raw(b"\x00alice\x00wrong")
    assert await closed(client)


async def test_second_handshake_without_reauthentication_is_illegal(connect) -> None:
    client = connect()
    await plain_login(client)
    again = await client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1)
    assert again.error_code == ErrorCode.ILLEGAL_SASL_STATE
    late = await client.request(SaslAuthenticateRequest(auth_bytes=b"x"), 2)
    assert late.error_code == ErrorCode.ILLEGAL_SASL_STATE


async def test_plaintext_connections_answer_sasl_requests_illegal_state(nursery) -> None:
    broker = make_broker()
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    client = Client(ours)
    assert (await client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1)).error_code == ErrorCode.ILLEGAL_SASL_STATE
    assert (await client.request(SaslAuthenticateRequest(auth_bytes=b""), 2)).error_code == ErrorCode.ILLEGAL_SASL_STATE
    assert (await client.request(MetadataRequest(topics=None), 12)).brokers  # and it goes on
    await ours.aclose()


@pytest.mark.parametrize("broker", [sasl_broker(connections_max_reauth_ms=5_000)], indirect=False)
async def test_session_lifetime_reauthentication_and_expiry(broker: Broker, connect, principals) -> None:
    client = connect()
    login = await plain_login(client)
    assert login.session_lifetime_ms == 5_000
    assert (await plain_login(client, version=1)).session_lifetime_ms == 5_000  # re-authenticated
    broker.clock.advance(4)  # within the renewed session
    await client.request(MetadataRequest(topics=None), 12)
    broker.clock.advance(2)  # past it
    await client.send_raw(client.encode_request(MetadataRequest(topics=None), 12))
    assert await closed(client)


@pytest.mark.parametrize("broker", [sasl_broker(connections_max_reauth_ms=5_000)], indirect=False)
async def test_reauthentication_may_not_change_the_mechanism(broker: Broker, connect) -> None:
    client = connect()
    await plain_login(client)
    answer = await client.request(SaslHandshakeRequest(mechanism="SCRAM-SHA-256"), 1)
    assert answer.error_code == ErrorCode.ILLEGAL_SASL_STATE
    assert await closed(client)
