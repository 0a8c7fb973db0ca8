"""The Schema Registry: Confluent's operations over `RegistryState`, durable in ``_schemas``.

Each operation checks what Confluent checks, in Confluent's order, and raises a
`RegistryError` with Confluent's code; a change is appended to ``_schemas`` through the
`SchemasTopic` port (the broker's one append path) and applied once it is in the log. The
topic is created on the first write. If the topic disappears, is created anew or is written
to by anyone else (a broker reset deletes it with the other user topics; a client may
produce a backup into it), the state is rebuilt from whatever the topic now holds before the
next operation, as Confluent's registry follows its topic.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterable, Mapping, Protocol, Sequence

from kafkalite.schemas import errors
from kafkalite.schemas.compatibility import LEVELS, find_problems, incompatible_message, messages
from kafkalite.schemas.decode import DecodedValue
from kafkalite.schemas.decode import decode as decode_value
from kafkalite.schemas.model import AVRO, JSON, PROTOBUF, SCHEMA_TYPES, InvalidSchema, ParsedSchema, Reference
from kafkalite.schemas.store import (
    RegistryState, SchemaVersion, config_key, delete_subject_key, encode, mode_key, schema_key, schema_value,
)
from kafkalite.wire.batch import BatchHeader
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.records import decode_records

log = logging.getLogger("kafkalite.schemas")

SCHEMAS_TOPIC = "_schemas"
MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
DEFAULT_LEVEL = "BACKWARD"
DEFAULT_MODE = "READWRITE"
MAX_VERSION = 2**31 - 1


class SchemasTopic(Protocol):
    """What the registry needs of the broker: its one-partition topic ``_schemas``."""

    def incarnation(self) -> object | None:
        """What changes when the topic is created anew or written to (its id and log end
        offset), None when it does not exist."""
        ...

    def append(self, records: Sequence[tuple[bytes, bytes | None]]) -> ErrorCode:
        """Append the (key, value) records as one batch (creating the topic if needed)."""
        ...

    def batches(self) -> Iterable[tuple[BatchHeader, memoryview]]:
        """The topic's batches from its log start, in order."""
        ...


def parse_version(text: str, *, allow_latest: bool = True) -> int | None:
    """A path's version: an id in [1, 2^31-1], or None for ``latest`` (and -1).

    Raises:
        RegistryError: 42202 for anything else.
    """
    if allow_latest and text in ("latest", "-1"):
        return None
    try:
        version = int(text)
    except ValueError:
        raise errors.invalid_version(text) from None
    if not 1 <= version <= MAX_VERSION:
        raise errors.invalid_version(text)
    return version


class SchemaRegistry:
    """Subjects, versions and global ids, with Confluent's rules; see the module docstring."""

    def __init__(self, topic: SchemasTopic) -> None:
        self._topic = topic
        self._incarnation: object | None = object()  # never equal: the first call replays
        self.state = RegistryState()
        self._parsed: dict[tuple[str, str, tuple[Reference, ...]], ParsedSchema] = {}

    # -- the log -----------------------------------------------------------------------

    def sync(self) -> None:
        """Rebuild the state from ``_schemas`` if the topic changed since it was last read."""
        incarnation = self._topic.incarnation()
        if incarnation == self._incarnation:
            return
        self._incarnation = incarnation
        self.state = RegistryState()
        if incarnation is None:
            return
        count = 0
        for header, view in self._topic.batches():
            if header.is_control:
                continue
            try:
                records = decode_records(view)
            except DecodeError as exc:
                log.warning("%s: skipping undecodable batch at %d: %s", SCHEMAS_TOPIC, header.base_offset, exc)
                continue
            for record in records:
                try:
                    key = json.loads(bytes(record.key or b"null"))
                    value = None if record.value is None else json.loads(bytes(record.value))
                    self.state.apply(key, value)
                    count += 1
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    log.warning("%s: skipping a record at %d: %s", SCHEMAS_TOPIC,
                                header.base_offset + record.offset_delta, exc)
        if count:
            log.info("schema registry: replayed %d record(s) of %s", count, SCHEMAS_TOPIC)

    def _write(self, records: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
        encoded = [(encode(k), encode(v)) for k, v in records]
        error = self._topic.append(encoded)  # type: ignore[arg-type]
        if error != ErrorCode.NONE:
            raise errors.store_error(f"Error while writing to {SCHEMAS_TOPIC}: {error.name}")
        self._incarnation = self._topic.incarnation()  # created by this write, maybe
        for key, value in records:
            self.state.apply(key, value)

    # -- parsing -----------------------------------------------------------------------

    def parse(self, schema: str, schema_type: str, references: Sequence[Reference]) -> ParsedSchema:
        """The parsed schema, its references resolved.

        Raises:
            RegistryError: 42201 for an invalid schema, a reference to nothing, an unknown type.
        """
        if schema_type not in SCHEMA_TYPES:
            raise errors.invalid_schema(f"Invalid schema type {schema_type}")
        cache_key = (schema_type, schema, tuple(references))
        parsed = self._parsed.get(cache_key)
        if parsed is not None:
            return parsed
        resolved: dict[str, Any] = {}
        for ref in references:
            target = self.state.subjects.get(ref.subject, {}).get(ref.version)
            if target is None:
                raise errors.invalid_schema(
                    f"Invalid schema: reference {ref.name} to subject {ref.subject} version {ref.version} not found"
                )
            target_parsed = self.parse(target.schema, target.schema_type, target.references)
            if schema_type == PROTOBUF:
                resolved[ref.name] = target_parsed
            else:
                for inner in _reference_texts(self, target):
                    resolved.setdefault(inner[0], inner[1])
                resolved[ref.name] = target.schema
        try:
            if schema_type == AVRO:
                from kafkalite.schemas.avro import AvroSchema

                parsed = AvroSchema(schema, resolved)
            elif schema_type == JSON:
                from kafkalite.schemas.json_schema import JsonSchema

                parsed = JsonSchema(schema, resolved)
            else:
                from kafkalite.schemas.protobuf import ProtobufSchema

                parsed = ProtobufSchema(schema, resolved)
        except InvalidSchema as exc:
            raise errors.invalid_schema(str(exc)) from None
        self._parsed[cache_key] = parsed
        return parsed

    # -- reading -----------------------------------------------------------------------

    def subjects(self, *, deleted: bool = False, prefix: str = "") -> list[str]:
        """Subjects with a version (a soft-deleted one counts only with *deleted*)."""
        self.sync()
        return [s for s in sorted(self.state.subjects)
                if s.startswith(prefix) and self.state.versions(s, deleted=deleted)]

    def versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        self.sync()
        found = self.state.versions(subject, deleted=deleted)
        if not found:
            raise errors.subject_not_found(subject)
        return [v.version for v in found]

    def version(self, subject: str, version: str, *, deleted: bool = False) -> SchemaVersion:
        """A subject's version (``latest``: the newest not deleted).

        Raises:
            RegistryError: 42202 bad version, 40401 no such subject, 40402 no such version.
        """
        number = parse_version(version)
        self.sync()
        visible = self.state.versions(subject, deleted=deleted)
        if not self.state.versions(subject, deleted=True) or (number is None and not visible):
            raise errors.subject_not_found(subject)
        if number is None:
            return visible[-1]
        found = next((v for v in visible if v.version == number), None)
        if found is None:
            raise errors.version_not_found(number)
        return found

    def latest(self, subject: str) -> SchemaVersion | None:
        """The subject's newest version not deleted, None if it has none."""
        self.sync()
        visible = self.state.versions(subject)
        return visible[-1] if visible else None

    def schema_by_id(self, schema_id: int, subject: str | None = None) -> SchemaVersion:
        """A version that has *schema_id* (in *subject* when given).

        Raises:
            RegistryError: 40403 when no version has it.
        """
        self.sync()
        found = [v for v in self.state.by_id(schema_id) if subject is None or v.subject == subject]
        if not found:
            raise errors.schema_not_found(schema_id)
        return found[0]

    def id_versions(self, schema_id: int, *, deleted: bool = False) -> list[SchemaVersion]:
        self.sync()
        found = [v for v in self.state.by_id(schema_id) if deleted or not v.deleted]
        if not self.state.by_id(schema_id):
            raise errors.schema_not_found(schema_id)
        return found

    def referenced_by(self, subject: str, version: str) -> list[int]:
        """Ids of the schemas (versions not deleted) that reference *subject* *version*."""
        target = self.version(subject, version, deleted=True)
        return sorted({
            v.schema_id for v in self.state.all_versions() if not v.deleted
            and any(r.subject == target.subject and r.version == target.version for r in v.references)
        })

    def decode(self, data: bytes) -> DecodedValue | None:
        """*data* in Confluent's wire format decoded with the schema its id names; None when
        it is not in that format or no schema has the id (see `kafkalite.schemas.decode`)."""
        return decode_value(self, data)

    # -- config and mode ---------------------------------------------------------------

    def compatibility(self, subject: str | None = None, *, default_to_global: bool = True) -> str:
        self.sync()
        if subject is not None:
            level = self.state.configs.get(subject)
            if level is not None:
                return level
            if not default_to_global:
                raise errors.subject_compatibility_not_configured(subject)
        return self.state.configs.get(None, DEFAULT_LEVEL)

    def set_compatibility(self, level: Any, subject: str | None = None) -> str:
        if not isinstance(level, str) or level.upper() not in LEVELS:
            raise errors.invalid_compatibility(level)
        self.sync()
        self._check_writable(subject)
        self._write([(config_key(subject), {"compatibilityLevel": level.upper()})])
        return level.upper()

    def delete_compatibility(self, subject: str | None = None) -> str:
        """Remove the subject's (or the global) level; returns the level it had."""
        self.sync()
        previous = self.compatibility(subject)
        if subject is not None and subject not in self.state.configs:
            if not self.state.versions(subject, deleted=True):
                raise errors.subject_not_found(subject)
            raise errors.subject_compatibility_not_configured(subject)
        self._write([(config_key(subject), None)])
        return previous

    def mode(self, subject: str | None = None, *, default_to_global: bool = True) -> str:
        self.sync()
        if subject is not None:
            mode = self.state.modes.get(subject)
            if mode is not None:
                return mode
            if not default_to_global:
                raise errors.subject_mode_not_configured(subject)
        return self.state.modes.get(None, DEFAULT_MODE)

    def set_mode(self, mode: Any, subject: str | None = None, *, force: bool = False) -> str:
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise errors.invalid_mode(mode)
        mode = mode.upper()
        self.sync()
        if mode == "IMPORT" and not force:
            existing = self.state.versions(subject, deleted=True) if subject is not None else self.state.all_versions()
            if existing:
                raise errors.operation_not_permitted(
                    "Cannot import since found existing subjects" if subject is None
                    else f"Cannot import since found existing subject {subject}"
                )
        self._write([(mode_key(subject), {"mode": mode})])
        return mode

    def delete_mode(self, subject: str) -> str:
        self.sync()
        previous = self.mode(subject)
        if subject not in self.state.modes:
            raise errors.subject_mode_not_configured(subject)
        self._write([(mode_key(subject), None)])
        return previous

    def _check_writable(self, subject: str | None) -> None:
        mode = self.mode(subject)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            raise errors.operation_not_permitted(
                f"Subject {subject} is in read-only mode" if subject else "The registry is in read-only mode"
            )

    # -- registering ----------------------------------------------------------------------

    def register(
        self,
        subject: str,
        schema: str,
        schema_type: str = AVRO,
        references: Sequence[Reference] = (),
        *,
        normalize: bool = False,
        schema_id: int | None = None,
        version: int | None = None,
    ) -> SchemaVersion:
        """Register *schema* under *subject*; returns the version (an existing one when the
        subject already has this schema). *schema_id* / *version*: IMPORT mode's explicit ones.

        Raises:
            RegistryError: 42205 read-only (or an id outside IMPORT mode), 42201 invalid,
                409 incompatible, 42207 an explicit id already taken by another schema.
        """
        self.sync()
        _check_subject(subject)
        mode = self.mode(subject)
        self._check_writable(subject)
        if schema_id is not None and mode != "IMPORT":
            raise errors.operation_not_permitted(f"Subject {subject} is not in import mode")
        parsed = self.parse(schema, schema_type, references)
        text = parsed.normalized() if normalize else schema
        identity = _key(parsed, normalize)
        current = self.state.versions(subject)
        for existing in current:
            if existing.schema_type == schema_type and tuple(existing.references) == tuple(references) \
                    and self._identity(existing, normalize) == identity:
                if schema_id is None or schema_id == existing.schema_id:
                    return existing
        if mode != "IMPORT":
            problems = find_problems(self.parse, parsed, schema_type, current, self.compatibility(subject))
            if problems:
                raise errors.incompatible(incompatible_message(subject, problems))
        same = self._same_schema_id(schema_type, identity, references, normalize)
        if schema_id is None:
            schema_id = same if same is not None else self.state.max_id + 1
        else:
            taken = self.state.by_id(schema_id)
            if taken and self._identity(taken[0], normalize) != identity:
                raise errors.id_does_not_match(
                    f"Overwrite new schema with id {schema_id} is not permitted."
                )
        all_versions = self.state.versions(subject, deleted=True)
        if version is None:
            version = all_versions[-1].version + 1 if all_versions else 1
        record = SchemaVersion(subject, version, schema_id, schema_type, text, tuple(references))
        self._write([(schema_key(subject, version), schema_value(record))])
        return record

    def _identity(self, version: SchemaVersion, normalize: bool = False) -> str:
        return _key(self.parse(version.schema, version.schema_type, version.references), normalize)

    def _same_schema_id(self, schema_type: str, identity: str, references: Sequence[Reference],
                        normalize: bool) -> int | None:
        for v in self.state.all_versions():
            if v.schema_type == schema_type and tuple(v.references) == tuple(references):
                try:
                    if self._identity(v, normalize) == identity:
                        return v.schema_id
                except errors.RegistryError:
                    continue
        return None

    def lookup(self, subject: str, schema: str, schema_type: str = AVRO, references: Sequence[Reference] = (),
               *, normalize: bool = False, deleted: bool = False) -> SchemaVersion:
        """The subject's version that has *schema*.

        Raises:
            RegistryError: 40401 no such subject, 40403 the subject does not have it, 42201.
        """
        self.sync()
        versions = self.state.versions(subject, deleted=deleted)
        if not versions:
            raise errors.subject_not_found(subject)
        identity = _key(self.parse(schema, schema_type, references), normalize)
        for v in reversed(versions):
            if v.schema_type == schema_type and tuple(v.references) == tuple(references) \
                    and self._identity(v, normalize) == identity:
                return v
        raise errors.schema_not_found()

    # -- compatibility -----------------------------------------------------------------

    def check(self, subject: str, schema: str, schema_type: str = AVRO, references: Sequence[Reference] = (),
              version: str | None = "latest") -> list[str]:
        """Confluent's messages of why *schema* cannot follow *subject*'s *version* (None:
        the versions its level checks against); empty when it can.

        Raises:
            RegistryError: 40401 / 40402 for a version that does not exist, 42201, 42202.
        """
        self.sync()
        level = self.compatibility(subject)
        parsed = self.parse(schema, schema_type, references)
        if version is None:
            against = self.state.versions(subject)
        else:
            number = parse_version(version)
            if number is None and not self.state.versions(subject):
                return []
            against = [self.version(subject, version)]
            level = level.replace("_TRANSITIVE", "")
        problems = find_problems(self.parse, parsed, schema_type, against, level)
        return messages(problems)

    # -- deleting ----------------------------------------------------------------------

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft delete the subject's versions, or (*permanent*) remove soft-deleted ones.

        Raises:
            RegistryError: 40401 no such subject, 40404 already soft deleted, 40405 permanent
                before soft, 42206 a version is referenced, 42205 read-only.
        """
        self.sync()
        every = self.state.versions(subject, deleted=True)
        if not every:
            raise errors.subject_not_found(subject)
        self._check_writable(subject)
        live = [v for v in every if not v.deleted]
        if permanent:
            if live:
                raise errors.subject_not_soft_deleted(subject)
            for v in every:
                self._check_unreferenced(v)
            self._write([(schema_key(subject, v.version), None) for v in every] + self._settings_gone(subject))
            return [v.version for v in every]
        if not live:
            raise errors.subject_soft_deleted(subject)
        for v in live:
            self._check_unreferenced(v)
        records: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
            (delete_subject_key(subject), {"subject": subject, "version": live[-1].version})
        ]
        for v in live:
            records.append((schema_key(subject, v.version), schema_value(_deleted(v))))
        self._write(records)
        return [v.version for v in live]

    def delete_version(self, subject: str, version: str, *, permanent: bool = False) -> int:
        """Soft delete one version, or (*permanent*) remove a soft-deleted one.

        Raises:
            RegistryError: 42202, 40401, 40402, 40406 already soft deleted, 40407 permanent
                before soft, 42206 referenced, 42205 read-only.
        """
        number = parse_version(version)
        self.sync()
        every = self.state.versions(subject, deleted=True)
        if not every:
            raise errors.subject_not_found(subject)
        self._check_writable(subject)
        if number is None:
            candidates = every if permanent else [v for v in every if not v.deleted]
            if not candidates:
                raise errors.subject_not_found(subject)
            target = candidates[-1]
        else:
            target = next((v for v in every if v.version == number), None)  # type: ignore[assignment]
            if target is None:
                raise errors.version_not_found(number)
        if permanent:
            if not target.deleted:
                raise errors.version_not_soft_deleted(subject, target.version)
            self._check_unreferenced(target)
            last = len(every) == 1
            self._write([(schema_key(subject, target.version), None)] + (self._settings_gone(subject) if last else []))
        else:
            if target.deleted:
                raise errors.version_soft_deleted(subject, target.version)
            self._check_unreferenced(target)
            self._write([(schema_key(subject, target.version), schema_value(_deleted(target)))])
        return target.version

    def _settings_gone(self, subject: str) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Tombstones of the subject's own level and mode: a subject permanently gone leaves
        none behind (as Confluent's registry since its 2025 fix)."""
        gone: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        if subject in self.state.configs:
            gone.append((config_key(subject), None))
        if subject in self.state.modes:
            gone.append((mode_key(subject), None))
        return gone

    def _check_unreferenced(self, target: SchemaVersion) -> None:
        for v in self.state.all_versions():
            if not v.deleted and any(r.subject == target.subject and r.version == target.version for r in v.references):
                raise errors.reference_exists(
                    f"One or more references exist to the schema "
                    f"{{magic=1,keytype=SCHEMA,subject={target.subject},version={target.version}}}."
                )


def _key(parsed: ParsedSchema, normalize: bool) -> str:
    """What makes two schemas the same: their identity, or with *normalize* their normalised
    forms (Protobuf's identity, its descriptor, is normalised already)."""
    return parsed.normalized() if normalize and parsed.schema_type != PROTOBUF else parsed.identity()


def _deleted(v: SchemaVersion) -> SchemaVersion:
    import attrs

    return attrs.evolve(v, deleted=True)


def _check_subject(subject: str) -> None:
    if not subject or any(ord(c) < 32 for c in subject):
        raise errors.invalid_subject(subject)


def _reference_texts(registry: SchemaRegistry, version: SchemaVersion) -> list[tuple[str, str]]:
    """(name, text) of what *version* references, transitively, deepest first."""
    found: list[tuple[str, str]] = []
    for ref in version.references:
        target = registry.state.subjects.get(ref.subject, {}).get(ref.version)
        if target is not None:
            found += _reference_texts(registry, target)
            found.append((ref.name, target.schema))
    return found


def parse_references(raw: Any) -> tuple[Reference, ...]:
    """References from a request body's ``references`` (a list of {name, subject, version}).

    Raises:
        RegistryError: 422 when they are not of that shape.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise errors.unprocessable("references must be an array")
    found = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) \
                or not isinstance(item.get("subject"), str) or isinstance(item.get("version"), bool) \
                or not isinstance(item.get("version"), int):
            raise errors.unprocessable("each reference needs a name, a subject and a version")
        found.append(Reference(item["name"], item["subject"], item["version"]))
    return tuple(found)

