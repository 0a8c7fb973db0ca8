"""The Schema Registry with confluent-kafka's own SchemaRegistryClient and serializers.

A kafkalite process serves Kafka and the registry (--schema-registry-port): an application
produces with AvroSerializer, JSONSerializer and ProtobufSerializer (which register their
schemas), another consumes with the matching deserializers (which fetch them by id), the
values come back equal. The client's admin calls (versions, compatibility, config, deletes)
answer as Confluent's registry does, and the registry's records in _schemas are readable by
kafka-python like any topic's.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka import KafkaConsumer

from .conftest import start_broker, stop_broker

pytestmark = pytest.mark.kafkalite_only(reason="kafkalite's built-in Schema Registry; Kafka has none")

TIMEOUT = 20
USER_AVRO = json.dumps({
    "type": "record", "name": "User", "namespace": "example",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"},
               {"name": "email", "type": ["null", "string"], "default": None}],
})
USER_JSON = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"],
})
USER_PROTO = """syntax = "proto3";
package example;
message User {
  string name = 1;
  int32 age = 2;
  repeated string tags = 3;
}
"""


@pytest.fixture(scope="module")
def broker() -> Iterator[tuple[str, str]]:
    """(bootstrap, registry URL) of a kafkalite process with the registry on its own port."""
    proc, bootstrap = start_broker("--memory", "--schema-registry-port", "0")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("kafkalite Schema Registry on "), line
    url = line.split()[-1]
    drain = threading.Thread(target=proc.stdout.read, daemon=True)
    drain.start()
    try:
        yield bootstrap, url
    finally:
        stop_broker(proc)
        drain.join(timeout=5)


@pytest.fixture
def client(broker: tuple[str, str]) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": broker[1]}) as registry_client:
        yield registry_client


def round_trip(bootstrap: str, topic: str, serialize: Callable[[Any, SerializationContext], bytes],
               deserialize: Callable[[bytes, SerializationContext], Any], values: list[Any]) -> list[Any]:
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value=serialize(value, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(TIMEOUT) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got: list[Any] = []
    try:
        import time

        deadline = time.monotonic() + TIMEOUT
        while len(got) < len(values) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            got.append(deserialize(message.value(), SerializationContext(topic, MessageField.VALUE)))
    finally:
        consumer.close()
    return got


def test_avro_serializer_and_deserializer(broker: tuple[str, str], client: SchemaRegistryClient) -> None:
    topic = f"avro-{uuid.uuid4().hex[:8]}"
    values = [{"name": "ann", "age": 31, "email": None}, {"name": "bob", "age": 7, "email": "b@example.org"}]
    got = round_trip(broker[0], topic, AvroSerializer(client, USER_AVRO),
                     AvroDeserializer(client), values)
    assert got == values
    latest = client.get_latest_version(f"{topic}-value")
    assert (latest.version, latest.schema.schema_type) == (1, "AVRO")
    assert json.loads(latest.schema.schema_str) == json.loads(USER_AVRO)


def test_json_serializer_and_deserializer(broker: tuple[str, str], client: SchemaRegistryClient) -> None:
    topic = f"json-{uuid.uuid4().hex[:8]}"
    values = [{"name": "ann", "age": 31}, {"name": "bob", "age": 7}]
    got = round_trip(broker[0], topic, JSONSerializer(USER_JSON, client),
                     JSONDeserializer(USER_JSON, schema_registry_client=client), values)
    assert got == values
    assert client.get_latest_version(f"{topic}-value").schema.schema_type == "JSON"


def protobuf_module(tmp_path: Path) -> Any:
    """The User message class, generated by grpcio-tools' protoc into tmp_path."""
    from grpc_tools import protoc

    (tmp_path / "user.proto").write_text(USER_PROTO)
    assert protoc.main(["protoc", f"-I{tmp_path}", f"--python_out={tmp_path}", str(tmp_path / "user.proto")]) == 0
    spec = importlib.util.spec_from_file_location(f"user_pb2_{uuid.uuid4().hex}", tmp_path / "user_pb2.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_protobuf_serializer_and_deserializer(broker: tuple[str, str], client: SchemaRegistryClient,
                                              tmp_path: Path) -> None:
    user_pb2 = protobuf_module(tmp_path)
    topic = f"proto-{uuid.uuid4().hex[:8]}"
    values = [user_pb2.User(name="ann", age=31, tags=["a", "b"]), user_pb2.User(name="bob", age=7)]
    serializer = ProtobufSerializer(user_pb2.User, client)
    deserializer = ProtobufDeserializer(user_pb2.User)
    got = round_trip(broker[0], topic, serializer, deserializer, values)
    assert got == values
    registered = client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "PROTOBUF"


def test_evolution_through_the_client(client: SchemaRegistryClient) -> None:
    subject = f"evolve-{uuid.uuid4().hex[:8]}-value"
    v1 = Schema(USER_AVRO, "AVRO")
    schema_id = client.register_schema(subject, v1)
    incompatible = json.loads(USER_AVRO)
    incompatible["fields"].append({"name": "city", "type": "string"})
    assert client.test_compatibility(subject, Schema(json.dumps(incompatible), "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as exc:
        client.register_schema(subject, Schema(json.dumps(incompatible), "AVRO"))
    assert (exc.value.http_status_code, exc.value.error_code) == (409, 409)
    compatible = json.loads(USER_AVRO)
    compatible["fields"].append({"name": "city", "type": "string", "default": ""})
    assert client.test_compatibility(subject, Schema(json.dumps(compatible), "AVRO")) is True
    second_id = client.register_schema(subject, Schema(json.dumps(compatible), "AVRO"))
    assert second_id > schema_id  # a new schema: the next global id
    assert client.get_versions(subject) == [1, 2]
    assert client.lookup_schema(subject, v1).version == 1
    client.set_compatibility(subject, "NONE")
    assert client.get_compatibility(subject) == "NONE"
    assert client.register_schema(subject, Schema(json.dumps(incompatible), "AVRO")) > second_id
    assert client.delete_version(subject, 3) == 3
    assert client.delete_subject(subject) == [1, 2]
    assert client.delete_subject(subject, permanent=True) == [1, 2, 3]
    with pytest.raises(SchemaRegistryError) as exc:
        client.get_latest_version(subject)
    assert exc.value.error_code == 40401


def test_a_schema_shared_by_two_subjects_has_one_id(client: SchemaRegistryClient) -> None:
    schema = Schema(json.dumps({"type": "record", "name": f"S{uuid.uuid4().hex[:8]}", "fields": []}), "AVRO")
    first = client.register_schema(f"a-{uuid.uuid4().hex[:8]}", schema)
    second = client.register_schema(f"b-{uuid.uuid4().hex[:8]}", schema)
    assert first == second


def test_kafka_python_reads_the_registry_s_records_in_schemas(broker: tuple[str, str],
                                                             client: SchemaRegistryClient) -> None:
    subject = f"seen-{uuid.uuid4().hex[:8]}"
    schema_id = client.register_schema(subject, Schema('"string"', "AVRO"))
    consumer = KafkaConsumer("_schemas", bootstrap_servers=broker[0], auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, group_id=None)
    try:
        found = [(json.loads(m.key), json.loads(m.value)) for m in consumer
                 if m.key and json.loads(m.key).get("subject") == subject]
    finally:
        consumer.close()
    assert found == [({"keytype": "SCHEMA", "subject": subject, "version": 1, "magic": 1},
                      {"subject": subject, "version": 1, "id": schema_id, "schema": '"string"',
                       "references": [], "deleted": False})]
