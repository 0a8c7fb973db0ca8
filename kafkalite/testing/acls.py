"""``broker.acls`` on a `BrokerThread`: ACLs from the test's thread.

    broker = kafkalite.run_in_thread(acls=True, super_users=["admin"])
    broker.acls.add(principal="User:ANONYMOUS", resource="topic", name="t", operation="READ")
    broker.acls.add(principal="User:*", resource="group", name="app-", pattern="PREFIXED", operation="READ")
    broker.acls.list(resource="topic")     # the AclBindings, oldest first
    broker.acls.remove(name="t")           # every ACL the filter matches; returns them
    broker.acls.clear()

Names are Kafka's, in any case: resource ``topic``, ``group``, ``cluster`` (its name is
``kafka-cluster``, the default), ``transactional_id`` (or ``transactional-id``),
``delegation_token``, ``user``; operation ``READ``, ``WRITE``, ``ALL``...; permission
``ALLOW`` or ``DENY``; pattern ``LITERAL`` or ``PREFIXED``; a plain principal ``bob`` is
``User:bob``. The ACLs are the broker's (as CreateAcls adds them): durable, cleared by
``reset``. They are enforced only on a broker started with ``acls=True``.
"""

from __future__ import annotations

from typing import Any

import attrs

from kafkalite.broker.acls import CLUSTER_NAME, AclBinding, AclFilter, ResourceType

__all__ = ["AclBinding", "BrokerAcls", "binding", "acl_filter"]


def _principal(name: str) -> str:
    return name if ":" in name else f"User:{name}"


def binding(
    *, principal: str, resource: str, name: str | None = None, operation: str, permission: str = "ALLOW",
    pattern: str = "LITERAL", host: str = "*",
) -> AclBinding:
    """The ACL these Kafka names describe.

    Raises:
        ValueError: a name is unknown, or Kafka would refuse the ACL (the message says why).
    """
    kind = AclBinding(
        resource_type=resource, resource_name=name or "", pattern_type=pattern, principal=_principal(principal),
        host=host, operation=operation, permission=permission,
    )
    if kind.resource_type == ResourceType.CLUSTER and name is None:
        kind = attrs.evolve(kind, resource_name=CLUSTER_NAME)
    problem = kind.invalid()
    if problem is not None:
        raise ValueError(problem)
    return kind


def acl_filter(
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


class BrokerAcls:
    """The ACLs of a broker running in a `BrokerThread`."""

    def __init__(self, thread: Any) -> None:
        self._thread = thread  # the BrokerThread (not imported: it imports this module)

    def add(self, **spec: Any) -> AclBinding:
        """Add one ACL (keywords of `binding`); return it. Raises ValueError (nothing added)."""
        acl = binding(**spec)
        self._thread.call(self._thread.broker.acls.add, [acl])
        return acl

    def list(self, **spec: Any) -> list[AclBinding]:
        """The ACLs matching the filter (keywords of `acl_filter`; none: all), oldest first."""
        return self._thread.call(self._thread.broker.acls.matching, acl_filter(**spec))

    def remove(self, **spec: Any) -> list[AclBinding]:
        """Remove the ACLs matching the filter (keywords of `acl_filter`); return them."""
        found = acl_filter(**spec)

        def remove() -> list[AclBinding]:
            store = self._thread.broker.acls
            matched = store.matching(found)
            store.remove(matched)
            return matched
        return self._thread.call(remove)

    def clear(self) -> int:
        """Remove every ACL; return how many there were."""

        def clear() -> int:
            store = self._thread.broker.acls
            count = len(store)
            store.clear()
            return count
        return self._thread.call(clear)
