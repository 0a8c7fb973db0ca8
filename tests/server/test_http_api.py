"""The HTTP control API over a real socket, with the standard library's HTTP client, against
a broker started by `kafkalite.run_in_thread(http_port=0)`: every route, every 4xx."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from typing import Any, Iterator

import pytest

import kafkalite
from kafkalite.testing.thread import BrokerNotRunning, BrokerThread
from kafkalite.tools.client import Connection
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic


@pytest.fixture(scope="module")
def running() -> Iterator[BrokerThread]:
    with kafkalite.run_in_thread(http_port=0) as broker:
        yield broker


@pytest.fixture
def broker(running: BrokerThread) -> BrokerThread:
    running.reset()  # also clears fault rules and the journal, unfreezes the clock
    return running


def call(broker: BrokerThread, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """(status, headers with lower-case names, decoded JSON body or text)."""
    host, port = broker.http_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        found = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    if found.get("content-type", "").startswith("application/json"):
        return response.status, found, json.loads(payload)
    return response.status, found, payload.decode()


def ask_metadata(broker: BrokerThread, client_id: str, topics: list[str]) -> None:
    """ApiVersions, then Metadata of *topics*, as client *client_id*."""
    with Connection(broker.host, broker.port, client_id=client_id) as connection:
        connection.negotiate()
        connection.request(MetadataRequest(topics=[MetadataRequestTopic(name=t) for t in topics],
                                           allow_auto_topic_creation=False))


def rules(broker: BrokerThread) -> list[dict[str, Any]]:
    status, _h, body = call(broker, "GET", "/v1/faults")
    assert status == 200
    return body


# -- health ------------------------------------------------------------------------------


def test_healthz_and_readyz_answer_ok_while_the_broker_accepts(broker: BrokerThread) -> None:
    assert call(broker, "GET", "/healthz")[::2] == (200, {"status": "ok"})
    assert call(broker, "GET", "/readyz")[::2] == (200, {"status": "ready"})


def test_http_url_is_the_loopback_address_and_port_of_the_api(broker: BrokerThread) -> None:
    assert broker.http_url == f"http://127.0.0.1:{broker.info.http_port}"
    assert broker.info.http_port not in (0, broker.port)


# -- fault rules -------------------------------------------------------------------------


def test_post_faults_answers_201_with_the_rule_and_its_location(broker: BrokerThread) -> None:
    spec = {"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "topic": "orders", "times": 3}
    status, headers, rule = call(broker, "POST", "/v1/faults", spec)
    assert status == 201
    assert rule == {**spec, "id": rule["id"], "matched": 0, "fired": 0}
    assert headers["location"] == f"/v1/faults/{rule['id']}"
    assert call(broker, "GET", f"/v1/faults/{rule['id']}")[::2] == (200, rule)
    assert rules(broker) == [rule]


def test_a_rule_added_over_http_is_the_engine_s_rule_with_live_counters(broker: BrokerThread) -> None:
    _s, _h, rule = call(broker, "POST", "/v1/faults", {"api": "Metadata", "error": "BROKER_NOT_AVAILABLE"})
    engine_rule = broker.call(lambda: broker.broker.faults.get(rule["id"]))
    engine_rule.matched, engine_rule.fired = 2, 1  # as the dispatcher counts them
    assert call(broker, "GET", f"/v1/faults/{rule['id']}")[2] | {} == {**rule, "matched": 2, "fired": 1}


def test_rules_list_oldest_first_and_delete_one_answers_its_final_counters(broker: BrokerThread) -> None:
    first = call(broker, "POST", "/v1/faults", {"api": "Fetch", "delay_ms": 50})[2]
    second = call(broker, "POST", "/v1/faults", {"api": 3, "drop": True, "always": True})[2]
    assert [r["id"] for r in rules(broker)] == [first["id"], second["id"]]
    assert call(broker, "DELETE", f"/v1/faults/{first['id']}")[::2] == (200, first)
    assert rules(broker) == [second]
    assert call(broker, "DELETE", f"/v1/faults/{first['id']}")[0] == 404


def test_delete_faults_removes_every_rule_and_says_how_many(broker: BrokerThread) -> None:
    for api in ("Produce", "Fetch"):
        call(broker, "POST", "/v1/faults", {"api": api, "error": "REQUEST_TIMED_OUT"})
    assert call(broker, "DELETE", "/v1/faults")[::2] == (200, {"removed": 2})
    assert rules(broker) == []


@pytest.mark.parametrize(("spec", "field"), [
    ({"api": "Prodce", "error": "NOT_LEADER_OR_FOLLOWER"}, "api"),
    ({"api": "Produce", "error": "NOT_A_KAFKA_ERROR"}, "error"),
    ({"api": "Produce", "topic_pattern": "orders[", "error": "UNKNOWN_SERVER_ERROR"}, "topic_pattern"),
    ({"api": "Produce", "error": "REQUEST_TIMED_OUT", "times": "3"}, "times"),
    ({"api": "Produce", "error": "REQUEST_TIMED_OUT", "probability": 2}, "probability"),
    ({"api": "Produce", "error": "REQUEST_TIMED_OUT", "colour": "red"}, "colour"),
])
def test_a_bad_spec_answers_400_naming_the_field_and_adds_nothing(
        broker: BrokerThread, spec: dict[str, Any], field: str) -> None:
    status, _h, body = call(broker, "POST", "/v1/faults", spec)
    assert status == 400
    assert body["field"] == field and body["error"]
    assert rules(broker) == []


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"api": "Produce", "error": ', "not valid JSON"),
    (b'["api", "Produce"]', "must be a JSON object, not an array"),
    (b'{"api": "Produce", "delay_ms": NaN}', "not valid JSON"),
    (b"", "a JSON body is required"),
])
def test_a_body_that_is_not_a_json_object_answers_400_naming_the_body(
        broker: BrokerThread, raw: bytes, message: str) -> None:
    status, _h, body = call(broker, "POST", "/v1/faults", raw=raw)
    assert status == 400
    assert body["field"] == "body" and message in body["error"]
    assert rules(broker) == []


@pytest.mark.parametrize("rule_id", ["999", "abc", "-1"])
def test_an_unknown_rule_id_answers_404(broker: BrokerThread, rule_id: str) -> None:
    for method in ("GET", "DELETE"):
        status, _h, body = call(broker, method, f"/v1/faults/{rule_id}")
        assert (status, body) == (404, {"error": f"no fault rule {rule_id}", "field": "id"})


# -- routing -----------------------------------------------------------------------------


def test_a_wrong_method_answers_405_with_the_allowed_ones(broker: BrokerThread) -> None:
    status, headers, body = call(broker, "PUT", "/v1/faults")
    assert status == 405
    assert headers["allow"] == "POST, GET, DELETE"
    assert body == {"error": "PUT is not allowed on /v1/faults: use POST, GET, DELETE", "field": None}
    assert call(broker, "GET", "/v1/clock/advance")[0] == 405


def test_an_unknown_path_answers_404(broker: BrokerThread) -> None:
    assert call(broker, "GET", "/v2/faults")[::2] == (404, {"error": "no route for /v2/faults", "field": None})
    assert call(broker, "GET", "/v1/faults/")[0] == 404


def test_a_body_over_a_mebibyte_is_refused_with_413(broker: BrokerThread) -> None:
    # Refused on its declared size, unread: the request's headers alone get the answer (sending
    # the whole body raced the answer and the close, a broken pipe now and then).
    host, port = broker.http_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/faults HTTP/1.1\r\nhost: kafkalite\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % (1024 * 1024 + 1))
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = json.loads(response.read())
    assert response.status == 413 and body["field"] == "body"


# -- journal -----------------------------------------------------------------------------


def test_journal_answers_the_recorded_requests_filtered_by_api_and_client(broker: BrokerThread) -> None:
    broker.create_topic("orders")
    ask_metadata(broker, "journal-test", ["orders"])
    status, _h, entries = call(broker, "GET", "/v1/journal?api=Metadata&client_id=journal-test")
    assert status == 200 and entries
    assert {(e["api"], e["client_id"]) for e in entries} == {("Metadata", "journal-test")}
    assert {"seq", "time_ms", "api_version", "correlation_id", "peer", "node_id", "request", "response"} <= set(entries[0])
    assert entries[0]["fault"] is None  # no rule fired on it
    assert call(broker, "GET", "/v1/journal?api=Metadata&client_id=journal-test&limit=1")[2] == entries[-1:]
    assert call(broker, "GET", "/v1/journal?api=Produce&client_id=journal-test")[2] == []
    assert call(broker, "GET", "/v1/journal?api=3&client_id=journal-test")[2] == entries  # a key works too


def test_a_journal_entry_names_the_fault_rule_that_fired_on_it(broker: BrokerThread) -> None:
    broker.create_topic("alpha")
    rule = call(broker, "POST", "/v1/faults", {"api": "Metadata", "client_id": "faulty", "error": "UNKNOWN_SERVER_ERROR"})[2]
    ask_metadata(broker, "faulty", ["alpha"])
    (entry,) = call(broker, "GET", "/v1/journal?api=Metadata&client_id=faulty")[2]
    assert entry["fault"] == rule["id"] and entry["errors"] == [-1]
    assert call(broker, "GET", f"/v1/faults/{rule['id']}")[2]["fired"] == 1


def test_journal_time_window_and_topic_filters_apply(broker: BrokerThread) -> None:
    ask_metadata(broker, "window", ["alpha"])
    entries = call(broker, "GET", "/v1/journal?client_id=window")[2]
    last = entries[-1]["time_ms"]
    assert call(broker, "GET", f"/v1/journal?client_id=window&since_ms={last + 1}")[2] == []
    assert call(broker, "GET", f"/v1/journal?client_id=window&until_ms={last}")[2] == entries
    assert call(broker, "GET", "/v1/journal?client_id=window&topic=beta")[2] == []


@pytest.mark.parametrize(("query", "field"), [
    ("api=Prodce", "api"),
    ("partition=first", "partition"),
    ("limit=-1", "limit"),
    ("since_ms=yesterday", "since_ms"),
    ("colour=red", "colour"),
    ("topic=a&topic=b", "topic"),
])
def test_a_bad_journal_query_answers_400_naming_the_parameter(broker: BrokerThread, query: str, field: str) -> None:
    status, _h, body = call(broker, "GET", f"/v1/journal?{query}")
    assert status == 400 and body["field"] == field


def test_journal_answers_409_when_the_journal_is_off() -> None:
    with kafkalite.run_in_thread(http_port=0, journal_size=0) as broker:
        status, _h, body = call(broker, "GET", "/v1/journal")
    assert status == 409 and "journal is off" in body["error"]


# -- clock and reset ---------------------------------------------------------------------


def test_clock_advance_moves_the_broker_clock_and_answers_it(broker: BrokerThread) -> None:
    before = call(broker, "GET", "/v1/clock")[2]
    status, _h, after = call(broker, "POST", "/v1/clock/advance", {"seconds": 30})
    assert status == 200
    assert after["offset_s"] == pytest.approx(before["offset_s"] + 30)
    assert after["now_ms"] >= before["now_ms"] + 30_000 and after["frozen"] is False
    assert broker.call(lambda: broker.broker.clock.offset_s) == after["offset_s"]


@pytest.mark.parametrize(("body", "message"), [
    ({"seconds": -1}, "time never goes back"),
    ({"seconds": "5"}, "must be a number, not a string"),
    ({"seconds": True}, "must be a number, not a boolean"),
    ({}, "seconds is required"),
])
def test_a_bad_clock_step_answers_400_and_leaves_the_clock(broker: BrokerThread, body: dict[str, Any], message: str) -> None:
    offset = call(broker, "GET", "/v1/clock")[2]["offset_s"]
    status, _h, answer = call(broker, "POST", "/v1/clock/advance", body)
    assert status == 400 and answer["field"] == "seconds" and message in answer["error"]
    assert call(broker, "GET", "/v1/clock")[2]["offset_s"] == offset


def test_freeze_stops_the_clock_and_unfreeze_lets_it_run(broker: BrokerThread) -> None:
    frozen = call(broker, "POST", "/v1/clock/freeze")[2]
    assert frozen["frozen"] is True
    assert call(broker, "GET", "/v1/clock")[2]["now_ms"] == frozen["now_ms"]
    advanced = call(broker, "POST", "/v1/clock/advance", {"seconds": 2})[2]
    assert advanced["now_ms"] == frozen["now_ms"] + 2000  # only advance moves it
    assert call(broker, "POST", "/v1/clock/unfreeze")[2]["frozen"] is False


def test_reset_empties_the_broker_rules_and_unfreezes_the_clock(broker: BrokerThread) -> None:
    broker.create_topic("orders")
    call(broker, "POST", "/v1/faults", {"api": "Produce", "error": "REQUEST_TIMED_OUT"})
    call(broker, "POST", "/v1/clock/freeze")
    status, _h, body = call(broker, "POST", "/v1/reset")
    assert status == 200 and body["topics_deleted"] == 1
    assert body["clock"]["frozen"] is False
    assert broker.topics() == {} and rules(broker) == []


# -- metrics -----------------------------------------------------------------------------


def test_metrics_are_prometheus_text(broker: BrokerThread) -> None:
    ask_metadata(broker, "metrics-test", [])
    status, headers, text = call(broker, "GET", "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE" in text and "Metadata" in text


# -- lifetime ----------------------------------------------------------------------------


def test_without_http_port_the_api_is_off_and_hypercorn_never_loaded() -> None:
    script = (
        "import sys, kafkalite\n"
        "with kafkalite.run_in_thread() as broker:\n"
        "    try:\n"
        "        broker.http_url\n"
        "    except RuntimeError as exc:\n"
        "        print('off:', exc)\n"
        "print('hypercorn loaded:', any(m.startswith('hypercorn') for m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "off: the HTTP API is off" in result.stdout
    assert "hypercorn loaded: False" in result.stdout


def test_the_api_stops_with_the_broker() -> None:
    broker = kafkalite.run_in_thread(http_port=0)
    port = broker.info.http_port
    assert call(broker, "GET", "/healthz")[0] == 200
    broker.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_busy_http_port_stops_the_start_naming_the_http_api() -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        with pytest.raises(BrokerNotRunning, match="for the HTTP API"):
            kafkalite.run_in_thread(http_port=busy.getsockname()[1])
    finally:
        busy.close()


def test_http_host_needs_http_port() -> None:
    with pytest.raises(ValueError, match="http_host is only used with the HTTP API on"):
        kafkalite.BrokerConfig(http_host="127.0.0.1")


@pytest.mark.kafkalite(http_port=0)
def test_the_fixture_takes_http_port_from_the_marker(kafkalite_broker: BrokerThread) -> None:
    assert call(kafkalite_broker, "GET", "/healthz")[0] == 200


def test_serve_with_a_busy_http_port_exits_1_naming_the_http_address() -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "kafkalite", "serve", "--memory", "--host", "127.0.0.1", "--port", "0",
             "--http-port", str(port)],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        busy.close()
    assert result.returncode == 1
    assert f"kafkalite: cannot listen on 127.0.0.1:{port} for the HTTP API: Address already in use" in result.stderr
