"""ACLs: Kafka's model (resource patterns, entries, filters) and their durable store.

An ACL binds a resource pattern (resource type, name, LITERAL or PREFIXED) to an entry
(principal, host, operation, ALLOW or DENY). The codes are Kafka's wire codes. The store
keeps the set in ``DATA_DIR/meta/acls.json``, rewritten whole and atomically on every change
(as `kafkalite.broker.dynamic_store` does), so ACLs survive a restart. Who may do what is
decided in `kafkalite.broker.authorizer`; this module only holds and matches bindings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import attrs

from kafkalite.storage import KafkaStorageError, LogStore
from kafkalite.wire.acl_codes import AclOperation, AclPermission, PatternType, ResourceType

FILE_NAME = "acls.json"
FORMAT_VERSION = 1
__all__ = [
    "CLUSTER_NAME", "WILDCARD", "WILDCARD_PRINCIPAL", "AclBinding", "AclFilter", "AclOperation", "AclPermission",
    "AclStore", "PatternType", "ResourceType", "binding_from", "filter_from",
]

WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"
CLUSTER_NAME = "kafka-cluster"


def _parse(enum_cls: Any, value: Any) -> Any:
    """An enum member from its code or its name, any case, "_" or "-" ("transactional-id")."""
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, int):
        try:
            return enum_cls(value)
        except ValueError:
            return enum_cls.UNKNOWN
    key = str(value).strip().upper().replace("-", "_")
    return enum_cls.__members__.get(key, enum_cls.UNKNOWN)


@attrs.frozen(order=True)
class AclBinding:
    """One ACL: ``principal`` may (ALLOW) or may not (DENY) do ``operation`` on the resources
    the pattern (``resource_type``, ``resource_name``, ``pattern_type``) covers, from
    ``host`` ("*" for any)."""

    resource_type: ResourceType = attrs.field(converter=lambda v: _parse(ResourceType, v))
    resource_name: str
    pattern_type: PatternType = attrs.field(converter=lambda v: _parse(PatternType, v))
    principal: str
    host: str
    operation: AclOperation = attrs.field(converter=lambda v: _parse(AclOperation, v))
    permission: AclPermission = attrs.field(converter=lambda v: _parse(AclPermission, v))

    def invalid(self) -> str | None:
        """Why Kafka refuses to create this binding (INVALID_REQUEST), or None."""
        if self.resource_type in (ResourceType.UNKNOWN, ResourceType.ANY):
            return f"Invalid resourceType {self.resource_type.name}"
        if self.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
            return f"Invalid patternType {self.pattern_type.name}"
        if self.operation in (AclOperation.UNKNOWN, AclOperation.ANY):
            return f"Invalid operation {self.operation.name}"
        if self.permission not in (AclPermission.ALLOW, AclPermission.DENY):
            return f"Invalid permissionType {self.permission.name}"
        if self.resource_type == ResourceType.CLUSTER and self.resource_name != CLUSTER_NAME:
            return f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        if not self.resource_name:
            return "Invalid empty resource name"
        kind, sep, name = self.principal.partition(":")
        if not sep or not kind:
            return f"expected a string in format principalType:principalName but got {self.principal}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type.name, "resource_name": self.resource_name,
            "pattern_type": self.pattern_type.name, "principal": self.principal, "host": self.host,
            "operation": self.operation.name, "permission": self.permission.name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AclBinding:
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls)})


@attrs.frozen
class AclFilter:
    """Kafka's AclBindingFilter: None or ANY matches every value of its field; pattern_type
    MATCH matches every pattern that covers ``resource_name`` (literal, "*" and prefixes)."""

    resource_type: ResourceType = attrs.field(default=ResourceType.ANY, converter=lambda v: _parse(ResourceType, v))
    resource_name: str | None = None
    pattern_type: PatternType = attrs.field(default=PatternType.ANY, converter=lambda v: _parse(PatternType, v))
    principal: str | None = None
    host: str | None = None
    operation: AclOperation = attrs.field(default=AclOperation.ANY, converter=lambda v: _parse(AclOperation, v))
    permission: AclPermission = attrs.field(default=AclPermission.ANY, converter=lambda v: _parse(AclPermission, v))

    def invalid(self) -> str | None:
        """Why Kafka refuses this filter (INVALID_REQUEST), or None."""
        if self.resource_type == ResourceType.UNKNOWN or self.pattern_type == PatternType.UNKNOWN:
            return "Unknown patternFilter."
        if self.operation == AclOperation.UNKNOWN or self.permission == AclPermission.UNKNOWN:
            return "Unknown entryFilter."
        return None

    def matches(self, acl: AclBinding) -> bool:
        if self.resource_type != ResourceType.ANY and self.resource_type != acl.resource_type:
            return False
        if self.pattern_type not in (PatternType.ANY, PatternType.MATCH) and self.pattern_type != acl.pattern_type:
            return False
        if self.resource_name is not None:
            if self.pattern_type in (PatternType.ANY, acl.pattern_type):
                if self.resource_name != acl.resource_name:
                    return False
            elif acl.pattern_type == PatternType.LITERAL:
                if acl.resource_name not in (self.resource_name, WILDCARD):
                    return False
            elif not self.resource_name.startswith(acl.resource_name):
                return False
        if self.principal is not None and self.principal != acl.principal:
            return False
        if self.host is not None and self.host != acl.host:
            return False
        if self.operation != AclOperation.ANY and self.operation != acl.operation:
            return False
        return self.permission == AclPermission.ANY or self.permission == acl.permission


def _principal(name: str) -> str:
    return name if ":" in name else f"User:{name}"


def binding_from(
    *, principal: str, resource: str, name: str | None = None, operation: str, permission: str = "ALLOW",
    pattern: str = "LITERAL", host: str = "*",
) -> AclBinding:
    """The ACL these Kafka names describe (any case; a plain principal is a user; the cluster
    resource's name defaults to kafka-cluster): what ``broker.acls.add`` and the HTTP API take.

    Raises:
        ValueError: a name is unknown, or Kafka would refuse the ACL (the message says why).
    """
    if not all(isinstance(v, str) for v in (principal, resource, operation, permission, pattern, host)) or not (
        name is None or isinstance(name, str)
    ):
        raise ValueError("ACL fields are strings")
    acl = AclBinding(
        resource_type=resource, resource_name=name or "", pattern_type=pattern, principal=_principal(principal),
        host=host, operation=operation, permission=permission,
    )
    if acl.resource_type == ResourceType.CLUSTER and name is None:
        acl = attrs.evolve(acl, resource_name=CLUSTER_NAME)
    problem = acl.invalid()
    if problem is not None:
        raise ValueError(problem)
    return acl


def filter_from(
    *, principal: str | None = None, resource: str = "ANY", name: str | None = None, operation: str = "ANY",
    permission: str = "ANY", pattern: str = "ANY", host: str | None = None,
) -> AclFilter:
    """The filter these Kafka names describe (None and ANY match everything).

    Raises:
        ValueError: a name is unknown.
    """
    found = AclFilter(
        resource_type=resource, resource_name=name, pattern_type=pattern,
        principal=None if principal is None else _principal(principal), host=host,
        operation=operation, permission=permission,
    )
    problem = found.invalid()
    if problem is not None:
        raise ValueError(problem)
    return found


@attrs.define(eq=False)
class AclStore:
    """The ACLs of the cluster, in creation order. A failed write leaves the previous set in
    memory and on disk and raises `KafkaStorageError`."""

    files: Any
    path: Path | None  # None: an in-memory broker, nothing written
    _acls: dict[AclBinding, None] = attrs.field(factory=dict)
    #: The authorizer's decisions (`kafkalite.broker.authorizer.allowed`), emptied on every change.
    decisions: dict[tuple[Any, ...], bool] = attrs.field(factory=dict, init=False)

    @classmethod
    def open(cls, store: LogStore) -> AclStore:
        """Load the ACLs of the data dir *store* holds (none yet: empty).

        Raises:
            KafkaStorageError: the file cannot be read or is not what this module writes.
        """
        path = None if store.metadata_path is None else store.metadata_path.parent / FILE_NAME
        acls = cls(store.files, path)
        if path is None:
            return acls
        try:
            data = store.files.read_bytes(path)
            if data is not None:
                acls._acls = {AclBinding.from_json(item): None for item in json.loads(data)["acls"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KafkaStorageError(f"cannot read the ACLs {path}: {exc}") from exc
        return acls

    def __len__(self) -> int:
        return len(self._acls)

    def __iter__(self) -> Any:
        return iter(list(self._acls))

    def bindings(self) -> Any:
        """The ACLs, a live view (do not await while iterating)."""
        return self._acls.keys()

    def matching(self, acl_filter: AclFilter) -> list[AclBinding]:
        return [acl for acl in self._acls if acl_filter.matches(acl)]

    def add(self, bindings: Iterable[AclBinding]) -> None:
        """Add *bindings* (one already there stays once) and save. Raises KafkaStorageError."""
        previous = dict(self._acls)
        for binding in bindings:
            self._acls[binding] = None
        self._commit(previous)

    def remove(self, bindings: Iterable[AclBinding]) -> None:
        """Remove *bindings* and save. Raises KafkaStorageError."""
        previous = dict(self._acls)
        for binding in bindings:
            self._acls.pop(binding, None)
        self._commit(previous)

    def clear(self) -> None:
        """Remove every ACL (tests reuse a broker). Raises KafkaStorageError."""
        if self._acls:
            self.remove(list(self._acls))

    def _commit(self, previous: dict[AclBinding, None]) -> None:
        if previous.keys() == self._acls.keys():
            return
        try:
            self._save()
        except KafkaStorageError:
            self._acls = previous
            raise
        self.decisions.clear()

    def _save(self) -> None:
        if self.path is None:
            return
        snapshot = {"version": FORMAT_VERSION, "acls": [acl.to_json() for acl in self._acls]}
        data = json.dumps(snapshot, indent=2).encode() + b"\n"
        try:
            self.files.write_atomic(self.path, data, durable=True)
        except OSError as exc:
            raise KafkaStorageError(f"cannot save the ACLs {self.path}: {exc}") from exc
