"""The records of ``__transaction_state``, in Kafka's own key and value layouts.

One record per change of a transactional id, keyed by the id, so compaction keeps the last:

* key ``TransactionLogKey``: int16 version (0), then ``transactional_id`` (string);
* value ``TransactionLogValue``: int16 version, then ``producer_id`` (int64),
  ``producer_epoch`` (int16), ``transaction_timeout_ms`` (int32), ``transaction_status``
  (int8, the `kafkalite.transactions.state.TxnState` id), ``transaction_partitions``
  (nullable array of ``topic`` and ``partition_ids``; null for Empty),
  ``transaction_last_update_timestamp_ms`` and ``transaction_start_timestamp_ms`` (int64).
  Version 1 is the first flexible version and adds three tagged fields:
  ``previous_producer_id`` (tag 0), ``next_producer_id`` (tag 1), both -1 by default, and
  ``client_transaction_version`` (tag 2, int16, 0 by default).

A null value is a tombstone: the transactional id expired. kafkalite writes value version 1,
as a Kafka 4 cluster (transaction.version 1 or 2) does; version 0 is read as well.

A transactional id's partition is ``abs(transactionalId.hashCode()) % partitions`` with
Java's String hash, so it lives in the same partition number as on a real Kafka cluster.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from kafkalite.transactions.state import TxnState
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.schema import array, field, reader_for, struct as declare, writer_for
from kafkalite.wire.hashing import coordinator_partition

TRANSACTION_LOG_KEY_VERSION = 0
#: The value version kafkalite writes.
TRANSACTION_LOG_VALUE_VERSION = 1
_MAX_VALUE_VERSION = 1
_FLEXIBLE_FROM = 1

_i16 = struct.Struct(">h")

TransactionLogKey = declare(
    "TransactionLogKey",
    field("transactional_id", "string", "0"),
)

PartitionsSchema = declare(
    "PartitionsSchema",
    field("topic", "string", "0+"),
    field("partition_ids", array("int32"), "0+"),
)

TransactionLogValue = declare(
    "TransactionLogValue",
    field("producer_id", "int64", "0+"),
    field("previous_producer_id", "int64", "1+", tag=0, default=-1),
    field("next_producer_id", "int64", "1+", tag=1, default=-1),
    field("producer_epoch", "int16", "0+"),
    field("transaction_timeout_ms", "int32", "0+"),
    field("transaction_status", "int8", "0+"),
    field("transaction_partitions", array(PartitionsSchema), "0+", nullable="0+", default=None),
    field("transaction_last_update_timestamp_ms", "int64", "0+"),
    field("transaction_start_timestamp_ms", "int64", "0+"),
    field("client_transaction_version", "int16", "1+", tag=2, default=0),
)


@attrs.frozen
class TransactionLogRecord:
    """One decoded record: the id, and its value (a ``TransactionLogValue``) or None."""

    transactional_id: str
    value: object | None


# -- writing ---------------------------------------------------------------------------------


def transaction_log_key(transactional_id: str) -> bytes:
    out = bytearray(_i16.pack(TRANSACTION_LOG_KEY_VERSION))
    writer_for(TransactionLogKey, TRANSACTION_LOG_KEY_VERSION, False)(
        out, TransactionLogKey(transactional_id=transactional_id)
    )
    return bytes(out)


def partitions_schema(partitions: frozenset[tuple[str, int]] | set[tuple[str, int]]) -> list[object]:
    """*partitions* grouped by topic, sorted (Kafka groups them too; the order is ours)."""
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(partitions):
        by_topic.setdefault(topic, []).append(partition)
    return [PartitionsSchema(topic=t, partition_ids=ids) for t, ids in by_topic.items()]


def transaction_log_value(value: object, version: int = TRANSACTION_LOG_VALUE_VERSION) -> bytes:
    """Encode a ``TransactionLogValue`` as *version*, prefixed with the version."""
    if not 0 <= version <= _MAX_VALUE_VERSION:
        raise ValueError(f"TransactionLogValue has no version {version}")
    out = bytearray(_i16.pack(version))
    writer_for(TransactionLogValue, version, version >= _FLEXIBLE_FROM)(out, value)
    return bytes(out)


# -- reading ---------------------------------------------------------------------------------


def decode_value(raw: bytes | memoryview) -> object:
    """Decode a version-prefixed ``TransactionLogValue``.

    Raises:
        DecodeError: no version, an unknown version, or a malformed body.
    """
    if len(raw) < 2:
        raise DecodeError(f"transaction log value of {len(raw)} bytes has no version")
    version = _i16.unpack_from(raw, 0)[0]
    if not 0 <= version <= _MAX_VALUE_VERSION:
        raise DecodeError(f"unknown transaction log value version {version}")
    value: Any
    value, _end = reader_for(TransactionLogValue, version, version >= _FLEXIBLE_FROM)(memoryview(raw), 2)
    if TxnState.from_id(value.transaction_status) is None:
        raise DecodeError(f"unknown transaction status {value.transaction_status}")
    return value


def parse_record(key: bytes | None, value: bytes | None) -> TransactionLogRecord | None:
    """Decode one record of __transaction_state; None for a key version Kafka does not know
    (Kafka skips those with a warning: left-overs of an aborted upgrade).

    Raises:
        DecodeError: a missing or malformed key, or a malformed value.
    """
    if key is None or len(key) < 2:
        raise DecodeError("__transaction_state record without a key version")
    version = _i16.unpack_from(key, 0)[0]
    if version != TRANSACTION_LOG_KEY_VERSION:
        return None
    k, _ = reader_for(TransactionLogKey, version, False)(memoryview(key), 2)
    return TransactionLogRecord(k.transactional_id, None if value is None else decode_value(value))


def value_partitions(value: object) -> frozenset[tuple[str, int]]:
    """The (topic, partition)s a value lists; none for Empty (Kafka ignores them there)."""
    v: Any = value
    if v.transaction_status == TxnState.EMPTY or v.transaction_partitions is None:
        return frozenset()
    return frozenset((p.topic, pid) for p in v.transaction_partitions for pid in p.partition_ids)


def format_record(key: bytes | None, value: bytes | None) -> tuple[str, str | None]:
    """A record as Kafka's dump-log prints it: ``(key text, value text)``.

    ``transaction_metadata::transactionalId=ID`` and ``producerId:..,producerEpoch:..,state=..,
    partitions=[t-0,..],txnLastUpdateTimestamp=..,txnTimeoutMs=..`` (``<DELETE>`` for a
    tombstone); an unknown key version is ``unknown::version=N`` with no value text.

    Raises:
        DecodeError: a malformed key or value.
    """
    record = parse_record(key, value)
    if record is None:
        assert key is not None
        return f"unknown::version={_i16.unpack_from(key, 0)[0]}", None
    key_text = f"transaction_metadata::transactionalId={record.transactional_id}"
    if record.value is None:
        return key_text, "<DELETE>"
    v: Any = record.value
    partitions = ",".join(f"{t}-{p}" for t, p in sorted(value_partitions(v)))
    return key_text, (
        f"producerId:{v.producer_id},producerEpoch:{v.producer_epoch},"
        f"state={TxnState(v.transaction_status).kafka_name},partitions=[{partitions}],"
        f"txnLastUpdateTimestamp={v.transaction_last_update_timestamp_ms},"
        f"txnTimeoutMs={v.transaction_timeout_ms}"
    )


# -- partitioning ----------------------------------------------------------------------------


def partition_for(transactional_id: str, partitions: int) -> int:
    """The partition of the coordinator's topic that holds *transactional_id* (as Kafka)."""
    return coordinator_partition(transactional_id, partitions)