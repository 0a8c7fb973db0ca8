"""A tiny blocking Kafka client over one socket, speaking kafkalite's own codec.

For the differential tests (compat_tests/differential.py): requests are encoded with
`kafkalite.wire.schema.encode_into` and the request header of `kafkalite.wire.headers`, and
responses are decoded with `kafkalite.wire.schema.decode`, so the same bytes go to kafkalite
and to Apache Kafka, and both answers come back as the same typed objects.

    with WireClient("127.0.0.1:9092") as client:
        response = client.request(MetadataRequest(topics=None), 12)

Only the wire layer of kafkalite is imported: no broker code, no trio.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from kafkalite.wire.headers import RequestHeader, read_response_header, response_header_flexible, write_request_header
from kafkalite.wire.messages import all_apis
from kafkalite.wire.schema import decode, encode_into, is_flexible

_SIZE = struct.Struct(">i")


class WireError(RuntimeError):
    """The broker closed the connection or answered something we cannot decode."""


class WireClient:
    """One connection; `request()` sends one request and returns the decoded response."""

    def __init__(self, bootstrap: str, client_id: str | None = "kafkalite-differential", timeout: float = 30.0) -> None:
        host, _, port = bootstrap.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.client_id = client_id
        self.correlation_id = 0

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def request(self, body: Any, version: int, *, response_version: int | None = None) -> Any:
        """Send *body* (a request message) at *version*; return the decoded response.

        *response_version* decodes the answer at another version: an ApiVersions request at a
        version the broker does not know is answered at v0 (KIP-511).
        """
        cls = type(body)
        api_key = cls.__kafka_api_key__
        self.correlation_id += 1
        out = bytearray()
        flexible = is_flexible(cls, version)
        write_request_header(out, RequestHeader(api_key, version, self.correlation_id, self.client_id), flexible)
        encode_into(out, body, version)
        self.sock.sendall(_SIZE.pack(len(out)) + out)
        frame = self._receive_frame()
        response_cls = all_apis()[api_key].response
        at = version if response_version is None else response_version
        flexible_header = response_header_flexible(api_key, is_flexible(response_cls, at))
        correlation_id, pos = read_response_header(frame, flexible_header)
        if correlation_id != self.correlation_id:
            raise WireError(f"correlation id {correlation_id}, expected {self.correlation_id}")
        response, end = decode(response_cls, at, frame, pos)
        if end != len(frame):
            raise WireError(f"{response_cls.__name__} v{at}: {len(frame) - end} trailing bytes")
        return response

    def _receive_frame(self) -> bytes:
        size = _SIZE.unpack(self._receive_exactly(4))[0]
        return self._receive_exactly(size)

    def _receive_exactly(self, n: int) -> bytes:
        parts = []
        while n:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise WireError("the broker closed the connection")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)
