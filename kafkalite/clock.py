"""The broker clock: the one time every broker timer reads, which tests can move and freeze.

Kafka's brokers keep time with one ``Time`` object; its tests swap in a mock. Here every
deadline (group sessions and rebalances, transaction timeouts, delayed fetches, offsets and
log retention, segment roll by time) and every wall-clock timestamp the broker writes
(LogAppendTime, commit timestamps) comes from one `BrokerClock`, which runs with real time
plus an offset:

* `monotonic` (seconds) is trio's clock plus the offset: deadlines are taken on it;
* `wall_ms` (milliseconds since the epoch) is the system clock plus the same offset;
* `advance` moves both forward at once: whatever was due by then fires now;
* `freeze` stops both (only `advance` moves them), `unfreeze` lets them run on from there.

Waiting tasks sleep on trio's clock: `trio_deadline` turns a deadline of this clock into
trio's, and `subscribe` tells a sleeper to re-read its deadline when the clock jumps;
`move_on_at` / `move_on_after` are trio cancel scopes that do both, so a wait ends when
this clock (not trio's) reaches its deadline. Time never goes backwards: `advance` refuses
a negative step.

Clients keep their own clocks: moving this one changes what the broker decides (a member's
session, a transaction's timeout, retention, LogAppendTime), never a client's own timers.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from typing import Callable, Iterator

import trio


class BrokerClock:
    """Real time plus an offset, or frozen. Not thread-safe: use from the broker's trio thread."""

    def __init__(self) -> None:
        self._offset_s = 0.0  # added to trio's clock and to the system clock
        self._offset_ms = 0  # the same in whole ms, kept ready: wall_ms is on the produce path
        self._frozen: tuple[float, int] | None = None  # (monotonic, wall_ms) while frozen
        # By subscription number: a parked fetch subscribes and leaves in O(1).
        self._listeners: dict[int, Callable[[], None]] = {}
        self._subscriptions = itertools.count()

    # -- reading ---------------------------------------------------------------------------

    def monotonic(self) -> float:
        """Seconds on the broker's monotonic clock (trio's clock plus the offset). In trio only."""
        if self._frozen is not None:
            return self._frozen[0]
        return trio.current_time() + self._offset_s

    def wall_ms(self) -> int:
        """Milliseconds since the epoch, as the broker stamps records and commits."""
        if self._frozen is not None:
            return self._frozen[1]
        return time.time_ns() // 1_000_000 + self._offset_ms

    @property
    def offset_s(self) -> float:
        """How far ahead of real time the clock is (seconds)."""
        return self._offset_s

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def trio_deadline(self, deadline: float) -> float:
        """The trio time at which this clock reaches *deadline* (a `monotonic` value).

        While frozen that is never (``inf``) unless it is already due (``-inf``); sleepers
        subscribed with `subscribe` are woken when the clock moves, to ask again.
        """
        if self._frozen is not None:
            return -math.inf if deadline <= self._frozen[0] else math.inf
        return deadline - self._offset_s

    @contextlib.contextmanager
    def move_on_at(self, deadline: float) -> Iterator[trio.CancelScope]:
        """A cancel scope that ends its block when this clock reaches *deadline* (a
        `monotonic` value), also by a jump: as ``trio.move_on_at`` on this clock. In trio only.
        """
        scope = trio.CancelScope(deadline=self.trio_deadline(deadline))

        def moved() -> None:
            scope.deadline = self.trio_deadline(deadline)

        unsubscribe = self.subscribe(moved)
        try:
            with scope:
                yield scope
        finally:
            unsubscribe()

    def move_on_after(self, seconds: float) -> contextlib.AbstractContextManager[trio.CancelScope]:
        """`move_on_at` *seconds* from now on this clock. In trio only."""
        return self.move_on_at(self.monotonic() + seconds)

    # -- moving ----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Jump forward *seconds*: deadlines up to then are due at once.

        Raises:
            ValueError: *seconds* is negative or not a finite number.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
        if self._frozen is not None:
            mono, wall = self._frozen
            self._frozen = (mono + seconds, wall + round(seconds * 1000))
        self._set_offset(self._offset_s + seconds)
        self._changed()

    def freeze(self) -> None:
        """Stop the clock where it is: only `advance` moves it until `unfreeze`. In trio only."""
        if self._frozen is None:
            self._frozen = (self.monotonic(), self.wall_ms())
            self._changed()

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands. In trio only."""
        if self._frozen is None:
            return
        mono, _wall = self._frozen
        self._frozen = None
        # Carry on from the frozen reading: the offset grows by however long it stood still.
        self._set_offset(mono - trio.current_time())
        self._changed()

    def _set_offset(self, offset_s: float) -> None:
        self._offset_s = offset_s
        self._offset_ms = round(offset_s * 1000)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call *listener* (quick, never raising) whenever the clock jumps, freezes or thaws.

        Returns a function that unsubscribes it.
        """
        key = next(self._subscriptions)
        self._listeners[key] = listener

        def unsubscribe() -> None:
            self._listeners.pop(key, None)

        return unsubscribe

    def _changed(self) -> None:
        for listener in list(self._listeners.values()):
            listener()

    def __repr__(self) -> str:
        state = "frozen" if self._frozen is not None else "running"
        return f"<BrokerClock {state}, {self._offset_s:+.3f} s>"
