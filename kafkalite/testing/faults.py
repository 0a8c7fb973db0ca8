"""``broker.faults`` on a `BrokerThread`: fault rules from the test's thread.

    rule = broker.faults.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic="t", times=3)
    ...                                # the producer retries
    assert rule.fired == 3

    with broker.faults.rule(api="Fetch", topic="t", stall=True):
        ...                            # consumers of t get nothing while the block runs

Each method runs its work in the broker's thread (`BrokerThread.call`); the rule returned is
the broker's own, so its ``matched`` and ``fired`` counters are live. The spec keys are
those of `kafkalite.broker.faults` (also the HTTP API's JSON keys); a bad one raises
`FaultSpecError` naming it, and nothing is added.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from kafkalite.broker.faults import FaultRule, FaultSpecError

__all__ = ["BrokerFaults", "FaultRule", "FaultSpecError"]


class BrokerFaults:
    """The fault rules of a broker running in a `BrokerThread`."""

    def __init__(self, thread: Any) -> None:
        self._thread = thread  # the BrokerThread (not imported: it imports this module)

    def add(self, **spec: Any) -> FaultRule:
        """Add a rule (see `kafkalite.broker.faults` for the keys); return it, live.

        Raises:
            FaultSpecError: a key is unknown or unusable (``.field`` names it).
        """
        return self._thread.call(lambda: self._thread.broker.faults.add(**spec))

    def remove(self, rule: FaultRule | int) -> bool:
        """Remove *rule* (or the rule with that id); False if it was already gone."""
        rule_id = rule.id if isinstance(rule, FaultRule) else rule
        return self._thread.call(self._thread.broker.faults.remove, rule_id)

    def clear(self) -> int:
        """Remove every rule; return how many there were."""
        return self._thread.call(self._thread.broker.faults.clear)

    def list(self) -> list[FaultRule]:
        """The rules, oldest first."""
        return self._thread.call(lambda: self._thread.broker.faults.rules)

    def get(self, rule_id: int) -> FaultRule | None:
        return self._thread.call(self._thread.broker.faults.get, rule_id)

    @contextlib.contextmanager
    def rule(self, **spec: Any) -> Iterator[FaultRule]:
        """A rule for the ``with`` block: added on entry, removed when the block ends."""
        added = self.add(**spec)
        try:
            yield added
        finally:
            self.remove(added)
