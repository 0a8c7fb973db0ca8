"""Avro records through kafkalite's Schema Registry, and a schema that evolves.

A producer writes users with AvroSerializer (which registers version 1 of the subject
``users-value``). Adding a field without a default is refused: old records could not be read
with the new schema (BACKWARD, the default level). Adding it with a default is accepted as
version 2; a consumer with AvroDeserializer reads the old and the new records alike, each
with the schema its id names.

Run:  python examples/schema_evolution.py
"""

from __future__ import annotations

import json

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import kafkalite

V1 = {"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}
V2_NO_DEFAULT = {**V1, "fields": [*V1["fields"], {"name": "email", "type": "string"}]}
V2 = {**V1, "fields": [*V1["fields"], {"name": "email", "type": "string", "default": ""}]}


def produce(broker: kafkalite.BrokerThread, registry: SchemaRegistryClient, schema: dict, users: list[dict]) -> None:
    serialize = AvroSerializer(registry, json.dumps(schema))
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for user in users:
        producer.produce("users", value=serialize(user, SerializationContext("users", MessageField.VALUE)))
    producer.flush(10)


def main() -> None:
    with kafkalite.run_in_thread(http_port=0) as broker, \
            SchemaRegistryClient({"url": broker.schema_registry_url}) as registry:
        print(f"registry at {broker.schema_registry_url}")
        produce(broker, registry, V1, [{"name": "ann"}, {"name": "bob"}])
        print(f"version 1 registered with id {registry.get_latest_version('users-value').schema_id}")
        try:
            registry.register_schema("users-value", Schema(json.dumps(V2_NO_DEFAULT), "AVRO"))
        except SchemaRegistryError as exc:
            print(f"email without a default: refused, HTTP {exc.http_status_code} error {exc.error_code}")
        produce(broker, registry, V2, [{"name": "cid", "email": "cid@example.org"}])
        print(f"email with a default: accepted as version {registry.get_versions('users-value')[-1]}")

        deserialize = AvroDeserializer(registry)
        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "reader",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe(["users"])
        seen = 0
        while seen < 3:
            message = consumer.poll(10)
            if message is None:
                raise SystemExit("no record within 10 s")
            if message.error():
                continue
            schema_id = int.from_bytes(message.value()[1:5], "big")
            user = deserialize(message.value(), SerializationContext("users", MessageField.VALUE))
            print(f"offset {message.offset()}: schema id {schema_id}: {user}")
            seen += 1
        consumer.close()
        print("old and new records read alike, each with the schema its id names")


if __name__ == "__main__":
    main()
