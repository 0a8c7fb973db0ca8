"""The registry's values: references, incompatibilities, and what a parsed schema offers.

Each schema type (`avro`, `json_schema`, `protobuf`) parses a schema's text into a
`ParsedSchema`: its identity (two registrations with the same identity get the same global
id), its normalised text, and a check of one schema as the reader of data written with another.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

AVRO = "AVRO"
JSON = "JSON"
PROTOBUF = "PROTOBUF"
SCHEMA_TYPES = (AVRO, JSON, PROTOBUF)


@attrs.frozen
class Reference:
    """A schema's use of another registered schema: *name* as the schema refers to it (an Avro
    full name, a JSON Schema ``$ref`` URL, a .proto import path), found at *subject* *version*."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@attrs.frozen
class Incompatibility:
    """One reason a reader schema cannot read what a writer schema wrote, in Confluent's
    vocabulary: *error_type* (``READER_FIELD_MISSING_DEFAULT_VALUE``, ``TYPE_MISMATCH``...),
    a sentence, and the name or path it concerns."""

    error_type: str
    description: str
    additional_info: str = ""

    def message(self) -> str:
        """Confluent's rendering in a 409 or a verbose compatibility answer."""
        return (
            f"{{errorType:'{self.error_type}', description:'{self.description}', "
            f"additionalInfo:'{self.additional_info}'}}"
        )


class InvalidSchema(ValueError):
    """The schema's text is not a valid schema of its type (answered 42201)."""


class ParsedSchema(Protocol):
    """A schema of one type, parsed (references resolved)."""

    schema_type: str

    def identity(self) -> str:
        """What makes two registrations the same schema (compact canonical text)."""
        ...

    def normalized(self) -> str:
        """The text stored when a client asks for ``normalize=true``."""
        ...

    def incompatibilities(self, writer: ParsedSchema, new_is_reader: bool) -> list[Incompatibility]:
        """Why *self* as the reader cannot read data written with *writer* (empty: it can).
        *new_is_reader* says which of the two is the schema being registered, for messages."""
        ...
