"""The record codecs of RecordBatch v2: gzip, snappy, lz4 and zstd (attributes bits 0-2).

Only building a batch (`kafkalite.wire.records.build_batch`) and decoding its records
(`kafkalite.wire.records.decode_records`) need a codec. The broker stores and fetches
compressed batches as bytes, so the storage layer never imports this module.

Strategy: codec modules are imported when first needed, through sys.modules (cheap after the
first time), so a broker without python-snappy / lz4 / zstandard still starts and passes
such batches through untouched; only decoding or building one raises
`UnsupportedCompressionError`. gzip is always there (zlib).
"""

from __future__ import annotations

import enum
import importlib
import struct
import zlib
from typing import Any

from kafkalite.wire.batch import CorruptBatchError
from kafkalite.wire.primitives import DecodeError

__all__ = ["Compression", "UnsupportedCompressionError", "compress", "decompress"]


class Compression(enum.IntEnum):
    """Codec ids of attributes bits 0-2."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


class UnsupportedCompressionError(DecodeError):
    """A batch uses (or a caller asked for) a codec whose Python module is not installed.

    Raised by `decompress` and `compress`, so by `kafkalite.wire.records.decode_records` and
    `kafkalite.wire.records.build_batch`. Stored and fetched batches never need the codec:
    the broker passes compressed batches through as bytes.
    """

    def __init__(self, codec: int, reason: str) -> None:
        super().__init__(f"cannot handle {_codec_name(codec)} compression: {reason}")
        self.codec = codec


_i32 = struct.Struct(">i")
_unpack_i32 = _i32.unpack_from

_CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def _codec_name(codec: int) -> str:
    return _CODEC_NAMES.get(codec, f"unknown codec id {codec}")


def _import(codec: int, *modules: str) -> Any:
    for name in modules:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise UnsupportedCompressionError(
        codec, f"no Python module for it is installed (tried {', '.join(modules)})"
    )


def _gzip_decompress(data: Any) -> bytes:
    # Java's GZIPInputStream reads concatenated members, so do we.
    parts = []
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        parts.append(inflater.decompress(data))
        if not inflater.eof:
            raise CorruptBatchError("gzip stream is truncated")
        data = inflater.unused_data
        if not data:
            return b"".join(parts)


def _gzip_compress(data: bytes) -> bytes:
    deflater = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return deflater.compress(data) + deflater.flush()


# Kafka's Java client writes snappy through xerial's SnappyOutputStream: a 16-byte header
# (magic, version 1, compatible version 1) then blocks of int32 length + raw snappy. Readers
# (xerial's SnappyInputStream, librdkafka) accept a raw snappy buffer too, and so do we.
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK_SIZE = 32 * 1024


def _snappy_decompress(data: Any) -> bytes:
    snappy = _import(Compression.SNAPPY, "snappy")
    if len(data) < len(_XERIAL_HEADER) or bytes(data[:8]) != _XERIAL_MAGIC:
        return snappy.decompress(bytes(data))
    out = bytearray()
    pos = len(_XERIAL_HEADER)
    while pos < len(data):
        if pos + 4 > len(data):
            raise CorruptBatchError(f"xerial snappy block length truncated at offset {pos}")
        length = _unpack_i32(data, pos)[0]
        pos += 4
        if length < 0 or pos + length > len(data):
            raise CorruptBatchError(
                f"xerial snappy block of {length} bytes at offset {pos} runs past the end"
            )
        out += snappy.decompress(bytes(data[pos : pos + length]))
        pos += length
    return bytes(out)


def _snappy_compress(data: bytes) -> bytes:
    snappy = _import(Compression.SNAPPY, "snappy")
    out = bytearray(_XERIAL_HEADER)
    for start in range(0, len(data), _XERIAL_BLOCK_SIZE):
        block = snappy.compress(data[start : start + _XERIAL_BLOCK_SIZE])
        out += _i32.pack(len(block))
        out += block
    return bytes(out)


# LZ4: Kafka uses the LZ4 frame format (magic v2+ fixed the header checksum); its Java reader
# decompresses each block on its own, so blocks must be independent (not linked).
def _lz4_decompress(data: Any) -> bytes:
    return _import(Compression.LZ4, "lz4.frame").decompress(bytes(data))


def _lz4_compress(data: bytes) -> bytes:
    return _import(Compression.LZ4, "lz4.frame").compress(data, block_linked=False)


# zstd: Python 3.14's compression.zstd, else the zstandard package. Producers may omit the
# content size from the frame header and may write several frames, so stream across frames.
def _zstd_decompress(data: Any) -> bytes:
    module = _import(Compression.ZSTD, "compression.zstd", "zstandard")
    if module.__name__ == "compression.zstd":
        return module.decompress(bytes(data))
    reader = module.ZstdDecompressor().stream_reader(bytes(data), read_across_frames=True)
    with reader:
        return reader.readall()


def _zstd_compress(data: bytes) -> bytes:
    module = _import(Compression.ZSTD, "compression.zstd", "zstandard")
    if module.__name__ == "compression.zstd":
        return module.compress(data)
    return module.ZstdCompressor().compress(data)


_DECOMPRESS = {
    Compression.GZIP: _gzip_decompress,
    Compression.SNAPPY: _snappy_decompress,
    Compression.LZ4: _lz4_decompress,
    Compression.ZSTD: _zstd_decompress,
}
_COMPRESS = {
    Compression.GZIP: _gzip_compress,
    Compression.SNAPPY: _snappy_compress,
    Compression.LZ4: _lz4_compress,
    Compression.ZSTD: _zstd_compress,
}


def decompress(codec: int, data: Any) -> bytes:
    """Decompress *data*, the records section of a batch whose attributes name *codec*.

    Raises:
        CorruptBatchError: *codec* is not a codec id, or the data does not decompress (any
            error of the codec library becomes this).
        UnsupportedCompressionError: the codec's Python module is not installed.
    """
    try:
        codec_decompress = _DECOMPRESS[codec]
    except KeyError:
        raise CorruptBatchError(f"record batch has unknown compression codec id {codec}") from None
    try:
        return codec_decompress(data)
    except DecodeError:
        raise
    except Exception as exc:  # each codec library has its own exception types
        raise CorruptBatchError(
            f"{_codec_name(codec)} data does not decompress: {exc!r}"
        ) from None


def compress(codec: int, data: bytes) -> bytes:
    """Compress *data*, a batch's records section, with *codec* (not `Compression.NONE`).

    Raises:
        UnsupportedCompressionError: the codec's Python module is not installed, or *codec*
            is not a codec id.
    """
    try:
        codec_compress = _COMPRESS[codec]
    except KeyError:
        raise UnsupportedCompressionError(codec, "not a codec id") from None
    return codec_compress(data)
