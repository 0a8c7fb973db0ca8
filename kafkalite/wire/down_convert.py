"""Stored RecordBatch v2 bytes rewritten as message format v0 or v1, for Fetch v0-3 (Kafka 3's
``RecordsUtil.downConvert`` behind its ``LazyDownConversionRecords``; Kafka 4 removed those
Fetch versions, KIP-896).

Per stored batch, in order:

* a control batch (transaction marker) is dropped: old formats have none;
* a zstd batch cannot be down-converted (`ZstdDownConversionError`: UNSUPPORTED_COMPRESSION_TYPE);
* an uncompressed batch becomes one message per record, at the record's absolute offset,
  dropping the records before the fetch offset (a fetch may start inside a v2 batch);
* a compressed batch becomes one wrapper of the same codec holding all its records (the client
  skips those before its offset), inner offsets relative for magic 1 and absolute for magic 0;
* magic 1 keeps each record's timestamp and the batch's timestamp type (LogAppendTime: the
  batch's max timestamp for every message); magic 0 has neither; headers are dropped;
* transactional batches are converted like any other: old fetchers read uncommitted.
"""

from __future__ import annotations

from typing import Any

from kafkalite.wire.batch import TIMESTAMP_TYPE_MASK, iter_batches
from kafkalite.wire.compression import Compression
from kafkalite.wire.legacy import build_message_set
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.records import decode_records, record_timestamp

__all__ = ["ZstdDownConversionError", "down_convert"]


class ZstdDownConversionError(DecodeError):
    """A zstd batch asked for in format v0/v1: Kafka refuses with UNSUPPORTED_COMPRESSION_TYPE."""


def down_convert(batches: Any, magic: int, fetch_offset: int) -> list[bytes]:
    """*batches* (whole v2 batches, as a log read returns them) as message sets of format
    *magic* (0 or 1), one per batch that yields any message (see the module docstring).

    Raises:
        ZstdDownConversionError: a zstd-compressed batch among them.
        CorruptBatchError: a batch whose records do not decode.
        UnsupportedCompressionError: the codec's Python module is not installed.
    """
    out: list[bytes] = []
    for pos, header in iter_batches(batches):
        if header.is_control:
            continue
        codec = header.compression
        if codec == Compression.ZSTD:
            raise ZstdDownConversionError("Down-conversion of zstandard-compressed batches is not supported")
        records = decode_records(batches, pos)
        items = [
            (header.base_offset + r.offset_delta, record_timestamp(header, r), r.key, r.value)
            for r in records
        ]
        if codec == Compression.NONE:
            items = [item for item in items if item[0] >= fetch_offset]
        if not items:
            continue
        log_append_time = header.max_timestamp if header.attributes & TIMESTAMP_TYPE_MASK else None
        out.append(build_message_set(items, magic, codec=codec, log_append_time=log_append_time))
    return out
