"""Kafka protocol primitive types: readers and writers.

Readers have the shape ``read(buf, pos) -> (value, new_pos)`` over a ``memoryview`` (or any
buffer supporting ``struct.unpack_from`` and slicing); writers have the shape
``write(out, value) -> None`` and append to a ``bytearray``. Compiled message codecs
(`kafkalite.wire.schema`) are chains of these functions, so nothing here allocates more than
the value it returns.

A read past the end of the buffer raises `DecodeError`. The readers themselves only guard the
cases that ``struct`` would not catch (slices silently come back short); callers that need to
name the field being read wrap `struct.error` themselves.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any, Callable

__all__ = [
    "DecodeError",
    "Reader",
    "ReadFn",
    "WriteFn",
]


class DecodeError(ValueError):
    """The peer's bytes cannot be decoded: short, malformed or out of range."""


ReadFn = Callable[[Any, int], "tuple[Any, int]"]
WriteFn = Callable[[bytearray, Any], None]

_i8 = struct.Struct(">b")
_i16 = struct.Struct(">h")
_i32 = struct.Struct(">i")
_i64 = struct.Struct(">q")
_u16 = struct.Struct(">H")
_u32 = struct.Struct(">I")
_f64 = struct.Struct(">d")


def _fixed(s: struct.Struct) -> tuple[ReadFn, WriteFn]:
    unpack_from = s.unpack_from
    pack = s.pack
    size = s.size

    def read(buf: Any, pos: int) -> tuple[Any, int]:
        return unpack_from(buf, pos)[0], pos + size

    def write(out: bytearray, value: Any) -> None:
        out += pack(value)

    return read, write


read_int8, write_int8 = _fixed(_i8)
read_int16, write_int16 = _fixed(_i16)
read_int32, write_int32 = _fixed(_i32)
read_int64, write_int64 = _fixed(_i64)
read_uint16, write_uint16 = _fixed(_u16)
read_uint32, write_uint32 = _fixed(_u32)
read_float64, write_float64 = _fixed(_f64)


def read_bool(buf: Any, pos: int) -> tuple[bool, int]:
    return _i8.unpack_from(buf, pos)[0] != 0, pos + 1


def write_bool(out: bytearray, value: bool) -> None:
    out.append(1 if value else 0)


# -- varints ---------------------------------------------------------------------------------


def read_uvarint(buf: Any, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 varint (Kafka's "unsigned varint"), at most 5 bytes."""
    result = 0
    shift = 0
    n = len(buf)
    while True:
        if pos >= n:
            raise DecodeError(f"varint runs past the end of the buffer at offset {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 28:
            raise DecodeError(f"unsigned varint longer than 5 bytes ending at offset {pos}")


def read_uvarlong(buf: Any, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 varlong, at most 10 bytes."""
    result = 0
    shift = 0
    n = len(buf)
    while True:
        if pos >= n:
            raise DecodeError(f"varlong runs past the end of the buffer at offset {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError(f"unsigned varlong longer than 10 bytes ending at offset {pos}")


def write_uvarint(out: bytearray, value: int) -> None:
    if value < 0:
        raise ValueError(f"unsigned varint cannot hold {value}")
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


write_uvarlong = write_uvarint


def read_varint(buf: Any, pos: int) -> tuple[int, int]:
    """Zig-zag signed varint (32-bit)."""
    raw, pos = read_uvarint(buf, pos)
    return (raw >> 1) ^ -(raw & 1), pos


def read_varlong(buf: Any, pos: int) -> tuple[int, int]:
    """Zig-zag signed varlong (64-bit)."""
    raw, pos = read_uvarlong(buf, pos)
    return (raw >> 1) ^ -(raw & 1), pos


def write_varint(out: bytearray, value: int) -> None:
    write_uvarint(out, ((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def write_varlong(out: bytearray, value: int) -> None:
    write_uvarint(out, ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


def varint_size(value: int) -> int:
    """Bytes taken by the zig-zag varint encoding of *value*."""
    raw = ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF
    size = 1
    while raw > 0x7F:
        raw >>= 7
        size += 1
    return size


# -- length-prefixed blobs -------------------------------------------------------------------


def _take(buf: Any, pos: int, length: int, what: str) -> int:
    end = pos + length
    if end > len(buf):
        raise DecodeError(
            f"{what} of {length} bytes at offset {pos} runs past the end of the buffer "
            f"({len(buf)} bytes)"
        )
    return end


def _decode_utf8(raw: Any, pos: int) -> str:
    try:
        return str(raw, "utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"string at offset {pos} is not valid UTF-8: {exc}") from None


def read_string(buf: Any, pos: int) -> tuple[str, int]:
    length = _i16.unpack_from(buf, pos)[0]
    pos += 2
    if length < 0:
        raise DecodeError(f"non-nullable string has length {length} at offset {pos - 2}")
    end = _take(buf, pos, length, "string")
    return _decode_utf8(bytes(buf[pos:end]), pos), end


def read_nullable_string(buf: Any, pos: int) -> tuple[str | None, int]:
    length = _i16.unpack_from(buf, pos)[0]
    pos += 2
    if length < 0:
        return None, pos
    end = _take(buf, pos, length, "string")
    return _decode_utf8(bytes(buf[pos:end]), pos), end


def read_compact_string(buf: Any, pos: int) -> tuple[str, int]:
    start = pos
    length, pos = read_uvarint(buf, pos)
    if length == 0:
        raise DecodeError(f"non-nullable compact string is null at offset {start}")
    end = _take(buf, pos, length - 1, "compact string")
    return _decode_utf8(bytes(buf[pos:end]), pos), end


def read_compact_nullable_string(buf: Any, pos: int) -> tuple[str | None, int]:
    length, pos = read_uvarint(buf, pos)
    if length == 0:
        return None, pos
    end = _take(buf, pos, length - 1, "compact string")
    return _decode_utf8(bytes(buf[pos:end]), pos), end


def write_string(out: bytearray, value: str) -> None:
    raw = value.encode()
    out += _i16.pack(len(raw))
    out += raw


def write_nullable_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out += b"\xff\xff"
    else:
        write_string(out, value)


def write_compact_string(out: bytearray, value: str) -> None:
    raw = value.encode()
    write_uvarint(out, len(raw) + 1)
    out += raw


def write_compact_nullable_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out.append(0)
    else:
        write_compact_string(out, value)


def read_bytes(buf: Any, pos: int) -> tuple[bytes, int]:
    length = _i32.unpack_from(buf, pos)[0]
    pos += 4
    if length < 0:
        raise DecodeError(f"non-nullable bytes have length {length} at offset {pos - 4}")
    end = _take(buf, pos, length, "bytes")
    return bytes(buf[pos:end]), end


def read_nullable_bytes(buf: Any, pos: int) -> tuple[bytes | None, int]:
    length = _i32.unpack_from(buf, pos)[0]
    pos += 4
    if length < 0:
        return None, pos
    end = _take(buf, pos, length, "bytes")
    return bytes(buf[pos:end]), end


def read_compact_bytes(buf: Any, pos: int) -> tuple[bytes, int]:
    start = pos
    length, pos = read_uvarint(buf, pos)
    if length == 0:
        raise DecodeError(f"non-nullable compact bytes are null at offset {start}")
    end = _take(buf, pos, length - 1, "compact bytes")
    return bytes(buf[pos:end]), end


def read_compact_nullable_bytes(buf: Any, pos: int) -> tuple[bytes | None, int]:
    length, pos = read_uvarint(buf, pos)
    if length == 0:
        return None, pos
    end = _take(buf, pos, length - 1, "compact bytes")
    return bytes(buf[pos:end]), end


def write_bytes(out: bytearray, value: bytes) -> None:
    out += _i32.pack(len(value))
    out += value


def write_nullable_bytes(out: bytearray, value: bytes | None) -> None:
    if value is None:
        out += b"\xff\xff\xff\xff"
    else:
        write_bytes(out, value)


def write_compact_bytes(out: bytearray, value: bytes) -> None:
    write_uvarint(out, len(value) + 1)
    out += value


def write_compact_nullable_bytes(out: bytearray, value: bytes | None) -> None:
    if value is None:
        out.append(0)
    else:
        write_compact_bytes(out, value)


# Record sets stay zero-copy: a slice of the request's memoryview, never a bytes copy.


def read_records(buf: Any, pos: int) -> tuple[memoryview | None, int]:
    length = _i32.unpack_from(buf, pos)[0]
    pos += 4
    if length < 0:
        return None, pos
    end = _take(buf, pos, length, "records")
    return memoryview(buf)[pos:end], end


def read_compact_records(buf: Any, pos: int) -> tuple[memoryview | None, int]:
    length, pos = read_uvarint(buf, pos)
    if length == 0:
        return None, pos
    end = _take(buf, pos, length - 1, "records")
    return memoryview(buf)[pos:end], end


def _records_len(value: Any) -> int:
    if isinstance(value, (list, tuple)):
        return sum(len(part) for part in value)
    return len(value)


def write_records(out: bytearray, value: Any) -> None:
    """Write a record set; *value* may be bytes-like or a list of bytes-like parts."""
    if value is None:
        out += b"\xff\xff\xff\xff"
        return
    out += _i32.pack(_records_len(value))
    if isinstance(value, (list, tuple)):
        for part in value:
            out += part
    else:
        out += value


def write_compact_records(out: bytearray, value: Any) -> None:
    if value is None:
        out.append(0)
        return
    write_uvarint(out, _records_len(value) + 1)
    if isinstance(value, (list, tuple)):
        for part in value:
            out += part
    else:
        out += value


def read_uuid(buf: Any, pos: int) -> tuple[uuid.UUID, int]:
    end = _take(buf, pos, 16, "uuid")
    return uuid.UUID(bytes=bytes(buf[pos:end])), end


def write_uuid(out: bytearray, value: uuid.UUID) -> None:
    out += value.bytes


# -- a cursor for hand-written decoders ------------------------------------------------------


class Reader:
    """A cursor over a memoryview for hand-written decoders (headers, records).

    Every ``read_*`` method advances the cursor; a short read raises `DecodeError` naming
    what was being read and where.
    """

    __slots__ = ("buf", "pos")

    def __init__(self, buf: Any, pos: int = 0) -> None:
        self.buf = buf if isinstance(buf, memoryview) else memoryview(buf)
        self.pos = pos

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def read(self, fn: ReadFn, what: str) -> Any:
        try:
            value, self.pos = fn(self.buf, self.pos)
        except struct.error:
            raise DecodeError(
                f"short read of {what} at offset {self.pos} ({len(self.buf)} bytes)"
            ) from None
        except DecodeError as exc:
            raise DecodeError(f"{what}: {exc}") from None
        return value
