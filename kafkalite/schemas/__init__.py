"""The Schema Registry: Confluent's REST API's state and rules, durable in ``_schemas``.

* `registry`: `SchemaRegistry`, the operations with Confluent's checks and error codes;
* `store`: its state and the ``_schemas`` records (Confluent's keys and values);
* `compatibility`: the levels (which versions, which direction) and Confluent's messages;
* `avro`, `json_schema`, `protobuf`: parsing (fastavro, jsonschema, protoc / protobuf) and
  each type's compatibility rules;
* `decode`: values in Confluent's wire format decoded with the registered schemas;
* `errors`: Confluent's error codes.

The server sets a registry up for a broker (`attach`) when its HTTP port or its registry
port is on; anything above reads it with `registry_for`.
"""

from __future__ import annotations

import weakref
from typing import Any

from kafkalite.schemas import errors
from kafkalite.schemas.decode import DecodedValue
from kafkalite.schemas.errors import RegistryError
from kafkalite.schemas.model import AVRO, JSON, PROTOBUF, Reference
from kafkalite.schemas.registry import SCHEMAS_TOPIC, SchemaRegistry, SchemasTopic
from kafkalite.schemas.store import SchemaVersion

__all__ = [
    "AVRO", "JSON", "PROTOBUF", "SCHEMAS_TOPIC", "DecodedValue", "Reference", "RegistryError", "SchemaRegistry",
    "SchemaVersion", "SchemasTopic", "attach", "errors", "registry_for",
]

_registries: weakref.WeakKeyDictionary[Any, SchemaRegistry] = weakref.WeakKeyDictionary()


def attach(broker: Any, topic: SchemasTopic) -> SchemaRegistry:
    """The registry of *broker* over *topic*, set up now if it was not (replaying the topic)."""
    registry = _registries.get(broker)
    if registry is None:
        registry = _registries[broker] = SchemaRegistry(topic)
        registry.sync()
    return registry


def registry_for(broker: Any) -> SchemaRegistry | None:
    """*broker*'s registry, None when it has none (neither the HTTP nor the registry port on)."""
    return _registries.get(broker)
