"""Batches and builders shared by the wire tests of batches, records and codecs."""

from __future__ import annotations

import struct

from kafka.record.default_records import DefaultRecordBatchBuilder

from kafkalite.wire.batch import ATTRIBUTES_OFFSET, CRC_OFFSET, RECORDS_OFFSET
from kafkalite.wire.compression import Compression
from kafkalite.wire.crc32c import crc32c
from kafkalite.wire.records import Record, build_batch

BASE_TS = 1_700_000_000_000

SAMPLE = [
    Record(0, 0, b"key-0", b"value-0"),
    Record(1, 5, None, b"value-1", headers=(("trace", b"abc"), ("empty", b""))),
    Record(2, -3, b"", None, headers=(("null", None),)),
    Record(3, 100, b"k" * 200, b"v" * 300),
]


def sample_batch(**kwargs) -> bytes:
    kwargs.setdefault("base_timestamp", BASE_TS)
    return build_batch(SAMPLE, **kwargs)


def three_batches() -> list[bytes]:
    return [
        build_batch([(b"a", b"1")], base_offset=0, base_timestamp=BASE_TS),
        sample_batch(base_offset=1, compression=Compression.GZIP),
        build_batch([(b"c", b"3"), (b"d", b"4")], base_offset=5, base_timestamp=BASE_TS),
    ]


def records_section(batch: bytes) -> bytes:
    return batch[RECORDS_OFFSET:]


def with_records_section(batch: bytes, section: bytes, records_count: int | None = None) -> bytes:
    """*batch*'s header over a replacement records section, with length and CRC made valid."""
    out = bytearray(batch[:RECORDS_OFFSET] + section)
    struct.pack_into(">i", out, 8, len(out) - 12)
    if records_count is not None:
        struct.pack_into(">i", out, 57, records_count)
    struct.pack_into(">I", out, CRC_OFFSET, crc32c(bytes(out[ATTRIBUTES_OFFSET:])))
    return bytes(out)


def set_attributes(batch: bytes, attributes: int) -> bytes:
    out = bytearray(batch)
    struct.pack_into(">h", out, ATTRIBUTES_OFFSET, attributes)
    struct.pack_into(">I", out, CRC_OFFSET, crc32c(bytes(out[ATTRIBUTES_OFFSET:])))
    return bytes(out)


def kp_build(
    items, *, compression=0, transactional=False, producer_id=-1, producer_epoch=-1,
    base_sequence=-1,
) -> bytes:
    """Build a batch with kafka-python: items are (offset, timestamp, key, value, headers)."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=compression, is_transactional=transactional,
        producer_id=producer_id, producer_epoch=producer_epoch, base_sequence=base_sequence,
        batch_size=1 << 30,
    )
    for offset, timestamp, key, value, headers in items:
        assert builder.append(offset, timestamp, key, value, headers) is not None
    return bytes(builder.build())
