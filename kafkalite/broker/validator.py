"""Kafka's validation of a produced record batch (``UnifiedLog.analyzeAndValidateRecords`` and
``LogValidator``), with a fast path that reads only the 61-byte header.

Two steps, as the produce handler runs them:

`check_batch` (header and bytes only, always; batch-level errors, answered without a message):

* one whole batch of magic 2 (INVALID_RECORD / CORRUPT_MESSAGE), base_offset 0 from a client
  (INVALID_RECORD), size within the topic's max.message.bytes (MESSAGE_TOO_LARGE), CRC-32C
  (CORRUPT_MESSAGE);
* Kafka's ``validateBatch``: an offset range of at least one record, records_count > 0 and
  equal to last_offset_delta + 1, no control batch from a client, and a producer id only with a
  base sequence (all INVALID_RECORD).

`validate_records` (Kafka's ``validateRecord`` for each record, and the max timestamp):

* on a compacted topic (cleanup.policy contains compact) every record needs a key;
* under CreateTime each record's timestamp (unless -1) within [now - before.max.ms,
  now + after.max.ms]; a batch that claims LogAppendTime is refused on a LogAppendTime topic
  (and on a CreateTime one when its timestamp is -1);
* failures are per record: `Refused` with ``record_errors`` [(batch index, message)] and
  Kafka's error message, INVALID_TIMESTAMP if any record's timestamp failed, else
  INVALID_RECORD (KIP-467: the client fails only those records);
* the batch's max_timestamp is that of its records (CreateTime): rewritten, with the CRC,
  when the header's was wrong; the log indexes the batch's last offset for it, as Kafka's
  ``shallowOffsetOfMaxTimestamp``;
* the topic's compression.type: a batch whose codec differs is rebuilt with the topic's
  (``producer`` keeps it), renumbering offset deltas from 0 as Kafka's rebuild does; a
  compressed batch whose offset deltas are not 0, 1, ... is rebuilt likewise.

The fast path: records are decoded only when the header cannot answer, i.e. when the topic
is compacted, the codec must change, the header's timestamps are unusable (max_timestamp
below base_timestamp, or -1), max_timestamp is past now + after.max.ms (then the records are
read to find which), or before.max.ms is finite (a record may be older than the batch's base
timestamp, so only the records tell). A well-formed batch from a client (max_timestamp the
largest record timestamp) to a topic with the default window costs the header checks alone. Unlike Kafka, a batch that takes the fast
path is not decoded, so records malformed behind a valid CRC are not detected there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from kafkalite.broker.topic_configs import topic_config_int, topic_config_value
from kafkalite.wire.batch import (
    BATCH_HEADER_SIZE,
    CONTROL_MASK,
    MAGIC_OFFSET,
    RECORDS_OFFSET,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_MASK,
    BatchHeader,
    UnsupportedMagicError,
    assemble_batch,
    batch_crc_ok,
    parse_batch_header,
)
from kafkalite.wire.compression import Compression, UnsupportedCompressionError, decompress
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.primitives import DecodeError, read_varint, read_varlong
from kafkalite.wire.records import build_batch, decode_records

__all__ = ["Refused", "TopicPolicy", "Validated", "check_batch", "raise_record_errors", "timestamp_message", "validate_records"]

_CODECS = {
    "uncompressed": Compression.NONE,
    "gzip": Compression.GZIP,
    "snappy": Compression.SNAPPY,
    "lz4": Compression.LZ4,
    "zstd": Compression.ZSTD,
}


#: A before.max.ms no timestamp can exceed (Kafka's default is Long.MAX_VALUE).
_UNBOUNDED = 2**63 - 1


class Refused(Exception):
    """A partition's batch refused with *code*. With *record_errors* ((batch_index, message)
    pairs) it is Kafka's RecordValidationException: the answer carries the message and the
    records' indexes; without, a batch-level refusal answered with the code alone."""

    def __init__(self, code: int, message: str, record_errors: Sequence[tuple[int, str]] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.record_errors = list(record_errors)

    @property
    def record_level(self) -> bool:
        return bool(self.record_errors)


@attrs.frozen
class TopicPolicy:
    """What the validation needs of a topic's configs."""

    compacted: bool = False
    log_append_time: bool = False
    before_max_ms: int = 2**63 - 1
    after_max_ms: int = 2**63 - 1
    #: Codec id the topic stores batches with; None for ``producer`` (keep the batch's).
    target_codec: int | None = None
    max_message_bytes: int = 1048588

    @classmethod
    def of(cls, configs: dict[str, str]) -> TopicPolicy:
        codec_name = topic_config_value(configs, "compression.type")
        return cls(
            compacted="compact" in topic_config_value(configs, "cleanup.policy").replace(" ", "").split(","),
            log_append_time=topic_config_value(configs, "message.timestamp.type") == "LogAppendTime",
            before_max_ms=topic_config_int(configs, "message.timestamp.before.max.ms"),
            after_max_ms=topic_config_int(configs, "message.timestamp.after.max.ms"),
            target_codec=_CODECS.get(codec_name),
            max_message_bytes=topic_config_int(configs, "max.message.bytes"),
        )


@attrs.frozen
class Validated:
    """The batch to append (the bytes received, or rewritten) and its header."""

    records: Any
    header: BatchHeader


def check_batch(records: Any, policy: TopicPolicy, tp: str) -> BatchHeader:
    """The header-level checks (see the module docstring); *tp* names the partition
    ("topic-partition") in messages. Raises `Refused` (batch-level)."""
    if records is None or len(records) == 0:
        raise Refused(ErrorCode.INVALID_RECORD, "the produce request carries no record batch")
    size = len(records)
    if size < BATCH_HEADER_SIZE:
        if size > MAGIC_OFFSET and records[MAGIC_OFFSET] != 2:
            raise Refused(ErrorCode.INVALID_RECORD, f"record batch magic {records[MAGIC_OFFSET]} is not 2")
        raise Refused(ErrorCode.CORRUPT_MESSAGE, f"record set of {size} bytes is shorter than a batch header")
    try:
        header = parse_batch_header(records, 0)
    except UnsupportedMagicError as exc:
        raise Refused(ErrorCode.INVALID_RECORD, str(exc)) from None
    except DecodeError as exc:
        raise Refused(ErrorCode.CORRUPT_MESSAGE, str(exc)) from None
    if header.size != size:
        # Produce v3+ carries exactly one batch, and its length must cover the record set.
        if header.size < size:
            raise Refused(ErrorCode.INVALID_RECORD, "Produce v3+ must carry exactly one record batch")
        raise Refused(ErrorCode.CORRUPT_MESSAGE, f"batch length {header.size} does not match the {size} bytes sent")
    if header.base_offset != 0:
        raise Refused(
            ErrorCode.INVALID_RECORD,
            f"The baseOffset of the record batch in the append to {tp} should be 0, but it is {header.base_offset}",
        )
    if size > policy.max_message_bytes:
        raise Refused(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"The record batch size in the append to {tp} is {size} bytes which exceeds the maximum "
            f"configured value of {policy.max_message_bytes}.",
        )
    if not batch_crc_ok(records, 0, header):
        raise Refused(ErrorCode.CORRUPT_MESSAGE, f"Record is corrupt (stored crc = {header.crc}) in topic partition {tp}.")
    # Kafka's validateBatch, for a client's magic-2 batch.
    if header.last_offset_delta < 0:
        raise Refused(ErrorCode.INVALID_RECORD, f"Batch has an invalid offset range: [0, {header.last_offset_delta}] in topic partition {tp}")
    if header.records_count <= 0:
        raise Refused(ErrorCode.INVALID_RECORD, f"Invalid reported count for record batch: {header.records_count} in topic partition {tp}")
    if header.records_count != header.last_offset_delta + 1:
        raise Refused(
            ErrorCode.INVALID_RECORD,
            f"Inconsistent batch offset range [0, {header.last_offset_delta}] and count of records "
            f"{header.records_count} in topic partition {tp}",
        )
    if header.attributes & CONTROL_MASK:
        raise Refused(ErrorCode.INVALID_RECORD, f"Clients are not allowed to write control records in topic partition {tp}")
    if header.producer_id >= 0 and header.base_sequence < 0:
        raise Refused(
            ErrorCode.INVALID_RECORD,
            f"Invalid sequence number {header.base_sequence} in record batch with producerId "
            f"{header.producer_id} in topic partition {tp}",
        )
    return header


def _scan(data: Any, count: int) -> list[tuple[int, int, bool]]:
    """(offset_delta, timestamp_delta, has_key) of each of the *count* records in the
    (uncompressed) records section *data*; raises DecodeError if they do not fill it."""
    out = []
    pos = 0
    end = len(data)
    for _ in range(count):
        length, pos = read_varint(data, pos)
        start = pos
        stop = start + length
        if length < 0 or stop > end:
            raise DecodeError(f"record of {length} bytes does not fit the batch")
        pos += 1  # attributes
        timestamp_delta, pos = read_varlong(data, pos)
        offset_delta, pos = read_varint(data, pos)
        key_length, pos = read_varint(data, pos)
        if pos > stop or (key_length > 0 and pos + key_length > stop):
            raise DecodeError("record fields run past the record")
        out.append((offset_delta, timestamp_delta, key_length >= 0))
        pos = stop
    if pos != end:
        raise DecodeError(f"{end - pos} bytes left over after the {count} records")
    return out


def validate_records(records: Any, header: BatchHeader, policy: TopicPolicy, tp: str, now_ms: int) -> Validated:
    """Kafka's per-record validation, max timestamp and topic compression (see the module
    docstring). *records* is the whole batch as `check_batch` accepted it. Raises `Refused`."""
    source = header.attributes & 0x07
    target = source if policy.target_codec is None else policy.target_codec
    claims_lat = header.attributes & TIMESTAMP_TYPE_MASK
    count = header.records_count
    if claims_lat:
        # Every record of a LogAppendTime batch has the batch's max_timestamp.
        ts = header.max_timestamp
        if policy.log_append_time or ts < 0:
            errors = [(i, "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.")
                      for i in range(count)]
            raise_record_errors(errors, timestamp=True)
        if now_ms - ts > policy.before_max_ms or ts - now_ms > policy.after_max_ms:
            raise_record_errors([(i, timestamp_message(ts, i, now_ms, policy)) for i in range(count)], timestamp=True)
    base, top = header.base_timestamp, header.max_timestamp
    header_trusted = base >= 0 and top >= base
    if (
        target == source
        and not policy.compacted
        and (claims_lat or policy.log_append_time or (
            # max_timestamp bounds every record from above; nothing in the header bounds
            # them from below (a record may be older than the first), so a finite
            # before.max.ms needs the records.
            header_trusted
            and top - now_ms <= policy.after_max_ms
            and policy.before_max_ms >= _UNBOUNDED
        ))
    ):
        return Validated(records, header)  # the fast path: the header answers
    return _validate_slow(records, header, policy, tp, now_ms, source, target)


def timestamp_message(ts: int, offset: int, now_ms: int, policy: TopicPolicy) -> str:
    return (
        f"Timestamp {ts} of message with offset {offset} is out of range. The timestamp should be within "
        f"[{_long(now_ms - policy.before_max_ms)}, {_long(now_ms + policy.after_max_ms)}]"
    )


def _long(value: int) -> int:
    """*value* as Java's long arithmetic has it (Kafka's message wraps with the default window)."""
    return (value + 2**63) % 2**64 - 2**63


def raise_record_errors(errors: list[tuple[int, str]], *, timestamp: bool) -> None:
    if timestamp:
        raise Refused(ErrorCode.INVALID_TIMESTAMP, "One or more records have been rejected due to invalid timestamp", errors)
    shown = ", ".join(f"RecordError(batchIndex={i}, message='{m}')" for i, m in errors[:3])
    raise Refused(
        ErrorCode.INVALID_RECORD,
        f"One or more records have been rejected due to {len(errors)} record errors in total, and only "
        f"showing the first three errors at most: [{shown}]",
        errors,
    )


def _validate_slow(
    records: Any, header: BatchHeader, policy: TopicPolicy, tp: str, now_ms: int, source: int, target: int
) -> Validated:
    view = memoryview(records)[RECORDS_OFFSET : header.size]
    try:
        data: Any = view if source == Compression.NONE else decompress(source, view)
        scanned = _scan(data, header.records_count)
    except UnsupportedCompressionError as exc:
        raise Refused(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, str(exc)) from None
    except DecodeError as exc:
        raise Refused(ErrorCode.INVALID_RECORD, f"Found invalid record structure in topic partition {tp}: {exc}") from None

    claims_lat = header.attributes & TIMESTAMP_TYPE_MASK
    check_ts = not policy.log_append_time and not claims_lat
    base = header.base_timestamp
    errors: list[tuple[int, str]] = []
    timestamp_error = False
    max_ts = -1
    consecutive = True
    for index, (offset_delta, timestamp_delta, has_key) in enumerate(scanned):
        if offset_delta != index:
            consecutive = False
        ts = header.max_timestamp if claims_lat else base + timestamp_delta
        if policy.compacted and not has_key:
            errors.append((index, f"Compacted topic cannot accept message without key in topic partition {tp}"))
            continue
        if check_ts and ts != -1 and (now_ms - ts > policy.before_max_ms or ts - now_ms > policy.after_max_ms):
            errors.append((index, timestamp_message(ts, offset_delta, now_ms, policy)))
            timestamp_error = True
            continue
        if ts > max_ts:
            max_ts = ts
    if errors:
        raise_record_errors(errors, timestamp=timestamp_error)

    if target != source or (source != Compression.NONE and not consecutive):
        return _rebuild(records, header, policy, tp, target)
    if not claims_lat and not policy.log_append_time and max_ts != header.max_timestamp:
        # Kafka's setMaxTimestamp(CreateTime, max of the records): header and CRC rewritten.
        rebuilt = assemble_batch(
            view,
            base_offset=header.base_offset,
            partition_leader_epoch=header.partition_leader_epoch,
            attributes=header.attributes,
            last_offset_delta=header.last_offset_delta,
            base_timestamp=header.base_timestamp,
            max_timestamp=max_ts,
            producer_id=header.producer_id,
            producer_epoch=header.producer_epoch,
            base_sequence=header.base_sequence,
            records_count=header.records_count,
        )
        return Validated(rebuilt, parse_batch_header(rebuilt, 0))
    return Validated(records, header)


def _rebuild(records: Any, header: BatchHeader, policy: TopicPolicy, tp: str, target: int) -> Validated:
    """Kafka's buildRecordsAndAssignOffsets: the records again, with offset deltas 0, 1, ...,
    in the topic's codec, the producer fields kept."""
    try:
        decoded = decode_records(records, 0)
        items = [attrs.evolve(r, offset_delta=i) if r.offset_delta != i else r for i, r in enumerate(decoded)]
        rebuilt = build_batch(
            items,
            base_timestamp=header.base_timestamp,
            producer_id=header.producer_id,
            producer_epoch=header.producer_epoch,
            base_sequence=header.base_sequence,
            transactional=bool(header.attributes & TRANSACTIONAL_MASK),
            compression=target,
        )
    except UnsupportedCompressionError as exc:
        raise Refused(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, str(exc)) from None
    except DecodeError as exc:
        raise Refused(ErrorCode.INVALID_RECORD, f"Found invalid record structure in topic partition {tp}: {exc}") from None
    new_header = parse_batch_header(rebuilt, 0)
    if len(rebuilt) > policy.max_message_bytes:
        raise Refused(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"Message batch size is {len(rebuilt)} bytes in append to partition {tp} which exceeds the "
            f"maximum configured size of {policy.max_message_bytes}.",
        )
    return Validated(rebuilt, new_header)
