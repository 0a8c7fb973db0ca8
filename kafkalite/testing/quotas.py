"""`BrokerQuotas`: client quotas of a running broker, from a test's thread.

    broker.quotas.set(client_id="app", producer_byte_rate=100_000)
    broker.quotas.set(user="alice", client_id=DEFAULT, consumer_byte_rate=1_000_000)
    broker.quotas.describe()   # {"/clients/app": {"producer_byte_rate": 100000.0}, ...}
    broker.quotas.remove(client_id="app")

Entities and values are validated as AlterClientQuotas validates them (`ValueError` with
Kafka's message); changes are durable like those made by AlterClientQuotas, and a broker
reset clears them. `DEFAULT` names the default entity (kafka-configs.sh's --entity-default).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.quotas import CLIENT_ID, IP, USER, Entity, QuotaError, entity_of, render

#: The default user or client id: ``set(client_id=DEFAULT, ...)`` is /clients/<default>.
DEFAULT = "<default>"


def quota_entity(user: str | None = None, client_id: str | None = None, ip: str | None = None) -> Entity:
    """The entity of these names (None: not part of it, `DEFAULT`: the default entity).

    Raises:
        ValueError: no name given, or an entity Kafka refuses.
    """
    pairs = [(t, None if n == DEFAULT else n) for t, n in ((USER, user), (CLIENT_ID, client_id), (IP, ip)) if n is not None]
    try:
        return entity_of(pairs)
    except QuotaError as exc:
        raise ValueError(exc.message) from None


class BrokerQuotas:
    """The client quotas of a `BrokerThread`; see the module docstring."""

    def __init__(self, thread: Any) -> None:  # a kafkalite.testing.thread.BrokerThread
        self._thread = thread

    def set(self, *, user: str | None = None, client_id: str | None = None, ip: str | None = None, **values: float) -> None:
        """Set quota *values* (``producer_byte_rate=1024`` ...) on the entity.

        Raises:
            ValueError: an unknown key, a value Kafka refuses, or a bad entity.
        """
        self._alter(quota_entity(user, client_id, ip), {k: float(v) for k, v in values.items()})

    def remove(self, *keys: str, user: str | None = None, client_id: str | None = None, ip: str | None = None) -> None:
        """Remove *keys* from the entity (all of its keys when none are named)."""
        entity = quota_entity(user, client_id, ip)
        if not keys:
            keys = tuple(self._thread.call(lambda: dict(self._thread.broker.quotas.entities.get(entity, {}))))
        self._alter(entity, {k: None for k in keys})

    def describe(self) -> dict[str, dict[str, float]]:
        """Every entity with quotas, as kafka-configs.sh paths (``/users/alice/clients/<default>``)."""
        return self._thread.call(
            lambda: {render(e): dict(v) for e, v in self._thread.broker.quotas.entities.items()}
        )

    def clear(self) -> None:
        """Remove every quota."""
        self._thread.call(lambda: self._thread.broker.quotas.reset())

    def throttled_ms(self) -> dict[str, int]:
        """Throttle time handed out since the last reset, by quota key."""
        return self._thread.call(lambda: self._thread.broker.throttle.throttled_ms())

    def _alter(self, entity: Entity, ops: dict[str, Any]) -> None:
        def alter() -> None:
            try:
                self._thread.broker.quotas.alter(entity, ops)
            except QuotaError as exc:
                raise ValueError(exc.message) from None

        self._thread.call(alter)
