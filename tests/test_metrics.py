"""The broker's counters and their Prometheus rendering (kafkalite.broker.metrics)."""

from __future__ import annotations

import re

import pytest
import trio

from kafkalite.broker.metrics import Metrics
from kafkalite.broker.state import Broker
from kafkalite.wire.messages.api_versions import ApiVersionsRequest

from .broker.test_produce_fetch import batch, produce
from .groups.helpers import connect, simple_commit, start_broker

# One sample line of the text format: name, optional labels, a number.
SAMPLE = re.compile(r'^kafkalite_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$')


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery, http_port=0)  # the figures are readable: errors are counted
    b.create_topic("t", 2)
    return b


def samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def test_every_family_has_help_and_type_lines_and_every_sample_parses() -> None:
    metrics = Metrics()
    metrics.request("Produce", None)
    text = metrics.render_prometheus()
    families = re.findall(r"^# TYPE (\S+) (counter|gauge)$", text, re.M)
    helps = re.findall(r"^# HELP (\S+) .+$", text, re.M)
    assert [name for name, _ in families] == helps
    assert {name for name, _ in families} >= {
        "kafkalite_requests_total", "kafkalite_errors_total", "kafkalite_received_bytes_total",
        "kafkalite_sent_bytes_total", "kafkalite_connections", "kafkalite_connections_total",
        "kafkalite_consumer_group_lag",
    }
    assert samples(text)['kafkalite_requests_total{api="Produce"}'] == 1
    assert text.endswith("\n")


def test_label_values_are_escaped() -> None:
    from kafkalite.broker.metrics import _labels

    assert _labels(group='a"b\\c\nd') == '{group="a\\"b\\\\c\\nd"}'


async def test_requests_errors_bytes_and_connections_are_counted(broker: Broker, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    await client.request(ApiVersionsRequest(), 3)
    await produce(client, "t", batch(b"a"), partition=0)
    await produce(client, "t", batch(b"a"), partition=7)  # UNKNOWN_TOPIC_OR_PARTITION
    seen = samples(broker.metrics.render_prometheus())
    assert seen['kafkalite_requests_total{api="Produce"}'] == 2
    assert seen['kafkalite_requests_total{api="ApiVersions"}'] == 1
    assert seen['kafkalite_errors_total{api="Produce",code="3",error="UNKNOWN_TOPIC_OR_PARTITION"}'] == 1
    assert seen["kafkalite_connections"] == 1 and seen["kafkalite_connections_total"] == 1
    assert seen["kafkalite_received_bytes_total"] > 0 and seen["kafkalite_sent_bytes_total"] > 0
    await client.stream.aclose()
    await trio.testing.wait_all_tasks_blocked()
    assert broker.metrics.connections_open == 0


@pytest.mark.parametrize(("overrides", "counted"), [({}, False), ({"journal_size": 10}, True), ({"http_port": 0}, True)])
async def test_error_codes_are_counted_only_where_something_can_read_them(
    nursery: trio.Nursery, overrides: dict, counted: bool
) -> None:
    broker = start_broker(nursery, **overrides)
    broker.create_topic("t", 1)
    client = connect(broker, nursery)
    await produce(client, "t", batch(b"a"), partition=7)  # UNKNOWN_TOPIC_OR_PARTITION
    seen = samples(broker.metrics.render_prometheus())
    assert seen['kafkalite_requests_total{api="Produce"}'] == 1  # always counted
    key = 'kafkalite_errors_total{api="Produce",code="3",error="UNKNOWN_TOPIC_OR_PARTITION"}'
    assert (key in seen) is counted


async def test_lag_is_the_high_watermark_minus_the_committed_offset(broker: Broker, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    assert "consumer_group_lag{" not in broker.metrics.render_prometheus()  # no group yet
    for _ in range(5):
        await produce(client, "t", batch(b"v"), partition=1)
    await simple_commit(client, "billing", {("t", 1): 2})
    seen = samples(broker.metrics.render_prometheus())
    assert seen['kafkalite_consumer_group_lag{group="billing",topic="t",partition="1"}'] == 3
