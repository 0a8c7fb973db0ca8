"""The in-process kafkalite broker the fault injection tests script (`broker.faults`).

Fault rules are kafkalite's own (Kafka has no such API), so these tests run only against
kafkalite, in this process, where the test can add rules and read their counters.
"""

from __future__ import annotations

from typing import Iterator

import pytest

import kafkalite

#: Short client timeouts: a dropped or delayed answer must cost the suite little.
REQUEST_TIMEOUT_MS = 1500


@pytest.fixture(scope="module")
def fault_broker() -> Iterator[kafkalite.BrokerThread]:
    with kafkalite.run_in_thread(partitions=1) as broker:
        yield broker


@pytest.fixture
def broker(fault_broker: kafkalite.BrokerThread) -> Iterator[kafkalite.BrokerThread]:
    """The module's broker, with no fault rule before or after the test."""
    fault_broker.faults.clear()
    yield fault_broker
    fault_broker.faults.clear()
