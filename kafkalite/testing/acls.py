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

from kafkalite.broker.acls import AclBinding
from kafkalite.broker.acls import binding_from as binding
from kafkalite.broker.acls import filter_from as acl_filter

__all__ = ["AclBinding", "BrokerAcls", "acl_filter", "binding"]


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
