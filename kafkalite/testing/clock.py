"""`ClockControl`: the broker's clock (`kafkalite.clock.BrokerClock`) from a test's thread.

    broker.clock.advance(31)          # a silent consumer's 30 s session ends now
    with broker.clock.frozen_time():  # no broker timer fires unless advanced
        ...

Every call runs in the broker's thread (`BrokerThread.call` / `run`), so it is safe from
any other thread; `advance` returns once the broker's tasks have acted on the jump (timers
fired, retention run), as far as they can without a client. Advancing moves the broker's deadlines and timestamps only: session and rebalance
timeouts, offsets and log retention, segment roll by time, transaction timeouts and
transactional id expiration, fetch waits, LogAppendTime. Clients keep their own clocks.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterator, TypeVar

import trio
import trio.testing

if TYPE_CHECKING:
    from kafkalite.clock import BrokerClock

T = TypeVar("T")

#: The longest `advance` waits for the broker's tasks to settle (real seconds): a broker
#: busy with clients may never be wholly idle, and what was due has run long before.
SETTLE_S = 0.5


class ClockControl:
    """The broker clock of a `BrokerThread`; see the module docstring."""

    def __init__(
        self,
        clock: Callable[[], BrokerClock],
        call: Callable[[Callable[[], Any]], Any],
        run: Callable[[Callable[[], Awaitable[Any]]], Any],
    ) -> None:
        self._clock = clock  # the broker's clock (read in the broker's thread)
        self._call = call  # BrokerThread.call: a function in the broker's thread
        self._run_async = run  # BrokerThread.run: a coroutine function there

    def _run(self, fn: Callable[[BrokerClock], T]) -> T:
        return self._call(lambda: fn(self._clock()))

    def advance(self, seconds: float) -> None:
        """Move the broker's clock *seconds* forward: every broker deadline up to then fires
        at once; returns when the broker's tasks have run (or after `SETTLE_S`).

        Raises:
            ValueError: *seconds* is negative or not finite.
        """

        async def advance() -> None:
            self._clock().advance(seconds)
            with trio.move_on_after(SETTLE_S):
                await trio.testing.wait_all_tasks_blocked()

        self._run_async(advance)

    def freeze(self) -> None:
        """Stop the broker's clock: only `advance` moves it until `unfreeze` (or a reset)."""
        self._run(lambda clock: clock.freeze())

    def unfreeze(self) -> None:
        """Let the broker's clock run again, from where it stands."""
        self._run(lambda clock: clock.unfreeze())

    @property
    def frozen(self) -> bool:
        return self._run(lambda clock: clock.frozen)

    @property
    def offset_s(self) -> float:
        """How far ahead of real time the broker's clock is, in seconds."""
        return self._run(lambda clock: clock.offset_s)

    def now_ms(self) -> int:
        """The broker's wall clock: ms since the epoch, as it stamps LogAppendTime."""
        return self._run(lambda clock: clock.wall_ms())

    @contextlib.contextmanager
    def frozen_time(self) -> Iterator[ClockControl]:
        """Freeze the clock for the block, then let it run again (from where it stands)."""
        self.freeze()
        try:
            yield self
        finally:
            self.unfreeze()

    def __repr__(self) -> str:
        return f"<kafkalite broker clock {'frozen' if self.frozen else 'running'}, {self.offset_s:+.3f} s>"
