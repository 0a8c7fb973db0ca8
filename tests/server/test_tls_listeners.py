"""Real sockets: several listeners per broker, Metadata answering with the listener the client
came in on, TLS with and without client certificates, the certificate's principal, and a
failed TLS handshake ending only its own connection."""

from __future__ import annotations

import socket
import ssl
import struct
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("cryptography")

from kafkalite.broker.registry import RequestContext
from kafkalite.server import dispatch as dispatch_module
from kafkalite.server.tls import principal_of, subject_dn
from kafkalite.testing.certs import CLIENT_SUBJECT, CertFiles, test_certs, tls_config
from kafkalite.testing.thread import run_in_thread
from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataResponse
from kafkalite.wire.schema import decode, encode_into


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return test_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def principals() -> Iterator[list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []

    def observe(ctx: RequestContext, _request: Any) -> None:
        seen.append((ctx.principal, ctx.listener))

    dispatch_module.REQUEST_OBSERVERS.append(observe)
    yield seen
    dispatch_module.REQUEST_OBSERVERS.remove(observe)


def metadata(sock: socket.socket) -> MetadataResponse:
    out = bytearray()
    write_request_header(out, RequestHeader(3, 12, 7, "t"), True)
    encode_into(out, MetadataRequest(topics=[]), 12)
    sock.sendall(struct.pack(">i", len(out)) + out)
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
        chunk = sock.recv(65536)
        assert chunk, "closed"
        data += chunk
    frame = data[4:]
    corr, pos = read_response_header(frame, True)
    assert corr == 7
    return decode(MetadataResponse, 12, frame, pos)[0]


def address(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


def client_context(certs: CertFiles, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs.ca))
    if with_cert:
        context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    return context


def test_metadata_answers_with_the_listener_the_client_came_in_on(certs: CertFiles, principals) -> None:
    listeners = "PLAINTEXT://127.0.0.1:0,SSL://localhost:0"
    with run_in_thread(listeners=listeners, brokers=2, **tls_config(certs)) as broker:
        by_name = broker.listener_addresses
        assert list(by_name) == ["PLAINTEXT", "SSL"]
        assert broker.bootstrap_servers == by_name["PLAINTEXT"]
        plain_ports = [address(a)[1] for a in by_name["PLAINTEXT"].split(",")]
        ssl_ports = [address(a)[1] for a in by_name["SSL"].split(",")]
        with socket.create_connection(address(by_name["PLAINTEXT"].split(",")[0])) as sock:
            answer = metadata(sock)
        assert [(b.node_id, b.host, b.port) for b in answer.brokers] == [
            (0, "127.0.0.1", plain_ports[0]), (1, "127.0.0.1", plain_ports[1])
        ]
        context = client_context(certs, with_cert=True)
        with socket.create_connection(address(by_name["SSL"].split(",")[1])) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as sock:
                answer = metadata(sock)
        assert [(b.node_id, b.host, b.port) for b in answer.brokers] == [
            (0, "localhost", ssl_ports[0]), (1, "localhost", ssl_ports[1])
        ]
    assert principals == [("User:ANONYMOUS", "PLAINTEXT"), (f"User:{CLIENT_SUBJECT}", "SSL")]


def test_advertised_listeners_are_what_metadata_tells(certs: CertFiles) -> None:
    with run_in_thread(
        listeners="PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        advertised_listeners="SSL://broker.example:19093",
        **tls_config(certs),
    ) as broker:
        with socket.create_connection(address(broker.listener_addresses["SSL"])) as raw:
            with client_context(certs, False).wrap_socket(raw, server_hostname="localhost") as sock:
                assert [(b.host, b.port) for b in metadata(sock).brokers] == [("broker.example", 19093)]


def test_required_client_auth_refuses_a_client_without_certificate_and_serves_the_next(certs: CertFiles, principals) -> None:
    with run_in_thread(listeners="SSL://127.0.0.1:0", **tls_config(certs, "required")) as broker:
        target = address(broker.bootstrap_servers)
        with socket.create_connection(target) as raw:
            # TLS 1.3: the refusal arrives as an alert or end-of-stream at the first read.
            with pytest.raises((ssl.SSLError, OSError, AssertionError)):
                with client_context(certs, False).wrap_socket(raw, server_hostname="localhost") as sock:
                    metadata(sock)
        with socket.create_connection(target) as raw:  # garbage instead of a ClientHello
            raw.sendall(b"\x00\x00\x00\x10not a tls record")
            raw.settimeout(5)
            try:
                answer = raw.recv(100)
            except ConnectionResetError:
                answer = b""
            assert answer == b"" or answer[:1] == b"\x15"  # closed, or a TLS alert record
        with socket.create_connection(target) as raw:
            with client_context(certs, True).wrap_socket(raw, server_hostname="localhost") as sock:
                assert metadata(sock).brokers
    assert principals == [(f"User:{CLIENT_SUBJECT}", "SSL")]


def test_requested_client_auth_lets_anonymous_clients_in(certs: CertFiles, principals) -> None:
    with run_in_thread(listeners="SSL://127.0.0.1:0", **tls_config(certs, "requested")) as broker:
        with socket.create_connection(address(broker.bootstrap_servers)) as raw:
            with client_context(certs, False).wrap_socket(raw, server_hostname="localhost") as sock:
                assert metadata(sock).brokers
    assert principals == [("User:ANONYMOUS", "SSL")]


def test_subject_dn_is_rfc_2253_most_specific_first() -> None:
    cert = {"subject": ((("organizationName", "kafkalite"),), (("organizationalUnitName", "test"),), (("commonName", "a,b"),))}
    assert subject_dn(cert) == "CN=a\\,b,OU=test,O=kafkalite"
    assert principal_of(cert) == "User:CN=a\\,b,OU=test,O=kafkalite"
    assert principal_of(None) == "User:ANONYMOUS"


def test_certs_tool_writes_the_five_files(tmp_path: Path, capsys) -> None:
    from kafkalite.cli import main

    assert main(["certs", str(tmp_path), "--hostname", "broker.local"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["broker.crt", "broker.key", "ca.crt", "client.crt", "client.key"]
    assert (tmp_path / "broker.key").stat().st_mode & 0o077 == 0
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    context.load_cert_chain(str(tmp_path / "client.crt"), str(tmp_path / "client.key"))
    assert "broker.crt" in capsys.readouterr().out


def test_describe_configs_shows_each_listener(certs: CertFiles) -> None:
    from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource, DescribeConfigsResponse

    with run_in_thread(listeners="PLAINTEXT://127.0.0.1:0,SSL://localhost:0", advertised_listeners="SSL://tls.example:9093",
                       **tls_config(certs)) as broker:
        plain, tls = broker.listener_addresses["PLAINTEXT"], broker.listener_addresses["SSL"]
        out = bytearray()
        write_request_header(out, RequestHeader(32, 4, 1, "t"), True)
        encode_into(out, DescribeConfigsRequest(resources=[DescribeConfigsResource(
            resource_type=4, resource_name="0", configuration_keys=["listeners", "advertised.listeners", "listener.security.protocol.map"]
        )], include_synonyms=False, include_documentation=False), 4)
        with socket.create_connection(address(plain)) as sock:
            sock.sendall(struct.pack(">i", len(out)) + out)
            data = b""
            while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
                data += sock.recv(65536)
        frame = data[4:]
        _, pos = read_response_header(frame, True)
        response = decode(DescribeConfigsResponse, 4, frame, pos)[0]
    values = {c.name: c.value for c in response.results[0].configs}
    assert values == {
        "listeners": f"PLAINTEXT://{plain},SSL://{tls}",
        "advertised.listeners": f"PLAINTEXT://{plain},SSL://tls.example:9093",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT",
    }


def test_serve_refuses_missing_users_and_certificate_files_before_opening_anything(tmp_path: Path, capsys) -> None:
    from kafkalite.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--memory", "--listeners", "SASL_PLAINTEXT://127.0.0.1:0", "--users-file", str(tmp_path / "none.json")])
    assert "cannot load the users file or TLS files" in capsys.readouterr().err
    (tmp_path / "users.json").write_text('["not", "an", "object"]')
    with pytest.raises(SystemExit):
        main(["serve", "--memory", "--listeners", "SASL_PLAINTEXT://127.0.0.1:0", "--users-file", str(tmp_path / "users.json")])
    assert "must be a JSON object" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--memory", "--listeners", "SSL://127.0.0.1:0", "--ssl-certfile", str(tmp_path / "x.crt"),
              "--ssl-keyfile", str(tmp_path / "x.key")])
    assert "cannot load the users file or TLS files" in capsys.readouterr().err
