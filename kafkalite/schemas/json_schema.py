"""JSON Schemas: validated by the jsonschema library, checked by Confluent's documented rules.

A reader can read what a writer wrote when every document the writer accepts, the reader
accepts too. The rules kept (a core subset of Confluent's, each named as Confluent names the
difference it finds between the writer and the reader):

* ``type``: the reader's types must cover the writer's (``integer`` is covered by
  ``number``): else TYPE_NARROWED (some left) or TYPE_CHANGED (none left);
* objects, by content model (open: ``additionalProperties`` absent or true; closed: false;
  partially open: a schema): a property the reader adds to an open model is
  PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL (unless its schema is empty, ``{}``); a property the
  reader removes from a closed model is PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL; a
  property added as required without a default is REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL;
  a property that becomes required (without a default) is REQUIRED_ATTRIBUTE_ADDED; ``additionalProperties``
  going from open to closed is ADDITIONAL_PROPERTIES_REMOVED, to a schema
  ADDITIONAL_PROPERTIES_NARROWED; common properties are checked recursively;
* ``enum``: the reader's values must include the writer's (ENUM_ARRAY_NARROWED / _CHANGED);
* bounds: ``maxLength``, ``maximum``, ``exclusiveMaximum``, ``maxItems``, ``maxProperties``
  added or decreased, ``minLength``, ``minimum``, ``exclusiveMinimum``, ``minItems``,
  ``minProperties`` added or increased; ``multipleOf`` added, expanded or changed (reduced to
  a divisor is fine); ``pattern`` added or changed; ``uniqueItems`` added;
* arrays: ``items`` checked recursively;
* ``oneOf`` / ``anyOf``: every writer branch must be among the reader's (SUM_TYPE_NARROWED);
  ``allOf``: every reader branch must be among the writer's (PRODUCT_TYPE_EXTENDED);
* ``$ref`` to ``#/definitions/...`` or ``#/$defs/...`` is followed; other references are
  compared by their URL.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import jsonschema
import jsonschema.validators

from kafkalite.schemas.model import JSON, Incompatibility, InvalidSchema

_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_BOUND_NAMES = {
    "maxLength": "MAX_LENGTH", "maximum": "MAXIMUM", "exclusiveMaximum": "EXCLUSIVE_MAXIMUM",
    "maxItems": "MAX_ITEMS", "maxProperties": "MAX_PROPERTIES", "minLength": "MIN_LENGTH",
    "minimum": "MINIMUM", "exclusiveMinimum": "EXCLUSIVE_MINIMUM", "minItems": "MIN_ITEMS",
    "minProperties": "MIN_PROPERTIES",
}


class JsonSchema:
    """A JSON Schema, checked against its metaschema by jsonschema."""

    schema_type = JSON

    def __init__(self, text: str, references: Mapping[str, str] = ()) -> None:  # type: ignore[assignment]
        """Parse *text*; *references* maps each referenced schema's ``$ref`` URL to its text.

        Raises:
            InvalidSchema: not JSON, or not a valid JSON Schema.
        """
        self.text = text
        try:
            self.raw = json.loads(text)
            self.references = {name: json.loads(ref) for name, ref in dict(references).items()}
        except json.JSONDecodeError as exc:
            raise InvalidSchema(f"Invalid schema {text}: not JSON: {exc}") from None
        if not isinstance(self.raw, (dict, bool)):
            raise InvalidSchema(f"Invalid schema {text}: a JSON Schema is an object or a boolean")
        try:
            jsonschema.validators.validator_for(self.raw).check_schema(self.raw)
        except jsonschema.SchemaError as exc:
            raise InvalidSchema(f"Invalid schema {text}: {exc.message}") from None

    def identity(self) -> str:
        return json.dumps(self.raw, separators=(",", ":"))

    def normalized(self) -> str:
        return json.dumps(self.raw, separators=(",", ":"), sort_keys=True)

    def validate(self, value: Any) -> None:
        """Raise jsonschema.ValidationError when *value* does not conform."""
        jsonschema.validate(value, self.raw)

    def incompatibilities(self, writer: Any, new_is_reader: bool) -> list[Incompatibility]:
        assert isinstance(writer, JsonSchema)
        walk = _Diff(self, writer, new_is_reader)
        walk.check(self.raw, writer.raw, "#")
        return walk.found


def _types(schema: dict[str, Any]) -> set[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    return {kind} if isinstance(kind, str) else set(kind)


def _has_default(schema: Any) -> bool:
    return isinstance(schema, dict) and "default" in schema


def _covers(reader: set[str], writer_type: str) -> bool:
    return writer_type in reader or (writer_type == "integer" and "number" in reader)


class _Diff:
    def __init__(self, reader: JsonSchema, writer: JsonSchema, new_is_reader: bool) -> None:
        self.roots = {"reader": reader.raw, "writer": writer.raw}
        self.reader_is = "new" if new_is_reader else "old"
        self.writer_is = "old" if new_is_reader else "new"
        self.found: list[Incompatibility] = []
        self._depth = 0

    def _deref(self, schema: Any, side: str) -> Any:
        for _ in range(32):
            if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
                return schema
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                return schema
            target: Any = self.roots[side]
            for part in ref[2:].split("/"):
                if not isinstance(target, dict) or part not in target:
                    return schema
                target = target[part]
            schema = target
        return schema

    def _add(self, error_type: str, path: str, sentence: str) -> None:
        self.found.append(Incompatibility(error_type, f"{sentence} at path '{path}'", path))

    def check(self, reader: Any, writer: Any, path: str) -> None:
        reader, writer = self._deref(reader, "reader"), self._deref(writer, "writer")
        if reader is True or reader == {}:
            return  # the reader accepts anything
        if writer is True or writer == {}:
            writer = {}
        if reader is False:
            if writer is not False:
                self._add("TYPE_CHANGED", path, f"The {self.reader_is} schema accepts nothing")
            return
        if writer is False or not isinstance(reader, dict) or not isinstance(writer, dict):
            return
        if "$ref" in reader or "$ref" in writer:
            if reader.get("$ref") != writer.get("$ref"):
                self._add("TYPE_CHANGED", path, "A reference changed")
            return
        self._depth += 1
        try:
            if self._depth <= 64:
                self._type(reader, writer, path)
                self._enum(reader, writer, path)
                self._bounds(reader, writer, path)
                self._object(reader, writer, path)
                self._array(reader, writer, path)
                self._combined(reader, writer, path)
        finally:
            self._depth -= 1

    def _type(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        r_types, w_types = _types(reader), _types(writer)
        if r_types is None:
            return
        if w_types is None:
            self._add("TYPE_NARROWED", path, f"The {self.reader_is} schema restricts the type")
            return
        kept = [t for t in w_types if _covers(r_types, t)]
        if len(kept) == len(w_types):
            return
        # A number reader of integers keeps some of what a number writer wrote: narrowed.
        if kept or ("number" in w_types and "integer" in r_types):
            self._add("TYPE_NARROWED", path, f"The {self.reader_is} schema narrows the type")
        else:
            self._add("TYPE_CHANGED", path, f"The type of a field in the {self.reader_is} schema does not "
                      f"match with the {self.writer_is} schema")

    def _enum(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        if "enum" not in reader:
            return
        if "enum" not in writer:
            self._add("ENUM_ARRAY_CHANGED", path, f"The {self.reader_is} schema adds an enum")
            return
        missing = [v for v in writer["enum"] if v not in reader["enum"]]
        if missing:
            kind = "ENUM_ARRAY_NARROWED" if len(missing) < len(writer["enum"]) else "ENUM_ARRAY_CHANGED"
            self._add(kind, path, f"The {self.reader_is} schema is missing enum values {missing}")

    def _bounds(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        for key in _UPPER_BOUNDS + _LOWER_BOUNDS:
            if key not in reader or isinstance(reader[key], bool):
                continue
            name = _BOUND_NAMES[key]
            if key not in writer:
                self._add(f"{name}_ADDED", path, f"The {self.reader_is} schema adds {key}")
            elif key in _UPPER_BOUNDS and reader[key] < writer[key]:
                self._add(f"{name}_DECREASED", path, f"The {self.reader_is} schema decreases {key}")
            elif key in _LOWER_BOUNDS and reader[key] > writer[key]:
                self._add(f"{name}_INCREASED", path, f"The {self.reader_is} schema increases {key}")
        self._multiple_of(reader, writer, path)
        if "pattern" in reader and reader["pattern"] != writer.get("pattern"):
            kind = "PATTERN_CHANGED" if "pattern" in writer else "PATTERN_ADDED"
            self._add(kind, path, f"The {self.reader_is} schema restricts the pattern")
        if reader.get("uniqueItems") is True and writer.get("uniqueItems") is not True:
            self._add("UNIQUE_ITEMS_ADDED", path, f"The {self.reader_is} schema requires unique items")

    def _multiple_of(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        r_step, w_step = reader.get("multipleOf"), writer.get("multipleOf")
        if not isinstance(r_step, (int, float)) or isinstance(r_step, bool) or r_step == w_step:
            return
        if not isinstance(w_step, (int, float)) or isinstance(w_step, bool):
            self._add("MULTIPLE_OF_ADDED", path, f"The {self.reader_is} schema adds multipleOf")
        elif (w_step / r_step).is_integer():
            return  # reduced: every multiple of the writer's is one of the reader's
        elif (r_step / w_step).is_integer():
            self._add("MULTIPLE_OF_EXPANDED", path, f"The {self.reader_is} schema expands multipleOf")
        else:
            self._add("MULTIPLE_OF_CHANGED", path, f"The {self.reader_is} schema changes multipleOf")

    def _object(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        r_props = reader.get("properties", {})
        w_props = writer.get("properties", {})
        if not r_props and not w_props and "additionalProperties" not in reader and "required" not in reader:
            return
        r_extra = reader.get("additionalProperties", True)
        w_extra = writer.get("additionalProperties", True)
        r_required = set(reader.get("required", ()))
        w_required = set(writer.get("required", ()))
        for name, schema in r_props.items():
            prop_path = f"{path}/properties/{name}"
            if name in w_props:
                self.check(schema, w_props[name], prop_path)
                if name in r_required and name not in w_required and not _has_default(schema):
                    self._add("REQUIRED_ATTRIBUTE_ADDED", prop_path,
                              f"The {self.reader_is} schema makes the property '{name}' required")
                continue
            if w_extra is False:  # the writer's closed model never wrote it
                if name in r_required and not _has_default(schema):
                    self._add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", prop_path,
                              f"The {self.reader_is} schema has a required property which is missing in "
                              f"the {self.writer_is} schema")
            elif w_extra is True:  # the writer may have written anything under that name
                if schema not in ({}, True):
                    self._add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", prop_path,
                              f"The {self.reader_is} schema has an open content model and has a property "
                              f"which is missing in the {self.writer_is} schema")
            else:
                self.check(schema, w_extra, prop_path)
        for name, schema in w_props.items():
            if name in r_props:
                continue
            prop_path = f"{path}/properties/{name}"
            if r_extra is False:
                self._add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", prop_path,
                          f"The {self.reader_is} schema has a closed content model and is missing a property "
                          f"of the {self.writer_is} schema")
            elif r_extra is not True:
                self.check(r_extra, schema, prop_path)
        if w_extra is not False and r_extra is False:
            self._add("ADDITIONAL_PROPERTIES_REMOVED", path,
                      f"The {self.reader_is} schema closes the content model")
        elif w_extra is True and isinstance(r_extra, dict) and r_extra != {}:
            self._add("ADDITIONAL_PROPERTIES_NARROWED", path,
                      f"The {self.reader_is} schema restricts additional properties")
        elif isinstance(w_extra, dict) and isinstance(r_extra, dict):
            self.check(r_extra, w_extra, f"{path}/additionalProperties")
        for name in r_required - w_required - set(r_props):
            self._add("REQUIRED_ATTRIBUTE_ADDED", f"{path}/properties/{name}",
                      f"The {self.reader_is} schema makes the property '{name}' required")

    def _array(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        r_items, w_items = reader.get("items"), writer.get("items")
        if isinstance(r_items, dict):
            self.check(r_items, w_items if isinstance(w_items, dict) else {}, f"{path}/items")

    def _combined(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        for key in ("oneOf", "anyOf"):
            if key in reader:
                missing = [b for b in writer.get(key, [writer]) if b not in reader[key]]
                if missing and key in writer:
                    self._add("SUM_TYPE_NARROWED", path, f"The {self.reader_is} schema drops {key} branches")
        if "allOf" in reader:
            extra = [b for b in reader["allOf"] if b not in writer.get("allOf", ())]
            if extra:
                self._add("PRODUCT_TYPE_EXTENDED", path, f"The {self.reader_is} schema adds allOf branches")
