"""Testing the invoicing application against kafkalite's pytest fixture.

The ``kafkalite_broker`` fixture comes with kafkalite (a pytest plugin): a fresh in-memory
broker per test, in a background thread, with helpers that replace sleeps: produce records,
read every record of a topic, wait until a group has committed an offset.

Run:  pytest examples/app_test
"""

from __future__ import annotations

import json

import pytest
from invoicing import run_invoicing


def order(order_id: int, customer: str, *lines: tuple[int, float]) -> str:
    return json.dumps({
        "order_id": order_id,
        "customer": customer,
        "lines": [{"quantity": q, "unit_price": p} for q, p in lines],
    })


def test_every_order_gets_an_invoice_and_is_committed(kafkalite_broker) -> None:
    broker = kafkalite_broker
    broker.create_topic("orders", 2)
    broker.produce("orders", order(1, "alice", (2, 9.99)), key="alice")
    broker.produce("orders", order(2, "bob", (1, 5.00), (3, 1.50)), key="bob")
    broker.produce("orders", order(3, "alice", (1, 100.0)), key="alice")

    assert run_invoicing(broker.bootstrap_servers, max_orders=3) == 3

    invoices = [json.loads(r.value) for r in broker.wait_for_records("invoices", 3)]
    assert sorted((i["order_id"], i["total"]) for i in invoices) == [(1, 19.98), (2, 9.5), (3, 100.0)]
    alice = [json.loads(r.value)["order_id"] for r in broker.records("invoices") if r.key == b"alice"]
    assert alice == [1, 3]  # one customer's invoices keep the order of their orders
    for partition, end in broker.end_offsets("orders").items():
        assert broker.committed("invoicing", "orders", partition) == (end or None)


@pytest.mark.kafkalite(partitions=4)
def test_a_restarted_application_does_not_invoice_twice(kafkalite_broker) -> None:
    broker = kafkalite_broker
    for i in range(6):
        broker.produce("orders", order(i, f"c{i}", (1, 1.0)), key=f"c{i}")
    assert broker.topics() == {"orders": 4}  # auto-created with the marker's partitions

    assert run_invoicing(broker.bootstrap_servers, max_orders=4) == 4
    assert run_invoicing(broker.bootstrap_servers, max_orders=2) == 2  # resumes after its commits
    invoices = broker.wait_for_records("invoices", 6)
    assert sorted(json.loads(r.value)["order_id"] for r in invoices) == list(range(6))
