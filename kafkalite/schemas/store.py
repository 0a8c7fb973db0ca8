"""The registry's state and the ``_schemas`` records that change it.

Every change is one record of the compacted topic ``_schemas``, with Confluent's keys and
values (JSON), so the topic can be read with the CLI tools and replays into the same state:

* SCHEMA  key ``{"keytype":"SCHEMA","subject":S,"version":V,"magic":1}``, value
  ``{"subject","version","id","schemaType" (not for AVRO),"schema","references","deleted"}``;
  a null value (tombstone) is a permanent delete of that version;
* CONFIG  key ``{"keytype":"CONFIG","subject":S or null,"magic":0}``, value
  ``{"compatibilityLevel": LEVEL}``; a tombstone removes the subject's (or global) level;
* MODE  key ``{"keytype":"MODE","subject":S or null,"magic":0}``, value ``{"mode": MODE}``;
* DELETE_SUBJECT  key ``{"keytype":"DELETE_SUBJECT","subject":S,"magic":0}``, value
  ``{"subject":S,"version":LATEST}``: written before a subject's versions are soft deleted
  (their own SCHEMA records say so); nothing to replay by itself.

`RegistryState.apply` is the one way the state changes, for a live write and for replay.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from kafkalite.schemas.model import AVRO, Reference


@attrs.frozen
class SchemaVersion:
    """One version of a subject."""

    subject: str
    version: int
    schema_id: int
    schema_type: str
    schema: str
    references: tuple[Reference, ...] = ()
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        """The answer of ``GET /subjects/{s}/versions/{v}`` (Confluent's field order)."""
        body: dict[str, Any] = {"subject": self.subject, "version": self.version, "id": self.schema_id}
        if self.schema_type != AVRO:
            body["schemaType"] = self.schema_type
        if self.references:
            body["references"] = [r.to_json() for r in self.references]
        body["schema"] = self.schema
        return body


def schema_key(subject: str, version: int) -> dict[str, Any]:
    return {"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}


def schema_value(v: SchemaVersion) -> dict[str, Any]:
    value: dict[str, Any] = {"subject": v.subject, "version": v.version, "id": v.schema_id}
    if v.schema_type != AVRO:
        value["schemaType"] = v.schema_type
    value["schema"] = v.schema
    value["references"] = [r.to_json() for r in v.references]
    value["deleted"] = v.deleted
    return value


def config_key(subject: str | None) -> dict[str, Any]:
    return {"keytype": "CONFIG", "subject": subject, "magic": 0}


def mode_key(subject: str | None) -> dict[str, Any]:
    return {"keytype": "MODE", "subject": subject, "magic": 0}


def delete_subject_key(subject: str) -> dict[str, Any]:
    return {"keytype": "DELETE_SUBJECT", "subject": subject, "magic": 0}


def encode(document: dict[str, Any] | None) -> bytes | None:
    return None if document is None else json.dumps(document, separators=(",", ":")).encode()


@attrs.define(eq=False)
class RegistryState:
    """Subjects and their versions, global ids, compatibility levels and modes."""

    subjects: dict[str, dict[int, SchemaVersion]] = attrs.field(factory=dict)
    configs: dict[str | None, str] = attrs.field(factory=dict)  # None: the global level
    modes: dict[str | None, str] = attrs.field(factory=dict)
    #: The highest id ever seen: ids are never given twice, even after a permanent delete.
    max_id: int = 0

    def apply(self, key: dict[str, Any], value: dict[str, Any] | None) -> None:
        """Apply one ``_schemas`` record (decoded key and value, None for a tombstone).

        Raises:
            ValueError, KeyError, TypeError: the record is not one this registry writes.
        """
        keytype = key["keytype"]
        subject = key.get("subject")
        if keytype == "SCHEMA":
            assert isinstance(subject, str)
            version = int(key["version"])
            if value is None:
                versions = self.subjects.get(subject, {})
                versions.pop(version, None)
                if not versions:
                    self.subjects.pop(subject, None)
                return
            record = SchemaVersion(
                subject=subject,
                version=version,
                schema_id=int(value["id"]),
                schema_type=value.get("schemaType") or AVRO,
                schema=str(value["schema"]),
                references=tuple(
                    Reference(str(r["name"]), str(r["subject"]), int(r["version"])) for r in value.get("references") or ()
                ),
                deleted=bool(value.get("deleted", False)),
            )
            self.subjects.setdefault(subject, {})[version] = record
            self.max_id = max(self.max_id, record.schema_id)
        elif keytype == "CONFIG":
            if value is None:
                self.configs.pop(subject, None)
            else:
                self.configs[subject] = str(value["compatibilityLevel"])
        elif keytype == "MODE":
            if value is None:
                self.modes.pop(subject, None)
            else:
                self.modes[subject] = str(value["mode"])
        elif keytype in ("DELETE_SUBJECT", "CLEAR_SUBJECT", "NOOP"):
            pass  # the SCHEMA records that follow carry the change
        else:
            raise ValueError(f"unknown keytype {keytype!r}")

    def versions(self, subject: str, *, deleted: bool = False) -> list[SchemaVersion]:
        """The subject's versions in order (soft-deleted ones only with *deleted*)."""
        found = self.subjects.get(subject, {})
        return [found[v] for v in sorted(found) if deleted or not found[v].deleted]

    def all_versions(self) -> list[SchemaVersion]:
        return [v for subject in sorted(self.subjects) for v in self.versions(subject, deleted=True)]

    def by_id(self, schema_id: int) -> list[SchemaVersion]:
        """Every version (soft-deleted ones included) that has global id *schema_id*."""
        return [v for v in self.all_versions() if v.schema_id == schema_id]
