"""``broker.faults`` on a BrokerThread: rules added from the test's thread, live counters,
removal by rule or id, the ``rule`` context manager, and reset."""

from __future__ import annotations

import pytest

import kafkalite
from kafkalite.testing.faults import FaultSpecError


@pytest.fixture(scope="module")
def broker():
    with kafkalite.run_in_thread() as running:
        yield running


def test_add_list_remove_and_clear(broker) -> None:
    first = broker.faults.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic="t", times=3)
    second = broker.faults.add(api="Fetch", stall=True, topic="t")
    assert [r.id for r in broker.faults.list()] == [first.id, second.id]
    assert broker.faults.get(second.id) is second
    assert broker.faults.remove(first) and not broker.faults.remove(first.id)
    assert broker.faults.clear() == 1 and broker.faults.list() == []


def test_rule_lives_for_the_block(broker) -> None:
    with broker.faults.rule(api="Metadata", delay_ms=1) as rule:
        assert broker.faults.list() == [rule]
    assert broker.faults.list() == []


def test_bad_spec_raises_in_the_calling_thread(broker) -> None:
    with pytest.raises(FaultSpecError) as info:
        broker.faults.add(api="Produce", error="NO_SUCH_ERROR")
    assert info.value.field == "error"
    assert broker.faults.list() == []


def test_counters_are_live_and_reset_clears_the_rules(broker) -> None:
    from confluent_kafka.admin import AdminClient

    rule = broker.faults.add(api="Metadata", delay_ms=1, always=True)
    AdminClient({"bootstrap.servers": broker.bootstrap_servers}).list_topics(timeout=10)
    assert rule.matched >= 1 and rule.fired == rule.matched
    broker.reset()
    assert broker.faults.list() == []
