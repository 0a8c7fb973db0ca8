"""Produce v0-2 with message formats v0 and v1: Kafka 3's validation of an old producer's
message set and its up-conversion to one RecordBatch v2 (``UnifiedLog.analyzeAndValidateRecords``
and ``LogValidator``'s converting paths; Kafka 4 removed these Produce versions, KIP-896).

The rules, in Kafka's order:

* the shallow messages (`kafkalite.wire.legacy.iter_message_set`; a trailing partial message is
  ignored, a bad size or magic is CORRUPT_MESSAGE); each one's size (offset and size fields
  included) within max.message.bytes (MESSAGE_TOO_LARGE), its CRC32 (CORRUPT_MESSAGE), its
  codec a known one (an id above 4 makes Kafka fail with UNKNOWN_SERVER_ERROR). A set with no
  whole message appends nothing and is answered without error and base offset -1.
* uncompressed messages to a topic without compression: each message is its own "batch", all
  of the first one's magic (INVALID_RECORD), each checked as a record (key on a compacted
  topic, timestamp window under CreateTime, no LogAppendTime claim: see `validator`), errors
  reported per message with batch index 0 as Kafka's per-batch loop does;
* otherwise (a compressed wrapper, or a topic compression.type other than ``producer`` /
  ``uncompressed``): a compressed set holds exactly one wrapper (INVALID_RECORD), its inner
  messages come from Kafka's deep iteration (`kafkalite.wire.legacy.deep_messages`), each with
  its own CRC32 checked (CORRUPT_MESSAGE), its magic equal to the wrapper's (INVALID_RECORD per
  record), then the record checks;
* the result is one v2 batch: no producer id, offsets 0..n-1 (the log assigns the base), each
  record's timestamp as Kafka reads it (magic 0 has none: -1; magic 1 its own, or a
  LogAppendTime wrapper's), the topic's compression.type (``producer``: the source codec), no
  headers. The log then applies the topic's message.timestamp.type as for any batch. A batch
  whose rebuilt size exceeds max.message.bytes is MESSAGE_TOO_LARGE, as Kafka's post-rebuild check.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.validator import Refused, TopicPolicy, Validated, raise_record_errors, timestamp_message
from kafkalite.wire.batch import parse_batch_header
from kafkalite.wire.compression import Compression, UnsupportedCompressionError
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.legacy import (
    LOG_OVERHEAD,
    CorruptMessageError,
    InvalidMessageError,
    LegacyMessage,
    deep_messages,
    iter_message_set,
    message_crc,
)
from kafkalite.wire.records import NewRecord, build_batch

__all__ = ["is_legacy", "upconvert"]

_MAGIC_OFFSET = 16  # offset int64, size int32, crc uint32: the magic byte of the first message


def is_legacy(records: Any) -> bool:
    """True when *records* (a Produce v0-2 record set) does not start with a v2 batch: a message
    of magic 0 or 1, or an invalid magic, which Kafka's message-set reader refuses as corrupt."""
    return records is not None and len(records) > _MAGIC_OFFSET and records[_MAGIC_OFFSET] != 2


def _describe(message: LegacyMessage) -> str:
    """A message as Kafka's LegacyRecord.toString names it in error messages."""
    kind = "LogAppendTime" if message.log_append_time else "CreateTime"
    stamp = f", {kind}={message.timestamp}" if message.magic > 0 else ""
    return (
        f"Record(magic={message.magic}, attributes={message.attributes}, "
        f"compression={Compression(message.codec).name if message.codec <= 4 else message.codec}, "
        f"crc={message.crc}{stamp}, key={len(message.key) if message.key is not None else 0} bytes, "
        f"value={len(message.value) if message.value is not None else 0} bytes)"
    )


def _check_record(
    message: LegacyMessage, outer: LegacyMessage, index: int, policy: TopicPolicy, tp: str, now_ms: int
) -> tuple[tuple[int, str], bool] | None:
    """Kafka's validateRecord for one (inner or shallow) message: None if it passes, else the
    record error and whether it is a timestamp error."""
    if message.magic != outer.magic:
        return (index, f"Record {_describe(message)}'s magic does not match outer magic {outer.magic} in topic partition {tp}"), False
    if policy.compacted and message.key is None:
        return (index, f"Compacted topic cannot accept message without key in topic partition {tp}"), False
    ts = message.timestamp if message.timestamp is not None else -1
    if not policy.log_append_time and ts != -1:
        if now_ms - ts > policy.before_max_ms or ts - now_ms > policy.after_max_ms:
            return (index, timestamp_message(ts, message.offset, now_ms, policy)), True
    elif outer.log_append_time:
        return (
            index,
            f"Invalid timestamp type in message {_describe(message)}. Producer should not set timestamp type to LogAppendTime.",
        ), True
    return None


def _raise_errors(errors: list[tuple[tuple[int, str], bool]]) -> None:
    if errors:
        raise_record_errors([e for e, _ in errors], timestamp=any(t for _, t in errors))


def upconvert(records: Any, policy: TopicPolicy, tp: str, now_ms: int) -> Validated | None:
    """Validate the message set *records* of format v0/v1 for the partition *tp* and return it
    as one RecordBatch v2 (offsets from 0); None when it holds no whole message (nothing to
    append). Raises `Refused` with Kafka's error (see the module docstring)."""
    try:
        shallow = list(iter_message_set(records))
    except CorruptMessageError as exc:
        raise Refused(ErrorCode.CORRUPT_MESSAGE, str(exc)) from None
    except InvalidMessageError as exc:
        raise Refused(ErrorCode.INVALID_RECORD, f"{exc} in topic partition {tp}") from None
    if not shallow:
        return None
    source = Compression.NONE
    for message in shallow:
        size = len(message.raw) + LOG_OVERHEAD
        if size > policy.max_message_bytes:
            raise Refused(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"The record batch size in the append to {tp} is {size} bytes which exceeds the maximum "
                f"configured value of {policy.max_message_bytes}.",
            )
        if not message.crc_ok:
            raise Refused(ErrorCode.CORRUPT_MESSAGE, f"Record is corrupt (stored crc = {message.crc}) in topic partition {tp}.")
        if message.codec > Compression.ZSTD:
            # Kafka's CompressionType.forId throws an IllegalArgumentException, which its produce
            # path answers as an unexpected error.
            raise Refused(ErrorCode.UNKNOWN_SERVER_ERROR, f"Unknown compression type id: {message.codec}")
        if message.codec != Compression.NONE:
            source = message.codec
    target = source if policy.target_codec is None else policy.target_codec
    first = shallow[0]
    if source != Compression.NONE and len(shallow) > 1:
        raise Refused(ErrorCode.INVALID_RECORD, "Compressed outer record has more than one batch")
    validated: list[LegacyMessage] = []
    for outer in shallow:
        if outer.magic != first.magic:
            raise Refused(
                ErrorCode.INVALID_RECORD,
                f"Batch magic {outer.magic} is not the same as the first batch's magic byte {first.magic} in topic partition {tp}",
            )
        if outer.codec == Compression.NONE:
            inner = [outer]
        else:
            try:
                inner = deep_messages(outer)
            except UnsupportedCompressionError as exc:
                raise Refused(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, str(exc)) from None
            except InvalidMessageError as exc:
                raise Refused(ErrorCode.INVALID_RECORD, str(exc)) from None
            except CorruptMessageError as exc:
                raise Refused(ErrorCode.CORRUPT_MESSAGE, f"{exc} in topic partition {tp}") from None
        errors = []
        for index, message in enumerate(inner):
            if outer.codec != Compression.NONE and not message.crc_ok:
                raise Refused(
                    ErrorCode.CORRUPT_MESSAGE,
                    f"Record is corrupt (stored crc = {message.crc}, computed crc = "
                    f"{_computed(message)}) in topic partition {tp}",
                )
            error = _check_record(message, outer, index, policy, tp, now_ms)
            if error is not None:
                errors.append(error)
            else:
                validated.append(message)
        _raise_errors(errors)
    return _build(validated, target, policy, tp)


def _computed(message: LegacyMessage) -> int:
    return message_crc(message.raw[4:])


def _build(messages: list[LegacyMessage], codec: int, policy: TopicPolicy, tp: str) -> Validated:
    items = [
        NewRecord(m.key, m.value, timestamp=m.timestamp if m.timestamp is not None else -1) for m in messages
    ]
    try:
        batch = build_batch(items, compression=codec)
    except UnsupportedCompressionError as exc:
        raise Refused(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, str(exc)) from None
    if len(batch) > policy.max_message_bytes:
        raise Refused(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"Message batch size is {len(batch)} bytes in append to partition {tp} which exceeds the "
            f"maximum configured size of {policy.max_message_bytes}.",
        )
    return Validated(batch, parse_batch_header(batch, 0))
