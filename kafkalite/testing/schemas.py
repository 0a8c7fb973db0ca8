"""The Schema Registry from a test's thread: register and look up schemas on a `BrokerThread`.

Each helper runs in the broker's thread (``BrokerThread.call``), on the same registry the
REST API serves, so a schema registered here is what a serializer pointed at
``schema_registry_url`` sees, and the other way round. The registry is set up on first use
even when no HTTP port is on.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Iterable

from kafkalite.schemas import Reference, SchemaRegistry, SchemaVersion

if TYPE_CHECKING:
    from kafkalite.server.serve import ServerInfo


class BrokerSchemas:
    """Schema Registry helpers, mixed into `BrokerThread`."""

    info: ServerInfo

    #: Runs a function in the broker's thread: `BrokerThread.call`.
    call: Callable[..., Any]

    @property
    def schema_registry_url(self) -> str:
        """The registry's base URL for serializers: the root of ``schema_registry_port`` when
        on, else ``/schema-registry`` on the HTTP port.

        Raises:
            RuntimeError: neither port is on (the ``schema_registry_url`` fixture turns the
                HTTP port on).
        """
        return self.info.schema_registry_url

    def _registry(self) -> SchemaRegistry:
        from kafkalite.server.http.registry import setup_registry

        return setup_registry(self.info.broker)

    def register_schema(self, subject: str, schema: str | dict[str, Any] | list[Any], schema_type: str = "AVRO",
                        references: Iterable[Reference | tuple[str, str, int]] = ()) -> int:
        """Register *schema* (text, or a dict / list dumped as JSON) under *subject*, with the
        subject's compatibility rules; returns its global id.

        Raises:
            RegistryError: as the REST API would answer (409 incompatible, 42201 invalid...).
        """
        text = schema if isinstance(schema, str) else json.dumps(schema)
        refs = tuple(r if isinstance(r, Reference) else Reference(*r) for r in references)
        return self.call(lambda: self._registry().register(subject, text, schema_type.upper(), refs).schema_id)

    def get_schema(self, schema_id: int) -> SchemaVersion:
        """A version registered with *schema_id* (its subject, version, type, text, references).

        Raises:
            RegistryError: 40403 no schema has that id.
        """
        return self.call(lambda: self._registry().schema_by_id(schema_id))

    def latest_schema(self, subject: str) -> SchemaVersion | None:
        """*subject*'s newest version not deleted, None when it has none."""
        return self.call(lambda: self._registry().latest(subject))
