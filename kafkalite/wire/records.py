"""The records inside a RecordBatch v2: decoding, building batches, transaction markers.

The batch header and record-set framing are in `kafkalite.wire.batch`, the codecs in
`kafkalite.wire.compression`. Each record is length-prefixed with zig-zag varints::

    length varint | attributes int8 | timestamp_delta varlong | offset_delta varint |
    key_length varint, key | value_length varint, value |
    header_count varint, [key_length varint, key (UTF-8) | value_length varint, value]...

A negative length means null (we write -1; Kafka reads any negative length as null).

Records are decoded only when someone needs them (``__consumer_offsets``, transaction
markers, tools, tests); the broker's produce and fetch paths never come here.

Nothing here does I/O. Errors are `DecodeError` subclasses: `CorruptBatchError` for bytes that
do not form a valid batch, `UnsupportedMagicError` for an old (v0/v1) message format, and
`UnsupportedCompressionError` for a codec whose Python module is not installed.
"""

from __future__ import annotations

import enum
import struct
import time
from collections.abc import Iterable, Sequence
from typing import Any, Union

import attrs

from kafkalite.wire.batch import (
    CONTROL_MASK,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    RECORDS_OFFSET,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_MASK,
    BatchHeader,
    CorruptBatchError,
    assemble_batch,
    parse_batch_header,
)
from kafkalite.wire.compression import Compression, compress, decompress
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
    "ControlRecordType",
    "NewRecord",
    "Record",
    "build_batch",
    "build_control_batch",
    "decode_records",
    "parse_control_record",
    "record_timestamp",
]

_i8 = struct.Struct(">b")


class ControlRecordType(enum.IntEnum):
    """The ``type`` in a control record's key. Only transaction markers are written here."""

    ABORT = 0
    COMMIT = 1


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

    Bytes after the batch are ignored. The CRC is not checked (see
    `kafkalite.wire.batch.batch_crc_ok`). As in Kafka, the records must account for every
    byte of the (decompressed) batch and their number must equal records_count.

    Raises:
        CorruptBatchError: a bad header (see `kafkalite.wire.batch.parse_batch_header`), a
            negative records_count, malformed or truncated records, or data that does not
            decompress.
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
        data = decompress(codec, data)
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
    CreateTime (see `kafkalite.wire.batch.set_log_append_time`). *compression* is a
    `Compression` id; the records are compressed even when that makes them larger (Kafka's
    producers may fall back to none).

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
        payload = compress(compression, bytes(body))

    attributes = int(compression)  # a valid codec id: compress rejected any other
    if transactional:
        attributes |= TRANSACTIONAL_MASK
    if control:
        attributes |= CONTROL_MASK

    return assemble_batch(
        payload,
        base_offset=base_offset,
        partition_leader_epoch=partition_leader_epoch,
        attributes=attributes,
        last_offset_delta=previous_delta,
        base_timestamp=base_timestamp,
        max_timestamp=max_timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        records_count=len(items),
    )


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
