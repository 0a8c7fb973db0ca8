"""Connection limits over real sockets: socket.request.max.bytes, max.connections,
max.connections.per.ip (and overrides), connections.max.idle.ms, and a client that pipelines
without reading its answers."""

from __future__ import annotations

import logging
import socket
import time

import pytest

import kafkalite
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic

from tests.fuzz.wire import SIZE, answers, api_versions, closed_by_peer, connect, decode_response, frame, read_frame, request_body


def test_frame_above_socket_request_max_bytes_is_refused_from_its_size() -> None:
    with kafkalite.run_in_thread(max_request_bytes=4096) as broker:
        for declared in (4097, 2**31 - 1, -1):
            with connect(broker.bootstrap_servers) as sock:
                sock.sendall(SIZE.pack(declared))  # the size alone: no body is ever sent
                assert closed_by_peer(sock), declared
        assert answers(broker.bootstrap_servers)


def test_frame_of_exactly_socket_request_max_bytes_is_read() -> None:
    with kafkalite.run_in_thread(max_request_bytes=4096) as broker:
        padded = next(
            body
            for n in range(4000, 4096)
            if len(body := request_body(ApiVersionsRequest(client_software_name="x" * n, client_software_version="1"), 3))
            == 4096
        )
        with connect(broker.bootstrap_servers) as sock:
            sock.sendall(frame(padded))
            body = read_frame(sock)
        assert body is not None
        assert decode_response(body, ApiVersionsRequest, 3, 1).error_code == 0


def test_connection_over_max_connections_per_ip_is_closed_at_once() -> None:
    with kafkalite.run_in_thread(max_connections_per_ip=2) as broker, \
            connect(broker.bootstrap_servers) as first, connect(broker.bootstrap_servers) as second:
        for sock in (first, second):
            sock.sendall(api_versions())
            assert read_frame(sock) is not None
        with connect(broker.bootstrap_servers) as third:
            third.sendall(api_versions())
            assert closed_by_peer(third)
        first.close()
        deadline = time.monotonic() + 5
        while not _answered_once(broker.bootstrap_servers):  # the slot frees once the broker saw the close
            assert time.monotonic() < deadline, "no slot freed after a connection closed"
            time.sleep(0.05)
        second.close()


def _answered_once(bootstrap: str) -> bool:
    with connect(bootstrap) as sock:
        try:
            sock.sendall(api_versions())
        except OSError:
            return False
        return read_frame(sock) is not None


def test_per_ip_override_replaces_the_default_limit() -> None:
    with kafkalite.run_in_thread(max_connections_per_ip=0, max_connections_per_ip_overrides="127.0.0.1:1") as broker:
        with connect(broker.bootstrap_servers) as first:
            first.sendall(api_versions())
            assert read_frame(first) is not None
            with connect(broker.bootstrap_servers) as second:
                second.sendall(api_versions())
                assert closed_by_peer(second)


def test_zero_per_ip_limit_needs_overrides() -> None:
    with pytest.raises(ValueError, match="overrides"):
        kafkalite.BrokerConfig(max_connections_per_ip=0)


def test_accepting_waits_at_max_connections_until_one_closes() -> None:
    with kafkalite.run_in_thread(max_connections=2) as broker, \
            connect(broker.bootstrap_servers) as first, connect(broker.bootstrap_servers) as second:
        for sock in (first, second):
            sock.sendall(api_versions())
            assert read_frame(sock) is not None
        with connect(broker.bootstrap_servers) as third:  # the OS completes the handshake
            third.sendall(api_versions(5))
            third.settimeout(0.5)
            with pytest.raises(TimeoutError):
                third.recv(1)  # accepted but not served: the broker waits for a slot
            first.close()
            third.settimeout(10)
            body = read_frame(third)
            assert body is not None and SIZE.unpack_from(body)[0] == 5
        second.close()


def test_idle_connection_and_stalled_half_frame_are_closed_busy_one_is_not() -> None:
    with kafkalite.run_in_thread(connections_max_idle_ms=600) as broker, connect(broker.bootstrap_servers) as idle, \
            connect(broker.bootstrap_servers) as half, connect(broker.bootstrap_servers) as busy:
        half.sendall(api_versions()[:7])  # size and half a header, then silence
        started = time.monotonic()
        while time.monotonic() - started < 1.5:  # over two idle periods: a request every 100 ms
            busy.sendall(api_versions())
            assert read_frame(busy) is not None
            time.sleep(0.1)
        assert closed_by_peer(idle, timeout=3)
        assert closed_by_peer(half, timeout=3)


def _fetch(correlation_id: int) -> bytes:
    request = FetchRequest(
        max_wait_ms=0, min_bytes=1, max_bytes=4 << 20,
        topics=[FetchTopic(topic="big", partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=4 << 20)])],
    )
    return frame(request_body(request, 11, correlation_id))


def test_pipelining_without_reading_stops_the_reads_then_drains_in_order() -> None:
    with kafkalite.run_in_thread() as broker:
        broker.produce("big", b"v" * 900_000)  # each Fetch answer is ~0.9 MB
        count = 100  # ~90 MB of answers asked for in ~10 KB of requests
        requests = b"".join(_fetch(i) for i in range(1, count + 1))
        with connect(broker.bootstrap_servers) as sock:
            _pipeline_then_drain(broker, sock, requests, count)


def _pipeline_then_drain(broker: kafkalite.BrokerThread, sock: socket.socket, requests: bytes, count: int) -> None:
    sock.sendall(requests)  # all of it: small enough for the socket buffers
    fetches = lambda: broker.call(lambda: broker.broker.metrics.requests.get("Fetch", 0))  # noqa: E731
    deadline = time.monotonic() + 10
    seen = -1
    while (now := fetches()) != seen:  # until the count holds still for 0.3 s
        assert time.monotonic() < deadline
        seen = now
        time.sleep(0.3)
    # Muted: the broker answers what the socket buffers take and stops there, holding one
    # answer, not the rest of the ~90 MB (the client has read nothing).
    assert seen < count // 2
    assert answers(broker.bootstrap_servers)  # everyone else is still served
    sock.settimeout(10)
    for n in range(1, count + 1):  # once the client reads: every answer, in order
        body = read_frame(sock)
        assert body is not None, f"closed after {n - 1} of {count} answers"
        assert SIZE.unpack_from(body)[0] == n


def test_response_not_taken_within_idle_time_closes_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kafkalite.connection")
    with kafkalite.run_in_thread(connections_max_idle_ms=500) as broker:
        broker.produce("big", b"v" * 900_000)
        with connect(broker.bootstrap_servers) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            peer = "%s:%d" % sock.getsockname()[:2]
            sock.sendall(b"".join(_fetch(i) for i in range(1, 50)))  # and never read
            deadline = time.monotonic() + 10
            while not any(peer in r.getMessage() and "not taken for 500 ms" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "a client that reads nothing kept its connection"
                time.sleep(0.05)
        assert broker.call(lambda: broker.info.connections.open_connections) == 0


def test_cli_flags_and_environment_set_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkalite.cli import build_parser, config_from_args

    monkeypatch.setenv("KAFKALITE_MAX_CONNECTIONS_PER_IP", "7")
    monkeypatch.setenv("KAFKALITE_CONNECTIONS_MAX_IDLE_MS", "1234")
    args = build_parser().parse_args([
        "serve", "--socket-request-max-bytes", "65536", "--max-connections", "9",
        "--max-connections-per-ip-overrides", "10.0.0.1:3,::1:4",
    ])
    config = config_from_args(args)
    assert (config.max_request_bytes, config.max_connections, config.max_connections_per_ip) == (65536, 9, 7)
    assert config.connections_max_idle_ms == 1234
    assert config.max_connections_per_ip_overrides == (("10.0.0.1", 3), ("::1", 4))
    defaults = config_from_args(build_parser().parse_args(["serve"]))
    assert defaults.connections_max_idle_ms == 1234  # from the environment
    monkeypatch.delenv("KAFKALITE_CONNECTIONS_MAX_IDLE_MS")
    defaults = config_from_args(build_parser().parse_args(["serve"]))
    assert (defaults.max_request_bytes, defaults.max_connections, defaults.connections_max_idle_ms) == (
        104857600, 2**31 - 1, 600_000,
    )
