"""Keyed deadlines for the coordinators (groups, transactions), run by one trio task each.

Kafka's coordinators keep a timer per key (a member's session, a group's join phase, its
pending syncs, the offsets cleanup, a transaction's timeout); scheduling a key again replaces its deadline, cancelling
forgets it. Here the deadlines are on the broker's clock (`kafkalite.clock.BrokerClock`:
trio's clock plus what tests advanced it by), so tests run them under a mock clock without
real sleeps or jump the clock past them, and one task sleeps until the earliest one, woken
early by an event when a sooner deadline is scheduled and by the clock when it jumps (what
is due by then fires at once; a frozen clock fires nothing). Callbacks are plain functions
run in that task: they change coordinator state without awaiting, so nothing interleaves.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from typing import Callable, Hashable

import trio

from kafkalite.clock import BrokerClock

log = logging.getLogger("kafkalite.timers")


class Timers:
    """Deadlines by key on *clock* (default: a clock of its own, i.e. trio's); `run` fires
    them. Not thread-safe (trio tasks only)."""

    def __init__(self, clock: BrokerClock | None = None) -> None:
        self.clock = clock if clock is not None else BrokerClock()
        self._deadlines: dict[Hashable, tuple[float, int, Callable[[], None]]] = {}
        self._heap: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()
        self._wakeup: trio.Event | None = None
        self._sleeping_until = math.inf

    def schedule(self, key: Hashable, delay_ms: float, callback: Callable[[], None]) -> None:
        """Run *callback* *delay_ms* from now, replacing any deadline of *key*."""
        deadline = self.clock.monotonic() + max(delay_ms, 0) / 1000
        seq = next(self._seq)
        self._deadlines[key] = (deadline, seq, callback)
        heapq.heappush(self._heap, (deadline, seq, key))
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._deadlines):
            self._compact()
        if deadline < self._sleeping_until and self._wakeup is not None:
            self._wakeup.set()

    def cancel(self, key: Hashable) -> None:
        self._deadlines.pop(key, None)

    def deadline(self, key: Hashable) -> float | None:
        """The time (on the clock's `monotonic`) *key* fires at, or None."""
        entry = self._deadlines.get(key)
        return None if entry is None else entry[0]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._deadlines

    def _compact(self) -> None:
        self._heap = [(d, s, k) for k, (d, s, _cb) in self._deadlines.items()]
        heapq.heapify(self._heap)

    def _fire_due(self) -> None:
        now = self.clock.monotonic()
        while self._heap and self._heap[0][0] <= now:
            _deadline, seq, key = heapq.heappop(self._heap)
            entry = self._deadlines.get(key)
            if entry is None or entry[1] != seq:
                continue  # replaced or cancelled since
            del self._deadlines[key]
            try:
                entry[2]()
            except Exception:
                # A failing callback is a bug: say which timer, then let it end the task
                # (and the broker) rather than run on with a coordinator in an unknown state.
                log.critical("coordinator timer %r failed", key)
                raise

    async def run(self) -> None:
        """Fire deadlines as they come, forever (cancel the task to stop)."""
        while True:
            self._fire_due()
            self._wakeup = trio.Event()
            self._sleeping_until = self._heap[0][0] if self._heap else math.inf
            # The scope follows the clock: a jump past the deadline ends the wait at once.
            with self.clock.move_on_at(self._sleeping_until):
                await self._wakeup.wait()
