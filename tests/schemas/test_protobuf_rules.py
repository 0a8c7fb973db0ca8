"""Protobuf compatibility, rule by rule, on schemas parsed by protoc (grpcio-tools) or given
as base64 FileDescriptorProtos (what confluent-kafka's serializer registers)."""

from __future__ import annotations

import pytest

from kafkalite.schemas.model import InvalidSchema
from kafkalite.schemas.protobuf import ProtobufSchema


def proto(body: str, package: str = "p", syntax: str = "proto3") -> ProtobufSchema:
    return ProtobufSchema(f'syntax = "{syntax}";\npackage {package};\n{body}\n')


def problems(reader: ProtobufSchema, writer: ProtobufSchema) -> list[str]:
    return [i.error_type for i in reader.incompatibilities(writer, True)]


BASE = proto("message M { int32 a = 1; string b = 2; Inner c = 3; message Inner { int64 x = 1; } }")


def test_same_schema_and_added_fields_are_compatible() -> None:
    assert problems(BASE, BASE) == []
    grown = proto("message M { int32 a = 1; string b = 2; Inner c = 3; bool d = 4; message Inner { int64 x = 1; } }")
    assert problems(grown, BASE) == []
    assert problems(BASE, grown) == []  # a removed field is skipped as unknown


def test_renaming_a_field_is_compatible() -> None:
    renamed = proto("message M { int32 aa = 1; string b = 2; Inner c = 3; message Inner { int64 x = 1; } }")
    assert problems(renamed, BASE) == []


def test_a_removed_message_is_incompatible() -> None:
    found = proto("message M { int32 a = 1; string b = 2; }")
    assert problems(found, BASE) == ["MESSAGE_REMOVED"]


def test_package_change_is_incompatible() -> None:
    assert "PACKAGE_CHANGED" in problems(
        proto("message M { int32 a = 1; string b = 2; Inner c = 3; message Inner { int64 x = 1; } }", package="q"), BASE)


@pytest.mark.parametrize("old,new", [("int32", "int64"), ("uint32", "bool"), ("sint32", "sint64"),
                                     ("fixed32", "sfixed32"), ("fixed64", "sfixed64"), ("string", "bytes")])
def test_scalar_kinds_within_a_wire_group_are_compatible(old: str, new: str) -> None:
    assert problems(proto(f"message M {{ {new} a = 1; }}"), proto(f"message M {{ {old} a = 1; }}")) == []


@pytest.mark.parametrize("old,new", [("int32", "sint32"), ("int64", "fixed64"), ("string", "int32"), ("float", "double"),
                                     ("fixed32", "float")])
def test_scalar_kinds_across_wire_groups_are_incompatible(old: str, new: str) -> None:
    found = proto(f"message M {{ {new} a = 1; }}").incompatibilities(proto(f"message M {{ {old} a = 1; }}"), True)
    assert [i.error_type for i in found] == ["FIELD_SCALAR_KIND_CHANGED"]
    assert found[0].additional_info == "#/M/1"


def test_scalar_to_message_is_a_kind_change_and_another_message_a_named_type_change() -> None:
    assert problems(proto("message M { N a = 1; } message N {}"), proto("message M { int32 a = 1; } message N {}")) \
        == ["FIELD_KIND_CHANGED"]
    assert problems(proto("message M { O a = 1; } message N {} message O {}"),
                    proto("message M { N a = 1; } message N {} message O {}")) == ["FIELD_NAMED_TYPE_CHANGED"]


def test_a_numeric_field_s_label_may_not_change_a_string_s_or_a_message_s_may() -> None:
    def p2(body: str) -> ProtobufSchema:
        return proto(body + " message N {}", syntax="proto2")

    assert problems(p2("message M { repeated int32 a = 1; }"), p2("message M { optional int32 a = 1; }")) \
        == ["FIELD_NUMERIC_LABEL_CHANGED"]
    assert problems(p2("message M { repeated string a = 1; }"), p2("message M { optional string a = 1; }")) == []
    assert problems(p2("message M { repeated N a = 1; }"), p2("message M { optional N a = 1; }")) == []
    # proto3's implicit fields carry no label to compare, as Confluent's parser reads them
    assert problems(proto("message M { repeated int32 a = 1; }"), proto("message M { int32 a = 1; }")) == []
    assert problems(proto("message M { repeated int32 a = 1; }"), proto("message M { optional int32 a = 1; }")) \
        == ["FIELD_NUMERIC_LABEL_CHANGED"]


def test_an_enum_is_a_number_on_the_wire() -> None:
    assert problems(proto("message M { E a = 1; } enum E { X = 0; }"), proto("message M { int32 a = 1; } enum E { X = 0; }")) \
        == []
    assert problems(proto("message M { E a = 1; } enum E { X = 0; }"), proto("message M { string a = 1; } enum E { X = 0; }")) \
        == ["FIELD_SCALAR_KIND_CHANGED"]


def test_enums_and_their_constants_may_change() -> None:
    assert problems(proto("message M { E a = 1; } enum E { X = 0; Y = 1; }"),
                    proto("message M { E a = 1; } enum E { X = 0; Z = 2; }")) == []


def test_maps_compare_their_keys_and_values() -> None:
    old = proto("message M { map<string, int32> m = 1; }")
    assert problems(proto("message M { map<string, int64> m = 1; }"), old) == []
    assert problems(proto("message M { map<string, string> m = 1; }"), old) == ["FIELD_SCALAR_KIND_CHANGED"]
    assert problems(proto("message M { repeated string m = 1; }"), old) == ["FIELD_KIND_CHANGED"]


def test_message_types_compare_by_their_name_in_the_package() -> None:
    old = proto("message M { N a = 1; } message N {}", package="p")
    assert problems(proto("message M { N a = 1; } message N {}", package="q"), old) == ["PACKAGE_CHANGED"]


def test_proto2_required_fields_cannot_come_or_go() -> None:
    old = proto("message M { optional int32 a = 1; }", syntax="proto2")
    new = proto("message M { optional int32 a = 1; required int32 b = 2; }", syntax="proto2")
    assert problems(new, old) == ["REQUIRED_FIELD_ADDED"]
    assert problems(old, new) == ["REQUIRED_FIELD_REMOVED"]


def test_oneof_moves() -> None:
    flat = proto("message M { int32 a = 1; string b = 2; }")
    one_moved = proto("message M { oneof o { int32 a = 1; } string b = 2; }")
    both_moved = proto("message M { oneof o { int32 a = 1; string b = 2; } }")
    assert problems(one_moved, flat) == []
    assert problems(both_moved, flat) == ["MULTIPLE_FIELDS_MOVED_TO_ONEOF"]
    assert problems(flat, one_moved) == ["ONEOF_FIELD_REMOVED"]
    joined = proto("message M { oneof o { int32 a = 1; string b = 2; } }")
    assert problems(joined, one_moved) == ["FIELD_MOVED_TO_EXISTING_ONEOF"]
    assert problems(proto("message M { oneof o { int32 a = 1; } }"), one_moved) == []  # b removed: fine


def test_the_base64_descriptor_form_is_the_same_schema() -> None:
    again = ProtobufSchema(BASE.serialized())
    assert again.identity() == BASE.identity()
    assert problems(again, BASE) == []


def test_message_indexes_name_nested_messages() -> None:
    assert BASE.message_name([0]) == "p.M"
    assert BASE.message_name([0, 0]) == "p.M.Inner"
    assert BASE.message_name([3]) is None


def test_decode_builds_the_message_from_the_descriptor() -> None:
    # field 1 (varint) = 150, field 2 (bytes) = "hi"
    assert BASE.decode([0], b"\x08\x96\x01\x12\x02hi") == {"a": 150, "b": "hi"}
    with pytest.raises(ValueError):
        BASE.decode([0], b"\x12\x09short")


@pytest.mark.parametrize("text", ['syntax = "proto3"; message { }', 'syntax = "proto3"; import "other.proto";'])
def test_invalid_schemas_are_refused_with_protoc_s_message(text: str) -> None:
    with pytest.raises(InvalidSchema, match="Invalid schema"):
        ProtobufSchema(text)


def test_well_known_imports_resolve_without_references() -> None:
    schema = ProtobufSchema('syntax = "proto3"; import "google/protobuf/timestamp.proto"; '
                            "message M { google.protobuf.Timestamp at = 1; }")
    assert schema.message_name([0]) == "M"
