"""Declarative message schemas and the codecs compiled from them.

Every API's request and response is declared once, as data: a list of `field()`s with the
version ranges Kafka's message definitions give them (``versions``, ``nullable``, ``tag`` /
``tagged``), grouped into `struct()`s and a top-level `message()`. Each declaration *is* an
attrs class (frozen, keyword-only, every field defaulted), so handlers build responses with
``MetadataResponse(brokers=[...], ...)`` and read requests as ``req.topics``.

Codecs are compiled lazily, once per (class, version): the field list of that version is
turned into a flat tuple of reader / writer functions from `kafkalite.wire.primitives`, with
the compact and nullable variants already chosen. Nothing looks at a version number per byte.

Field names are Kafka's names in snake_case (``TimeoutMs`` -> ``timeout_ms``), so a field can
be searched for in both places. Version strings use Kafka's notation: ``"0+"``, ``"3-7"``,
``"5"``, ``"none"``.

Unknown tagged fields are kept as raw bytes in ``unknown_tagged_fields`` (a dict from tag to
bytes, or None) and written back in tag order, so a decode / encode round trip is lossless.
"""

from __future__ import annotations

import struct as _struct
import uuid
from typing import Any, Callable

import attrs

from kafkalite.wire import primitives as p
from kafkalite.wire.primitives import DecodeError

__all__ = [
    "Array",
    "DecodeError",
    "FieldSpec",
    "Versions",
    "array",
    "decode",
    "encode",
    "encode_into",
    "field",
    "message",
    "reader_for",
    "struct",
    "writer_for",
]

PRIMITIVES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint16",
    "uint32",
    "float64",
    "string",
    "bytes",
    "records",
    "uuid",
)

_ZERO_UUID = uuid.UUID(int=0)

_PRIMITIVE_DEFAULTS: dict[str, Any] = {
    "bool": False,
    "int8": 0,
    "int16": 0,
    "int32": 0,
    "int64": 0,
    "uint16": 0,
    "uint32": 0,
    "float64": 0.0,
    "string": "",
    "bytes": b"",
    "records": None,
    "uuid": _ZERO_UUID,
}


@attrs.frozen
class Versions:
    """An inclusive version range; ``hi`` None means open-ended; empty when lo > hi."""

    lo: int
    hi: int | None

    @classmethod
    def parse(cls, text: str | None) -> Versions:
        if text is None or text == "none":
            return NONE
        text = text.strip()
        if text.endswith("+"):
            return cls(int(text[:-1]), None)
        if "-" in text:
            lo, hi = text.split("-")
            return cls(int(lo), int(hi))
        return cls(int(text), int(text))

    def __contains__(self, version: int) -> bool:
        return self.lo <= version and (self.hi is None or version <= self.hi)

    def __str__(self) -> str:
        if self.hi is not None and self.lo > self.hi:
            return "none"
        if self.hi is None:
            return f"{self.lo}+"
        if self.lo == self.hi:
            return str(self.lo)
        return f"{self.lo}-{self.hi}"


NONE = Versions(1, 0)


@attrs.frozen
class Array:
    """An array of *element* (a primitive name or a struct class)."""

    element: Any


def array(element: Any) -> Array:
    return Array(element)


_NOTHING = object()


@attrs.frozen
class FieldSpec:
    """One field of a struct as Kafka's message definition declares it."""

    name: str
    type: Any  # primitive name, Array, or struct class
    versions: Versions
    nullable: Versions
    tag: int | None
    tagged: Versions
    default: Any  # a value, or an attrs.Factory

    def default_value(self) -> Any:
        if isinstance(self.default, attrs.Factory):  # type: ignore[arg-type]
            return self.default.factory()
        return self.default


def field(
    name: str,
    type: Any,
    versions: str = "0+",
    *,
    nullable: str | None = None,
    tag: int | None = None,
    tagged: str | None = None,
    default: Any = _NOTHING,
) -> FieldSpec:
    """Declare a field.

    Args:
        name: Kafka's field name in snake_case.
        type: a primitive name (``"int32"``, ``"string"``, ``"records"`` ...), ``array(x)``
            or a struct class.
        versions: the versions the field exists in.
        nullable: the versions in which it may be null (Kafka's ``nullableVersions``).
        tag, tagged: tag number and ``taggedVersions`` of a tagged field.
        default: the value when absent; omitted, Kafka's default for the type (0, "", empty
            array, a default struct; null for records).
    """
    if default is _NOTHING:
        if isinstance(type, Array):
            default = attrs.Factory(list)
        elif isinstance(type, str):
            if type not in _PRIMITIVE_DEFAULTS:
                raise ValueError(f"unknown primitive type {type!r} for field {name}")
            default = _PRIMITIVE_DEFAULTS[type]
        else:
            default = attrs.Factory(type)
    elif isinstance(default, list):
        items = list(default)
        default = attrs.Factory(lambda: list(items))
    if tag is not None and tagged is None:
        tagged = versions
    return FieldSpec(
        name=name,
        type=type,
        versions=Versions.parse(versions),
        nullable=Versions.parse(nullable),
        tag=tag,
        tagged=Versions.parse(tagged) if tag is not None else NONE,
        default=default,
    )


class KafkaStruct:
    """Base of every declared struct and message: value equality and a readable repr.

    attrs generates ``__init__`` (frozen, keyword-only, defaulted) for each declaration;
    equality and repr are shared here rather than generated per class, which keeps the
    ~150 declarations cheap to create at start-up.
    """

    __slots__ = ()
    __kafka_fields__: tuple[FieldSpec, ...] = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(
            getattr(self, spec.name) == getattr(other, spec.name) for spec in self.__kafka_fields__
        ) and self.unknown_tagged_fields == other.unknown_tagged_fields  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{spec.name}={getattr(self, spec.name)!r}" for spec in self.__kafka_fields__)
        return f"{self.__class__.__name__}({inner})"


_DECLARED: dict[tuple[int, str], type] = {}


def declared_message(api_key: int, kind: str) -> type | None:
    """The message class declared for *api_key* and *kind* ("request" / "response"), if imported."""
    return _DECLARED.get((api_key, kind))


def _make_class(name: str, fields: tuple[FieldSpec, ...]) -> type:
    seen = set()
    attributes: dict[str, Any] = {}
    for spec in fields:
        if spec.name in seen:
            raise ValueError(f"{name} declares field {spec.name} twice")
        seen.add(spec.name)
        attributes[spec.name] = attrs.field(default=spec.default)
    attributes["unknown_tagged_fields"] = attrs.field(default=None, repr=False)
    cls = attrs.make_class(
        name, attributes, bases=(KafkaStruct,), frozen=True, slots=True, kw_only=True, eq=False, repr=False
    )
    cls.__kafka_fields__ = fields  # type: ignore[attr-defined]
    return cls


def struct(name: str, *fields: FieldSpec) -> type:
    """Declare a nested struct; returns its attrs class."""
    return _make_class(name, tuple(fields))


def message(
    name: str,
    *,
    api_key: int,
    valid: str,
    flexible: str,
    fields: list[FieldSpec] | tuple[FieldSpec, ...],
) -> type:
    """Declare a top-level request or response; returns its attrs class.

    The class carries ``__kafka_api_key__``, ``__kafka_valid__`` and ``__kafka_flexible__``.
    """
    cls = _make_class(name, tuple(fields))
    cls.__kafka_api_key__ = api_key  # type: ignore[attr-defined]
    cls.__kafka_valid__ = Versions.parse(valid)  # type: ignore[attr-defined]
    cls.__kafka_flexible__ = Versions.parse(flexible)  # type: ignore[attr-defined]
    kind = "request" if name.endswith("Request") else "response"
    _DECLARED[(api_key, kind)] = cls
    return cls


# -- compilation -----------------------------------------------------------------------------

_PRIM_CODECS: dict[tuple[str, bool, bool], tuple[p.ReadFn, p.WriteFn]] = {}
for _name in ("bool", "int8", "int16", "int32", "int64", "uint16", "uint32", "float64", "uuid"):
    _rw = (getattr(p, f"read_{_name}"), getattr(p, f"write_{_name}"))
    for _flex in (False, True):
        for _null in (False, True):
            _PRIM_CODECS[(_name, _flex, _null)] = _rw
for _name in ("string", "bytes"):
    _PRIM_CODECS[(_name, False, False)] = (getattr(p, f"read_{_name}"), getattr(p, f"write_{_name}"))
    _PRIM_CODECS[(_name, False, True)] = (
        getattr(p, f"read_nullable_{_name}"),
        getattr(p, f"write_nullable_{_name}"),
    )
    _PRIM_CODECS[(_name, True, False)] = (
        getattr(p, f"read_compact_{_name}"),
        getattr(p, f"write_compact_{_name}"),
    )
    _PRIM_CODECS[(_name, True, True)] = (
        getattr(p, f"read_compact_nullable_{_name}"),
        getattr(p, f"write_compact_nullable_{_name}"),
    )
for _null in (False, True):
    _PRIM_CODECS[("records", False, _null)] = (p.read_records, p.write_records)
    _PRIM_CODECS[("records", True, _null)] = (p.read_compact_records, p.write_compact_records)

_MAX_ARRAY = 1 << 24  # no sane request has more elements than this; refuse before allocating


def _array_codec(
    elem_read: p.ReadFn, elem_write: p.WriteFn, flexible: bool, nullable: bool, where: str
) -> tuple[p.ReadFn, p.WriteFn]:
    unpack_i32 = _struct.Struct(">i").unpack_from
    pack_i32 = _struct.Struct(">i").pack

    def read(buf: Any, pos: int) -> tuple[Any, int]:
        if flexible:
            count, pos = p.read_uvarint(buf, pos)
            count -= 1
        else:
            count = unpack_i32(buf, pos)[0]
            pos += 4
        if count < 0:
            if nullable:
                return None, pos
            raise DecodeError(f"non-nullable array {where} is null at offset {pos}")
        if count > _MAX_ARRAY or count > len(buf) - pos:
            # Every element takes at least one byte: a larger count is a lie.
            raise DecodeError(f"array {where} claims {count} elements at offset {pos}")
        items = []
        append = items.append
        for _ in range(count):
            item, pos = elem_read(buf, pos)
            append(item)
        return items, pos

    def write(out: bytearray, value: Any) -> None:
        if value is None:
            if flexible:
                out.append(0)
            else:
                out += b"\xff\xff\xff\xff"
            return
        if flexible:
            p.write_uvarint(out, len(value) + 1)
        else:
            out += pack_i32(len(value))
        for item in value:
            elem_write(out, item)

    return read, write


def _type_codec(
    type_: Any, version: int, flexible: bool, nullable: bool, where: str
) -> tuple[p.ReadFn, p.WriteFn]:
    if isinstance(type_, str):
        return _PRIM_CODECS[(type_, flexible, nullable)]
    if isinstance(type_, Array):
        elem_read, elem_write = _type_codec(type_.element, version, flexible, False, where)
        return _array_codec(elem_read, elem_write, flexible, nullable, where)
    if nullable:
        return _nullable_struct_codec(reader_for(type_, version, flexible), writer_for(type_, version, flexible))
    return reader_for(type_, version, flexible), writer_for(type_, version, flexible)


def _nullable_struct_codec(read_struct: p.ReadFn, write_struct: p.WriteFn) -> tuple[p.ReadFn, p.WriteFn]:
    """A struct that may be null (e.g. a cursor): an int8 marker, -1 for null, 1 before a value.

    Kafka's generated readers treat any negative marker as null.
    """

    def read(buf: Any, pos: int) -> tuple[Any, int]:
        marker, pos = p.read_int8(buf, pos)
        if marker < 0:
            return None, pos
        return read_struct(buf, pos)

    def write(out: bytearray, value: Any) -> None:
        if value is None:
            p.write_int8(out, -1)
        else:
            p.write_int8(out, 1)
            write_struct(out, value)

    return read, write


_READERS: dict[tuple[type, int, bool], p.ReadFn] = {}
_WRITERS: dict[tuple[type, int, bool], p.WriteFn] = {}


def reader_for(cls: type, version: int, flexible: bool) -> p.ReadFn:
    """Return ``read(buf, pos) -> (instance, pos)`` for *cls* at *version* (cached)."""
    key = (cls, version, flexible)
    fn = _READERS.get(key)
    if fn is None:
        fn = _READERS[key] = _compile_reader(cls, version, flexible)
    return fn


def writer_for(cls: type, version: int, flexible: bool) -> p.WriteFn:
    """Return ``write(out, instance)`` for *cls* at *version* (cached)."""
    key = (cls, version, flexible)
    fn = _WRITERS.get(key)
    if fn is None:
        fn = _WRITERS[key] = _compile_writer(cls, version, flexible)
    return fn


def _split(cls: type, version: int, flexible: bool) -> tuple[list[FieldSpec], list[FieldSpec]]:
    regular: list[FieldSpec] = []
    tagged: list[FieldSpec] = []
    for spec in cls.__kafka_fields__:  # type: ignore[attr-defined]
        if version not in spec.versions:
            continue
        if spec.tag is not None and version in spec.tagged:
            if flexible:
                tagged.append(spec)
            # A tagged field in a non-flexible version cannot be sent: it is absent.
        else:
            regular.append(spec)
    tagged.sort(key=lambda s: s.tag)  # type: ignore[arg-type, return-value]
    return regular, tagged


def _compile_reader(cls: type, version: int, flexible: bool) -> p.ReadFn:
    regular, tagged = _split(cls, version, flexible)
    name = cls.__name__
    steps = tuple(
        (spec.name, _type_codec(spec.type, version, flexible, version in spec.nullable, f"{name}.{spec.name}")[0])
        for spec in regular
    )
    tag_readers = {
        spec.tag: (
            spec.name,
            _type_codec(spec.type, version, True, version in spec.nullable, f"{name}.{spec.name}")[0],
        )
        for spec in tagged
    }

    def read(buf: Any, pos: int) -> tuple[Any, int]:
        values: dict[str, Any] = {}
        for field_name, rd in steps:
            try:
                values[field_name], pos = rd(buf, pos)
            except _struct.error:
                raise DecodeError(
                    f"short read of {name}.{field_name} (v{version}) at offset {pos}"
                ) from None
        if flexible:
            pos = _read_tags(buf, pos, values, tag_readers, name)
        return cls(**values), pos

    return read


def _read_tags(
    buf: Any, pos: int, values: dict[str, Any], tag_readers: dict[int, Any], where: str
) -> int:
    count, pos = p.read_uvarint(buf, pos)
    unknown: dict[int, bytes] | None = None
    for _ in range(count):
        tag, pos = p.read_uvarint(buf, pos)
        size, pos = p.read_uvarint(buf, pos)
        end = pos + size
        if end > len(buf):
            raise DecodeError(f"tagged field {tag} of {where} runs past the end at offset {pos}")
        known = tag_readers.get(tag)
        if known is None:
            if unknown is None:
                unknown = {}
            unknown[tag] = bytes(buf[pos:end])
        else:
            field_name, rd = known
            try:
                values[field_name], used = rd(memoryview(buf)[:end], pos)
            except _struct.error:
                raise DecodeError(f"short read of tagged {where}.{field_name} at offset {pos}") from None
            if used != end:
                raise DecodeError(
                    f"tagged field {where}.{field_name} declares {size} bytes but uses {used - pos}"
                )
        pos = end
    if unknown is not None:
        values["unknown_tagged_fields"] = unknown
    return pos


def _compile_writer(cls: type, version: int, flexible: bool) -> p.WriteFn:
    regular, tagged = _split(cls, version, flexible)
    name = cls.__name__
    steps = tuple(
        (spec.name, _type_codec(spec.type, version, flexible, version in spec.nullable, f"{name}.{spec.name}")[1])
        for spec in regular
    )
    tag_writers = tuple(
        (
            spec.tag,
            spec.name,
            spec,
            _type_codec(spec.type, version, True, version in spec.nullable, f"{name}.{spec.name}")[1],
        )
        for spec in tagged
    )

    if not flexible:

        def write(out: bytearray, obj: Any) -> None:
            for field_name, wr in steps:
                wr(out, getattr(obj, field_name))

        return write

    def write_flexible(out: bytearray, obj: Any) -> None:
        for field_name, wr in steps:
            wr(out, getattr(obj, field_name))
        unknown = obj.unknown_tagged_fields
        if not tag_writers and not unknown:
            out.append(0)
            return
        entries: list[tuple[int, bytes]] = []
        for tag, field_name, spec, wr in tag_writers:
            value = getattr(obj, field_name)
            # Tagged fields at their default value are not written, as Kafka does (and as
            # librdkafka 2.0.2 needs: it misreads an ApiVersions v3 reply carrying default-valued
            # feature tags and cannot connect).
            if value == spec.default_value():
                continue
            payload = bytearray()
            wr(payload, value)
            entries.append((tag, bytes(payload)))
        if unknown:
            entries.extend(unknown.items())
            entries.sort()
        p.write_uvarint(out, len(entries))
        for tag, payload in entries:
            p.write_uvarint(out, tag)
            p.write_uvarint(out, len(payload))
            out += payload

    return write_flexible


# -- whole messages --------------------------------------------------------------------------


def decode(cls: type, version: int, buf: Any, pos: int = 0) -> tuple[Any, int]:
    """Decode a *cls* message body of *version* from *buf* at *pos*.

    Returns the instance and the offset after it; trailing bytes are left untouched.

    Raises:
        DecodeError: the bytes are short or malformed.
    """
    flexible = version in cls.__kafka_flexible__  # type: ignore[attr-defined]
    if not isinstance(buf, memoryview):
        buf = memoryview(buf)
    return reader_for(cls, version, flexible)(buf, pos)


def encode_into(out: bytearray, obj: Any, version: int) -> None:
    """Append the encoding of message *obj* at *version* to *out*."""
    cls = type(obj)
    flexible = version in cls.__kafka_flexible__  # type: ignore[attr-defined]
    writer_for(cls, version, flexible)(out, obj)


def encode(obj: Any, version: int) -> bytes:
    """Return the encoding of message *obj* at *version*."""
    out = bytearray()
    encode_into(out, obj, version)
    return bytes(out)


def is_flexible(cls: type, version: int) -> bool:
    return version in cls.__kafka_flexible__  # type: ignore[attr-defined]


FieldFactory = Callable[..., FieldSpec]
