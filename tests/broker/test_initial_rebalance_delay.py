"""A new group's first rebalance: the initial delay, its extension while members arrive, its cap.

Kafka's rule: the first join of an empty group waits group.initial.rebalance.delay.ms; if a
member joined meanwhile, it waits another delay (or what is left of the rebalance timeout),
and so on. kafkalite's defaults are a short delay (60 ms) and a cap on the whole wait (1 s);
a member that was handed its id (MEMBER_ID_REQUIRED) during the wait extends it too.
All under trio's mock clock.
"""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.settings import INITIAL_REBALANCE_DELAY_MAX_MS, INITIAL_REBALANCE_DELAY_MS, BrokerConfig
from kafkalite.wire.error_codes import ErrorCode as E

from ..groups.helpers import GroupMember, connect, start_broker

KAFKA_CAP = 2**31 - 1  # no cap of kafkalite's: the rebalance timeout alone, as Kafka


def test_defaults_are_a_short_delay_and_a_small_cap() -> None:
    config = BrokerConfig(memory=True)
    assert (config.group_initial_rebalance_delay_ms, config.group_initial_rebalance_delay_max_ms) == (60, 1000)
    assert (INITIAL_REBALANCE_DELAY_MS, INITIAL_REBALANCE_DELAY_MAX_MS) == (60, 1000)


# The tests below use a 30 ms delay (numbers easier to follow); the default is pinned above.


async def joined_at(members: list[GroupMember], arrivals: list[float], *, pending_only: bool = False) -> list[float]:
    """Start each member's join at its arrival time; return when each got its JoinGroup answer."""
    start = trio.current_time()
    done = [0.0] * len(members)

    async def join(i: int) -> None:
        await trio.sleep_until(start + arrivals[i])
        response = await members[i].join()
        assert response.error_code == E.NONE
        done[i] = round(trio.current_time() - start, 6)

    async with trio.open_nursery() as n:
        for i in range(len(members)):
            n.start_soon(join, i)
    return done


@pytest.fixture
def make(nursery: trio.Nursery):
    def factory(n: int, member_kwargs: dict | None = None, **config):
        config.setdefault("group_initial_rebalance_delay_ms", 30)
        broker = start_broker(nursery, **config)
        return broker, [GroupMember(connect(broker, nursery), **(member_kwargs or {})) for _ in range(n)]

    return factory


async def test_a_lone_member_waits_one_delay(make, autojump_clock) -> None:
    broker, [a] = make(1)
    assert await joined_at([a], [0]) == [pytest.approx(0.030)]
    assert a.generation_id == 1


async def test_no_delay_answers_at_once(make, autojump_clock) -> None:
    broker, [a] = make(1, group_initial_rebalance_delay_ms=0)
    assert await joined_at([a], [0]) == [0]


async def test_a_member_arriving_during_the_delay_extends_it_and_both_share_generation_1(make, autojump_clock) -> None:
    broker, members = make(2)
    # b arrives 20 ms in: the delay runs out at 30 ms, sees b, and waits another 30 ms.
    assert await joined_at(members, [0, 0.020]) == [pytest.approx(0.060)] * 2
    assert [m.generation_id for m in members] == [1, 1]
    assert len(members[0].members or members[1].members) == 2


async def test_members_arriving_one_after_another_keep_extending_it(make, autojump_clock) -> None:
    broker, members = make(8)
    arrivals = [0.025 * i for i in range(8)]  # each within the delay of the one before
    done = await joined_at(members, arrivals)
    # The wait ends at the first expiry with no arrival since the one before: 30 ms steps,
    # the last arrival at 175 ms falls in the window (150, 180], one more step: 210 ms.
    assert done == [pytest.approx(0.210)] * 8
    assert {m.generation_id for m in members} == {1}


async def test_a_member_arriving_after_the_delay_starts_a_second_generation(make, autojump_clock) -> None:
    broker, [a, b] = make(2)
    async with trio.open_nursery() as n:
        n.start_soon(a.join)
        await trio.sleep(0.1)
        response = await b.join()
    assert a.generation_id == 1  # a got generation 1 alone at 30 ms
    assert response.error_code == E.NONE and b.generation_id == 2


async def test_a_member_handed_its_id_during_the_delay_extends_it(make, autojump_clock) -> None:
    broker, [a, b] = make(2)
    start = trio.current_time()
    async with trio.open_nursery() as n:
        n.start_soon(a.join)
        await trio.sleep(0.025)
        first = await b.join_once()  # MEMBER_ID_REQUIRED only: not a member yet
        assert first.error_code == E.MEMBER_ID_REQUIRED
        # Kafka would complete the join phase at 30 ms with a alone; the pending member
        # extends it to 60 ms, so b's second JoinGroup at 50 ms still makes generation 1
        # (and, joining within the window, extends it once more: 90 ms).
        await trio.sleep(0.025)
        second = await b.join_once()
    assert second.error_code == E.NONE
    assert trio.current_time() - start == pytest.approx(0.090)
    assert a.generation_id == b.generation_id == 1


async def test_the_cap_ends_the_wait_while_members_still_arrive(make, autojump_clock) -> None:
    broker, members = make(12, group_initial_rebalance_delay_ms=100, group_initial_rebalance_delay_max_ms=500)
    arrivals = [0.090 * i for i in range(12)]  # every 90 ms, for 990 ms
    start = trio.current_time()
    results: dict[int, int] = {}

    async def join(i: int) -> None:
        await trio.sleep_until(start + arrivals[i])
        await members[i].join()
        results[i] = members[i].generation_id

    async with trio.open_nursery() as n:
        for i in range(12):
            n.start_soon(join, i)
        await trio.sleep(0.5 + 0.001)
        # 100 ms, then extensions of 100 ms until 500 ms in all: generation 1 formed then,
        # with the six members that had arrived (at 0, 90, ..., 450 ms).
        assert sorted(results) == [0, 1, 2, 3, 4, 5]
        assert set(results.values()) == {1}
        n.cancel_scope.cancel()


async def test_kafkas_exact_rule_caps_at_the_rebalance_timeout(make, autojump_clock) -> None:
    # Kafka's default 3 s delay and no cap of kafkalite's: the rebalance timeout (5 s) caps.
    broker, members = make(
        6, member_kwargs={"rebalance_timeout_ms": 5000},
        group_initial_rebalance_delay_ms=3000, group_initial_rebalance_delay_max_ms=KAFKA_CAP,
    )
    done = await joined_at(members[:2], [0, 1.0])
    # b arrived in the first 3 s: another delay, min(3000, 5000 - 3000) = 2000 ms: 5 s in all.
    assert done == [pytest.approx(5.0)] * 2
