"""The console's pages over a real socket against a running broker with data: a topic with
messages, a group with lag and a live member, an open transaction, a fault rule."""

from __future__ import annotations

import time
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

import kafkalite
from kafkalite.testing.thread import BrokerThread
from kafkalite.tools.client import Connection
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from tests.console.pages import get, request, rows, tables, text_of

SCRIPT = "<script>alert(1)</script>"
ODD_GROUP = "<b>odd</b> group"


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with kafkalite.run_in_thread(http_port=0, num_partitions=2) as broker:
        broker.create_topic("orders", 2)
        broker.produce_batch("orders", [(f"k{i}", f"order {i}") for i in range(30)], partition=0)
        broker.produce("orders", "\u00e9t\u00e9 \u2603", key=SCRIPT, partition=1, headers={"source": "test"})
        broker.produce("orders", b"\xff\xfe\x00\x01", partition=1)
        broker.produce("orders", None, key="tombstone", partition=1)
        bootstrap = broker.bootstrap_servers
        committer = Consumer({"bootstrap.servers": bootstrap, "group.id": "billing", "enable.auto.commit": False})
        committer.commit(offsets=[TopicPartition("orders", 0, 10)], asynchronous=False)
        committer.close()
        odd = Consumer({"bootstrap.servers": bootstrap, "group.id": ODD_GROUP, "enable.auto.commit": False})
        odd.commit(offsets=[TopicPartition("orders", 0, 1)], asynchronous=False)
        odd.close()
        member = Consumer({"bootstrap.servers": bootstrap, "group.id": "live", "client.id": "console-test",
                           "auto.offset.reset": "earliest", "enable.auto.commit": False})
        member.subscribe(["orders"])
        deadline = time.monotonic() + 30
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(0.1)
        assert member.assignment(), "the consumer got no assignment"
        modern = Consumer({"bootstrap.servers": bootstrap, "group.id": "modern", "group.protocol": "consumer",
                           "client.id": "kip-848", "enable.auto.commit": False})
        modern.subscribe(["orders"])
        deadline = time.monotonic() + 30
        while len(modern.assignment()) < 2 and time.monotonic() < deadline:
            modern.poll(0.1)
        assert len(modern.assignment()) == 2, "the consumer group member got no assignment"
        modern.commit(offsets=[TopicPartition("orders", 0, 25)], asynchronous=False)
        txn = Producer({"bootstrap.servers": bootstrap, "transactional.id": "tx-console"})
        txn.init_transactions()
        txn.begin_transaction()
        txn.produce("orders", b"pending", partition=1)
        txn.flush()
        try:
            yield {"broker": broker, "member": member}
        finally:
            txn.abort_transaction()
            member.close()
            modern.close()


@pytest.fixture
def broker(world: dict[str, Any]) -> BrokerThread:
    return world["broker"]


# -- overview, topics ------------------------------------------------------------------------


def test_overview_shows_the_broker_with_its_address_and_the_controller(broker: BrokerThread) -> None:
    page = get(broker, "/")
    [node] = rows(page, "nodes")
    assert node == {"node": "0", "host:port": f"127.0.0.1:{broker.port}", "rack": "-", "status": "live",
                    "role": "controller"}
    counts = text_of(page, "counts")
    assert "controller 0" in counts and "consumer groups 4" in counts and "transactional ids 1" in counts
    assert 'aria-current="page"' in page and 'href="/static/console.css"' in page
    assert '<a href="#main" class="skip">Skip to content</a>' in page


def test_topics_lists_each_topic_with_its_partitions_and_offsets(broker: BrokerThread) -> None:
    listed = {r["topic"]: r for r in rows(get(broker, "/topics"), "topics")}
    assert listed["orders"]["partitions"] == "2"
    assert listed["orders"]["offsets in log"] == "34"  # 30 + 3, and the open transaction's record
    assert listed["__consumer_offsets"][""] == "internal"


def test_topic_page_shows_placement_offsets_and_segments_of_each_partition(broker: BrokerThread) -> None:
    parts = rows(get(broker, "/topics/orders"), "partitions")
    assert [p["partition"] for p in parts] == ["0", "1"]
    first, second = parts
    assert (first["leader"], first["replicas"], first["ISR"]) == ("0", "0", "0")
    assert (first["log start"], first["log end"], first["high watermark"], first["last stable"]) == ("0", "30", "30", "30")
    assert first["segments (base: size)"].startswith("0: ")
    # The open transaction's record is past the last stable offset.
    assert (second["log end"], second["high watermark"], second["last stable"]) == ("4", "4", "3")


def test_an_unknown_topic_or_partition_is_a_404_page(broker: BrokerThread) -> None:
    for path in ("/topics/missing", "/topics/orders/partitions/7", "/topics/orders/partitions/x", "/groups/missing"):
        status, headers, body = request(broker, "GET", path)
        assert status == 404 and headers["content-type"].startswith("text/html"), path
        assert "<h1>Error 404</h1>" in body


# -- messages --------------------------------------------------------------------------------


def test_messages_page_shows_the_asked_offsets_only_and_links_to_its_neighbours(broker: BrokerThread) -> None:
    page = get(broker, "/topics/orders/partitions/0?offset=5&limit=3")
    shown = rows(page, "messages")
    assert [(m["offset"], m["key"], m["value"]) for m in shown] == [
        ("5", "k5", "order 5"), ("6", "k6", "order 6"), ("7", "k7", "order 7"),
    ]
    assert 'href="/topics/orders/partitions/0?offset=8&amp;limit=3" rel="next"' in page
    assert 'href="/topics/orders/partitions/0?offset=2&amp;limit=3" rel="prev"' in page


def test_messages_page_without_an_offset_shows_the_newest(broker: BrokerThread) -> None:
    shown = rows(get(broker, "/topics/orders/partitions/0?limit=4"), "messages")
    assert [m["offset"] for m in shown] == ["26", "27", "28", "29"]
    assert [m["offset"] for m in rows(get(broker, "/topics/orders/partitions/0"), "messages")][0] == "10"


def test_messages_page_limits_are_bounded(broker: BrokerThread) -> None:
    for query in ("limit=0", "limit=101", "offset=-1", "limit=ten", "offset=1&offset=2", "bogus=1"):
        status, _h, body = request(broker, "GET", f"/topics/orders/partitions/0?{query}")
        assert status == 400, query
        assert "<h1>Error 400</h1>" in body
    assert len(rows(get(broker, "/topics/orders/partitions/0?offset=0&limit=100"), "messages")) == 30
    past_the_end = rows(get(broker, "/topics/orders/partitions/0?offset=500"), "messages")
    assert past_the_end == [{"offset": "no messages at these offsets"}]


def test_values_show_as_text_hex_or_null_and_html_in_them_is_escaped(broker: BrokerThread) -> None:
    page = get(broker, "/topics/orders/partitions/1?offset=0")
    shown = rows(page, "messages")
    assert (shown[0]["key"], shown[0]["value"], shown[0]["headers"]) == (SCRIPT, "\u00e9t\u00e9 \u2603", "source: test")
    assert shown[1]["value"] == "fffe0001" and 'class="v hex"' in page
    assert (shown[2]["key"], shown[2]["value"]) == ("tombstone", "null")
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The open transaction's record is below the high watermark: the browser shows it.
    assert shown[3]["value"] == "pending"


def test_values_with_a_schema_id_are_decoded_through_the_registry(broker: BrokerThread) -> None:
    import io
    import json

    import fastavro

    schema = {"type": "record", "name": "Payment", "fields": [
        {"name": "amount", "type": "int"}, {"name": "note", "type": "string"},
    ]}
    schema_id = broker.register_schema("payments-value", json.dumps(schema))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), {"amount": 12, "note": "<i>"})
    framed = b"\x00" + schema_id.to_bytes(4, "big") + body.getvalue()  # Confluent's wire format
    unknown_id = b"\x00" + (schema_id + 1000).to_bytes(4, "big") + b"unknown"
    broker.produce("payments", framed, partition=0)
    broker.produce("payments", unknown_id, partition=0)
    page = get(broker, "/topics/payments/partitions/0?offset=0")
    known, unknown = rows(page, "messages")
    assert known["value"] == f'{{"amount": 12, "note": "<i>"}}schema id {schema_id} (AVRO, payments-value)'
    assert 'class="v schema"' in page and "&lt;i&gt;" in page
    assert unknown["value"] == unknown_id.hex()  # an id the registry does not know: the bytes


# -- groups ----------------------------------------------------------------------------------


def test_groups_lists_each_group_with_state_members_and_lag(broker: BrokerThread) -> None:
    page = get(broker, "/groups")
    listed = {r["group"]: r for r in rows(page, "groups")}
    assert listed["billing"] == {"group": "billing", "type": "classic", "state": "Empty", "members": "0", "lag": "20"}
    assert listed["live"]["state"] == "Stable" and listed["live"]["members"] == "1"
    assert ODD_GROUP in listed and "<b>odd</b>" not in page
    assert f'href="/groups/{quote(ODD_GROUP, safe="")}"' in page


def test_group_page_shows_offsets_and_lag_as_kafka_consumer_groups(broker: BrokerThread) -> None:
    page = get(broker, "/groups/billing")
    [row] = rows(page, "offsets")
    assert row == {"TOPIC": "orders", "PARTITION": "0", "CURRENT-OFFSET": "10", "LOG-END-OFFSET": "30",
                   "LAG": "20", "CONSUMER-ID": "-", "HOST": "-", "CLIENT-ID": "-"}
    assert text_of(page, "total-lag") == "20"
    # The committed offset leads to the messages from there: what the group reads next.
    assert '<a href="/topics/orders/partitions/0?offset=10" aria-label=' in page
    assert "Empty" in text_of(page, "group-state")


def test_group_page_shows_members_with_client_id_host_and_assignment(broker: BrokerThread) -> None:
    page = get(broker, "/groups/live")
    [member] = rows(page, "members")
    assert member["client id"] == "console-test" and member["assignment"] == "orders-0, orders-1"
    assert member["member id"].startswith("console-test-") and member["member id"].endswith("(leader)")
    owned = rows(page, "offsets")
    assert [(r["PARTITION"], r["CURRENT-OFFSET"], r["LAG"], r["CLIENT-ID"]) for r in owned] == [
        ("0", "-", "-", "console-test"), ("1", "-", "-", "console-test"),
    ]


def test_a_consumer_group_of_kip_848_shows_its_epoch_assignor_member_and_lag(broker: BrokerThread) -> None:
    page = get(broker, "/groups/modern")
    state = text_of(page, "group-state")
    assert "type consumer" in state and "state Stable" in state and "assignor uniform" in state
    [member] = rows(page, "members")
    assert member["client id"] == "kip-848" and member["assignment"] == "orders-0, orders-1"
    owned = rows(page, "offsets")
    assert [(r["PARTITION"], r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"], r["CLIENT-ID"]) for r in owned] == [
        ("0", "25", "30", "5", "kip-848"), ("1", "-", "4", "-", "kip-848"),
    ]
    listed = {r["group"]: r for r in rows(get(broker, "/groups"), "groups")}
    assert listed["modern"]["type"] == "consumer" and listed["modern"]["lag"] == "5"


def test_a_group_whose_id_needs_escaping_has_its_page(broker: BrokerThread) -> None:
    page = get(broker, f"/groups/{quote(ODD_GROUP, safe='')}")
    assert "<title>Group &lt;b&gt;odd&lt;/b&gt; group · kafkalite</title>" in page
    assert rows(page, "offsets")[0]["LAG"] == "29"


# -- transactions, trace ---------------------------------------------------------------------


def test_transactions_page_shows_the_open_transaction(broker: BrokerThread) -> None:
    [txn] = rows(get(broker, "/transactions"), "transactions")
    assert (txn["transactional id"], txn["state"], txn["epoch"], txn["partitions"]) == ("tx-console", "Ongoing", "0", "orders-1")
    assert txn["timeout"] == "60000 ms" and int(txn["producer id"]) >= 0


def ask_metadata(broker: BrokerThread, client_id: str, topic: str) -> None:
    with Connection(broker.host, broker.port, client_id=client_id) as connection:
        connection.negotiate()
        connection.request(MetadataRequest(topics=[MetadataRequestTopic(name=topic)], allow_auto_topic_creation=False))


def test_trace_shows_the_newest_requests_filtered_by_api_and_client_with_errors_explained(broker: BrokerThread) -> None:
    ask_metadata(broker, "tracer-<1>", "no-such-topic")
    page = get(broker, f"/trace?api=Metadata&client_id={quote('tracer-<1>')}")
    [row] = rows(page, "trace")
    assert row["API"].startswith("Metadata v") and row["client id"] == "tracer-<1>"
    assert row["errors"].startswith("UNKNOWN_TOPIC_OR_PARTITION: ") and "no-such-topic" in row["errors"]
    assert "tracer-&lt;1&gt;" in page and "tracer-<1>" not in page
    newest = rows(get(broker, "/trace?limit=2"), "trace")
    assert len(newest) == 2 and int(newest[0]["#"]) > int(newest[1]["#"])
    for query in ("limit=0", "limit=501", "colour=red", "errors=2"):
        assert request(broker, "GET", f"/trace?{query}")[0] == 400, query


def test_trace_with_errors_only_keeps_the_requests_answered_with_an_error(broker: BrokerThread) -> None:
    ask_metadata(broker, "erring", "missing-1")
    ask_metadata(broker, "erring", "orders")
    ask_metadata(broker, "erring", "missing-2")
    everything = rows(get(broker, "/trace?client_id=erring&api=Metadata"), "trace")
    assert len(everything) == 3
    failed = rows(get(broker, "/trace?client_id=erring&errors=1"), "trace")
    assert ["missing-2" in r["errors"] for r in failed] == [True, False] and "missing-1" in failed[1]["errors"]
    [newest] = rows(get(broker, "/trace?client_id=erring&errors=1&limit=1"), "trace")
    assert "missing-2" in newest["errors"]


def test_one_request_decoded_field_by_field_as_the_trace_log_prints_it(broker: BrokerThread) -> None:
    ask_metadata(broker, "detailed", "no-such-<topic>")
    [row] = rows(get(broker, "/trace?client_id=detailed&api=Metadata"), "trace")
    page = get(broker, f"/trace/{row['#']}")
    assert f"<title>Request {row['#']}: Metadata v" in page
    request_text, response_text = page.split('<pre class="decoded">')[1:3]
    assert "topics[0]: topic_id=AAAAAAAAAAAAAAAAAAAAAA name=no-such-&lt;topic&gt;" in request_text
    assert "allow_auto_topic_creation=false" in request_text
    assert "error_code=3" in response_text
    assert "<strong>UNKNOWN_TOPIC_OR_PARTITION</strong>" in page and "at topics[0]" in page
    assert 'href="/trace" ' in page or 'href="/trace">' in page
    for missing in ("/trace/999999", "/trace/x"):
        assert request(broker, "GET", missing)[0] == 404, missing


def test_trace_page_says_how_to_turn_the_journal_on_when_it_is_off() -> None:
    with kafkalite.run_in_thread(http_port=0, journal_size=0) as broker:
        page = get(broker, "/trace")
    assert "--journal-size N" in page and 'id="trace"' not in page


# -- fault rules -----------------------------------------------------------------------------


def test_faults_page_is_read_only_by_default(broker: BrokerThread) -> None:
    rule = broker.faults.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic="nowhere", times=2)
    try:
        page = get(broker, "/faults")
        [shown] = rows(page, "rules")
        assert shown["rule"] == str(rule.id) and "error=NOT_LEADER_OR_FOLLOWER" in shown["spec"]
        assert (shown["matched"], shown["fired"]) == ("0", "0")
        assert "<form" not in page and "--console-write" in page
        for path, form in (("/faults", {"api": "Fetch", "error": "UNKNOWN_SERVER_ERROR"}), ("/faults/clear", {}),
                           (f"/faults/{rule.id}/remove", {})):
            status, _h, body = request(broker, "POST", path, form)
            assert status == 403 and "read-only" in body, path
        assert len(broker.broker.faults.rules) == 1
    finally:
        broker.faults.clear()


def test_faults_can_be_added_removed_and_cleared_from_the_page_with_console_write() -> None:
    with kafkalite.run_in_thread(http_port=0, console_write=True) as broker:
        assert "<form" in get(broker, "/faults")
        status, headers, _ = request(broker, "POST", "/faults",
                                     {"api": "Metadata", "error": "NOT_CONTROLLER", "times": "3", "topic": ""})
        assert (status, headers["location"]) == (303, "/faults")
        [rule] = broker.broker.faults.rules
        assert rule.to_dict() == {"id": rule.id, "api": "Metadata", "error": "NOT_CONTROLLER", "times": 3,
                                      "matched": 0, "fired": 0}
        status, _h, body = request(broker, "POST", "/faults", {"api": "Metadata", "error": "NO_SUCH_ERROR"})
        assert status == 400 and "NO_SUCH_ERROR" in body and 'value="Metadata"' in body
        status, _h, body = request(broker, "POST", "/faults", {"api": "Metadata", "colour": "red"})
        assert status == 400 and "colour" in body
        status, _h, _b = request(broker, "POST", f"/faults/{rule.id}/remove", {})
        assert status == 303 and broker.broker.faults.rules == []
        assert request(broker, "POST", "/faults/99/remove", {})[0] == 404
        broker.faults.add(api="Fetch", error="UNKNOWN_SERVER_ERROR", always=True)
        status, _h, body = request(broker, "POST", "/faults/clear", {},
                                   headers={"origin": "http://evil.example"})
        assert status == 403 and len(broker.broker.faults.rules) == 1
        port = broker.http_url.rsplit(":", 1)[1]
        status, _h, _b = request(broker, "POST", "/faults/clear", {}, headers={"origin": f"http://127.0.0.1:{port}"})
        assert status == 303 and broker.broker.faults.rules == []


# -- static files, the route table -----------------------------------------------------------


def test_the_stylesheet_and_the_script_are_served_from_the_package(broker: BrokerThread) -> None:
    status, headers, body = request(broker, "GET", "/static/console.css")
    assert (status, headers["content-type"]) == (200, "text/css; charset=utf-8") and "focus-visible" in body
    status, headers, body = request(broker, "GET", "/static/console.js")
    assert (status, headers["content-type"]) == (200, "text/javascript; charset=utf-8") and "data-live" in body
    for name in ("missing.css", "..%2Fhtml.py", "__init__.py", ".hidden"):
        assert request(broker, "GET", f"/static/{name}")[0] == 404, name


def test_no_page_loads_anything_from_another_host(broker: BrokerThread) -> None:
    for path in ("/", "/topics", "/topics/orders", "/topics/orders/partitions/0", "/groups", "/groups/billing",
                 "/transactions", "/trace", "/faults"):
        page = get(broker, path)
        assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page, path
        assert tables(page), path
