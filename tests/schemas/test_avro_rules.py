"""Avro schema resolution, rule by rule: can the reader read what the writer wrote?"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kafkalite.schemas.avro import AvroSchema
from kafkalite.schemas.model import InvalidSchema


def avro(schema: Any, references: dict[str, str] | None = None) -> AvroSchema:
    return AvroSchema(json.dumps(schema), references or {})


def record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def problems(reader: Any, writer: Any) -> list[str]:
    return [i.error_type for i in avro(reader).incompatibilities(avro(writer), True)]


@pytest.mark.parametrize("writer,reader", [
    ("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"),
    ("float", "double"), ("string", "bytes"), ("bytes", "string"),
])
def test_primitive_promotions_resolve(writer: str, reader: str) -> None:
    assert problems(reader, writer) == []


@pytest.mark.parametrize("writer,reader", [
    ("long", "int"), ("double", "float"), ("string", "int"), ("boolean", "int"), ("float", "long"),
])
def test_other_primitive_changes_are_type_mismatches(writer: str, reader: str) -> None:
    assert problems(reader, writer) == ["TYPE_MISMATCH"]


def test_a_reader_field_missing_from_the_writer_needs_a_default() -> None:
    old = record({"name": "a", "type": "int"})
    new = record({"name": "a", "type": "int"}, {"name": "b", "type": "string"})
    found = avro(new).incompatibilities(avro(old), True)
    assert [i.error_type for i in found] == ["READER_FIELD_MISSING_DEFAULT_VALUE"]
    assert found[0].description == (
        "The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema"
    )
    with_default = record({"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": ""})
    assert problems(with_default, old) == []


def test_writer_fields_the_reader_lacks_are_skipped() -> None:
    assert problems(record({"name": "a", "type": "int"}),
                    record({"name": "a", "type": "int"}, {"name": "b", "type": "string"})) == []


def test_a_field_found_by_the_reader_s_alias_resolves() -> None:
    writer = record({"name": "old_name", "type": "int"})
    reader = record({"name": "new_name", "type": "int", "aliases": ["old_name"]})
    assert problems(reader, writer) == []


def test_field_types_resolve_recursively_with_the_path() -> None:
    writer = record({"name": "a", "type": "string"})
    reader = record({"name": "a", "type": "int"})
    found = avro(reader).incompatibilities(avro(writer), True)
    assert [i.error_type for i in found] == ["TYPE_MISMATCH"]
    assert "'/fields/0/type'" in found[0].description


def test_records_match_by_name_or_alias_not_namespace() -> None:
    assert problems(record(name="B"), record(name="A")) == ["NAME_MISMATCH"]
    assert problems(record(name="B", aliases=["A"]), record(name="A")) == []
    assert problems(record(name="A", namespace="x"), record(name="A", namespace="y")) == []


def test_enum_symbols_the_reader_lacks_need_its_default() -> None:
    writer = {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}
    reader = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    assert problems(reader, writer) == ["MISSING_ENUM_SYMBOLS"]
    assert problems({**reader, "default": "A"}, writer) == []
    assert problems(writer, reader) == []  # symbols added: old data still reads
    assert problems({"type": "enum", "name": "F", "symbols": ["A"]}, {"type": "enum", "name": "E", "symbols": ["A"]}) \
        == ["NAME_MISMATCH"]


def test_fixed_must_keep_name_and_size() -> None:
    assert problems({"type": "fixed", "name": "F", "size": 8}, {"type": "fixed", "name": "F", "size": 8}) == []
    assert problems({"type": "fixed", "name": "F", "size": 16}, {"type": "fixed", "name": "F", "size": 8}) \
        == ["FIXED_SIZE_MISMATCH"]


def test_arrays_and_maps_resolve_their_items_and_values() -> None:
    assert problems({"type": "array", "items": "long"}, {"type": "array", "items": "int"}) == []
    assert problems({"type": "array", "items": "int"}, {"type": "array", "items": "long"}) == ["TYPE_MISMATCH"]
    assert problems({"type": "map", "values": "double"}, {"type": "map", "values": "float"}) == []
    assert problems({"type": "map", "values": "int"}, {"type": "map", "values": "string"}) == ["TYPE_MISMATCH"]
    assert problems({"type": "map", "values": "int"}, {"type": "array", "items": "int"}) == ["TYPE_MISMATCH"]


def test_every_branch_of_a_writer_union_must_resolve() -> None:
    assert problems(["null", "string", "int"], ["null", "string"]) == []
    assert problems(["null", "string"], ["null", "string", "int"]) == ["MISSING_UNION_BRANCH"]
    assert problems("string", ["null", "string"]) == ["TYPE_MISMATCH"]  # the null branch cannot be read


def test_a_reader_union_needs_a_branch_for_the_writer() -> None:
    assert problems(["null", "string"], "string") == []
    assert problems(["null", "long"], "int") == []  # promoted into a branch
    assert problems(["null", "string"], "int") == ["MISSING_UNION_BRANCH"]


def test_logical_types_resolve_as_their_underlying_types() -> None:
    assert problems({"type": "long", "logicalType": "timestamp-millis"}, "long") == []
    assert problems({"type": "long", "logicalType": "timestamp-millis"}, "int") == []


def test_recursive_records_terminate() -> None:
    node = record({"name": "next", "type": ["null", "Node"], "default": None}, name="Node")
    assert problems(node, node) == []


def test_forward_messages_name_the_old_schema_as_the_reader() -> None:
    old = record({"name": "a", "type": "int"})
    new = record({"name": "a", "type": "int"}, {"name": "b", "type": "string"})
    found = avro(old).incompatibilities(avro(new), False)
    assert found == []  # the old reader skips b
    found = avro(new).incompatibilities(avro(old), False)
    assert "in the old schema has no default value and is missing in the new schema" in found[0].description


def test_named_types_of_references_are_known() -> None:
    address = json.dumps(record({"name": "city", "type": "string"}, name="Address", namespace="com.x"))
    schema = avro(record({"name": "home", "type": "com.x.Address"}), {"com.x.Address": address})
    assert schema.incompatibilities(schema, True) == []


@pytest.mark.parametrize("text", ["not json", '{"type": "record", "name": "R"}', '{"type": "nope"}',
                                  '{"type": "enum", "name": "E", "symbols": [1]}'])
def test_invalid_schemas_are_refused(text: str) -> None:
    with pytest.raises(InvalidSchema):
        AvroSchema(text)


def test_identity_ignores_formatting_attribute_order_and_how_names_are_written() -> None:
    a = AvroSchema('{"type":"record","name":"R","namespace":"x","fields":[]}')
    b = AvroSchema('{ "name": "R", "type": "record",\n "namespace": "x", "fields": [] }')
    c = AvroSchema('{"type":"record","name":"x.R","fields":[]}')
    assert a.identity() == b.identity() == c.identity()
    assert a.normalized() == '{"fields":[],"name":"x.R","type":"record"}'
    assert AvroSchema('{"type":"record","name":"x.R","fields":[],"doc":"d"}').identity() != a.identity()
