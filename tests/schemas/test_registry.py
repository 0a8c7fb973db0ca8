"""The registry's store and rules, over an in-memory `_schemas` (real record batches)."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest

from kafkalite.schemas import DecodedValue, Reference, RegistryError, SchemaRegistry, attach, registry_for
from kafkalite.schemas.decode import message_indexes
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.records import decode_records
from tests.schemas.fake_topic import MemoryTopic


def record(*fields: tuple[str, Any], name: str = "R") -> str:
    return json.dumps({"type": "record", "name": name, "fields": [{"name": n, "type": t} for n, t in fields]})


V1 = record(("a", "int"))
V2 = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"},
                                                            {"name": "b", "type": "string", "default": ""}]})
V2_NO_DEFAULT = record(("a", "int"), ("b", "string"))


@pytest.fixture
def topic() -> MemoryTopic:
    return MemoryTopic()


@pytest.fixture
def registry(topic: MemoryTopic) -> SchemaRegistry:
    return SchemaRegistry(topic)


def code(exc: pytest.ExceptionInfo[RegistryError]) -> tuple[int, int]:
    return exc.value.status, exc.value.error_code


def test_ids_are_global_and_shared_by_subjects(registry: SchemaRegistry) -> None:
    assert registry.register("a", V1).schema_id == 1
    assert registry.register("b", V1).schema_id == 1  # same schema, same id, another subject
    assert registry.register("a", V2).schema_id == 2
    assert registry.versions("a") == [1, 2]
    assert registry.versions("b") == [1]
    assert [(v.subject, v.version) for v in registry.id_versions(1)] == [("a", 1), ("b", 1)]


def test_registering_the_same_schema_again_returns_the_existing_version(registry: SchemaRegistry) -> None:
    first = registry.register("a", V1)
    again = registry.register("a", json.dumps(json.loads(V1), indent=4))  # formatting differs
    assert again == first
    assert registry.versions("a") == [1]


def test_normalize_stores_the_normalised_text(registry: SchemaRegistry) -> None:
    text = json.dumps({"type": "record", "name": "R", "namespace": "x", "fields": []}, indent=2)
    stored = registry.register("a", text, normalize=True)
    assert stored.schema == '{"fields":[],"name":"x.R","type":"record"}'


def test_an_incompatible_schema_is_refused_with_confluent_s_message(registry: SchemaRegistry) -> None:
    registry.register("a", V1)
    with pytest.raises(RegistryError) as exc:
        registry.register("a", V2_NO_DEFAULT)
    assert code(exc) == (409, 409)
    assert exc.value.message.startswith(
        'Schema being registered is incompatible with an earlier schema for subject "a", details: '
        "[{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the "
        "new schema has no default value and is missing in the old schema', additionalInfo:'b'}, "
        "{oldSchemaVersion: 1}, {oldSchema: '"
    )
    assert exc.value.message.endswith("{compatibility: 'BACKWARD'}]")
    assert registry.versions("a") == [1]


ADDED_FIELD = record(("a", "int"), ("b", "string"))  # the new reader's b has no default
DROPPED_FIELD = json.dumps({"type": "record", "name": "R", "fields": []})  # the old reader's a has none


@pytest.mark.parametrize("level,ok", [
    ("NONE", [True, True]), ("BACKWARD", [False, True]), ("FORWARD", [True, False]), ("FULL", [False, False]),
    ("BACKWARD_TRANSITIVE", [False, True]), ("FORWARD_TRANSITIVE", [True, False]), ("FULL_TRANSITIVE", [False, False]),
])
def test_levels_check_in_their_directions(registry: SchemaRegistry, level: str, ok: list[bool]) -> None:
    registry.set_compatibility(level, "s")
    registry.register("s", V1)
    assert [registry.check("s", ADDED_FIELD) == [], registry.check("s", DROPPED_FIELD) == []] == ok
    for candidate, allowed in zip((ADDED_FIELD, DROPPED_FIELD), ok):
        if not allowed:
            with pytest.raises(RegistryError) as exc:
                registry.register("s", candidate)
            assert code(exc) == (409, 409)
            assert f"{{compatibility: '{level}'}}" in exc.value.message


def test_transitive_levels_check_every_version_the_others_the_latest(registry: SchemaRegistry) -> None:
    registry.set_compatibility("NONE")
    registry.register("s", record(("a", "int")))
    registry.register("s", record(("a", "string")))  # no check: NONE
    back_to_int = record(("a", "int"))
    registry.set_compatibility("BACKWARD")
    assert registry.check("s", record(("a", "long"))) != []  # long cannot read the latest string
    registry.set_compatibility("BACKWARD", "s")
    assert len(registry.check("s", back_to_int, version=None)) > 0
    registry.set_compatibility("BACKWARD_TRANSITIVE", "s")
    messages = registry.check("s", back_to_int, version=None)
    assert "{oldSchemaVersion: 2}" in messages and "{oldSchemaVersion: 1}" not in messages


def test_check_against_one_version_ignores_the_transitive_part(registry: SchemaRegistry) -> None:
    registry.set_compatibility("NONE")
    registry.register("s", record(("a", "string")))
    registry.register("s", record(("a", "int")))
    registry.set_compatibility("BACKWARD_TRANSITIVE")
    assert registry.check("s", record(("a", "long")), version="2") == []
    assert registry.check("s", record(("a", "long")), version=None) != []
    assert registry.check("s", record(("a", "long")), version="1")[-1] == "{compatibility: 'BACKWARD'}"


def test_check_of_a_missing_version_or_subject(registry: SchemaRegistry) -> None:
    assert registry.check("nothing", V1) == []  # latest of nothing: compatible
    with pytest.raises(RegistryError) as exc:
        registry.check("nothing", V1, version="1")
    assert code(exc) == (404, 40401)
    registry.register("s", V1)
    with pytest.raises(RegistryError) as exc:
        registry.check("s", V1, version="7")
    assert code(exc) == (404, 40402)


def test_a_different_schema_type_is_incompatible(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    with pytest.raises(RegistryError) as exc:
        registry.register("s", '{"type": "object"}', "JSON")
    assert code(exc) == (409, 409)


@pytest.mark.parametrize("text,schema_type", [("{", "AVRO"), ('{"type": "nope"}', "AVRO"), ('{"type": 3}', "JSON"),
                                              ("message {", "PROTOBUF"), ("{}", "XML")])
def test_invalid_schemas_answer_42201(registry: SchemaRegistry, text: str, schema_type: str) -> None:
    with pytest.raises(RegistryError) as exc:
        registry.register("s", text, schema_type)
    assert code(exc) == (422, 42201)


def test_lookup(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    registry.register("s", V2)
    assert registry.lookup("s", V1).version == 1
    with pytest.raises(RegistryError) as exc:
        registry.lookup("t", V1)
    assert code(exc) == (404, 40401)
    with pytest.raises(RegistryError) as exc:
        registry.lookup("s", record(("z", "int")))
    assert code(exc) == (404, 40403)
    registry.delete_version("s", "1")
    with pytest.raises(RegistryError):
        registry.lookup("s", V1)
    assert registry.lookup("s", V1, deleted=True).version == 1


@pytest.mark.parametrize("text", ["0", "-2", "x", "2147483648"])
def test_versions_outside_1_to_2_31_are_invalid(registry: SchemaRegistry, text: str) -> None:
    registry.register("s", V1)
    with pytest.raises(RegistryError) as exc:
        registry.version("s", text)
    assert code(exc) == (422, 42202)


def test_latest_and_minus_one_are_the_newest_live_version(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    registry.register("s", V2)
    assert registry.version("s", "latest").version == 2
    assert registry.version("s", "-1").version == 2
    registry.delete_version("s", "2")
    assert registry.version("s", "latest").version == 1
    assert registry.version("s", "2", deleted=True).deleted
    with pytest.raises(RegistryError) as exc:
        registry.version("s", "2")
    assert code(exc) == (404, 40402)


def test_soft_then_permanent_subject_delete(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    registry.register("s", V2)
    with pytest.raises(RegistryError) as exc:
        registry.delete_subject("s", permanent=True)
    assert code(exc) == (404, 40405)
    assert registry.delete_subject("s") == [1, 2]
    assert registry.subjects() == [] and registry.subjects(deleted=True) == ["s"]
    with pytest.raises(RegistryError) as exc:
        registry.versions("s")
    assert code(exc) == (404, 40401)
    with pytest.raises(RegistryError) as exc:
        registry.delete_subject("s")
    assert code(exc) == (404, 40404)
    assert registry.schema_by_id(1).deleted  # ids still resolve for readers of old data
    assert registry.delete_subject("s", permanent=True) == [1, 2]
    assert registry.subjects(deleted=True) == []
    with pytest.raises(RegistryError) as exc:
        registry.delete_subject("s")
    assert code(exc) == (404, 40401)


def test_versions_continue_after_a_soft_delete_and_ids_are_never_reused(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    registry.delete_subject("s")
    assert registry.register("s", V1).version == 2  # a new version, the same schema's id
    assert registry.register("s", V1).schema_id == 1
    registry.delete_subject("s")
    registry.delete_subject("s", permanent=True)
    assert registry.register("t", V2).schema_id == 2
    assert registry.register("t", V1).schema_id == 3  # 1 is gone for good, never given again


def test_soft_then_permanent_version_delete(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    with pytest.raises(RegistryError) as exc:
        registry.delete_version("s", "1", permanent=True)
    assert code(exc) == (404, 40407)
    assert registry.delete_version("s", "1") == 1
    with pytest.raises(RegistryError) as exc:
        registry.delete_version("s", "1")
    assert code(exc) == (404, 40406)
    assert registry.delete_version("s", "1", permanent=True) == 1
    with pytest.raises(RegistryError) as exc:
        registry.delete_version("s", "1")
    assert code(exc) == (404, 40401)
    registry.register("s", V1)
    with pytest.raises(RegistryError) as exc:
        registry.delete_version("s", "9")
    assert code(exc) == (404, 40402)


def test_references_resolve_and_protect_what_they_reference(registry: SchemaRegistry) -> None:
    address = json.dumps({"type": "record", "name": "Address", "namespace": "x",
                          "fields": [{"name": "city", "type": "string"}]})
    registry.register("address", address)
    person = json.dumps({"type": "record", "name": "Person", "fields": [{"name": "home", "type": "x.Address"}]})
    with pytest.raises(RegistryError) as exc:
        registry.register("person", person)  # x.Address unknown without the reference
    assert code(exc) == (422, 42201)
    ref = Reference("x.Address", "address", 1)
    stored = registry.register("person", person, references=[ref])
    assert stored.references == (ref,)
    assert registry.referenced_by("address", "1") == [stored.schema_id]
    for call in (lambda: registry.delete_version("address", "1"), lambda: registry.delete_subject("address")):
        with pytest.raises(RegistryError) as exc:
            call()
        assert code(exc) == (422, 42206)
        assert "subject=address,version=1" in exc.value.message
    registry.delete_subject("person")
    assert registry.referenced_by("address", "1") == []
    registry.delete_subject("address")


def test_a_reference_to_nothing_is_invalid(registry: SchemaRegistry) -> None:
    with pytest.raises(RegistryError) as exc:
        registry.register("s", V1, references=[Reference("x", "missing", 1)])
    assert code(exc) == (422, 42201)


def test_config_global_and_per_subject(registry: SchemaRegistry) -> None:
    assert registry.compatibility() == "BACKWARD"
    assert registry.compatibility("s") == "BACKWARD"
    with pytest.raises(RegistryError) as exc:
        registry.compatibility("s", default_to_global=False)
    assert code(exc) == (404, 40408)
    assert registry.set_compatibility("full", "s") == "FULL"
    assert registry.set_compatibility("NONE") == "NONE"
    assert registry.compatibility("s") == "FULL" and registry.compatibility("t") == "NONE"
    with pytest.raises(RegistryError) as exc:
        registry.set_compatibility("SOMETIMES")
    assert code(exc) == (422, 42203)
    registry.register("s", V1)
    assert registry.delete_compatibility("s") == "FULL"
    assert registry.compatibility("s") == "NONE"
    assert registry.delete_compatibility() == "NONE"
    assert registry.compatibility() == "BACKWARD"


def test_read_only_mode_refuses_writes(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    assert registry.set_mode("READONLY", "s") == "READONLY"
    for call in (lambda: registry.register("s", V2), lambda: registry.delete_subject("s"),
                 lambda: registry.delete_version("s", "1")):
        with pytest.raises(RegistryError) as exc:
            call()
        assert code(exc) == (422, 42205)
    assert registry.register("t", V1).schema_id == 1  # other subjects stay writable
    assert registry.mode("s") == "READONLY" and registry.mode() == "READWRITE"
    assert registry.delete_mode("s") == "READONLY"
    with pytest.raises(RegistryError) as exc:
        registry.delete_mode("s")
    assert code(exc) == (404, 40409)
    with pytest.raises(RegistryError) as exc:
        registry.set_mode("SLEEPY")
    assert code(exc) == (422, 42204)


def test_import_mode_registers_with_explicit_ids(registry: SchemaRegistry) -> None:
    with pytest.raises(RegistryError) as exc:
        registry.register("s", V1, schema_id=42)
    assert code(exc) == (422, 42205)  # not in IMPORT mode
    registry.set_mode("IMPORT")
    stored = registry.register("s", V1, schema_id=42, version=7)
    assert (stored.schema_id, stored.version) == (42, 7)
    assert registry.register("s", V2_NO_DEFAULT, schema_id=43).schema_id == 43  # no compatibility check
    with pytest.raises(RegistryError) as exc:
        registry.register("t", record(("q", "int")), schema_id=42)
    assert code(exc) == (422, 42207)
    registry.set_mode("READWRITE")
    assert registry.register("u", record(("z", "int"))).schema_id == 44  # after the highest id seen


def test_import_mode_needs_an_empty_registry_unless_forced(registry: SchemaRegistry) -> None:
    registry.register("s", V1)
    with pytest.raises(RegistryError) as exc:
        registry.set_mode("IMPORT")
    assert code(exc) == (422, 42205)
    assert registry.set_mode("IMPORT", force=True) == "IMPORT"


def test_every_change_is_a_record_of_confluent_s_shape(registry: SchemaRegistry, topic: MemoryTopic) -> None:
    registry.register("s", V1)
    registry.set_compatibility("FULL", "s")
    registry.set_mode("READONLY", "s")
    registry.delete_mode("s")
    registry.delete_subject("s")
    registry.delete_subject("s", permanent=True)
    records = [(json.loads(r.key), None if r.value is None else json.loads(r.value))
               for batch in topic.log for r in decode_records(batch)]
    assert records == [
        ({"keytype": "SCHEMA", "subject": "s", "version": 1, "magic": 1},
         {"subject": "s", "version": 1, "id": 1, "schema": V1, "references": [], "deleted": False}),
        ({"keytype": "CONFIG", "subject": "s", "magic": 0}, {"compatibilityLevel": "FULL"}),
        ({"keytype": "MODE", "subject": "s", "magic": 0}, {"mode": "READONLY"}),
        ({"keytype": "MODE", "subject": "s", "magic": 0}, None),
        ({"keytype": "DELETE_SUBJECT", "subject": "s", "magic": 0}, {"subject": "s", "version": 1}),
        ({"keytype": "SCHEMA", "subject": "s", "version": 1, "magic": 1},
         {"subject": "s", "version": 1, "id": 1, "schema": V1, "references": [], "deleted": True}),
        ({"keytype": "SCHEMA", "subject": "s", "version": 1, "magic": 1}, None),
        ({"keytype": "CONFIG", "subject": "s", "magic": 0}, None),  # the subject is gone for good
    ]


def test_non_avro_records_carry_their_schema_type(registry: SchemaRegistry, topic: MemoryTopic) -> None:
    registry.register("j", '{"type": "object"}', "JSON")
    value = json.loads(decode_records(topic.log[-1])[0].value)
    assert value["schemaType"] == "JSON"


def test_a_new_registry_replays_the_topic(registry: SchemaRegistry, topic: MemoryTopic) -> None:
    registry.register("a", V1)
    registry.register("a", V2)
    registry.register("b", '{"type": "object"}', "JSON")
    registry.set_compatibility("FULL", "a")
    registry.delete_version("a", "1")
    again = SchemaRegistry(topic)
    assert again.subjects() == ["a", "b"]
    assert again.versions("a") == [2]
    assert again.versions("a", deleted=True) == [1, 2]
    assert again.compatibility("a") == "FULL"
    assert again.schema_by_id(3).schema_type == "JSON"
    assert again.register("c", record(("n", "int"))).schema_id == 4


def test_a_topic_deleted_underneath_empties_the_registry(registry: SchemaRegistry, topic: MemoryTopic) -> None:
    registry.register("a", V1)
    topic.delete()  # as a broker reset deletes the user topics, _schemas among them
    assert registry.subjects() == []
    assert registry.register("a", V1).schema_id == 1


def test_a_failed_write_changes_nothing(registry: SchemaRegistry, topic: MemoryTopic) -> None:
    registry.register("a", V1)
    topic.fail_with = ErrorCode.NOT_LEADER_OR_FOLLOWER
    with pytest.raises(RegistryError) as exc:
        registry.register("a", V2)
    assert code(exc) == (500, 50001)
    assert registry.versions("a") == [1]


def test_undecodable_records_are_skipped_on_replay(topic: MemoryTopic) -> None:
    from kafkalite.wire.records import build_batch

    topic.append([(b'{"keytype":"SCHEMA","subject":"a","version":1,"magic":1}',
                   json.dumps({"subject": "a", "version": 1, "id": 1, "schema": V1}).encode())])
    topic.log.append(build_batch([(b"not json", b"x"), (b'{"keytype":"WHAT"}', b"{}")]))
    assert SchemaRegistry(topic).versions("a") == [1]


# -- decoding values in Confluent's wire format ---------------------------------------


def avro_bytes(schema: str, value: Any, schema_id: int) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(json.loads(schema)), value)
    return b"\x00" + schema_id.to_bytes(4, "big") + out.getvalue()


def test_decode_avro_json_and_protobuf(registry: SchemaRegistry) -> None:
    avro_id = registry.register("a-value", V2).schema_id
    assert registry.decode(avro_bytes(V2, {"a": 7, "b": "x"}, avro_id)) == DecodedValue(
        avro_id, "AVRO", "a-value", {"a": 7, "b": "x"}, b"\x0e\x02x")
    json_id = registry.register("j-value", '{"type": "object"}', "JSON").schema_id
    decoded = registry.decode(b"\x00" + json_id.to_bytes(4, "big") + b'{"k": [1, 2]}')
    assert decoded is not None and decoded.value == {"k": [1, 2]} and decoded.schema_type == "JSON"
    proto_id = registry.register("p-value", 'syntax = "proto3"; message M { int32 a = 1; message N { string s = 1; } }',
                                 "PROTOBUF").schema_id
    first = registry.decode(b"\x00" + proto_id.to_bytes(4, "big") + b"\x00" + b"\x08\x05")
    assert first is not None and first.value == {"a": 5}
    nested = registry.decode(b"\x00" + proto_id.to_bytes(4, "big") + b"\x04\x00\x00" + b"\x0a\x02hi")
    assert nested is not None and nested.value == {"s": "hi"}


def test_decode_is_none_for_other_bytes_and_unknown_ids(registry: SchemaRegistry) -> None:
    assert registry.decode(b"plain text") is None
    assert registry.decode(b"\x00\x00\x00") is None
    assert registry.decode(b"\x00\x00\x00\x00\x09{}") is None


def test_decode_of_a_payload_the_schema_does_not_fit_keeps_the_bytes(registry: SchemaRegistry) -> None:
    schema_id = registry.register("a", V1).schema_id
    decoded = registry.decode(b"\x00" + schema_id.to_bytes(4, "big") + b"")
    assert decoded is not None and decoded.value is None and decoded.payload == b"" and decoded.error


def test_message_indexes() -> None:
    assert message_indexes(b"\x00rest") == ([0], b"rest")
    assert message_indexes(b"\x04\x02\x06rest") == ([1, 3], b"rest")
    with pytest.raises(ValueError):
        message_indexes(b"\x04\x02")


def test_registry_for_is_none_until_attached() -> None:
    class Broker:
        pass

    broker = Broker()
    assert registry_for(broker) is None
    registry = attach(broker, MemoryTopic())
    assert registry_for(broker) is registry
    assert attach(broker, MemoryTopic()) is registry


def test_normalize_finds_the_same_schema_written_another_way(registry: SchemaRegistry) -> None:
    qualified = json.dumps({"type": "record", "name": "x.R", "fields": []})
    namespaced = json.dumps({"type": "record", "name": "R", "namespace": "x", "fields": []})
    first = registry.register("s", qualified, normalize=True)
    assert registry.register("s", namespaced, normalize=True) == first  # no new version
    assert registry.lookup("s", namespaced, normalize=True).version == 1
    assert registry.register("t", namespaced, normalize=True).schema_id == first.schema_id
    unsorted = json.dumps({"type": "object", "properties": {"b": {}, "a": {}}})
    json_first = registry.register("j", unsorted, "JSON", normalize=True)
    assert json_first.schema == '{"properties":{"a":{},"b":{}},"type":"object"}'
    other_order = json.dumps({"properties": {"a": {}, "b": {}}, "type": "object"})
    assert registry.register("j", other_order, "JSON", normalize=True) == json_first
    with pytest.raises(RegistryError):
        registry.lookup("j", unsorted, "JSON")  # without normalize, another text


def test_protobuf_imports_resolve_through_references(registry: SchemaRegistry) -> None:
    common = 'syntax = "proto3";\npackage common;\nmessage Money { int64 cents = 1; string currency = 2; }\n'
    registry.register("common.proto", common, "PROTOBUF")
    order = ('syntax = "proto3";\nimport "common/money.proto";\n'
             "message Order { string id = 1; common.Money total = 2; }\n")
    with pytest.raises(RegistryError) as exc:
        registry.register("orders-value", order, "PROTOBUF")
    assert code(exc) == (422, 42201)
    ref = Reference("common/money.proto", "common.proto", 1)
    stored = registry.register("orders-value", order, "PROTOBUF", [ref])
    # id "o1", total {cents: 1000}
    data = b"\x00" + stored.schema_id.to_bytes(4, "big") + b"\x00" + b"\x0a\x02o1" + b"\x12\x03\x08\xe8\x07"
    decoded = registry.decode(data)
    assert decoded is not None and decoded.value == {"id": "o1", "total": {"cents": "1000"}}


def test_records_written_by_someone_else_are_read_before_the_next_operation(
    registry: SchemaRegistry, topic: MemoryTopic
) -> None:
    registry.register("a", V1)
    topic.append([(b'{"keytype":"SCHEMA","subject":"restored","version":1,"magic":1}',
                   json.dumps({"subject": "restored", "version": 1, "id": 9, "schema": V2}).encode())])
    assert registry.subjects() == ["a", "restored"]
    assert registry.register("b", '"string"').schema_id == 10


def test_a_subject_permanently_gone_leaves_no_level_or_mode(registry: SchemaRegistry) -> None:
    for subject in ("a", "b"):
        registry.register(subject, V1)
        registry.register(subject, V2)
        registry.set_compatibility("FULL", subject)
        registry.set_mode("READWRITE", subject)
    registry.delete_subject("a")
    registry.delete_subject("a", permanent=True)
    registry.delete_version("b", "1")
    registry.delete_version("b", "1", permanent=True)
    assert registry.compatibility("b", default_to_global=False) == "FULL"  # b has a version left
    registry.delete_version("b", "2")
    registry.delete_version("b", "2", permanent=True)
    for subject in ("a", "b"):
        with pytest.raises(RegistryError):
            registry.compatibility(subject, default_to_global=False)
        with pytest.raises(RegistryError):
            registry.mode(subject, default_to_global=False)
