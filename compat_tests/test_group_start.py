"""Consumers of a new group that start together share its first generation.

A test typically creates its consumers one after another and then polls them; a broker
without an initial rebalance delay forms generation 1 with the first alone and rebalances
again for the others (an extra assign/revoke every client test suite written against Kafka's
3 s default trips over). kafkalite waits 30 ms for more members, again while members keep
arriving (the reference Kafka is configured the same way), so each consumer is assigned
once, and a lone consumer still starts within a few tens of ms. bench/group_start.py
measures both.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from .conftest import eventually, wait_for_topic

PARTITIONS = 6
TIMEOUT = 30


@pytest.fixture
def topic(bootstrap: str, topic_name: str) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic_name, num_partitions=PARTITIONS,
                                                replication_factor=1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, topic_name, PARTITIONS)
    return topic_name


class ConfluentMember:
    """Created and subscribed by the test's thread, then polled by a thread of its own."""

    def __init__(self, bootstrap: str, group_id: str, topic: str) -> None:
        self.events: list[tuple[str, frozenset[int]]] = []
        self.stop = threading.Event()
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id,
                                  "heartbeat.interval.ms": 100, "session.timeout.ms": 6000})
        self.consumer.subscribe([topic], on_assign=self._assigned, on_revoke=self._revoked)
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _assigned(self, consumer: Any, partitions: list) -> None:
        self.events.append(("assign", frozenset(p.partition for p in partitions)))

    def _revoked(self, consumer: Any, partitions: list) -> None:
        self.events.append(("revoke", frozenset(p.partition for p in partitions)))

    def _poll(self) -> None:
        while not self.stop.is_set():
            self.consumer.poll(0.02)
        self.consumer.close()


class KafkaPythonMember(threading.Thread):
    def __init__(self, bootstrap: str, group_id: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.events: list[tuple[str, frozenset[int]]] = []
        self.stop = threading.Event()
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id,
                                      heartbeat_interval_ms=100, session_timeout_ms=6000)
        # As a test would: learn the topic first (kafka-python's leader assigns only the
        # partitions it knows of when the generation forms).
        self.consumer.partitions_for_topic(topic)
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                member.events.append(("revoke", frozenset(tp.partition for tp in revoked)))

            def on_partitions_assigned(self, assigned: Any) -> None:
                member.events.append(("assign", frozenset(tp.partition for tp in assigned)))

        self.consumer.subscribe([topic], listener=Listener())

    def run(self) -> None:
        while not self.stop.is_set():
            self.consumer.poll(timeout_ms=100)
        self.consumer.close()


def assigned_once_each(members: list) -> None:
    def settled() -> None:
        assigns = [[p for kind, p in m.events if kind == "assign"] for m in members]
        assert all(assigns) and sum(len(a[-1]) for a in assigns) == PARTITIONS, [m.events for m in members]

    eventually(settled, timeout=TIMEOUT)
    time.sleep(0.5)  # room for a second generation to show, had there been one
    for m in members:
        assigns = [p for kind, p in m.events if kind == "assign"]
        assert len(assigns) == 1, m.events  # one generation: no reassignment
        assert [kind for kind, p in m.events if kind == "revoke" and p] == [], m.events
    owned = [p for m in members for p in next(p for kind, p in m.events if kind == "assign")]
    assert sorted(owned) == list(range(PARTITIONS))


@pytest.mark.parametrize("count", [2, 3])
def test_confluent_consumers_started_together_share_the_first_generation(bootstrap: str, topic: str,
                                                                        count: int) -> None:
    group_id = f"start-{uuid.uuid4().hex[:10]}"
    members = [ConfluentMember(bootstrap, group_id, topic) for _ in range(count)]
    for m in members:
        m.thread.start()
    try:
        assigned_once_each(members)
    finally:
        for m in members:
            m.stop.set()
        for m in members:
            m.thread.join(10)


@pytest.mark.parametrize("count", [2, 3])
def test_kafka_python_consumers_started_together_share_the_first_generation(bootstrap: str, topic: str,
                                                                           count: int) -> None:
    group_id = f"start-{uuid.uuid4().hex[:10]}"
    members = [KafkaPythonMember(bootstrap, group_id, topic) for _ in range(count)]
    for m in members:
        m.start()
    try:
        assigned_once_each(members)
    finally:
        for m in members:
            m.stop.set()
        for m in members:
            m.join(10)
