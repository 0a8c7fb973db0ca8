"""Values in Confluent's wire format, decoded with the registry's schemas.

The format: a magic byte 0, the schema's global id as 4 bytes big-endian, then the payload;
Protobuf puts the message indexes (zigzag varints: a count, then each index; a lone 0 for
the first message) before its payload.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import io
import json
import uuid
from typing import Any, Protocol, Sequence

import attrs

from kafkalite.schemas.model import AVRO, JSON, PROTOBUF, ParsedSchema, Reference
from kafkalite.schemas.store import RegistryState


class _Schemas(Protocol):
    """What decoding uses of `kafkalite.schemas.registry.SchemaRegistry`."""

    state: RegistryState

    def sync(self) -> None: ...

    def parse(self, schema: str, schema_type: str, references: Sequence[Reference]) -> ParsedSchema: ...


@attrs.frozen
class DecodedValue:
    """A value decoded with a registered schema. *value* is JSON-able data, None when the
    payload could not be decoded with the schema (then *error* says why; *payload* is there
    to be shown as it is)."""

    schema_id: int
    schema_type: str
    subject: str | None
    value: Any
    payload: bytes = b""
    error: str | None = None


def split(data: bytes) -> tuple[int, bytes] | None:
    """(schema id, rest) of a value in Confluent's wire format, None when it is not."""
    if len(data) < 5 or data[0] != 0:
        return None
    return int.from_bytes(data[1:5], "big"), bytes(data[5:])


def _zigzag_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated message indexes")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos


def message_indexes(data: bytes) -> tuple[list[int], bytes]:
    """Protobuf's message indexes and the payload after them.

    Raises:
        ValueError: the indexes are truncated or absurd.
    """
    count, pos = _zigzag_varint(data, 0)
    if count == 0:
        return [0], data[pos:]
    if not 0 < count <= 64:
        raise ValueError(f"{count} message indexes")
    indexes = []
    for _ in range(count):
        index, pos = _zigzag_varint(data, pos)
        indexes.append(index)
    return indexes, data[pos:]


def jsonable(value: Any) -> Any:
    """*value* with what JSON cannot hold turned into strings (bytes as Avro's JSON encoding)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def decode(registry: _Schemas, data: bytes) -> DecodedValue | None:
    """*data* decoded with the schema its id names; None when it is not in the wire format or
    no schema has that id."""
    found = split(bytes(data))
    if found is None:
        return None
    schema_id, payload = found
    registry.sync()
    versions = registry.state.by_id(schema_id)
    if not versions:
        return None
    live = [v for v in versions if not v.deleted] or versions
    first = live[0]
    try:
        parsed: Any = registry.parse(first.schema, first.schema_type, first.references)
    except Exception as exc:  # a stored schema that no longer parses: show the payload
        return DecodedValue(schema_id, first.schema_type, first.subject, None, payload, str(exc))
    try:
        if first.schema_type == AVRO:
            import fastavro

            value = jsonable(fastavro.schemaless_reader(io.BytesIO(payload), parsed.parsed, None))
        elif first.schema_type == JSON:
            value = json.loads(payload)
        else:
            assert first.schema_type == PROTOBUF
            indexes, body = message_indexes(payload)
            value = jsonable(parsed.decode(indexes, body))
            payload = body
    except Exception as exc:  # bytes that are not what the schema says: shown raw
        return DecodedValue(schema_id, first.schema_type, first.subject, None, payload, f"{type(exc).__name__}: {exc}")
    return DecodedValue(schema_id, first.schema_type, first.subject, value, payload)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
