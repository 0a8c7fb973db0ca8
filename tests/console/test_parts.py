"""The console's parts on their own: escaping, value display, bounded reads, lag samples and
their chart, the sampler on the broker clock, the CLI switch."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import trio

import kafkalite
from kafkalite.cli import build_parser, config_from_args
from kafkalite.console import messages
from kafkalite.console.html import Markup, esc, tag, void
from kafkalite.console.lag import LagSamples, lag_chart
from kafkalite.storage.log import PartitionLog
from tests.console.pages import get, rows

# -- html ------------------------------------------------------------------------------------


def test_text_and_attributes_are_escaped_and_markup_is_not() -> None:
    assert esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert esc(Markup("<b>ok</b>")) == "<b>ok</b>" and esc(None) == ""
    assert tag("td", "<x>", Markup("<br>"), title='"q"', class_="c", hidden=True, data_live=False) == (
        '<td title="&quot;q&quot;" class="c" hidden>&lt;x&gt;<br></td>'
    )
    assert void("input", name="n", value="<v>") == '<input name="n" value="&lt;v&gt;">'


# -- values ----------------------------------------------------------------------------------


def test_a_value_is_text_when_utf8_hex_otherwise_and_null_when_absent() -> None:
    assert messages.show(b"caf\xc3\xa9") == messages.Shown("text", "café")
    assert messages.show(b"\xff\x00") == messages.Shown("hex", "ff00")
    assert messages.show(b"a\x00b") == messages.Shown("hex", "610062")  # UTF-8, but binary
    assert messages.show(b"line 1\n\tline 2\r\n") == messages.Shown("text", "line 1\n\tline 2\r\n")
    assert messages.show(None) == messages.Shown("null", "null")


def test_a_long_value_is_cut_and_says_so() -> None:
    shown = messages.show(b"x" * 5000)
    assert len(shown.text) == messages.MAX_SHOWN_CHARS + 1 and shown.text.endswith("…")
    assert shown.note == f"first {messages.MAX_SHOWN_CHARS} characters of 5000 bytes"


class _Decoded:
    def __init__(self, value: Any, subject: str | None = "s-value") -> None:
        self.schema_id, self.schema_type, self.subject, self.value = 3, "PROTOBUF", subject, value


class _Registry:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[bytes] = []

    def decode(self, data: bytes) -> Any:
        self.asked.append(data)
        return self.answer


def test_a_value_the_registry_decodes_shows_its_value_and_schema() -> None:
    registry = _Registry(_Decoded({"id": 1}))
    assert messages.show(b"\x00\x00\x00\x00\x03\x00\x02", registry) == messages.Shown(
        "schema", '{"id": 1}', "schema id 3 (PROTOBUF, s-value)"
    )
    undecoded = messages.show(b"\x00\x00\x00\x00\x03\x00\x02", _Registry(_Decoded(None, None)))
    assert undecoded == messages.Shown("hex", "0002", "schema id 3 (PROTOBUF), payload not decoded")


def test_the_registry_is_asked_only_about_bytes_in_its_wire_format() -> None:
    registry = _Registry(None)
    assert messages.show(b"plain text", registry).kind == "text"
    assert messages.show(b"\x00\x01", registry).kind == "hex"  # too short for a schema id
    assert messages.show(b"\x00\x00\x00\x00\x09rest", registry).kind == "hex"  # an id it does not know
    assert registry.asked == [b"\x00\x00\x00\x00\x09rest"]


def test_without_a_registry_package_or_set_up_there_is_none() -> None:
    with kafkalite.run_in_thread() as broker:
        assert broker.call(messages.registry_for, broker.broker) is None


# -- bounded reads ---------------------------------------------------------------------------


def test_browse_reads_the_log_once_with_a_bounded_size_and_returns_at_most_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    with kafkalite.run_in_thread() as broker:
        broker.produce_batch("big", [f"v{i}" for i in range(500)], partition=0)
        reads: list[tuple[int, int]] = []
        real_read = PartitionLog.read

        def counting(self: PartitionLog, offset: int, max_bytes: int, **kwargs: Any) -> Any:
            reads.append((offset, max_bytes))
            return real_read(self, offset, max_bytes, **kwargs)

        monkeypatch.setattr(PartitionLog, "read", counting)
        page = broker.call(messages.browse, broker.broker, "big", 0, 250, 7)
        assert [m.offset for m in page.messages] == list(range(250, 257))
        assert reads == [(250, messages.MAX_READ_BYTES)]
        assert (page.next_offset, page.high_watermark, page.log_start_offset) == (257, 500, 0)
        with pytest.raises(ValueError, match="between 1 and 100"):
            broker.call(messages.browse, broker.broker, "big", 0, 0, messages.MAX_LIMIT + 1)


def test_browse_starts_at_the_log_start_when_asked_for_less() -> None:
    with kafkalite.run_in_thread() as broker:
        broker.produce_batch("trimmed", [f"v{i}" for i in range(10)], partition=0)
        broker.call(lambda: broker.broker.log_for("trimmed", 0).delete_records(4))
        page = broker.call(messages.browse, broker.broker, "trimmed", 0, 1, 3)
        assert [m.offset for m in page.messages] == [4, 5, 6] and page.log_start_offset == 4


def test_transaction_markers_show_as_markers() -> None:
    with kafkalite.run_in_thread(http_port=0) as broker:
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "transactional.id": "marker-test"})
        producer.init_transactions()
        producer.begin_transaction()
        producer.produce("marked", b"committed value", partition=0)
        producer.commit_transaction()
        shown = rows(get(broker, "/topics/marked/partitions/0?offset=0"), "messages")
        assert [(m["offset"], m["value"]) for m in shown] == [("0", "committed value"),
                                                             ("1", "transaction marker: COMMIT")]


# -- lag samples and chart -------------------------------------------------------------------


def test_lag_samples_keep_the_newest_per_group_and_forget_groups_that_are_gone() -> None:
    samples = LagSamples(None, capacity=3)
    for t in range(5):
        samples.record(t * 1000, {"a": t, "b": 10 * t})
    assert samples.samples("a") == [(2000, 2), (3000, 3), (4000, 4)]
    samples.record(5000, {"a": 9})
    assert samples.samples("b") == [] and samples.samples("a")[-1] == (5000, 9)
    with pytest.raises(ValueError):
        LagSamples(None, capacity=1)


def test_the_lag_chart_is_an_svg_line_from_the_samples_scaled_to_the_largest_lag() -> None:
    chart = lag_chart([(0, 0), (5000, 10), (10000, 5)], "lag of <g>")
    assert chart.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and chart.endswith("</svg>")
    assert 'aria-label="lag of &lt;g&gt;"' in chart and "<title>lag of &lt;g&gt;</title>" in chart
    # x from 48 to 472, y from 118 (lag 0) to 10 (the largest lag, 10).
    assert '<polyline points="48.0,118.0 260.0,10.0 472.0,64.0" class="series"/>' in chart
    assert ">-10 s</text>" in chart
    assert "Not enough samples" in lag_chart([(0, 3)], "one")
    # A negative lag (a committed offset past the log end) moves the axis' bottom below 0.
    below = lag_chart([(0, -2), (1000, 2)], "negative")
    assert '<polyline points="48.0,118.0 472.0,10.0" class="series"/>' in below and ">-2</text>" in below
    flat = lag_chart([(0, 0), (1000, 0)], "flat")
    assert '<polyline points="48.0,118.0 472.0,118.0" class="series"/>' in flat


async def test_the_sampler_samples_on_the_broker_clock(autojump_clock: trio.testing.MockClock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    class Clock:
        def wall_ms(self) -> int:
            return int(trio.current_time() * 1000)

        def move_on_after(self, seconds: float) -> trio.CancelScope:
            return trio.move_on_after(seconds)

    class Broker:
        clock = Clock()

    lags = iter(range(100))
    samples = LagSamples(Broker(), capacity=4, interval_s=5)  # type: ignore[arg-type]
    monkeypatch.setattr("kafkalite.console.lag.group_lags", lambda _broker: {"g": next(lags)})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(samples.run)
        await trio.sleep(12)
        nursery.cancel_scope.cancel()
    assert samples.samples("g") == [(0, 0), (5000, 1), (10000, 2)]


async def test_a_failing_sample_is_logged_and_the_sampler_goes_on(autojump_clock: trio.testing.MockClock,
                                                                  caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    class Clock:
        def wall_ms(self) -> int:
            return int(trio.current_time() * 1000)

        def move_on_after(self, seconds: float) -> trio.CancelScope:
            return trio.move_on_after(seconds)

    class Broker:
        clock = Clock()

    answers = iter([RuntimeError("boom"), {"g": 4}])

    def flaky(_broker: object) -> dict[str, int]:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    samples = LagSamples(Broker(), interval_s=5)  # type: ignore[arg-type]
    monkeypatch.setattr("kafkalite.console.lag.group_lags", flaky)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(samples.run)
        await trio.sleep(7)
        nursery.cancel_scope.cancel()
    assert samples.samples("g") == [(5000, 4)]
    assert "the lag sample failed" in caplog.text


def test_the_group_page_draws_the_chart_once_the_broker_clock_has_moved() -> None:
    with kafkalite.run_in_thread(http_port=0) as broker:
        from confluent_kafka import Consumer, TopicPartition

        broker.produce_batch("charted", [f"v{i}" for i in range(8)], partition=0)
        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "charted"})
        consumer.commit(offsets=[TopicPartition("charted", 0, 3)], asynchronous=False)
        consumer.close()
        for _ in range(3):
            broker.clock.advance(5)  # each jump wakes the sampler at once
        page = get(broker, "/groups/charted")
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in page and "<polyline" in page


# -- configuration ---------------------------------------------------------------------------


def test_console_write_is_off_unless_the_flag_or_the_variable_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_from_args(build_parser().parse_args(["serve"])).console_write is False
    assert config_from_args(build_parser().parse_args(["serve", "--console-write"])).console_write is True
    monkeypatch.setenv("KAFKALITE_CONSOLE_WRITE", "1")
    assert config_from_args(build_parser().parse_args(["serve"])).console_write is True


def test_lag_is_log_end_minus_committed_even_when_negative_as_kafka_consumer_groups_shows() -> None:
    from kafkalite.console.facts import LagRow

    assert LagRow("t", 0, 18, 15, None, None, None).lag == -3
    assert LagRow("t", 0, None, 15, None, None, None).lag is None
    assert LagRow("t", 0, 5, None, None, None, None).lag is None


def test_the_cluster_page_shows_each_node_s_load_and_the_partitions_short_of_replicas() -> None:
    with kafkalite.run_in_thread(http_port=0, brokers=3, replica_lag_time_max_ms=1000) as broker:
        broker.create_topic("spread", 3, replication_factor=3)
        # Partition 1's followers stop copying: past replica.lag.time.max.ms they leave its ISR.
        broker.set_replication_delay(topic="spread", partition=1, delay_ms=3_600_000)
        broker.produce("spread", "late", partition=1)
        broker.clock.advance(2)
        wait_until = time.monotonic() + 10
        while len(broker.call(lambda: broker.broker.cluster.partition("spread", 1)).isr) > 1:
            assert time.monotonic() < wait_until, "the lagging followers never left the ISR"
            time.sleep(0.05)

        def take_leader_away() -> None:
            topic = broker.broker.cluster.topic("spread")
            broker.broker.cluster.change_partition(topic, topic.partitions[2], reason="test", leader=-1, isr=[])

        broker.call(take_leader_away)
        page = get(broker, "/cluster")
        load = rows(page, "load")
        assert [(n["node"], n["status"], n["role"]) for n in load] == [
            ("0", "live", "controller"), ("1", "live", "broker"), ("2", "live", "broker"),
        ]
        assert sum(int(n["partitions led"]) for n in load) == 2 and {n["replicas held"] for n in load} == {"3"}
        [under] = rows(page, "under-replicated")
        assert (under["topic"], under["partition"], under["replicas"].count(","), under["ISR"].count(",")) == (
            "spread", "1", 2, 0)
        [offline] = rows(page, "offline")
        assert (offline["partition"], offline["leader"], offline["ISR"]) == ("2", "none", "-")
        assert '<a href="/cluster" aria-current="page">Cluster</a>' in page
        # The topic page shows each copy's log end: the lagging followers of partition 1 have 0.
        parts = rows(get(broker, "/topics/spread"), "partitions")
        leader = parts[1]["leader"]
        copies = dict(re.findall(r"(\d+): (\d+)", parts[1]["copies (node: log end)"]))
        assert copies == {n: ("1" if n == leader else "0") for n in ("0", "1", "2")}
        assert (parts[1]["log end"], parts[1]["high watermark"]) == ("1", "1")


def test_sizes_and_times_read_as_people_write_them() -> None:
    from kafkalite.console.views import size, when

    assert [size(None), size(0), size(1023), size(1024), size(1536 * 1024), size(5 * 1024**3)] == [
        "-", "0 B", "1023 B", "1.0 KiB", "1.5 MiB", "5.0 GiB",
    ]
    assert when(0) == "1970-01-01 00:00:00.000 UTC" and when(1_700_000_000_123) == "2023-11-14 22:13:20.123 UTC"
    assert when(-1) == when(None) == "-"
