"""Keyed deadlines on trio's clock (autojump: no real sleeps)."""

from __future__ import annotations

import pytest
import trio

from kafkalite.timers import Timers


async def test_deadlines_fire_in_order_at_their_time(nursery: trio.Nursery, autojump_clock: object) -> None:
    timers = Timers()
    nursery.start_soon(timers.run)
    fired: list[tuple[str, float]] = []
    start = trio.current_time()
    timers.schedule("b", 2000, lambda: fired.append(("b", trio.current_time() - start)))
    timers.schedule("a", 1000, lambda: fired.append(("a", trio.current_time() - start)))
    await trio.sleep(5)
    assert fired == [("a", pytest.approx(1.0)), ("b", pytest.approx(2.0))]


async def test_rescheduling_a_key_replaces_its_deadline(nursery: trio.Nursery, autojump_clock: object) -> None:
    timers = Timers()
    nursery.start_soon(timers.run)
    fired: list[float] = []
    start = trio.current_time()
    timers.schedule("k", 1000, lambda: fired.append(trio.current_time() - start))
    await trio.sleep(0.5)
    timers.schedule("k", 1000, lambda: fired.append(trio.current_time() - start))
    await trio.sleep(5)
    assert fired == [pytest.approx(1.5)]


async def test_cancelled_key_never_fires(nursery: trio.Nursery, autojump_clock: object) -> None:
    timers = Timers()
    nursery.start_soon(timers.run)
    fired: list[str] = []
    timers.schedule("k", 1000, lambda: fired.append("k"))
    timers.cancel("k")
    await trio.sleep(5)
    assert fired == [] and "k" not in timers


async def test_an_earlier_deadline_wakes_the_sleeping_task(nursery: trio.Nursery, autojump_clock: object) -> None:
    timers = Timers()
    nursery.start_soon(timers.run)
    fired: list[float] = []
    start = trio.current_time()
    timers.schedule("late", 60_000, lambda: None)
    await trio.sleep(1)
    timers.schedule("soon", 100, lambda: fired.append(trio.current_time() - start))
    await trio.sleep(1)
    assert fired == [pytest.approx(1.1)]


async def test_a_failing_callback_is_not_swallowed(autojump_clock: object, caplog: pytest.LogCaptureFixture) -> None:
    timers = Timers()

    def boom() -> None:
        raise RuntimeError("boom")

    timers.schedule("bad", 100, boom)
    with pytest.raises(RuntimeError, match="boom"):
        await timers.run()
    assert "coordinator timer 'bad' failed" in caplog.text


async def test_many_reschedules_keep_the_heap_small(nursery: trio.Nursery, autojump_clock: object) -> None:
    timers = Timers()
    for i in range(1000):
        timers.schedule("k", 1000 + i, lambda: None)
    assert len(timers._heap) <= 4 * 1 + 64
