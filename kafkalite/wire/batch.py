"""RecordBatch v2 ("magic 2") framing: the 61-byte batch header, record sets, CRC, patches.

A record set (the ``records`` field of Produce and Fetch, and a segment file) is a plain
concatenation of batches. Each batch is a fixed 61-byte header followed by its records::

    offset  size  field                   covered by the CRC
         0     8  base_offset             no  (assigned by the broker on append)
         8     4  batch_length            no  (bytes after this field: size - 12)
        12     4  partition_leader_epoch  no  (stamped by the broker on append)
        16     1  magic                   no  (2; at byte 16 in every format ever used)
        17     4  crc                     -   (CRC-32C of bytes 21 .. end, unsigned)
        21     2  attributes              yes
        23     4  last_offset_delta       yes
        27     8  base_timestamp          yes
        35     8  max_timestamp           yes
        43     8  producer_id             yes
        51     2  producer_epoch          yes
        53     4  base_sequence           yes
        57     4  records_count           yes
        61     .  records (compressed as a whole when attributes say so)

Attributes: bits 0-2 compression codec, bit 3 timestamp type (1 = LogAppendTime), bit 4
transactional, bit 5 control batch, bit 6 "delete horizon" (KIP-534, written by the log
cleaner: base_timestamp then holds the horizon).

This is all the storage layer needs of the format: the broker keeps batches as bytes with a
parsed `BatchHeader` (the produce hot path: one ``struct`` unpack per batch, CRC over a
memoryview, offsets patched in place). The records inside a batch are in
`kafkalite.wire.records`, their codecs in `kafkalite.wire.compression`; nothing here
imports either.

Nothing here does I/O. Errors are `DecodeError` subclasses: `CorruptBatchError` for bytes that
do not form a valid batch, `UnsupportedMagicError` for an old (v0/v1) message format.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from typing import Any

import attrs

from kafkalite.wire.crc32c import crc32c
from kafkalite.wire.primitives import DecodeError

__all__ = [
    "ATTRIBUTES_OFFSET",
    "BASE_OFFSET_OFFSET",
    "BASE_SEQUENCE_OFFSET",
    "BASE_TIMESTAMP_OFFSET",
    "BATCH_HEADER_SIZE",
    "BATCH_LENGTH_OFFSET",
    "COMPRESSION_MASK",
    "CONTROL_MASK",
    "CRC_OFFSET",
    "DELETE_HORIZON_MASK",
    "LAST_OFFSET_DELTA_OFFSET",
    "LOG_OVERHEAD",
    "MAGIC",
    "MAGIC_OFFSET",
    "MAX_TIMESTAMP_OFFSET",
    "MIN_BATCH_LENGTH",
    "NO_PRODUCER_EPOCH",
    "NO_PRODUCER_ID",
    "NO_SEQUENCE",
    "PARTITION_LEADER_EPOCH_OFFSET",
    "PRODUCER_EPOCH_OFFSET",
    "PRODUCER_ID_OFFSET",
    "RECORDS_COUNT_OFFSET",
    "RECORDS_OFFSET",
    "TIMESTAMP_TYPE_MASK",
    "TRANSACTIONAL_MASK",
    "BatchHeader",
    "BatchScan",
    "CorruptBatchError",
    "TimestampType",
    "UnsupportedMagicError",
    "assemble_batch",
    "batch_crc_ok",
    "iter_batches",
    "parse_batch_header",
    "patch_base_offset",
    "patch_partition_leader_epoch",
    "scan_batches",
    "set_log_append_time",
]

# -- header layout ---------------------------------------------------------------------------

BASE_OFFSET_OFFSET = 0
BATCH_LENGTH_OFFSET = 8
PARTITION_LEADER_EPOCH_OFFSET = 12
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
LAST_OFFSET_DELTA_OFFSET = 23
BASE_TIMESTAMP_OFFSET = 27
MAX_TIMESTAMP_OFFSET = 35
PRODUCER_ID_OFFSET = 43
PRODUCER_EPOCH_OFFSET = 51
BASE_SEQUENCE_OFFSET = 53
RECORDS_COUNT_OFFSET = 57
RECORDS_OFFSET = 61
BATCH_HEADER_SIZE = 61

#: Bytes of a batch that its batch_length does not count (base_offset and batch_length).
LOG_OVERHEAD = 12
#: Smallest valid batch_length: a header with no records.
MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD
MAGIC = 2

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
DELETE_HORIZON_MASK = 0x40

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1

_HEADER = struct.Struct(
    ">q"  # base_offset
    "i"  # batch_length
    "i"  # partition_leader_epoch
    "b"  # magic
    "I"  # crc
    "h"  # attributes
    "i"  # last_offset_delta
    "q"  # base_timestamp
    "q"  # max_timestamp
    "q"  # producer_id
    "h"  # producer_epoch
    "i"  # base_sequence
    "i"  # records_count
)
assert _HEADER.size == BATCH_HEADER_SIZE

_i8 = struct.Struct(">b")
_i16 = struct.Struct(">h")
_i32 = struct.Struct(">i")
_i64 = struct.Struct(">q")
_u32 = struct.Struct(">I")
_unpack_header = _HEADER.unpack_from
_unpack_i32 = _i32.unpack_from


class TimestampType(enum.IntEnum):
    """Attributes bit 3."""

    CREATE_TIME = 0
    LOG_APPEND_TIME = 1


# -- errors ----------------------------------------------------------------------------------


class CorruptBatchError(DecodeError):
    """The bytes do not form a valid RecordBatch: short, bad length, or malformed records.

    Kafka answers CORRUPT_MESSAGE (2) for these.
    """


class UnsupportedMagicError(DecodeError):
    """The batch uses a message format other than v2 (magic 0 and 1 are gone in Kafka 4)."""

    def __init__(self, magic: int, position: int) -> None:
        super().__init__(
            f"record batch at position {position} has magic {magic}; only magic {MAGIC} "
            "(RecordBatch v2) is supported"
        )
        self.magic = magic


# -- the header ------------------------------------------------------------------------------


@attrs.frozen
class BatchHeader:
    """The 61-byte header of one RecordBatch v2, field for field (see the module docstring).

    Field order is the wire order, so ``BatchHeader(*struct_values)`` builds one.
    """

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def compression(self) -> int:
        """Codec id, attributes bits 0-2; see `kafkalite.wire.compression.Compression`."""
        return self.attributes & COMPRESSION_MASK

    @property
    def timestamp_type(self) -> int:
        """0 CreateTime, 1 LogAppendTime (attributes bit 3); see `TimestampType`."""
        return (self.attributes & TIMESTAMP_TYPE_MASK) >> 3

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def size(self) -> int:
        """Bytes the whole batch takes in a record set, header included."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        """The offset after this batch: the log end offset once it is appended."""
        return self.base_offset + self.last_offset_delta + 1


def parse_batch_header(buf: Any, pos: int = 0) -> BatchHeader:
    """Parse the header of the batch that starts at byte *pos* of *buf*.

    *buf* is any buffer ``struct`` can read (bytes, bytearray, memoryview). Only the framing
    is checked: the magic, and that batch_length is at least a header's worth and fits in
    *buf*. The CRC is left to `batch_crc_ok`, offsets and sequence numbers to the caller.

    Raises:
        UnsupportedMagicError: the magic byte (readable once 17 bytes are there) is not 2.
        CorruptBatchError: fewer than 61 bytes from *pos*, a batch_length below 49, or a
            batch_length that runs past the end of *buf*.
    """
    available = len(buf) - pos
    if available < BATCH_HEADER_SIZE:
        # The magic sits at the same place in every format, so an old-format message shorter
        # than our header is still reported as what it is.
        if available > MAGIC_OFFSET:
            magic = _i8.unpack_from(buf, pos + MAGIC_OFFSET)[0]
            if magic != MAGIC:
                raise UnsupportedMagicError(magic, pos)
        raise CorruptBatchError(
            f"record batch header at position {pos} is truncated: {max(available, 0)} of "
            f"{BATCH_HEADER_SIZE} bytes"
        )
    fields = _unpack_header(buf, pos)
    if fields[3] != MAGIC:
        raise UnsupportedMagicError(fields[3], pos)
    batch_length = fields[1]
    if batch_length < MIN_BATCH_LENGTH:
        raise CorruptBatchError(
            f"record batch at position {pos} has batch_length {batch_length}, below the "
            f"minimum of {MIN_BATCH_LENGTH}"
        )
    if batch_length + LOG_OVERHEAD > available:
        raise CorruptBatchError(
            f"record batch at position {pos} declares {batch_length + LOG_OVERHEAD} bytes but "
            f"only {available} are left"
        )
    return BatchHeader(*fields)


# -- record sets -----------------------------------------------------------------------------


def iter_batches(buf: Any) -> Iterator[tuple[int, BatchHeader]]:
    """Yield ``(position, header)`` for each whole batch in the record set *buf*.

    Stops without error at a truncated trailing batch (a Fetch response may end with one;
    Kafka's log also ignores a partial batch at the end of a produced record set); use
    `scan_batches` to learn whether there was one. A batch that is whole but malformed raises,
    after the batches before it have been yielded.

    Raises:
        CorruptBatchError, UnsupportedMagicError: as `parse_batch_header`, for a batch whose
            declared length fits in *buf*, or whose batch_length is below the minimum.
    """
    end = len(buf)
    pos = 0
    while end - pos >= LOG_OVERHEAD:
        batch_length = _unpack_i32(buf, pos + BATCH_LENGTH_OFFSET)[0]
        if batch_length >= MIN_BATCH_LENGTH and batch_length + LOG_OVERHEAD > end - pos:
            return  # a partial tail: the rest of the batch has not arrived / was cut off
        header = parse_batch_header(buf, pos)
        yield pos, header
        pos += batch_length + LOG_OVERHEAD


@attrs.frozen
class BatchScan:
    """What `scan_batches` found in a record set."""

    #: ``(position, header)`` of each whole batch, in order.
    batches: tuple[tuple[int, BatchHeader], ...]
    #: Bytes taken by the whole batches: where a partial tail, if any, starts.
    valid_bytes: int
    #: Whether bytes of a truncated batch follow the whole ones.
    partial_tail: bool


def scan_batches(buf: Any) -> BatchScan:
    """Parse every batch header in the record set *buf* and report any partial tail.

    Raises what `iter_batches` raises.
    """
    batches = tuple(iter_batches(buf))
    valid_bytes = batches[-1][0] + batches[-1][1].size if batches else 0
    return BatchScan(batches=batches, valid_bytes=valid_bytes, partial_tail=valid_bytes < len(buf))


def batch_crc_ok(buf: Any, pos: int, header: BatchHeader) -> bool:
    """Whether the CRC-32C of bytes 21 .. end of the batch at *pos* matches ``header.crc``.

    The covered bytes are a memoryview slice of *buf* (see `kafkalite.wire.crc32c` for the
    one copy google-crc32c itself needs for non-``bytes`` input).
    """
    view = memoryview(buf)[pos + ATTRIBUTES_OFFSET : pos + header.batch_length + LOG_OVERHEAD]
    return crc32c(view) == header.crc


# -- writing ---------------------------------------------------------------------------------


def _write_crc(buf: Any, pos: int, end: int) -> None:
    """Store the CRC-32C of bytes 21 .. *end* of the batch at *pos* in its crc field."""
    view = memoryview(buf)[pos + ATTRIBUTES_OFFSET : end]
    _u32.pack_into(buf, pos + CRC_OFFSET, crc32c(view))


def assemble_batch(
    records_section: Any,
    *,
    base_offset: int,
    partition_leader_epoch: int,
    attributes: int,
    last_offset_delta: int,
    base_timestamp: int,
    max_timestamp: int,
    producer_id: int,
    producer_epoch: int,
    base_sequence: int,
    records_count: int,
) -> bytes:
    """Put a header with these fields in front of *records_section*; return the batch's bytes.

    *records_section* is the records as the batch stores them (compressed when *attributes*
    name a codec; see `kafkalite.wire.records.build_batch`). The magic is 2; batch_length
    and the CRC are computed here.

    Raises:
        struct.error: a header field out of its type's range.
    """
    out = bytearray(BATCH_HEADER_SIZE)
    out += records_section
    _HEADER.pack_into(
        out,
        0,
        base_offset,
        len(out) - LOG_OVERHEAD,
        partition_leader_epoch,
        MAGIC,
        0,  # crc, computed below over the finished bytes
        attributes,
        last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        records_count,
    )
    _write_crc(out, 0, len(out))
    return bytes(out)


# -- in-place patches ------------------------------------------------------------------------
# *buf* must be writable (bytearray, writable memoryview); a read-only buffer raises TypeError.


def patch_base_offset(buf: Any, pos: int, base_offset: int) -> None:
    """Overwrite the base_offset of the batch at *pos*. Not covered by the CRC."""
    _i64.pack_into(buf, pos + BASE_OFFSET_OFFSET, base_offset)


def patch_partition_leader_epoch(buf: Any, pos: int, epoch: int) -> None:
    """Overwrite the partition_leader_epoch of the batch at *pos*. Not covered by the CRC."""
    _i32.pack_into(buf, pos + PARTITION_LEADER_EPOCH_OFFSET, epoch)


def set_log_append_time(buf: Any, pos: int, timestamp_ms: int) -> None:
    """Mark the batch at *pos* as LogAppendTime at *timestamp_ms* and recompute its CRC.

    Does what Kafka's ``DefaultRecordBatch.setMaxTimestamp(LOG_APPEND_TIME, now)`` does on
    append to a ``message.timestamp.type=LogAppendTime`` topic: set attributes bit 3 (other
    bits kept), write max_timestamp, recompute the CRC. base_timestamp and the records are
    left alone (rewriting them would mean recompressing); readers take every record's
    timestamp from max_timestamp when bit 3 is set (see
    `kafkalite.wire.records.record_timestamp`). As in Kafka, nothing is written when the
    batch already says LogAppendTime at *timestamp_ms*.

    The batch must be whole in *buf* (its batch_length is read from *buf*).
    """
    attributes = _i16.unpack_from(buf, pos + ATTRIBUTES_OFFSET)[0]
    if (
        attributes & TIMESTAMP_TYPE_MASK
        and _i64.unpack_from(buf, pos + MAX_TIMESTAMP_OFFSET)[0] == timestamp_ms
    ):
        return
    batch_length = _unpack_i32(buf, pos + BATCH_LENGTH_OFFSET)[0]
    _i16.pack_into(buf, pos + ATTRIBUTES_OFFSET, attributes | TIMESTAMP_TYPE_MASK)
    _i64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp_ms)
    _write_crc(buf, pos, pos + batch_length + LOG_OVERHEAD)
