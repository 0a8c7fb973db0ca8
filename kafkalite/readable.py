"""Decoded Kafka messages as plain, JSON-able data, for people and tools to read.

`to_data` turns a declared message (or struct) into dicts, lists and scalars: only the
fields of the given version, record sets summarised batch by batch (`summarise_records`:
header fields only, records are not decoded), bytes as length and hex, UUIDs as Kafka prints
them (`kafka_uuid`), and the consumer-protocol bytes of JoinGroup, SyncGroup and
DescribeGroups decoded (subscribed topics, assigned partitions).

Both the broker's learning mode (`kafkalite.trace`) and the CLI tools (``dump-log``) use it,
so it sits below both: it needs only `kafkalite.wire` and the pure consumer-protocol
decoding of `kafkalite.groups.consumer_protocol`, each imported when first needed.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

_CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
_GROUP_APIS = {11: "JoinGroup", 14: "SyncGroup", 15: "DescribeGroups"}
# The magic byte: at 16 in a v2 batch and in an old message (offset, size, crc, magic).
_MAGIC_AT = 16


def kafka_uuid(value: uuid.UUID) -> str:
    """A UUID as Kafka prints topic ids: URL-safe base64 of its 16 bytes, without padding."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def summarise_records(data: Any) -> dict[str, Any]:
    """Batches of a record set, header fields only (records are not decoded); an old message
    set (formats v0/v1) message by message, a compressed wrapper with its inner count."""
    from kafkalite.wire.batch import scan_batches

    if isinstance(data, list):  # a handler's list of stored chunks
        data = b"".join(bytes(chunk) for chunk in data)
    size = len(data)
    if size > _MAGIC_AT and data[_MAGIC_AT] in (0, 1):
        return _summarise_message_set(data)
    try:
        scan = scan_batches(data)
    except Exception as exc:  # noqa: BLE001 - the trace shows what it cannot parse
        return {"bytes": size, "error": str(exc)}
    batches = []
    for _pos, h in scan.batches:
        batch: dict[str, Any] = {
            "base_offset": h.base_offset,
            "last_offset": h.last_offset,
            "count": h.records_count,
            "codec": _CODECS.get(h.compression, str(h.compression)),
            "producer_id": h.producer_id,
            "producer_epoch": h.producer_epoch,
            "base_sequence": h.base_sequence,
            "partition_leader_epoch": h.partition_leader_epoch,
            "max_timestamp": h.max_timestamp,
            "size": h.size,
        }
        if h.timestamp_type:
            batch["timestamp_type"] = "LogAppendTime"
        if h.is_transactional:
            batch["transactional"] = True
        if h.is_control:
            batch["control"] = True
        batches.append(batch)
    summary: dict[str, Any] = {"bytes": size, "batches": batches}
    if scan.partial_tail:
        summary["partial_tail_bytes"] = size - scan.valid_bytes
    return summary


def _summarise_message_set(data: Any) -> dict[str, Any]:
    """An old message set (formats v0 / v1, Produce v0-2 and Fetch v0-3): its shallow messages,
    a compressed wrapper with the count of what it holds."""
    from kafkalite.wire.legacy import deep_messages, iter_message_set

    size = len(data)
    messages = []
    try:
        for m in iter_message_set(data):
            message: dict[str, Any] = {
                "offset": m.offset, "magic": m.magic, "codec": _CODECS.get(m.codec, str(m.codec)),
                "key_bytes": None if m.key is None else len(m.key),
                "value_bytes": None if m.value is None else len(m.value),
            }
            if m.timestamp is not None:
                message["timestamp"] = m.timestamp
            if m.log_append_time:
                message["timestamp_type"] = "LogAppendTime"
            if m.codec:
                message["inner_messages"] = len(deep_messages(m))
            if not m.crc_ok:
                message["crc"] = "mismatch"
            messages.append(message)
    except Exception as exc:  # noqa: BLE001 - the trace shows what it cannot parse
        return {"bytes": size, "format": "message set (v0/v1)", "messages": messages, "error": str(exc)}
    return {"bytes": size, "format": "message set (v0/v1)", "messages": messages}


def _consumer_bytes(name: str, value: bytes) -> dict[str, Any] | None:
    """Decode consumer-protocol subscription / assignment bytes, or None."""
    from kafkalite.groups.consumer_protocol import ConsumerProtocolError, assigned_partitions, subscribed_topics

    try:
        if "assignment" in name:
            return {"assigned": assigned_partitions(value)}
        if "metadata" in name:
            return {"subscribed_topics": subscribed_topics(value)}
    except ConsumerProtocolError:
        return None
    return None


def to_data(obj: Any, version: int | None, *, api_key: int | None = None, limit: int | None = None) -> Any:
    """A declared message (or struct) as plain JSON-able data: only the fields of *version*
    (all when None), records summarised, bytes as length and hex, UUIDs as Kafka prints
    them. *limit* caps arrays (the rest is counted under ``"...": N more``)."""
    fields = getattr(type(obj), "__kafka_fields__", None)
    if fields is None:
        return _scalar(obj, "", api_key)
    out: dict[str, Any] = {}
    for spec in fields:
        if version is not None and version not in spec.versions:
            continue
        value = getattr(obj, spec.name)
        if spec.tag is not None and value == spec.default_value():
            continue  # a tagged field at its default is not on the wire
        out[spec.name] = _value(spec.name, spec.type, value, version, api_key, limit)
    unknown = getattr(obj, "unknown_tagged_fields", None)
    if unknown:
        out["unknown_tagged_fields"] = {str(tag): raw.hex() for tag, raw in unknown.items()}
    return out


def _value(name: str, type_: Any, value: Any, version: int | None, api_key: int | None, limit: int | None) -> Any:
    if value is None:
        return None
    if type_ == "records":
        return {"records": summarise_records(value)}
    if isinstance(value, list):
        items = value if limit is None else value[:limit]
        result = [_value(name, getattr(type_, "element", None), item, version, api_key, limit) for item in items]
        if limit is not None and len(value) > limit:
            result.append({"...": f"{len(value) - limit} more"})
        return result
    if hasattr(type(value), "__kafka_fields__"):
        return to_data(value, version, api_key=api_key, limit=limit)
    return _scalar(value, name, api_key)


def _scalar(value: Any, name: str, api_key: int | None) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if api_key in _GROUP_APIS and raw:
            decoded = _consumer_bytes(name, raw)
            if decoded is not None:
                return decoded
        return {"bytes": len(raw), "hex": raw[:64].hex() + ("..." if len(raw) > 64 else "")}
    if isinstance(value, uuid.UUID):
        return kafka_uuid(value)
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value
