"""A small application built on confluent-kafka: it turns orders into invoices.

It reads JSON orders from the ``orders`` topic as part of the consumer group ``invoicing``,
writes one invoice per order to ``invoices`` (keyed by customer, so that a customer's
invoices stay in order), and commits an order only once its invoice is acknowledged.
Nothing here knows about kafkalite: the tests in ``test_invoicing.py`` run it against
kafkalite's pytest fixture, and in production it runs against Kafka.
"""

from __future__ import annotations

import json

from confluent_kafka import Consumer, Producer


def invoice_for(order: dict) -> dict:
    total = sum(line["quantity"] * line["unit_price"] for line in order["lines"])
    return {"order_id": order["order_id"], "customer": order["customer"], "total": round(total, 2)}


def run_invoicing(bootstrap_servers: str, *, max_orders: int, timeout_s: float = 10.0) -> int:
    """Invoice up to *max_orders* orders (or until *timeout_s* without one); return how many."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap_servers,
        "group.id": "invoicing",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True})
    done = 0
    try:
        consumer.subscribe(["orders"])
        while done < max_orders:
            message = consumer.poll(timeout_s)
            if message is None:
                break
            if message.error():
                raise RuntimeError(message.error())
            order = json.loads(message.value())
            invoice = invoice_for(order)
            producer.produce("invoices", key=order["customer"].encode(), value=json.dumps(invoice).encode())
            if producer.flush(10) != 0:
                raise RuntimeError("the invoice was not acknowledged")
            consumer.commit(message=message, asynchronous=False)
            done += 1
    finally:
        consumer.close()
    return done
