"""JSON Schema compatibility, rule by rule: does the reader accept all the writer accepted?"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kafkalite.schemas.json_schema import JsonSchema
from kafkalite.schemas.model import InvalidSchema


def problems(reader: Any, writer: Any) -> list[str]:
    return [i.error_type for i in JsonSchema(json.dumps(reader)).incompatibilities(JsonSchema(json.dumps(writer)), True)]


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


INT, STR, NUM = {"type": "integer"}, {"type": "string"}, {"type": "number"}


def test_same_schema_is_compatible() -> None:
    schema = obj({"a": INT}, required=["a"])
    assert problems(schema, schema) == []


def test_types_may_widen_not_narrow_or_change() -> None:
    assert problems({"type": ["string", "null"]}, STR) == []
    assert problems(NUM, INT) == []  # integer is a number
    assert problems(STR, {"type": ["string", "null"]}) == ["TYPE_NARROWED"]
    assert problems(STR, INT) == ["TYPE_CHANGED"]
    assert problems(STR, {}) == ["TYPE_NARROWED"]
    assert problems(INT, NUM) == ["TYPE_NARROWED"]  # integers are some of the numbers


def test_a_property_added_to_an_open_content_model_is_incompatible() -> None:
    found = JsonSchema(json.dumps(obj({"a": INT, "b": STR}))).incompatibilities(JsonSchema(json.dumps(obj({"a": INT}))), True)
    assert [i.error_type for i in found] == ["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"]
    assert found[0].additional_info == "#/properties/b"
    assert problems(obj({"a": INT, "b": {}}), obj({"a": INT})) == []  # an empty schema accepts what was there


def test_a_property_removed_from_an_open_content_model_is_compatible() -> None:
    assert problems(obj({"a": INT}), obj({"a": INT, "b": STR})) == []


def test_closed_content_models() -> None:
    closed = {"additionalProperties": False}
    assert problems(obj({"a": INT, "b": STR}, **closed), obj({"a": INT}, **closed)) == []  # optional added
    assert problems(obj({"a": INT}, **closed), obj({"a": INT, "b": STR}, **closed)) \
        == ["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"]
    assert problems(obj({"a": INT, "b": STR}, required=["b"], **closed), obj({"a": INT}, **closed)) \
        == ["REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"]
    assert problems(obj({"a": INT, "b": {**STR, "default": "x"}}, required=["b"], **closed), obj({"a": INT}, **closed)) \
        == []


def test_closing_or_narrowing_additional_properties() -> None:
    assert problems(obj({"a": INT}, additionalProperties=False), obj({"a": INT})) == ["ADDITIONAL_PROPERTIES_REMOVED"]
    assert problems(obj({"a": INT}, additionalProperties=STR), obj({"a": INT})) == ["ADDITIONAL_PROPERTIES_NARROWED"]
    assert problems(obj({"a": INT}), obj({"a": INT}, additionalProperties=False)) == []


def test_partially_open_models_check_against_the_additional_schema() -> None:
    assert problems(obj({"a": INT, "b": STR}), obj({"a": INT}, additionalProperties=STR)) == []
    assert problems(obj({"a": INT, "b": INT}, additionalProperties=STR), obj({"a": INT}, additionalProperties=STR)) \
        == ["TYPE_CHANGED"]


def test_required_attributes() -> None:
    assert problems(obj({"a": INT}, required=["a"]), obj({"a": INT})) == ["REQUIRED_ATTRIBUTE_ADDED"]
    assert problems(obj({"a": {**INT, "default": 0}}, required=["a"]), obj({"a": INT})) == []  # with a default
    assert problems(obj({"a": INT}), obj({"a": INT}, required=["a"])) == []


def test_multiple_of() -> None:
    assert problems({"type": "number", "multipleOf": 2}, NUM) == ["MULTIPLE_OF_ADDED"]
    assert problems({"type": "number", "multipleOf": 2}, {"type": "number", "multipleOf": 4}) == []  # reduced
    assert problems({"type": "number", "multipleOf": 4}, {"type": "number", "multipleOf": 2}) == ["MULTIPLE_OF_EXPANDED"]
    assert problems({"type": "number", "multipleOf": 3}, {"type": "number", "multipleOf": 2}) == ["MULTIPLE_OF_CHANGED"]
    assert problems(NUM, {"type": "number", "multipleOf": 2}) == []  # removed


def test_nested_properties_are_checked_with_their_path() -> None:
    found = JsonSchema(json.dumps(obj({"o": obj({"x": STR})}))).incompatibilities(
        JsonSchema(json.dumps(obj({"o": obj({"x": INT})}))), True)
    assert [(i.error_type, i.additional_info) for i in found] == [("TYPE_CHANGED", "#/properties/o/properties/x")]


def test_enums_may_grow_not_shrink() -> None:
    assert problems({"enum": ["a", "b", "c"]}, {"enum": ["a", "b"]}) == []
    assert problems({"enum": ["a"]}, {"enum": ["a", "b"]}) == ["ENUM_ARRAY_NARROWED"]
    assert problems({"enum": ["c"]}, {"enum": ["a", "b"]}) == ["ENUM_ARRAY_CHANGED"]


@pytest.mark.parametrize("reader,writer,expected", [
    ({"type": "string", "maxLength": 5}, STR, "MAX_LENGTH_ADDED"),
    ({"type": "string", "maxLength": 5}, {"type": "string", "maxLength": 9}, "MAX_LENGTH_DECREASED"),
    ({"type": "string", "minLength": 5}, {"type": "string", "minLength": 1}, "MIN_LENGTH_INCREASED"),
    ({"type": "number", "maximum": 5}, {"type": "number", "maximum": 9}, "MAXIMUM_DECREASED"),
    ({"type": "number", "minimum": 1}, NUM, "MINIMUM_ADDED"),
    ({"type": "array", "maxItems": 1}, {"type": "array"}, "MAX_ITEMS_ADDED"),
    ({"type": "string", "pattern": "^a"}, STR, "PATTERN_ADDED"),
    ({"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"}, "PATTERN_CHANGED"),
    ({"type": "array", "uniqueItems": True}, {"type": "array"}, "UNIQUE_ITEMS_ADDED"),
])
def test_tighter_bounds_are_incompatible(reader: Any, writer: Any, expected: str) -> None:
    assert problems(reader, writer) == [expected]
    if expected != "PATTERN_CHANGED":  # another pattern is no looser
        assert problems(writer, reader) == []  # loosening them is fine


def test_array_items_are_checked() -> None:
    assert problems({"type": "array", "items": NUM}, {"type": "array", "items": INT}) == []
    assert problems({"type": "array", "items": INT}, {"type": "array", "items": STR}) == ["TYPE_CHANGED"]


def test_sum_and_product_types() -> None:
    assert problems({"oneOf": [STR, INT, NUM]}, {"oneOf": [STR, INT]}) == []
    assert problems({"oneOf": [STR]}, {"oneOf": [STR, INT]}) == ["SUM_TYPE_NARROWED"]
    assert problems({"allOf": [STR]}, {"allOf": [STR, {"maxLength": 3}]}) == []
    assert problems({"allOf": [STR, {"maxLength": 3}]}, {"allOf": [STR]}) == ["PRODUCT_TYPE_EXTENDED"]


def test_local_references_are_followed() -> None:
    writer = {"definitions": {"x": INT}, "type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}}
    reader = {"definitions": {"x": STR}, "type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}}
    assert problems(reader, writer) == ["TYPE_CHANGED"]


@pytest.mark.parametrize("text", ["nope", "[1]", '{"type": 5}', '{"minLength": -1}'])
def test_invalid_schemas_are_refused(text: str) -> None:
    with pytest.raises(InvalidSchema):
        JsonSchema(text)
