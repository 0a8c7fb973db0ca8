"""The learning trace shows cluster events (leader and ISR changes with their reasons) between
the requests, and explains NOT_LEADER_OR_FOLLOWER / LEADER_NOT_AVAILABLE with them."""

from __future__ import annotations

import json
import logging

import pytest

from kafkalite.testing.thread import BrokerThread
from kafkalite.tools.client import Connection
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic


def _address(broker: BrokerThread, node_id: int) -> tuple[str, int]:
    host, port = broker.bootstrap_servers.split(",")[node_id].rsplit(":", 1)
    return host, int(port)


def test_a_stopped_broker_shows_in_the_trace_and_explains_the_offline_partition(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kafkalite")
    trace_file = tmp_path / "trace.jsonl"
    with BrokerThread(brokers=3, trace=True, trace_file=trace_file) as broker:
        broker.create_topic("solo", 1, replication_factor=1)
        leader = broker.call(lambda: broker.broker.cluster.partition("solo", 0).leader_id)
        broker.stop_node(leader, clean=False)
        other = next(n for n in (0, 1, 2) if n != leader)
        with Connection(*_address(broker, other)) as conn:
            conn.request(MetadataRequest(topics=[MetadataRequestTopic(name="solo")], allow_auto_topic_creation=False), 12)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name in ("kafkalite.cluster", "kafkalite.trace"))
    change = f"solo-0: leader {leader} -> -1 (epoch 0 -> 1), ISR [{leader}] -> [{leader}]: broker {leader} stopped (hard)"
    assert change in text
    assert (
        f"! LEADER_NOT_AVAILABLE: solo-0 has no leader, since broker {leader} stopped (hard): "
        f"its in-sync replicas [{leader}] are stopped"
    ) in text
    # The event comes before the Metadata request that saw it, in the log and in the file.
    assert text.index(change) < text.index("-> Metadata v12")
    entries = [json.loads(line) for line in trace_file.read_text().splitlines()]
    assert all("api" in e for e in entries)  # events too: the same keys on every line
    kinds = [(e["direction"], e["message"] if e["direction"] == "event" else e["api"]) for e in entries]
    event = ("event", change)
    assert event in kinds and kinds.index(event) < kinds.index(("request", "Metadata"))
