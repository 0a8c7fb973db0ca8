"""Request and response headers, and size-prefixed framing.

Request header v1 is api_key, api_version, correlation_id, client_id (int16-length nullable
string); v2 adds a tagged-field section. v2 is used exactly when the API version is
flexible, and ``client_id`` stays a non-compact string even then (KIP-482). Response header
v0 is the correlation id alone; v1 adds a tagged-field section. ApiVersions responses always
use v0, whatever the request version, because a client cannot know yet which versions the
broker understands.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from kafkalite.wire import primitives as p
from kafkalite.wire.primitives import DecodeError

API_VERSIONS_KEY = 18

_header_prefix = struct.Struct(">hhi")
_size = struct.Struct(">i")


@attrs.frozen
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    unknown_tagged_fields: dict[int, bytes] | None = None


def read_request_header_prefix(buf: Any) -> tuple[int, int, int]:
    """Return (api_key, api_version, correlation_id) from the first 8 bytes of a frame."""
    if len(buf) < 8:
        raise DecodeError(f"request header needs 8 bytes, frame has {len(buf)}")
    return _header_prefix.unpack_from(buf, 0)


def read_request_header(buf: Any, flexible: bool) -> tuple[RequestHeader, int]:
    """Decode a request header (v1, or v2 when *flexible*); return it and the body offset.

    Raises:
        DecodeError: the header is short or malformed.
    """
    api_key, api_version, correlation_id = read_request_header_prefix(buf)
    try:
        client_id, pos = p.read_nullable_string(buf, 8)
    except struct.error:
        raise DecodeError("short read of request header client_id at offset 8") from None
    unknown = None
    if flexible:
        count, pos = p.read_uvarint(buf, pos)
        for _ in range(count):
            tag, pos = p.read_uvarint(buf, pos)
            size, pos = p.read_uvarint(buf, pos)
            if pos + size > len(buf):
                raise DecodeError(f"request header tagged field {tag} runs past the frame")
            if unknown is None:
                unknown = {}
            unknown[tag] = bytes(buf[pos : pos + size])
            pos += size
    return RequestHeader(api_key, api_version, correlation_id, client_id, unknown), pos


def write_request_header(out: bytearray, header: RequestHeader, flexible: bool) -> None:
    """Append a request header (for tests and the CLI tools' client side)."""
    out += _header_prefix.pack(header.api_key, header.api_version, header.correlation_id)
    p.write_nullable_string(out, header.client_id)
    if flexible:
        out.append(0)


def response_header_flexible(api_key: int, flexible: bool) -> bool:
    """Whether the response header is v1 (tagged fields) for this API and body version."""
    return flexible and api_key != API_VERSIONS_KEY


def start_response(correlation_id: int, flexible_header: bool) -> bytearray:
    """Return a buffer holding a 4-byte size placeholder and the response header.

    Append the body, then call `finish_frame`.
    """
    out = bytearray(8)
    struct.pack_into(">i", out, 4, correlation_id)
    if flexible_header:
        out.append(0)
    return out


def finish_frame(out: bytearray) -> bytearray:
    """Fill in the size prefix of a frame built with `start_response`."""
    _size.pack_into(out, 0, len(out) - 4)
    return out


def read_response_header(buf: Any, flexible_header: bool) -> tuple[int, int]:
    """Decode a response header; return (correlation_id, body offset). For clients/tests."""
    if len(buf) < 4:
        raise DecodeError("response header needs 4 bytes")
    correlation_id = _size.unpack_from(buf, 0)[0]
    pos = 4
    if flexible_header:
        count, pos = p.read_uvarint(buf, pos)
        for _ in range(count):
            _tag, pos = p.read_uvarint(buf, pos)
            size, pos = p.read_uvarint(buf, pos)
            pos += size
    return correlation_id, pos


class FrameTooLarge(DecodeError):
    """A frame declares a size above the configured maximum (or a negative one)."""


class FrameBuffer:
    """Splits a byte stream into size-prefixed frames (sans-I/O).

    ``feed(data)`` adds bytes; ``next_frame()`` returns one whole frame body (without its
    4-byte size) or None when it does not have one yet. A declared size above *max_size*
    (or a negative one) raises `FrameTooLarge` from `next_frame` once the frames before it
    are taken, and nothing of its body is ever buffered.

    Strategy: small frames are cut out of a shared buffer as ``bytes``. A frame of
    ``LARGE`` bytes or more (a produce request with a big batch) gets a ``bytearray`` of its
    own as soon as its size is known, and later bytes are copied straight into it: one copy
    from the socket chunk, no re-buffering, and the handler receives a *writable* buffer, so
    the log can patch the batch's base offset in place instead of copying it.
    """

    LARGE = 64 * 1024

    __slots__ = ("_buf", "_big", "_fill", "_ready", "_error", "max_size")

    def __init__(self, max_size: int) -> None:
        self._buf = bytearray()
        self._big: bytearray | None = None
        self._fill = 0
        self._ready: list[bytes | bytearray] = []
        self._error: FrameTooLarge | None = None
        self.max_size = max_size

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._error is not None:
            return  # the stream is already beyond repair; ignore the rest
        view = memoryview(data)
        while view:
            big = self._big
            if big is not None:
                n = min(len(view), len(big) - self._fill)
                big[self._fill : self._fill + n] = view[:n]
                self._fill += n
                view = view[n:]
                if self._fill == len(big):
                    self._ready.append(big)
                    self._big = None
                continue
            self._buf += view
            view = view[len(view) :]
            self._split()

    def _split(self) -> None:
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 4:
            size = _size.unpack_from(buf, pos)[0]
            if size < 0 or size > self.max_size:
                self._error = FrameTooLarge(
                    f"frame of {size} bytes is larger than the maximum of {self.max_size}"
                    if size >= 0
                    else f"frame declares a negative size {size}"
                )
                buf.clear()
                return
            end = pos + 4 + size
            if len(buf) >= end:
                body = buf[pos + 4 : end]  # a bytearray copy: writable, like a big frame's
                self._ready.append(body if size >= self.LARGE else bytes(body))
                pos = end
                continue
            if size >= self.LARGE:
                big = bytearray(size)
                have = len(buf) - pos - 4
                big[:have] = buf[pos + 4 :]
                self._big, self._fill = big, have
                buf.clear()
                return
            break
        if pos:
            del buf[:pos]

    def buffered(self) -> int:
        ready = sum(len(f) + 4 for f in self._ready)
        partial = (self._fill + 4) if self._big is not None else 0
        return ready + partial + len(self._buf)

    def next_frame(self) -> bytes | bytearray | None:
        if self._ready:
            return self._ready.pop(0)
        if self._error is not None:
            raise self._error
        return None
