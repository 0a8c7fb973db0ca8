"""The broker clock and the deadlines on it, under trio's mock clock (rate 0: trio's time only
moves when a test says so, so whatever fires here fires because the broker clock moved)."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from kafkalite.clock import BrokerClock
from kafkalite.timers import Timers


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


# -- the clock itself ----------------------------------------------------------------------


async def test_advance_moves_monotonic_and_wall_time_together(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    mono, wall = clock.monotonic(), clock.wall_ms()
    clock.advance(31)
    assert clock.monotonic() == pytest.approx(mono + 31)
    assert clock.wall_ms() - wall == pytest.approx(31_000, abs=50)
    assert clock.offset_s == 31


async def test_advance_refuses_negative_and_non_finite_steps(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    for bad in (-1, math.inf, math.nan):
        with pytest.raises(ValueError, match="seconds must be"):
            clock.advance(bad)
    assert clock.offset_s == 0


async def test_frozen_clock_stands_still_while_trio_time_passes(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    clock.freeze()
    mono, wall = clock.monotonic(), clock.wall_ms()
    mock_clock.jump(10)
    assert (clock.monotonic(), clock.wall_ms()) == (mono, wall)
    clock.advance(2)
    assert (clock.monotonic(), clock.wall_ms()) == (mono + 2, wall + 2000)


async def test_unfreeze_continues_from_the_frozen_reading(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    clock.freeze()
    frozen_at = clock.monotonic()
    mock_clock.jump(10)
    clock.advance(1)
    clock.unfreeze()
    assert not clock.frozen
    assert clock.monotonic() == pytest.approx(frozen_at + 1)  # not +11: the 10 s stood still
    mock_clock.jump(3)
    assert clock.monotonic() == pytest.approx(frozen_at + 4)


async def test_listeners_hear_jumps_until_they_unsubscribe(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    heard: list[str] = []
    unsubscribe = clock.subscribe(lambda: heard.append("a"))
    clock.subscribe(lambda: heard.append("b"))
    clock.advance(1)
    unsubscribe()
    unsubscribe()  # twice is harmless
    clock.freeze()
    clock.freeze()  # already frozen: no change, nothing heard
    assert heard == ["a", "b", "b"]


async def test_move_on_at_ends_the_block_when_the_clock_jumps_past_it(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    deadline = clock.monotonic() + 60
    done = trio.Event()

    async def wait() -> None:
        with clock.move_on_at(deadline) as scope:
            await trio.sleep_forever()
        assert scope.cancelled_caught
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await settle()
        clock.advance(59)
        await settle()
        assert not done.is_set()
        clock.advance(1)
        await settle()
        assert done.is_set()
    assert clock._listeners == {}  # the scope unsubscribed


# -- deadlines on the clock (Timers) --------------------------------------------------------


async def test_advance_fires_the_deadlines_due_at_once_and_in_order(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    timers = Timers(clock)
    fired: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(timers.run)
        timers.schedule("late", 45_000, lambda: fired.append("late"))
        timers.schedule("b", 20_000, lambda: fired.append("b"))
        timers.schedule("a", 10_000, lambda: fired.append("a"))
        await settle()
        clock.advance(30)
        await settle()
        assert fired == ["a", "b"]
        assert "late" in timers
        clock.advance(15)
        await settle()
        assert fired == ["a", "b", "late"]
        nursery.cancel_scope.cancel()
    assert trio.current_time() == 0  # trio's clock never moved


async def test_a_frozen_clock_fires_nothing_until_advanced(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    timers = Timers(clock)
    fired: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(timers.run)
        timers.schedule("k", 1000, lambda: fired.append("k"))
        clock.freeze()
        await settle()
        mock_clock.jump(5)
        await settle()
        assert fired == []
        clock.advance(1)
        await settle()
        assert fired == ["k"]
        nursery.cancel_scope.cancel()


async def test_after_unfreeze_deadlines_fire_on_real_time_again(mock_clock: trio.testing.MockClock) -> None:
    clock = BrokerClock()
    timers = Timers(clock)
    fired: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(timers.run)
        clock.freeze()
        timers.schedule("k", 2000, lambda: fired.append("k"))
        mock_clock.jump(100)
        await settle()
        clock.unfreeze()
        mock_clock.jump(1.9)
        await settle()
        assert fired == []  # 2 s of the clock's time, counted from the frozen reading
        mock_clock.jump(0.2)
        await settle()
        assert fired == ["k"]
        nursery.cancel_scope.cancel()


# -- from a test's thread (BrokerThread.clock) ----------------------------------------------


def test_the_in_process_handle_advances_freezes_and_reads_the_broker_clock() -> None:
    import time

    import kafkalite

    with kafkalite.run_in_thread() as broker:
        clock = broker.clock
        assert abs(clock.now_ms() - time.time() * 1000) < 1000
        clock.advance(3600)
        assert clock.offset_s == 3600
        assert abs(clock.now_ms() - time.time() * 1000 - 3_600_000) < 1000
        with pytest.raises(ValueError, match="seconds must be"):
            clock.advance(-1)
        with clock.frozen_time():
            assert clock.frozen
            frozen_at = clock.now_ms()
            time.sleep(0.005)
            assert clock.now_ms() == frozen_at
            clock.advance(1)
            assert clock.now_ms() == frozen_at + 1000
        assert not clock.frozen
        clock.freeze()
        broker.reset()  # unfreezes, never moves the clock back
        assert not clock.frozen and clock.now_ms() >= frozen_at + 1000
        assert "running" in repr(clock)


def test_advance_returns_once_the_broker_has_acted_on_it() -> None:
    import kafkalite

    with kafkalite.run_in_thread() as broker:
        broker.create_topic("old", 1, configs={"retention.ms": "60000"})
        broker.produce("old", b"v", timestamp=broker.clock.now_ms())
        broker.clock.advance(61)
        assert broker.records("old") == []  # retention ran before advance returned
        assert broker.end_offsets("old") == {0: 1}
