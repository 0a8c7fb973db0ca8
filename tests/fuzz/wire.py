"""Blocking raw-socket helpers for the hostile-input tests: frames built with kafkalite's codec."""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

from kafkalite.wire.headers import RequestHeader, read_response_header, response_header_flexible, write_request_header
from kafkalite.wire.messages import all_apis
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.schema import decode, encode_into, is_flexible

SIZE = struct.Struct(">i")


def connect(bootstrap: str, timeout: float = 10.0) -> socket.socket:
    host, _, port = bootstrap.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def request_body(request: Any, version: int, correlation_id: int = 1, client_id: str | None = "hostile") -> bytes:
    """A request frame without its size prefix."""
    cls = type(request)
    out = bytearray()
    flexible = is_flexible(cls, version)
    write_request_header(out, RequestHeader(cls.__kafka_api_key__, version, correlation_id, client_id), flexible)
    encode_into(out, request, version)
    return bytes(out)


def frame(body: bytes) -> bytes:
    return SIZE.pack(len(body)) + body


def api_versions(correlation_id: int = 1) -> bytes:
    return frame(request_body(ApiVersionsRequest(), 0, correlation_id))


def read_frame(sock: socket.socket) -> bytes | None:
    """One response frame's body, or None when the broker closed the connection."""
    head = _read_exactly(sock, 4)
    if head is None:
        return None
    (size,) = SIZE.unpack(head)
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = bytearray()
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def decode_response(body: bytes, request_cls: type, version: int, correlation_id: int) -> Any:
    api = all_apis()[request_cls.__kafka_api_key__]
    flexible = response_header_flexible(api.api_key, is_flexible(api.response, version))
    corr, pos = read_response_header(body, flexible)
    assert corr == correlation_id
    response, _end = decode(api.response, version, body, pos)
    return response


def closed_by_peer(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True once the broker closed *sock* (end of stream or a reset) within *timeout*;
    whatever answers arrive before are skipped."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


def answers(bootstrap: str, timeout: float = 10.0) -> bool:
    """A new connection gets its ApiVersions request answered."""
    with connect(bootstrap, timeout) as sock:
        sock.sendall(api_versions(7))
        body = read_frame(sock)
    return body is not None and SIZE.unpack_from(body)[0] == 7
