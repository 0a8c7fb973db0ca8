"""Message formats v0 and v1 (Kafka's "message sets", before RecordBatch v2): parse, build, CRC32.

A message set is a run of entries, each::

    offset int64, message_size int32, then the message (message_size bytes):
      crc uint32        CRC32 (zlib's, not CRC-32C) of everything after it in the message
      magic int8        0 or 1
      attributes int8   bits 0-2 compression codec (0 none, 1 gzip, 2 snappy, 3 lz4),
                        bit 3 timestamp type (magic 1: 0 CreateTime, 1 LogAppendTime)
      timestamp int64   magic 1 only
      key bytes         int32 length (-1: null) and data
      value bytes       int32 length (-1: null) and data

A compressed message (a "wrapper") has a null key and, as value, a whole message set compressed
with its codec. Its inner messages are uncompressed and carry the wrapper's magic. Inner offsets
are absolute for magic 0; for magic 1 they are relative (0, 1, ...) and the wrapper's offset is
the absolute offset of the last inner message. A magic-1 wrapper with LogAppendTime gives its
timestamp to every inner message. Kafka's LZ4 for magic 0 computes the frame header checksum over
the frame's magic number too (a bug kept for compatibility); magic 1 uses the correct checksum.

This module is sans-I/O, like the rest of `kafkalite.wire`; the broker uses it to up-convert
old producers' messages (Produce v0-2) and to down-convert stored batches for old fetchers
(Fetch v0-3, `kafkalite.wire.down_convert`).
"""

from __future__ import annotations

import importlib
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from kafkalite.wire.compression import Compression, UnsupportedCompressionError, compress, decompress
from kafkalite.wire.primitives import DecodeError

__all__ = [
    "LOG_OVERHEAD",
    "RECORD_OVERHEAD_V0",
    "RECORD_OVERHEAD_V1",
    "CorruptMessageError",
    "InvalidMessageError",
    "LegacyMessage",
    "build_message",
    "build_message_set",
    "deep_messages",
    "iter_message_set",
    "message_crc",
]

#: offset int64 + message_size int32 before each message.
LOG_OVERHEAD = 12
#: crc, magic, attributes, key length, value length.
RECORD_OVERHEAD_V0 = 4 + 1 + 1 + 4 + 4
#: ... and the timestamp.
RECORD_OVERHEAD_V1 = RECORD_OVERHEAD_V0 + 8
#: Bytes of an entry up to and including the magic byte (offset, size, crc, magic).
HEADER_SIZE_UP_TO_MAGIC = LOG_OVERHEAD + 4 + 1

CODEC_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
NO_TIMESTAMP = -1

_ENTRY = struct.Struct(">qi")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class CorruptMessageError(DecodeError):
    """Bytes that are not a message: Kafka's CorruptRecordException (CORRUPT_MESSAGE)."""


class InvalidMessageError(DecodeError):
    """A well-framed message Kafka refuses: its InvalidRecordException (INVALID_RECORD)."""


@attrs.frozen
class LegacyMessage:
    """One message of format v0 or v1 as it is on the wire.

    ``timestamp`` is None for magic 0 (there is no field); ``crc`` is the stored one (see
    `LegacyMessage.crc_ok`); ``raw`` the message's bytes from the CRC on (for the CRC check and
    for passing it on unchanged).
    """

    offset: int
    magic: int
    attributes: int
    timestamp: int | None
    key: bytes | None
    value: bytes | None
    crc: int
    raw: bytes

    @property
    def codec(self) -> int:
        return self.attributes & CODEC_MASK

    @property
    def log_append_time(self) -> bool:
        """Magic 1 with the LogAppendTime bit (magic 0 has no timestamp type)."""
        return self.magic > 0 and bool(self.attributes & TIMESTAMP_TYPE_MASK)

    @property
    def crc_ok(self) -> bool:
        return message_crc(self.raw[4:]) == self.crc


def message_crc(data: Any) -> int:
    """CRC32 (IEEE, as zlib and java.util.zip.CRC32) of a message from its magic byte on."""
    return zlib.crc32(data) & 0xFFFFFFFF


def _read_bytes(buf: Any, pos: int, end: int, what: str) -> tuple[bytes | None, int]:
    if pos + 4 > end:
        raise CorruptMessageError(f"message {what} length runs past the message at offset {pos}")
    length = _I32.unpack_from(buf, pos)[0]
    pos += 4
    if length < 0:
        return None, pos
    if pos + length > end:
        raise CorruptMessageError(f"message {what} of {length} bytes runs past the message")
    return bytes(buf[pos : pos + length]), pos + length


def _parse_message(offset: int, body: Any) -> LegacyMessage:
    """The message *body* (from its CRC on) stored at *offset*."""
    end = len(body)
    if end < RECORD_OVERHEAD_V0:
        raise CorruptMessageError(
            f"Record size {end} is less than the minimum record overhead ({RECORD_OVERHEAD_V0})"
        )
    crc = _U32.unpack_from(body, 0)[0]
    magic = body[4]
    attributes = body[5]
    pos = 6
    timestamp = None
    if magic == 1:
        if end < RECORD_OVERHEAD_V1:
            raise CorruptMessageError(f"magic 1 message of {end} bytes is shorter than its overhead")
        timestamp = _I64.unpack_from(body, pos)[0]
        pos += 8
    elif magic != 0:
        raise CorruptMessageError(f"Invalid magic found in record: {magic}")
    key, pos = _read_bytes(body, pos, end, "key")
    value, pos = _read_bytes(body, pos, end, "value")
    if pos != end:
        raise CorruptMessageError(f"{end - pos} bytes left over in a message of {end} bytes")
    return LegacyMessage(offset, magic, attributes, timestamp, key, value, crc, bytes(body))


def iter_message_set(buf: Any, max_message_size: int = 2**31 - 1) -> Iterator[LegacyMessage]:
    """The shallow messages of the message set *buf*, as Kafka's batch iterator reads them.

    A trailing entry cut short (a partial message, as a size-limited fetch may end) ends the
    iteration silently, as in Kafka. The CRC is not checked here (`LegacyMessage.crc_ok`).

    Raises:
        CorruptMessageError: a message size below the minimum overhead or above
            *max_message_size*, a magic other than 0 and 1, or fields that do not fit.
        InvalidMessageError: a v2 batch after the first message.
    """
    view = memoryview(buf)
    pos = 0
    total = len(view)
    while total - pos >= HEADER_SIZE_UP_TO_MAGIC:
        offset, size = _ENTRY.unpack_from(view, pos)
        if size < RECORD_OVERHEAD_V0:
            raise CorruptMessageError(
                f"Record size {size} is less than the minimum record overhead ({RECORD_OVERHEAD_V0})"
            )
        if size > max_message_size:
            raise CorruptMessageError(
                f"Record size {size} exceeds the largest allowable message size ({max_message_size})."
            )
        magic = view[pos + LOG_OVERHEAD + 4]
        if magic == 2 and pos > 0:
            # A v2 batch after old messages: Kafka reads it as a batch of another magic.
            raise InvalidMessageError(f"Batch magic 2 is not the same as the first batch's magic byte {view[16]}")
        if magic > 1:
            signed = magic - 256 if magic > 127 else magic
            raise CorruptMessageError(f"Invalid magic found in record: {signed}")
        start = pos + LOG_OVERHEAD
        if start + size > total:
            return
        yield _parse_message(offset, view[start : start + size])
        pos = start + size


def deep_messages(wrapper: LegacyMessage) -> list[LegacyMessage]:
    """The inner messages of the compressed *wrapper*, with absolute offsets and, under a
    LogAppendTime magic-1 wrapper, the wrapper's timestamp (Kafka's deep iteration).

    Raises:
        InvalidMessageError: a zstd or unknown codec, a null value, no inner message, an inner
            message itself compressed, or a magic-1 wrapper offset below its last inner offset.
        CorruptMessageError: data that does not decompress or inner messages that do not parse.
        UnsupportedCompressionError: the codec's Python module is not installed.
    """
    codec = wrapper.codec
    if codec not in (Compression.GZIP, Compression.SNAPPY, Compression.LZ4):
        raise InvalidMessageError(
            f"Invalid wrapper compressionType found in legacy deep record iterator {wrapper.magic}"
        )
    if wrapper.value is None:
        raise InvalidMessageError(
            f"Found invalid compressed record set with null value (magic = {wrapper.magic})"
        )
    data = wrapper.value
    if codec == Compression.LZ4 and wrapper.magic == 0:
        data = lz4_fix_header_checksum(data)
    try:
        inflated = decompress(codec, data)
    except UnsupportedCompressionError:
        raise
    except DecodeError as exc:
        raise CorruptMessageError(str(exc)) from None
    inner = list(iter_message_set(inflated))
    if not inner:
        raise InvalidMessageError("Found invalid compressed record set with no inner records")
    base = 0
    if wrapper.magic == 1 and wrapper.offset != 0:
        last_inner = inner[-1].offset
        if wrapper.offset < last_inner:
            raise InvalidMessageError(
                f"Found invalid wrapper offset in compressed v1 message set, wrapper offset "
                f"'{wrapper.offset}' is less than the last inner message offset '{last_inner}' and it is not zero."
            )
        base = wrapper.offset - last_inner
    out = []
    for message in inner:
        if message.codec != Compression.NONE:
            raise InvalidMessageError("Inner messages must not be compressed")
        changes: dict[str, Any] = {}
        if wrapper.magic == 1:
            changes["offset"] = base + message.offset
        if message.magic == 1 and wrapper.log_append_time:
            changes["timestamp"] = wrapper.timestamp
        out.append(attrs.evolve(message, **changes) if changes else message)
    return out


# -- building -------------------------------------------------------------------------------


def _message_body(magic: int, attributes: int, timestamp: int, key: bytes | None, value: bytes | None) -> bytes:
    """A message from its magic byte on."""
    out = bytearray((magic, attributes & 0xFF))
    if magic == 1:
        out += _I64.pack(timestamp)
    for part in (key, value):
        if part is None:
            out += _I32.pack(-1)
        else:
            out += _I32.pack(len(part))
            out += part
    return bytes(out)


def build_message(
    offset: int,
    magic: int,
    *,
    key: bytes | None,
    value: bytes | None,
    timestamp: int = NO_TIMESTAMP,
    attributes: int = 0,
) -> bytes:
    """One message-set entry (offset, size, CRC32, message) of format *magic* (0 or 1).

    *timestamp* is written for magic 1 only; *attributes* as given (codec, timestamp type).
    """
    if magic not in (0, 1):
        raise ValueError(f"legacy messages have magic 0 or 1, not {magic}")
    body = _message_body(magic, attributes, timestamp, key, value)
    return _ENTRY.pack(offset, len(body) + 4) + _U32.pack(message_crc(body)) + body


#: One message to build: (absolute offset, timestamp, key, value).
Item = tuple[int, int, "bytes | None", "bytes | None"]


def build_message_set(
    items: Sequence[Item],
    magic: int,
    *,
    codec: int = Compression.NONE,
    log_append_time: int | None = None,
) -> bytes:
    """A message set of format *magic* holding *items*, as Kafka's MemoryRecordsBuilder writes it.

    Uncompressed: one entry per item at its absolute offset. Compressed with *codec*: the items
    as inner messages (magic 1: offsets relative to the first item; magic 0: absolute) in one
    wrapper at the last item's offset, whose timestamp is the largest item timestamp. With
    *log_append_time* (magic 1), every message and the wrapper carry that timestamp and the
    LogAppendTime bit.
    """
    if not items:
        return b""
    ts_bit = TIMESTAMP_TYPE_MASK if (magic == 1 and log_append_time is not None) else 0

    def stamp(ts: int) -> int:
        return log_append_time if ts_bit else ts  # type: ignore[return-value]

    if codec == Compression.NONE:
        return b"".join(
            build_message(offset, magic, key=key, value=value, timestamp=stamp(ts), attributes=ts_bit)
            for offset, ts, key, value in items
        )
    first = items[0][0]
    inner = b"".join(
        build_message(
            offset - first if magic == 1 else offset, magic, key=key, value=value, timestamp=stamp(ts), attributes=ts_bit
        )
        for offset, ts, key, value in items
    )
    if codec == Compression.LZ4 and magic == 0:
        payload = lz4_break_header_checksum(_lz4_frame_without_size(inner))
    else:
        payload = compress(codec, inner)
    wrapper_ts = stamp(max(ts for _o, ts, _k, _v in items))
    return build_message(
        items[-1][0], magic, key=None, value=payload, timestamp=wrapper_ts, attributes=codec | ts_bit
    )


# -- LZ4 frame header checksum (magic 0) ------------------------------------------------------

_P1, _P2, _P3, _P4, _P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
_M32 = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def xxh32_short(data: bytes) -> int:
    """XXH32 with seed 0 of fewer than 16 bytes (all an LZ4 frame descriptor needs)."""
    assert len(data) < 16
    h = (_P5 + len(data)) & _M32
    pos = 0
    while pos + 4 <= len(data):
        k = int.from_bytes(data[pos : pos + 4], "little")
        h = (_rotl((h + k * _P3) & _M32, 17) * _P4) & _M32
        pos += 4
    for b in data[pos:]:
        h = (_rotl((h + b * _P5) & _M32, 11) * _P1) & _M32
    h ^= h >> 15
    h = (h * _P2) & _M32
    h ^= h >> 13
    h = (h * _P3) & _M32
    h ^= h >> 16
    return h


def _lz4_descriptor_end(frame: bytes) -> int:
    """Index of the header-checksum byte of an LZ4 frame (after FLG, BD, optional size and dict id)."""
    if len(frame) < 7 or frame[:4] != b"\x04\x22\x4d\x18":
        raise CorruptMessageError("LZ4 data does not start with an LZ4 frame header")
    flg = frame[4]
    end = 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)
    if end >= len(frame):
        raise CorruptMessageError("LZ4 frame header is truncated")
    return end


def _lz4_frame_without_size(data: bytes) -> bytes:
    # Kafka's LZ4 writer: 64 KiB independent blocks, no content size in the frame header.
    try:
        frame = importlib.import_module("lz4.frame")
    except ImportError:
        raise UnsupportedCompressionError(Compression.LZ4, "no Python module for it is installed (tried lz4.frame)") from None
    return frame.compress(data, block_linked=False, store_size=False, block_size=frame.BLOCKSIZE_MAX64KB)


def lz4_fix_header_checksum(frame: Any) -> bytes:
    """*frame* with the correct header checksum (over the descriptor only), as a magic-0
    message may carry Kafka's old one (over the frame magic too)."""
    data = bytes(frame)
    end = _lz4_descriptor_end(data)
    return data[:end] + bytes(((xxh32_short(data[4:end]) >> 8) & 0xFF,)) + data[end + 1 :]


def lz4_break_header_checksum(frame: bytes) -> bytes:
    """*frame* with Kafka's magic-0 header checksum (computed over the frame magic too)."""
    end = _lz4_descriptor_end(frame)
    return frame[:end] + bytes(((xxh32_short(frame[:end]) >> 8) & 0xFF,)) + frame[end + 1 :]
