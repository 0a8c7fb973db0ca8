"""The pytest plugin's ``schema_registry_url`` fixture and the contract the console reads:
`registry_for(broker).decode(...)` on values confluent-kafka's serializers wrote."""

from __future__ import annotations

import json
import uuid
from typing import Any, Iterator

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from kafkalite.schemas import DecodedValue, registry_for
from kafkalite.testing.thread import BrokerThread

AVRO = json.dumps({"type": "record", "name": "Reading", "fields": [
    {"name": "sensor", "type": "string"}, {"name": "value", "type": "double"}, {"name": "raw", "type": "bytes"}]})


@pytest.fixture
def client(schema_registry_url: str) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": schema_registry_url}) as registry_client:
        yield registry_client


def decode(broker: BrokerThread, data: bytes) -> DecodedValue | None:
    def run() -> DecodedValue | None:
        registry = registry_for(broker.broker)
        assert registry is not None
        return registry.decode(data)

    return broker.call(run)


def context(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def test_the_fixture_turns_the_http_port_on(kafkalite_broker: BrokerThread, schema_registry_url: str) -> None:
    assert schema_registry_url == kafkalite_broker.http_url + "/schema-registry"


def test_the_fixture_alone_gives_a_broker_with_the_registry(schema_registry_url: str) -> None:
    assert schema_registry_url.startswith("http://") and schema_registry_url.endswith("/schema-registry")


def test_helpers_and_client_see_one_registry(kafkalite_broker: BrokerThread, client: SchemaRegistryClient) -> None:
    schema_id = kafkalite_broker.register_schema("r-value", json.loads(AVRO))
    assert client.get_schema(schema_id).schema_str == AVRO
    latest = kafkalite_broker.latest_schema("r-value")
    assert latest is not None and (latest.schema_id, latest.version) == (schema_id, 1)
    assert kafkalite_broker.get_schema(schema_id).subject == "r-value"


def test_decode_avro_written_by_the_serializer(kafkalite_broker: BrokerThread, client: SchemaRegistryClient) -> None:
    data = AvroSerializer(client, AVRO)({"sensor": "t1", "value": 21.5, "raw": b"\x01\xff"}, context("readings"))
    decoded = decode(kafkalite_broker, data)
    assert decoded is not None
    assert (decoded.schema_type, decoded.subject, decoded.error) == ("AVRO", "readings-value", None)
    assert decoded.value == {"sensor": "t1", "value": 21.5, "raw": "\x01\xff"}
    json.dumps(decoded.value)  # JSON-able


def test_decode_json_written_by_the_serializer(kafkalite_broker: BrokerThread, client: SchemaRegistryClient) -> None:
    schema = json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}})
    data = JSONSerializer(schema, client)({"n": 3}, context("counts"))
    decoded = decode(kafkalite_broker, data)
    assert decoded is not None and (decoded.schema_type, decoded.value) == ("JSON", {"n": 3})


def message_class() -> Any:
    """A message class built with protobuf's descriptor APIs (no generated code)."""
    file = descriptor_pb2.FileDescriptorProto(name=f"m{uuid.uuid4().hex}.proto", package="t", syntax="proto3")
    outer = file.message_type.add(name="Outer")
    outer.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    inner = outer.nested_type.add(name="Inner")
    inner.field.add(name="label", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("t.Outer.Inner"))


def test_decode_a_nested_protobuf_message(kafkalite_broker: BrokerThread, client: SchemaRegistryClient) -> None:
    inner = message_class()
    data = ProtobufSerializer(inner, client)(inner(label="deep"), context("nested"))
    decoded = decode(kafkalite_broker, data)
    assert decoded is not None
    assert (decoded.schema_type, decoded.subject, decoded.value) == ("PROTOBUF", "nested-value", {"label": "deep"})


def test_decode_of_plain_bytes_is_none(kafkalite_broker: BrokerThread, schema_registry_url: str) -> None:
    assert decode(kafkalite_broker, b"hello") is None


def test_the_shared_broker_gets_the_registry_and_a_reset_empties_it(
    kafkalite_shared_broker: BrokerThread, schema_registry_url: str
) -> None:
    assert schema_registry_url == kafkalite_shared_broker.http_url + "/schema-registry"
    kafkalite_shared_broker.register_schema("x", '"string"')
    kafkalite_shared_broker.reset()
    assert kafkalite_shared_broker.latest_schema("x") is None
