"""Avro schemas: parsed by fastavro, checked by the specification's schema resolution.

Strategy: fastavro parses the text (references first, so their named types are known) into
plain dicts with full names; `_Resolution` then walks reader and writer together as the Avro
specification resolves a writer's data with a reader's schema:

* primitives match themselves, and promote int -> long, float, double; long -> float,
  double; float -> double; string <-> bytes;
* records match by unqualified name or one of the reader's aliases; each reader field is
  found in the writer by name (or one of the field's aliases) and resolved recursively, a
  reader field the writer lacks needs a default; writer fields the reader lacks are skipped;
* enums match by name; a writer symbol the reader lacks needs the reader's enum default;
* fixed match by name and size; arrays by items, maps by values, recursively;
* a writer union: every branch must resolve against the reader; a reader union: some branch
  must resolve against the (non-union) writer.

Logical types resolve as their underlying types, as Avro's own checker does.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import fastavro
from fastavro.schema import SchemaParseException, UnknownType

from kafkalite.schemas.model import AVRO, Incompatibility, InvalidSchema

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

#: writer type -> the reader types it promotes to.
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


class AvroSchema:
    """An Avro schema parsed by fastavro, with the named types it defines and uses."""

    schema_type = AVRO

    def __init__(self, text: str, references: Mapping[str, str] = ()) -> None:  # type: ignore[assignment]
        """Parse *text*; *references* maps each referenced schema's name to its text.

        Raises:
            InvalidSchema: not JSON, or not a valid Avro schema.
        """
        self.text = text
        self.named: dict[str, Any] = {}
        try:
            for ref_text in dict(references).values():
                fastavro.parse_schema(json.loads(ref_text), named_schemas=self.named, _write_hint=False)
            self.raw = json.loads(text)
            _check_records(self.raw)
            self.parsed = fastavro.parse_schema(self.raw, named_schemas=self.named, _write_hint=False)
        except InvalidSchema:
            raise
        except json.JSONDecodeError as exc:
            raise InvalidSchema(f"Invalid schema {text}: not JSON: {exc}") from None
        except UnknownType as exc:
            raise InvalidSchema(f"Invalid schema {text}: unknown type {exc}") from None
        except (SchemaParseException, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidSchema(f"Invalid schema {text}: {exc}") from None

    def identity(self) -> str:
        # Confluent compares the parsed schema written back (Avro's Schema.toString): names
        # resolved, formatting and the order of attributes ignored.
        return self.normalized()

    def normalized(self) -> str:
        # Names resolved to full names (namespaces folded in), attributes sorted, no formatting.
        return json.dumps(self.parsed, separators=(",", ":"), sort_keys=True)

    def incompatibilities(self, writer: Any, new_is_reader: bool) -> list[Incompatibility]:
        assert isinstance(writer, AvroSchema)
        walk = _Resolution(self.named, writer.named, new_is_reader)
        walk.check(self.parsed, writer.parsed, "/")
        return walk.found


def _check_records(schema: Any) -> None:
    """fastavro lets a record without ``fields`` through; the specification (and Confluent's
    Java parser) require them."""
    if isinstance(schema, list):
        for branch in schema:
            _check_records(branch)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error"):
            if not isinstance(schema.get("fields"), list):
                raise InvalidSchema(f"Invalid schema: record {schema.get('name')!r} has no fields")
            for field in schema["fields"]:
                if isinstance(field, dict):
                    _check_records(field.get("type"))
        elif kind == "array":
            _check_records(schema.get("items"))
        elif kind == "map":
            _check_records(schema.get("values"))
        elif isinstance(kind, (dict, list)):
            _check_records(kind)


def _kind(schema: Any) -> str:
    """The type of a resolved schema: a primitive name, record, enum, fixed, array, map, union."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        kind = schema["type"]
        return kind if isinstance(kind, str) else _kind(kind)
    return schema


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class _Resolution:
    def __init__(self, reader_named: dict[str, Any], writer_named: dict[str, Any], new_is_reader: bool) -> None:
        self.reader_named = reader_named
        self.writer_named = writer_named
        self.reader_is = "new" if new_is_reader else "old"
        self.writer_is = "old" if new_is_reader else "new"
        self.found: list[Incompatibility] = []
        self._seen: set[tuple[str, str]] = set()

    def _resolve(self, schema: Any, named: dict[str, Any]) -> Any:
        if isinstance(schema, str) and schema not in PRIMITIVES:
            return named[schema]
        if isinstance(schema, dict) and schema.get("type") in PRIMITIVES:
            return schema["type"]  # a logical type resolves as its underlying type
        return schema

    def check(self, reader: Any, writer: Any, path: str) -> bool:
        """Record why *reader* cannot read *writer* at *path*; True when it can."""
        reader = self._resolve(reader, self.reader_named)
        writer = self._resolve(writer, self.writer_named)
        r_kind, w_kind = _kind(reader), _kind(writer)
        if w_kind == "union":
            ok = True
            for i, branch in enumerate(writer):
                ok = self._branch_readable(reader, branch, _join(path, str(i))) and ok
            return ok
        if r_kind == "union":
            if any(self._quiet_check(branch, writer) for branch in reader):
                return True
            self._add("MISSING_UNION_BRANCH", f"The {self.reader_is} schema is missing a type inside a union "
                      f"field at path '{path}' in the {self.writer_is} schema", _describe(writer))
            return False
        if r_kind != w_kind:
            if w_kind in PRIMITIVES and r_kind in PROMOTIONS.get(w_kind, ()):
                return True
            self._add("TYPE_MISMATCH", f"The type (path '{path}') of a field in the {self.reader_is} schema "
                      f"does not match with the {self.writer_is} schema", f"reader type: {r_kind} not compatible "
                      f"with writer type: {w_kind}")
            return False
        if r_kind in PRIMITIVES:
            return True
        if r_kind in ("record", "enum", "fixed") and not self._names_match(reader, writer):
            self._add("NAME_MISMATCH", f"The name of the schema has changed (path '{path}')",
                      f"expected: {writer['name']}")
            return False
        return getattr(self, f"_{r_kind}")(reader, writer, path)

    def _branch_readable(self, reader: Any, branch: Any, path: str) -> bool:
        if _kind(self._resolve(reader, self.reader_named)) == "union":
            if any(self._quiet_check(r, branch) for r in self._resolve(reader, self.reader_named)):
                return True
            self._add("MISSING_UNION_BRANCH", f"The {self.reader_is} schema is missing a type inside a union "
                      f"field at path '{path}' in the {self.writer_is} schema",
                      f"reader union lacking writer type: {_kind(self._resolve(branch, self.writer_named)).upper()}")
            return False
        return self.check(reader, branch, path)

    def _quiet_check(self, reader: Any, writer: Any) -> bool:
        mark = len(self.found)
        ok = self.check(reader, writer, "/")
        del self.found[mark:]
        return ok

    def _names_match(self, reader: dict[str, Any], writer: dict[str, Any]) -> bool:
        writer_name = _short(writer["name"])
        return _short(reader["name"]) == writer_name or writer_name in {_short(a) for a in reader.get("aliases", ())}

    def _record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> bool:
        pair = (reader["name"], writer["name"])
        if pair in self._seen:  # recursive types: this pair is being checked further up
            return True
        self._seen.add(pair)
        writer_fields = {f["name"]: f for f in writer["fields"]}
        ok = True
        for i, field in enumerate(reader["fields"]):
            names = [field["name"], *field.get("aliases", ())]
            match = next((writer_fields[n] for n in names if n in writer_fields), None)
            field_path = _join(path, f"fields/{i}")
            if match is None:
                if "default" not in field:
                    self._add("READER_FIELD_MISSING_DEFAULT_VALUE",
                              f"The field '{field['name']}' at path '{field_path}' in the {self.reader_is} schema "
                              f"has no default value and is missing in the {self.writer_is} schema", field["name"])
                    ok = False
                continue
            ok = self.check(field["type"], match["type"], _join(field_path, "type")) and ok
        return ok

    def _enum(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> bool:
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            self._add("MISSING_ENUM_SYMBOLS", f"The {self.reader_is} schema is missing enum symbols "
                      f"'{missing}' at path '{path}' in the {self.writer_is} schema", ", ".join(missing))
            return False
        return True

    def _fixed(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> bool:
        if reader["size"] != writer["size"]:
            self._add("FIXED_SIZE_MISMATCH", f"The size of FIXED type field at path '{path}' in the "
                      f"{self.reader_is} schema does not match with the {self.writer_is} schema",
                      f"expected: {writer['size']}, found: {reader['size']}")
            return False
        return True

    def _array(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> bool:
        return self.check(reader["items"], writer["items"], _join(path, "items"))

    def _map(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> bool:
        return self.check(reader["values"], writer["values"], _join(path, "values"))

    def _add(self, error_type: str, description: str, info: str) -> None:
        self.found.append(Incompatibility(error_type, description, info))


def _join(path: str, part: str) -> str:
    return f"/{part}" if path == "/" else f"{path}/{part}"


def _describe(schema: Any) -> str:
    kind = _kind(schema)
    return f"reader union lacking writer type: {kind.upper()}"
