"""Record codecs: gzip, snappy (xerial framing), lz4 and zstd.

A codec whose module is missing fails only decoding or building such a batch; the real
codecs are cross-checked against kafka-python's builder and reader.
"""

from __future__ import annotations

import importlib
import struct
import sys
import types
import zlib

import pytest
from kafka.record.default_records import DefaultRecordBatch

from kafkalite.wire.batch import RECORDS_OFFSET, CorruptBatchError, parse_batch_header
from kafkalite.wire.compression import Compression, UnsupportedCompressionError
from kafkalite.wire.records import Record, build_batch, decode_records

from .helpers import (
    BASE_TS,
    SAMPLE,
    kp_build,
    records_section,
    sample_batch,
    set_attributes,
    with_records_section,
)


# -- gzip ------------------------------------------------------------------------------------


def test_gzip_batch_is_actually_compressed():
    plain, gzipped = sample_batch(), sample_batch(compression=Compression.GZIP)
    assert parse_batch_header(gzipped).compression == Compression.GZIP
    assert len(gzipped) < len(plain)
    assert zlib.decompress(gzipped[RECORDS_OFFSET:], 31)  # a gzip stream


def test_gzip_section_cut_at_every_point_is_corrupt():
    batch = sample_batch(compression=Compression.GZIP)
    section = records_section(batch)
    for cut in range(len(section)):
        with pytest.raises(CorruptBatchError):
            decode_records(with_records_section(batch, section[:cut]))


def test_truncated_gzip_stream_is_corrupt():
    batch = build_batch([(b"k", b"v" * 100)], base_timestamp=0)
    stream = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = stream.compress(records_section(batch)) + stream.flush()
    gz = set_attributes(with_records_section(batch, data[:-9]), Compression.GZIP)
    with pytest.raises(CorruptBatchError, match="gzip"):
        decode_records(gz)


def test_garbage_gzip_data_is_corrupt():
    batch = set_attributes(build_batch([(b"k", b"v")], base_timestamp=0), Compression.GZIP)
    with pytest.raises(CorruptBatchError, match="gzip data does not decompress"):
        decode_records(batch)


def test_concatenated_gzip_members_decode():
    batch = sample_batch()
    section = records_section(batch)

    def gzip_member(data: bytes) -> bytes:
        stream = zlib.compressobj(6, zlib.DEFLATED, 31)
        return stream.compress(data) + stream.flush()

    two = gzip_member(section[:40]) + gzip_member(section[40:])
    assert decode_records(set_attributes(with_records_section(batch, two), 1)) == SAMPLE


# -- codec ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", [5, 6, 7, 8])
def test_build_rejects_unknown_codec_id(codec):
    with pytest.raises(UnsupportedCompressionError, match=f"unknown codec id {codec}"):
        build_batch([(b"k", b"v")], base_timestamp=0, compression=codec)


@pytest.mark.parametrize("codec", [5, 6, 7])
def test_decode_rejects_unknown_codec_id(codec):
    batch = set_attributes(sample_batch(), codec)
    with pytest.raises(CorruptBatchError, match=f"unknown compression codec id {codec}"):
        decode_records(batch)


# -- optional codecs -------------------------------------------------------------------------


def fake_module(monkeypatch, name, **attributes):
    module = types.ModuleType(name)
    for attr, value in attributes.items():
        setattr(module, attr, value)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def block_missing(monkeypatch, *names):
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail


@pytest.mark.parametrize(
    ("codec", "name", "modules"),
    [
        (Compression.SNAPPY, "snappy", ["snappy"]),
        (Compression.LZ4, "lz4", ["lz4.frame"]),
        (Compression.ZSTD, "zstd", ["compression.zstd", "zstandard"]),
    ],
)
def test_missing_codec_module_raises_unsupported_compression(monkeypatch, codec, name, modules):
    block_missing(monkeypatch, *modules)
    batch = set_attributes(sample_batch(), codec)
    with pytest.raises(UnsupportedCompressionError, match=f"cannot handle {name}") as info:
        decode_records(batch)
    assert info.value.codec == codec
    with pytest.raises(UnsupportedCompressionError, match=name):
        build_batch([(b"k", b"v")], base_timestamp=0, compression=codec)


def reversing_snappy(monkeypatch):
    # Stands in for python-snappy: a reversible transform, so the framing can be checked.
    return fake_module(
        monkeypatch, "snappy",
        compress=lambda data: b"S" + bytes(data)[::-1],
        decompress=lambda data: bytes(data)[1:][::-1],
    )


def test_snappy_is_written_in_xerial_framing_with_32k_blocks(monkeypatch):
    reversing_snappy(monkeypatch)
    records = [Record(0, 0, None, bytes(range(256)) * 300)]  # > 64 KiB of records
    batch = build_batch(records, base_timestamp=0, compression=Compression.SNAPPY)
    section = records_section(batch)
    assert section[:16] == b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    pos, blocks = 16, []
    while pos < len(section):
        (length,) = struct.unpack_from(">i", section, pos)
        blocks.append(section[pos + 4 : pos + 4 + length])
        pos += 4 + length
    assert [len(b) - 1 for b in blocks[:-1]] == [32 * 1024] * (len(blocks) - 1)
    assert len(blocks) == 3
    assert decode_records(batch) == records


def test_snappy_raw_stream_without_xerial_framing_decodes(monkeypatch):
    snappy = reversing_snappy(monkeypatch)
    batch = sample_batch()
    raw = set_attributes(
        with_records_section(batch, snappy.compress(records_section(batch))), 2
    )
    assert decode_records(raw) == SAMPLE


def test_snappy_xerial_block_past_end_is_corrupt(monkeypatch):
    reversing_snappy(monkeypatch)
    batch = sample_batch(compression=Compression.SNAPPY)
    section = records_section(batch)
    with pytest.raises(CorruptBatchError, match="xerial"):
        decode_records(with_records_section(batch, section[:-1]))


def test_lz4_frames_have_independent_blocks(monkeypatch):
    calls = []

    def compress(data, **kwargs):
        calls.append(kwargs)
        return b"L" + data

    fake_module(monkeypatch, "lz4.frame", compress=compress, decompress=lambda d: d[1:])
    batch = sample_batch(compression=Compression.LZ4)
    assert calls == [{"block_linked": False}]
    assert decode_records(batch) == SAMPLE


def test_codec_library_errors_become_corrupt_batch(monkeypatch):
    def decompress(data):
        raise RuntimeError("bad lz4 frame")

    fake_module(monkeypatch, "lz4.frame", compress=lambda d, **k: d, decompress=decompress)
    with pytest.raises(CorruptBatchError, match="lz4 data does not decompress"):
        decode_records(set_attributes(sample_batch(), Compression.LZ4))


# Real codecs, when their modules are installed (they are optional dependencies).
REAL_CODECS = [
    pytest.param(Compression.SNAPPY, "snappy", id="snappy"),
    pytest.param(Compression.LZ4, "lz4.frame", id="lz4"),
    pytest.param(Compression.ZSTD, "zstandard", id="zstd"),
]


@pytest.mark.parametrize(("codec", "module"), REAL_CODECS)
def test_real_codec_round_trip_and_kafka_python_cross_check(codec, module):
    # The codec modules are pinned test dependencies: a missing one is a failure, not a skip.
    importlib.import_module(module)
    ours = sample_batch(compression=codec)
    assert decode_records(ours) == SAMPLE
    assert [(r.key, r.value) for r in DefaultRecordBatch(ours)] == [
        (r.key, r.value) for r in SAMPLE
    ]
    theirs = kp_build(
        [(i, BASE_TS, b"k%d" % i, b"value" * 50, []) for i in range(5)], compression=codec
    )
    assert parse_batch_header(theirs).compression == codec
    assert [r.value for r in decode_records(theirs)] == [b"value" * 50] * 5
