"""The message browser's reading: at most *limit* records of one partition from an offset.

Bounded in records and in bytes: one read of the log (`MAX_READ_BYTES`, or the one batch
that holds the first wanted offset if it is bigger, as a Fetch gets), records decoded batch
by batch until *limit* are found. A page never reads the whole partition.

A value (and a key) is shown as what it most likely is: a value in Confluent's wire format
(magic byte 0, schema id) whose schema the registry knows is decoded through it
(`kafkalite.schemas.registry_for(broker).decode`); else UTF-8 text (without control
characters other than tab and line ends); else hex.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import attrs

from kafkalite.storage import OffsetOutOfRange
from kafkalite.wire.batch import CorruptBatchError, iter_batches
from kafkalite.wire.records import ControlRecordType, decode_records, parse_control_record, record_timestamp

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

#: Most records one page shows, and how many when the URL does not say.
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
#: Most bytes of the log one page reads (at least the one batch holding the start offset).
MAX_READ_BYTES = 1024 * 1024
#: Longest text or hex shown for one key, value or header before it is cut.
MAX_SHOWN_CHARS = 2000


#: Control characters other than tab, newline and carriage return: text has none of them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@attrs.frozen
class Shown:
    """A key, value or header value as the page shows it."""

    kind: str  # "null", "text", "hex" or "schema"
    text: str
    note: str = ""  # e.g. "schema id 3 (AVRO, orders-value)"; "cut at 2000 of 5123 bytes"


@attrs.frozen
class Message:
    offset: int
    timestamp: int
    key: Shown
    value: Shown
    headers: list[tuple[str, Shown]]
    control: str | None = None  # "COMMIT" / "ABORT" marker of a transaction
    producer_id: int = -1
    transactional: bool = False


@attrs.frozen
class Page:
    """What one request of the browser found: *messages* from *offset*, and where the log is."""

    offset: int
    limit: int
    messages: list[Message]
    log_start_offset: int
    high_watermark: int
    next_offset: int  # the offset after the last message shown (the next page's start)
    error: str | None = None


def registry_for(broker: Broker) -> Any:
    """The broker's Schema Registry (`kafkalite.schemas.registry_for`), or None when there
    is none: not set up, or this build has no registry package."""
    try:
        from kafkalite.schemas import registry_for as lookup  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name not in ("kafkalite.schemas", "kafkalite"):
            raise
        return None
    return lookup(broker)


def show(data: bytes | None, registry: Any = None) -> Shown:
    """*data* as the page shows it: null; decoded by *registry* when it knows its schema id;
    UTF-8 text; else hex. Long data is cut at `MAX_SHOWN_CHARS`."""
    if data is None:
        return Shown("null", "null")
    if registry is not None and data[:1] == b"\x00" and len(data) >= 5:
        decoded = registry.decode(data)
        if decoded is not None:
            subject = f", {decoded.subject}" if decoded.subject else ""
            note = f"schema id {decoded.schema_id} ({decoded.schema_type}{subject})"
            if decoded.value is None:
                return _cut("hex", data[5:].hex(), len(data) - 5, note + ", payload not decoded")
            text = json.dumps(decoded.value, ensure_ascii=False, default=str, sort_keys=False)
            return _cut("schema", text, len(text), note)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _cut("hex", data.hex(), len(data))
    if _CONTROL.search(text):  # UTF-8 by chance: binary data, which reads better as hex
        return _cut("hex", data.hex(), len(data))
    return _cut("text", text, len(data))


def _cut(kind: str, text: str, size: int, note: str = "") -> Shown:
    if len(text) <= MAX_SHOWN_CHARS:
        return Shown(kind, text, note)
    cut = f"first {MAX_SHOWN_CHARS} characters of {size} bytes"
    return Shown(kind, text[:MAX_SHOWN_CHARS] + "…", f"{note}, {cut}" if note else cut)


def browse(broker: Broker, topic: str, partition: int, offset: int | None, limit: int) -> Page | None:
    """Up to *limit* (at most `MAX_LIMIT`) messages of *topic*-*partition* from *offset*
    (None: the last *limit* before the high watermark; below the log start: from the log
    start). None when the partition has no log here.

    Raises:
        ValueError: *limit* is not between 1 and `MAX_LIMIT`.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    plog = broker.log_for(topic, partition)
    if plog is None:
        return None
    start, hw = plog.log_start_offset, plog.high_watermark
    if offset is None:
        offset = max(start, hw - limit)
    offset = max(offset, start)
    if offset >= hw:
        return Page(offset, limit, [], start, hw, offset)
    registry = registry_for(broker)
    try:
        chunks = plog.read(offset, MAX_READ_BYTES, max_offset=hw)
    except OffsetOutOfRange as exc:  # moved by retention between the two reads: say so
        return Page(offset, limit, [], start, hw, offset, str(exc))
    messages: list[Message] = []
    error = None
    for chunk in chunks:
        if len(messages) >= limit or error:
            break
        for pos, header in iter_batches(chunk):
            if header.last_offset < offset:
                continue
            try:
                records = decode_records(chunk, pos)
            except (CorruptBatchError, ValueError) as exc:
                error = f"the batch at offset {header.base_offset} cannot be decoded: {exc}"
                break
            for record in records:
                at = header.base_offset + record.offset_delta
                if at < offset:
                    continue
                messages.append(_message(header, record, at, registry))
                if len(messages) >= limit:
                    break
            if len(messages) >= limit:
                break
    next_offset = messages[-1].offset + 1 if messages else offset
    return Page(offset, limit, messages, start, hw, next_offset, error)


def _message(header: Any, record: Any, offset: int, registry: Any) -> Message:
    control = None
    if header.is_control:
        try:
            kind, _epoch = parse_control_record(record)
            control = kind.name if isinstance(kind, ControlRecordType) else str(kind)
        except Exception:  # noqa: BLE001 - an unknown control record is still shown
            control = "unknown control record"
    return Message(
        offset=offset,
        timestamp=record_timestamp(header, record),
        key=show(record.key, registry if control is None else None),
        value=show(record.value, registry if control is None else None),
        headers=[(name, show(value)) for name, value in record.headers],
        control=control,
        producer_id=header.producer_id,
        transactional=header.is_transactional,
    )
