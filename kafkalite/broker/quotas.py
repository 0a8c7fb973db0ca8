"""Client quotas (KIP-546 / KIP-55): the quota values set on user and client-id entities, durable
in ``DATA_DIR/meta/client-quotas.json``, and which of them applies to a request.

An entity is a set of (entity type, name) pairs, the name None for the default entity:
``{"user": "alice"}``, ``{"user": None, "client-id": "app"}``, ``{"ip": "10.0.0.1"}``.
Alterations are validated as Kafka's controller does (ClientQuotaControlManager): known entity
types, no empty names, IP entities alone, known keys for the entity, values above 0, whole
numbers for the byte rates; describe filters as its ClientQuotasImage. Which quota a client
gets follows Kafka's default quota callback, separately for each key:

    /users/u/clients/c > /users/u/clients/<default> > /users/u > /users/<default>/clients/c
    > /users/<default>/clients/<default> > /users/<default> > /clients/c > /clients/<default>

The entity that matched also decides which clients share one rate: all clients of user u
share /users/u, each (user, client id) pair has its own under /users/u/clients/<default>.
The file is rewritten whole on every change, atomically, as the dynamic configs are.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any, Iterable

import attrs

from kafkalite.storage import KafkaStorageError, LogStore
from kafkalite.wire.error_codes import ErrorCode

FILE_NAME = "client-quotas.json"
FORMAT_VERSION = 1

USER = "user"
CLIENT_ID = "client-id"
IP = "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)

PRODUCER_BYTE_RATE = "producer_byte_rate"
CONSUMER_BYTE_RATE = "consumer_byte_rate"
REQUEST_PERCENTAGE = "request_percentage"
CONTROLLER_MUTATION_RATE = "controller_mutation_rate"
CONNECTION_CREATION_RATE = "connection_creation_rate"

#: Keys valid on user / client-id entities and on IP entities, with Kafka's config type:
#: integral types refuse fractions.
USER_CLIENT_KEYS = {
    PRODUCER_BYTE_RATE: "long",
    CONSUMER_BYTE_RATE: "long",
    REQUEST_PERCENTAGE: "double",
    CONTROLLER_MUTATION_RATE: "double",
}
IP_KEYS = {CONNECTION_CREATION_RATE: "int"}
_LIMITS = {"long": 2**63 - 1, "int": 2**31 - 1}

#: An entity: sorted (entity type, name or None for the default) pairs.
Entity = tuple[tuple[str, str | None], ...]

MATCH_EXACT, MATCH_DEFAULT, MATCH_SPECIFIED = 0, 1, 2


class QuotaError(Exception):
    """A quota request Kafka refuses: carries the error code and Kafka's message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def entity_of(pairs: Iterable[tuple[str, str | None]]) -> Entity:
    """The entity of these (type, name) pairs, validated as Kafka's controller does.

    Raises:
        QuotaError: INVALID_REQUEST for no pairs, a type twice, an unknown type or an empty name.
    """
    seen: dict[str, str | None] = {}
    for entity_type, name in pairs:
        if entity_type in seen:
            raise QuotaError(ErrorCode.INVALID_REQUEST, f"Invalid client quota entity, duplicate entity entry {entity_type}")
        if entity_type not in ENTITY_TYPES:
            raise QuotaError(ErrorCode.INVALID_REQUEST, f"Unhandled client quota entity type: {entity_type}")
        if name is not None and name == "":
            raise QuotaError(ErrorCode.INVALID_REQUEST, f"Empty {entity_type} not supported")
        seen[entity_type] = name
    if not seen:
        raise QuotaError(ErrorCode.INVALID_REQUEST, "Invalid empty client quota entity")
    return tuple(sorted(seen.items()))


def keys_for(entity: Entity) -> dict[str, str]:
    """The quota keys (and their types) an entity may carry.

    Raises:
        QuotaError: INVALID_REQUEST for an IP entity combined with another type, or a name
            that is not an IP address.
    """
    types = dict(entity)
    if IP in types:
        if len(types) > 1:
            raise QuotaError(
                ErrorCode.INVALID_REQUEST,
                "Invalid quota entity combination, IP entity should not be combined with User or ClientId",
            )
        name = types[IP]
        if name is not None:
            try:
                ipaddress.ip_address(name)
            except ValueError:
                raise QuotaError(ErrorCode.INVALID_REQUEST, f"{name} is not a valid IP or resolvable host.") from None
        return IP_KEYS
    return USER_CLIENT_KEYS


def check_value(keys: dict[str, str], key: str, value: float) -> None:
    """Validate one value to set, as Kafka's controller does.

    Raises:
        QuotaError: INVALID_REQUEST for an unknown key, a value not above 0, too large or a
            fraction for an integral key.
    """
    kind = keys.get(key)
    if kind is None:
        raise QuotaError(ErrorCode.INVALID_REQUEST, f"Invalid configuration key {key}")
    if not value > 0.0:
        raise QuotaError(ErrorCode.INVALID_REQUEST, f"Quota {key} must be greater than 0")
    if kind == "double":
        return
    if value > _LIMITS[kind]:
        article = "an" if kind == "int" else "a"
        raise QuotaError(ErrorCode.INVALID_REQUEST, f"Proposed value for {key} is too large for {article} {kind.upper()}.")
    if abs(value % 1.0) > 1e-6:
        raise QuotaError(ErrorCode.INVALID_REQUEST, f"{key} cannot be a fractional value.")


def render(entity: Entity) -> str:
    """An entity as Kafka's kafka-configs.sh path: ``/users/alice/clients/<default>``."""
    words = {USER: "users", CLIENT_ID: "clients", IP: "ips"}
    ordered = sorted(entity, key=lambda pair: list(words).index(pair[0]))
    return "".join(f"/{words[t]}/{'<default>' if n is None else n}" for t, n in ordered)


@attrs.frozen
class Applied:
    """The quota that applies to a client for one key: its bound and the entity that set it
    (the clients that resolve to the same entity and names share one rate)."""

    bound: float
    entity: Entity
    #: (user or "", client id or "") as Kafka's metric tags: who shares the sensor.
    share: tuple[str, str]


@attrs.define(eq=False)
class ClientQuotas:
    """Quota values by entity; `version` grows on every change (rate trackers cache on it).

    A failed write leaves the previous state in memory and on disk, and raises
    `KafkaStorageError`.
    """

    files: Any
    path: Path | None  # None: an in-memory broker, nothing written
    entities: dict[Entity, dict[str, float]] = attrs.field(factory=dict)
    version: int = 0

    @classmethod
    def open(cls, store: LogStore) -> ClientQuotas:
        """Load the quotas kept in *store*'s data dir (none yet: no quotas).

        Raises:
            KafkaStorageError: the file cannot be read or is not what this module writes.
        """
        path = None if store.metadata_path is None else store.metadata_path.parent / FILE_NAME
        quotas = cls(store.files, path)
        if path is None:
            return quotas
        try:
            data = store.files.read_bytes(path)
            if data is None:
                return quotas
            saved = json.loads(data)
            for item in saved["entities"]:
                entity = tuple(sorted((str(t), None if n is None else str(n)) for t, n in item["entity"]))
                quotas.entities[entity] = {str(k): float(v) for k, v in item["values"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KafkaStorageError(f"cannot read the client quotas {path}: {exc}") from exc
        return quotas

    @property
    def active(self) -> bool:
        """Whether any quota is set (no quota: nothing is measured)."""
        return bool(self.entities)

    def in_use(self, key: str) -> bool:
        """Whether some entity sets quota *key*."""
        return any(key in values for values in self.entities.values())

    # -- changing ---------------------------------------------------------------------------

    def alter(self, entity: Entity, ops: dict[str, float | None], validate_only: bool = False) -> None:
        """Set (a value) or remove (None) the keys of *ops* on *entity*, all or nothing.

        Raises:
            QuotaError: a validation failure (nothing changed).
            KafkaStorageError: the file could not be written (nothing changed).
        """
        keys = keys_for(entity)
        for key, value in ops.items():
            if value is not None:
                check_value(keys, key, value)
        if validate_only:
            return
        previous = self.entities.get(entity)
        values = dict(previous or {})
        for key, value in ops.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = float(value)
        self._put(entity, values, previous)

    def reset(self) -> None:
        """No quotas any more (tests reuse a broker). Raises KafkaStorageError."""
        if not self.entities:
            return
        previous = self.entities
        self.entities = {}
        self.version += 1
        try:
            self._save()
        except KafkaStorageError:
            self.entities = previous
            raise

    def _put(self, entity: Entity, values: dict[str, float], previous: dict[str, float] | None) -> None:
        if values:
            self.entities[entity] = values
        else:
            self.entities.pop(entity, None)
        self.version += 1
        try:
            self._save()
        except KafkaStorageError:
            if previous is None:
                self.entities.pop(entity, None)
            else:
                self.entities[entity] = previous
            raise

    def _save(self) -> None:
        if self.path is None:
            return
        items = [
            {"entity": [list(pair) for pair in entity], "values": values}
            for entity, values in sorted(self.entities.items(), key=lambda kv: render(kv[0]))
        ]
        data = json.dumps({"version": FORMAT_VERSION, "entities": items}, indent=2, sort_keys=True).encode() + b"\n"
        try:
            self.files.write_atomic(self.path, data, durable=True)
        except OSError as exc:
            raise KafkaStorageError(f"cannot save the client quotas {self.path}: {exc}") from exc

    # -- reading ----------------------------------------------------------------------------

    def describe(self, components: list[tuple[str, int, str | None]], strict: bool) -> list[tuple[Entity, dict[str, float]]]:
        """The entities matching the filter *components* ((entity type, match type, match)),
        with their values, as Kafka's DescribeClientQuotas.

        Raises:
            QuotaError: INVALID_REQUEST for a malformed filter; UNSUPPORTED_VERSION for an
                unknown entity type (as Kafka answers).
        """
        exact: dict[str, str | None] = {}
        specified: set[str] = set()
        for entity_type, match_type, match in components:
            if entity_type == "":
                raise QuotaError(ErrorCode.INVALID_REQUEST, "Invalid empty entity type.")
            if entity_type in exact or entity_type in specified:
                raise QuotaError(
                    ErrorCode.INVALID_REQUEST, f"Entity type {entity_type} cannot appear more than once in the filter."
                )
            if entity_type not in ENTITY_TYPES:
                raise QuotaError(ErrorCode.UNSUPPORTED_VERSION, f"Unsupported entity type {entity_type}")
            if match_type == MATCH_EXACT:
                if match is None:
                    raise QuotaError(
                        ErrorCode.INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."
                    )
                exact[entity_type] = match
            elif match_type == MATCH_DEFAULT:
                if match is not None:
                    raise QuotaError(
                        ErrorCode.INVALID_REQUEST, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."
                    )
                exact[entity_type] = None
            elif match_type == MATCH_SPECIFIED:
                if match is not None:
                    raise QuotaError(
                        ErrorCode.INVALID_REQUEST,
                        "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.",
                    )
                specified.add(entity_type)
            else:
                raise QuotaError(ErrorCode.INVALID_REQUEST, f"Unknown match type {match_type}")
        if (IP in exact or IP in specified) and ({USER, CLIENT_ID} & (set(exact) | specified)):
            raise QuotaError(
                ErrorCode.INVALID_REQUEST,
                "Invalid entity filter component combination. IP filter component should not be used with "
                "user or clientId filter component.",
            )
        found = []
        for entity, values in self.entities.items():
            names = dict(entity)
            if strict and len(names) != len(exact) + len(specified):
                continue
            if any(t not in names or names[t] != n for t, n in exact.items()):
                continue
            if any(t not in names for t in specified):
                continue
            found.append((entity, dict(values)))
        return found

    def applied(self, key: str, user: str, client_id: str) -> Applied | None:
        """The quota *key* that applies to *user* (a principal's name, e.g. "ANONYMOUS") and
        *client_id*, by Kafka's precedence; None when no entity sets it."""
        u, c = (USER, user), (CLIENT_ID, client_id)
        du, dc = (USER, None), (CLIENT_ID, None)
        # (entity, the metric tags Kafka shares the rate by), in order of precedence.
        chain: tuple[tuple[Entity, tuple[str, str]], ...] = (
            ((c, u), (user, client_id)),
            ((dc, u), (user, client_id)),
            ((u,), (user, "")),
            ((c, du), (user, client_id)),
            ((dc, du), (user, client_id)),
            ((du,), (user, "")),
            ((c,), ("", client_id)),
            ((dc,), ("", client_id)),
        )
        for entity, share in chain:
            values = self.entities.get(entity)
            if values is not None and key in values:
                return Applied(values[key], entity, share)
        return None
