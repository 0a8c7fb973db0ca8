"""The console in a real browser: Debian's headless Chromium loads the views against a running
broker and the test reads what a person would see (the DOM after the page's script ran).

A handful of launches (``chromium --headless --dump-dom``), one per view that matters: the
lag of a group, the leader of a partition, a produced message's value, the open transaction;
the script's live update has run once by the time the DOM is read. Chromium missing is a
failure that says what to install, not a skip: CI installs it (.ci/run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

import kafkalite
from kafkalite.testing.thread import BrokerThread
from tests.console.pages import rows, text_of


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("the console's browser tests need Chromium: install Debian's package "
                "(apt-get install chromium), as .ci/run does")


def rendered(url: str) -> str:
    """The DOM of *url* after its scripts ran for 3 s of the browser's virtual time."""
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--virtual-time-budget=3000", "--dump-dom", url],
        capture_output=True, text=True, timeout=60, env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerThread]:
    with kafkalite.run_in_thread(http_port=0, num_partitions=2) as running:
        running.create_topic("payments", 2)
        running.produce_batch("payments", [(f"p{i}", f"payment {i}") for i in range(12)], partition=1)
        running.produce("payments", "refund of <b>42</b> EUR", key="r1", partition=1)
        consumer = Consumer({"bootstrap.servers": running.bootstrap_servers, "group.id": "ledger"})
        consumer.commit(offsets=[TopicPartition("payments", 1, 5)], asynchronous=False)
        consumer.close()
        txn = Producer({"bootstrap.servers": running.bootstrap_servers, "transactional.id": "payments-txn"})
        txn.init_transactions()
        txn.begin_transaction()
        txn.produce("payments", b"pending", partition=0)
        txn.flush()
        try:
            yield running
        finally:
            txn.abort_transaction()


def test_the_group_page_shows_the_lag_a_person_would_read(broker: BrokerThread) -> None:
    dom = rendered(broker.http_url + "/groups/ledger")
    assert text_of(dom, "total-lag") == "8"  # 13 records, committed 5
    [row] = rows(dom, "offsets")
    assert (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"], row["LAG"]) == ("5", "13", "8")
    # The live-update script ran: it put its status line on the page and refreshed once.
    assert text_of(dom, "live-status").startswith("live · updated")


def test_the_topic_page_shows_each_partition_s_leader_and_offsets(broker: BrokerThread) -> None:
    dom = rendered(broker.http_url + "/topics/payments")
    parts = rows(dom, "partitions")
    assert [(p["partition"], p["leader"], p["ISR"], p["high watermark"]) for p in parts] == [
        ("0", "0", "0", "1"), ("1", "0", "0", "13"),
    ]
    assert parts[0]["last stable"] == "0"  # the open transaction holds it back


def test_the_message_browser_shows_a_produced_message_s_value(broker: BrokerThread) -> None:
    dom = rendered(broker.http_url + "/topics/payments/partitions/1?offset=10&limit=5")
    shown = rows(dom, "messages")
    assert [(m["offset"], m["key"], m["value"]) for m in shown] == [
        ("10", "p10", "payment 10"), ("11", "p11", "payment 11"), ("12", "r1", "refund of <b>42</b> EUR"),
    ]
    # Escaped by the server, the value reads as it was produced; unescaped, the browser would
    # have made a <b> element of it and the cell would read "refund of 42 EUR".


def test_the_transactions_and_overview_pages_show_the_transaction_and_the_broker(broker: BrokerThread) -> None:
    [txn] = rows(rendered(broker.http_url + "/transactions"), "transactions")
    assert (txn["transactional id"], txn["state"], txn["partitions"]) == ("payments-txn", "Ongoing", "payments-0")
    [node] = rows(rendered(broker.http_url + "/"), "nodes")
    assert (node["host:port"], node["status"], node["role"]) == (f"127.0.0.1:{broker.port}", "live", "controller")


def test_the_live_script_swaps_the_live_parts_only_and_keeps_the_rest() -> None:
    """console.js against a stand-in server whose every answer counts up: after the script's
    refreshes the live part shows a later count than the part that is not live."""
    import http.server
    import threading

    from kafkalite.console import static_file

    script = static_file("console.js")
    assert script is not None
    served = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/static/console.js":
                body, kind = script, "text/javascript"
            else:
                served[0] += 1
                body = (f'<!DOCTYPE html><html><head><script src="/static/console.js" defer></script></head>'
                        f'<body><main id="main"><h1>t</h1><p id="still">{served[0]}</p>'
                        f'<p id="count" data-live>{served[0]}</p></main></body></html>').encode()
                kind = "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dom = rendered(f"http://127.0.0.1:{server.server_address[1]}/page")
    finally:
        server.shutdown()
        server.server_close()
    assert text_of(dom, "still") == "1"
    assert int(text_of(dom, "count")) > 1
    assert text_of(dom, "live-status").startswith("live · updated")
