"""RecordBatch v2 ("magic 2"): Kafka's on-disk and on-wire record format.

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

Each record is length-prefixed with zig-zag varints::

    length varint | attributes int8 | timestamp_delta varlong | offset_delta varint |
    key_length varint, key | value_length varint, value |
    header_count varint, [key_length varint, key (UTF-8) | value_length varint, value]...

A negative length means null (we write -1; Kafka reads any negative length as null).

The broker keeps batches as bytes with a parsed `BatchHeader` (this is the produce hot path:
one ``struct`` unpack per batch, CRC over a memoryview, offsets patched in place); records are
decoded only when someone needs them (``__consumer_offsets``, transaction markers, tests).

Nothing here does I/O. Errors are `DecodeError` subclasses: `CorruptBatchError` for bytes that
do not form a valid batch, `UnsupportedMagicError` for an old (v0/v1) message format, and
`UnsupportedCompressionError` for a codec whose Python module is not installed.
"""

from __future__ import annotations

import enum
import importlib
import struct
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

import attrs

from kafkalite.wire.crc32c import crc32c
from kafkalite.wire.primitives import (
    DecodeError,
    Reader,
    read_int8,
    read_varint,
    read_varlong,
    write_varint,
    write_varlong,
)

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
    "Compression",
    "ControlRecordType",
    "CorruptBatchError",
    "NewRecord",
    "Record",
    "TimestampType",
    "UnsupportedCompressionError",
    "UnsupportedMagicError",
    "batch_crc_ok",
    "build_batch",
    "build_control_batch",
    "decode_records",
    "iter_batches",
    "parse_batch_header",
    "parse_control_record",
    "patch_base_offset",
    "patch_partition_leader_epoch",
    "record_timestamp",
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


class Compression(enum.IntEnum):
    """Codec ids of attributes bits 0-2."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


class TimestampType(enum.IntEnum):
    """Attributes bit 3."""

    CREATE_TIME = 0
    LOG_APPEND_TIME = 1


class ControlRecordType(enum.IntEnum):
    """The ``type`` in a control record's key. Only transaction markers are written here."""

    ABORT = 0
    COMMIT = 1


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


class UnsupportedCompressionError(DecodeError):
    """A batch uses (or a caller asked for) a codec whose Python module is not installed.

    Raised by `decode_records` and `build_batch`. Stored and fetched batches never need the
    codec: the broker passes compressed batches through as bytes.
    """

    def __init__(self, codec: int, reason: str) -> None:
        super().__init__(f"cannot handle {_codec_name(codec)} compression: {reason}")
        self.codec = codec


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
        """Codec id, attributes bits 0-2; compare with `Compression` members."""
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
    timestamp from max_timestamp when bit 3 is set (see `record_timestamp`). As in Kafka,
    nothing is written when the batch already says LogAppendTime at *timestamp_ms*.

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
    view = memoryview(buf)[pos + ATTRIBUTES_OFFSET : pos + batch_length + LOG_OVERHEAD]
    _u32.pack_into(buf, pos + CRC_OFFSET, crc32c(view))


# -- records ---------------------------------------------------------------------------------

RecordHeader = tuple[str, Union[bytes, None]]


def _headers_tuple(headers: Iterable[Sequence[Any]]) -> tuple[RecordHeader, ...]:
    return tuple((key, value) for key, value in headers)


@attrs.frozen
class Record:
    """One record as it is on the wire: offset and timestamp relative to its batch.

    The record's offset is ``header.base_offset + offset_delta``; its timestamp is given by
    `record_timestamp`. ``attributes`` is unused by Kafka (always 0) but carried through.
    """

    offset_delta: int
    timestamp_delta: int
    key: bytes | None
    value: bytes | None
    headers: tuple[RecordHeader, ...] = attrs.field(default=(), converter=_headers_tuple)
    attributes: int = 0


@attrs.frozen
class NewRecord:
    """A record to put in a batch, with an absolute timestamp: the producer's view.

    ``timestamp`` is in milliseconds since the epoch; None means the batch's base timestamp.
    Its offset delta is its index in the list given to `build_batch`.
    """

    key: bytes | None
    value: bytes | None
    headers: tuple[RecordHeader, ...] = attrs.field(default=(), converter=_headers_tuple)
    timestamp: int | None = None


RecordInput = Union[Record, NewRecord, tuple[Union[bytes, None], Union[bytes, None]]]


def record_timestamp(header: BatchHeader, record: Record) -> int:
    """The record's timestamp: max_timestamp under LogAppendTime, else base + delta."""
    if header.attributes & TIMESTAMP_TYPE_MASK:
        return header.max_timestamp
    return header.base_timestamp + record.timestamp_delta


def _read_varint_bytes(r: Reader, what: str) -> bytes | None:
    length = r.read(read_varint, f"{what} length")
    if length < 0:
        return None
    start = r.pos
    end = start + length
    if end > len(r.buf):
        raise DecodeError(
            f"{what} of {length} bytes at offset {start} runs past the end of the records "
            f"({len(r.buf)} bytes)"
        )
    r.pos = end
    return bytes(r.buf[start:end])


def _decode_one(r: Reader) -> Record:
    length = r.read(read_varint, "record length")
    start = r.pos
    if length < 0 or start + length > len(r.buf):
        raise DecodeError(
            f"record length {length} at offset {start} does not fit in the records "
            f"({len(r.buf)} bytes)"
        )
    attributes = r.read(read_int8, "record attributes")
    timestamp_delta = r.read(read_varlong, "timestamp delta")
    offset_delta = r.read(read_varint, "offset delta")
    key = _read_varint_bytes(r, "key")
    value = _read_varint_bytes(r, "value")
    header_count = r.read(read_varint, "header count")
    if header_count < 0:
        raise DecodeError(f"negative header count {header_count}")
    headers = []
    for _ in range(header_count):
        raw_key = _read_varint_bytes(r, "header key")
        if raw_key is None:
            raise DecodeError("header key is null")
        try:
            header_key = raw_key.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"header key is not valid UTF-8: {exc}") from None
        headers.append((header_key, _read_varint_bytes(r, "header value")))
    if r.pos != start + length:
        # Kafka: "Invalid record size: expected to read N bytes in record payload, but
        # instead read M".
        raise DecodeError(
            f"record declares {length} bytes but its fields take {r.pos - start}"
        )
    return Record(offset_delta, timestamp_delta, key, value, tuple(headers), attributes)


def decode_records(buf: Any, pos: int = 0) -> list[Record]:
    """Decode the records of the batch that starts at *pos* of *buf*, decompressing them.

    Bytes after the batch are ignored. The CRC is not checked (see `batch_crc_ok`). As in
    Kafka, the records must account for every byte of the (decompressed) batch and their
    number must equal records_count.

    Raises:
        CorruptBatchError: a bad header (see `parse_batch_header`), a negative records_count,
            malformed or truncated records, or data that does not decompress.
        UnsupportedMagicError: as `parse_batch_header`.
        UnsupportedCompressionError: the codec's Python module is not installed.
    """
    header = parse_batch_header(buf, pos)
    count = header.records_count
    if count < 0:
        raise CorruptBatchError(f"record batch at position {pos} has records_count {count}")
    data: Any = memoryview(buf)[pos + RECORDS_OFFSET : pos + header.size]
    codec = header.compression
    if codec != Compression.NONE:
        data = _decompress(codec, data)
    r = Reader(data)
    records = []
    for index in range(count):
        try:
            records.append(_decode_one(r))
        except DecodeError as exc:
            raise CorruptBatchError(
                f"record {index} of {count} in the batch at position {pos}: {exc}"
            ) from None
    if r.remaining():
        # Kafka: "Incorrect declared batch size, records still remaining in file".
        raise CorruptBatchError(
            f"{r.remaining()} bytes left over after the {count} records of the batch at "
            f"position {pos}"
        )
    return records


def _write_varint_bytes(out: bytearray, value: bytes | None) -> None:
    if value is None:
        out.append(0x01)  # zig-zag -1
    else:
        write_varint(out, len(value))
        out += value


def _encode_record(
    out: bytearray,
    offset_delta: int,
    timestamp_delta: int,
    key: bytes | None,
    value: bytes | None,
    headers: tuple[RecordHeader, ...],
    attributes: int,
) -> None:
    body = bytearray(_i8.pack(attributes))
    write_varlong(body, timestamp_delta)
    write_varint(body, offset_delta)
    _write_varint_bytes(body, key)
    _write_varint_bytes(body, value)
    write_varint(body, len(headers))
    for header_key, header_value in headers:
        _write_varint_bytes(body, header_key.encode("utf-8"))
        _write_varint_bytes(body, header_value)
    write_varint(out, len(body))
    out += body


_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def build_batch(
    records: Iterable[RecordInput],
    *,
    base_offset: int = 0,
    partition_leader_epoch: int = 0,
    base_timestamp: int | None = None,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    transactional: bool = False,
    control: bool = False,
    compression: int = Compression.NONE,
) -> bytes:
    """Encode *records* as one RecordBatch v2 with a valid CRC; return its bytes.

    Each item of *records* is one of:

    * a `Record`: wire-level, its offset_delta and timestamp_delta are written as given
      (timestamp_delta relative to *base_timestamp*);
    * a `NewRecord`: offset_delta is its index in *records*, its absolute ``timestamp`` (or
      *base_timestamp* when None) becomes the delta;
    * a ``(key, value)`` pair: short for ``NewRecord(key, value)``.

    *base_timestamp* (ms) defaults to the first `NewRecord` timestamp, as Kafka's producer
    takes the first record's, else to the current time. max_timestamp is the largest record
    timestamp; last_offset_delta is the last record's offset_delta. The timestamp type is
    CreateTime (see `set_log_append_time`). *compression* is a `Compression` id; the records
    are compressed even when that makes them larger (Kafka's producers may fall back to none).

    Raises:
        ValueError: no records, or offset deltas that are negative, not increasing, or
            outside int32.
        UnsupportedCompressionError: the codec's Python module is not installed, or the id
            is not a codec.
        struct.error: a header field out of its type's range.
    """
    items = list(records)
    if not items:
        raise ValueError("a record batch needs at least one record")
    if base_timestamp is None:
        base_timestamp = next(
            (
                item.timestamp
                for item in items
                if isinstance(item, NewRecord) and item.timestamp is not None
            ),
            None,
        )
        if base_timestamp is None:
            base_timestamp = int(time.time() * 1000)

    body = bytearray()
    max_timestamp = None
    previous_delta = -1
    for index, item in enumerate(items):
        if isinstance(item, Record):
            offset_delta = item.offset_delta
            timestamp_delta = item.timestamp_delta
            key, value, headers, attributes = item.key, item.value, item.headers, item.attributes
        else:
            if not isinstance(item, NewRecord):
                key, value = item
                item = NewRecord(key, value)
            offset_delta = index
            timestamp = base_timestamp if item.timestamp is None else item.timestamp
            timestamp_delta = timestamp - base_timestamp
            key, value, headers, attributes = item.key, item.value, item.headers, 0
        if not previous_delta < offset_delta <= _INT32_MAX:
            raise ValueError(
                f"record {index} has offset_delta {offset_delta}; offset deltas must increase "
                f"from 0 and fit in int32 (previous: {previous_delta})"
            )
        previous_delta = offset_delta
        timestamp = base_timestamp + timestamp_delta
        if max_timestamp is None or timestamp > max_timestamp:
            max_timestamp = timestamp
        _encode_record(body, offset_delta, timestamp_delta, key, value, headers, attributes)

    payload: Any = body
    if compression != Compression.NONE:
        payload = _compress(compression, bytes(body))

    attributes = int(compression)  # a valid codec id: _compress rejected any other
    if transactional:
        attributes |= TRANSACTIONAL_MASK
    if control:
        attributes |= CONTROL_MASK

    out = bytearray(BATCH_HEADER_SIZE)
    out += payload
    _HEADER.pack_into(
        out,
        0,
        base_offset,
        len(out) - LOG_OVERHEAD,
        partition_leader_epoch,
        MAGIC,
        0,  # crc, computed below over the finished bytes
        attributes,
        previous_delta,  # last_offset_delta
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        len(items),
    )
    _u32.pack_into(out, CRC_OFFSET, crc32c(memoryview(out)[ATTRIBUTES_OFFSET:]))
    return bytes(out)


# -- control batches (transaction markers) ---------------------------------------------------

# Kafka's ControlRecordType key: int16 version (0), int16 type. EndTransactionMarker value:
# int16 version (0), int32 coordinator_epoch. Both are read leniently, as Kafka does: a newer
# version is parsed as version 0 provided the version-0 fields are there.
_CONTROL_KEY = struct.Struct(">hh")
_END_TXN_VALUE = struct.Struct(">hi")
_CONTROL_KEY_VERSION = 0
_END_TXN_VALUE_VERSION = 0


def build_control_batch(
    control_type: ControlRecordType,
    *,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int = 0,
    base_offset: int = 0,
    partition_leader_epoch: int = 0,
    timestamp: int | None = None,
) -> bytes:
    """Build the transaction-marker batch Kafka's coordinator writes at a transaction's end.

    One control record (key: version 0 and *control_type*; value: version 0 and
    *coordinator_epoch*) in a batch with the transactional and control bits set, the
    producer's id and epoch, and no sequence. *timestamp* defaults to now (ms).
    """
    return build_batch(
        [
            NewRecord(
                _CONTROL_KEY.pack(_CONTROL_KEY_VERSION, control_type),
                _END_TXN_VALUE.pack(_END_TXN_VALUE_VERSION, coordinator_epoch),
                timestamp=timestamp,
            )
        ],
        base_offset=base_offset,
        partition_leader_epoch=partition_leader_epoch,
        base_timestamp=timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=NO_SEQUENCE,
        transactional=True,
        control=True,
    )


def parse_control_record(record: Record) -> tuple[ControlRecordType, int]:
    """Return ``(type, coordinator_epoch)`` of a transaction marker record.

    Raises:
        CorruptBatchError: a missing or short key or value, a negative version, or a control
            type other than ABORT and COMMIT (KRaft's own control records are not markers).
    """
    key, value = record.key, record.value
    if key is None or len(key) < _CONTROL_KEY.size:
        raise CorruptBatchError(
            f"control record key must have {_CONTROL_KEY.size} bytes, got "
            f"{'null' if key is None else len(key)}"
        )
    version, raw_type = _CONTROL_KEY.unpack_from(key)
    if version < 0:
        raise CorruptBatchError(f"invalid control record key version {version}")
    try:
        control_type = ControlRecordType(raw_type)
    except ValueError:
        raise CorruptBatchError(
            f"control record type {raw_type} is not a transaction marker (ABORT or COMMIT)"
        ) from None
    if value is None or len(value) < _END_TXN_VALUE.size:
        raise CorruptBatchError(
            f"transaction marker value must have {_END_TXN_VALUE.size} bytes, got "
            f"{'null' if value is None else len(value)}"
        )
    version, coordinator_epoch = _END_TXN_VALUE.unpack_from(value)
    if version < 0:
        raise CorruptBatchError(f"invalid transaction marker value version {version}")
    return control_type, coordinator_epoch


# -- compression -----------------------------------------------------------------------------
# Strategy: codec modules are imported when first needed, through sys.modules (cheap after the
# first time), so a broker without python-snappy / lz4 / zstandard still starts and passes
# such batches through untouched; only decoding or building one raises
# UnsupportedCompressionError. gzip is always there (zlib).

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


def _decompress(codec: int, data: Any) -> bytes:
    try:
        decompress = _DECOMPRESS[codec]
    except KeyError:
        raise CorruptBatchError(f"record batch has unknown compression codec id {codec}") from None
    try:
        return decompress(data)
    except DecodeError:
        raise
    except Exception as exc:  # each codec library has its own exception types
        raise CorruptBatchError(
            f"{_codec_name(codec)} data does not decompress: {exc!r}"
        ) from None


def _compress(codec: int, data: bytes) -> bytes:
    try:
        compress = _COMPRESS[codec]
    except KeyError:
        raise UnsupportedCompressionError(codec, "not a codec id") from None
    return compress(data)
