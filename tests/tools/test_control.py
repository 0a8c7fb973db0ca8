"""``kafkalite fault | journal | clock`` against a running broker's HTTP API."""

from __future__ import annotations

import argparse
import json

import pytest

from kafkalite.broker.faults import SPEC_KEYS
from kafkalite.testing.thread import BrokerThread
from kafkalite.tools import control
from kafkalite.tools.client import Connection

from .conftest import Run

pytestmark = pytest.mark.kafkalite(http_port=0)


def test_fault_add_prints_the_rule_and_list_shows_its_counters(cli: Run, kafkalite_broker: BrokerThread) -> None:
    url = kafkalite_broker.http_url
    status, out, err = cli("fault", "add", "--http-url", url, "--api", "Produce", "--error",
                           "NOT_LEADER_OR_FOLLOWER", "--topic", "orders", "--times", "3")
    assert (status, err) == (0, "")
    assert out == "rule 1: api=Produce topic=orders error=NOT_LEADER_OR_FOLLOWER times=3 (matched 0, fired 0)\n"
    rule = kafkalite_broker.call(lambda: kafkalite_broker.broker.faults.get(1))
    rule.matched = rule.fired = 2
    assert cli("fault", "list", "--http-url", url)[1].endswith("(matched 2, fired 2)\n")
    status, out, _ = cli("fault", "list", "--http-url", url, "--json")
    assert json.loads(out) == [{"id": 1, "api": "Produce", "topic": "orders", "error": "NOT_LEADER_OR_FOLLOWER",
                                "times": 3, "matched": 2, "fired": 2}]


def test_fault_add_turns_digits_into_keys_and_codes_and_flags_into_true(cli: Run, kafkalite_broker: BrokerThread) -> None:
    status, out, _ = cli("fault", "add", "--http-url", kafkalite_broker.http_url, "--json", "--api", "0",
                         "--error", "6", "--versions", "3-9", "--always", "--apply", "--delay-ms", "20")
    assert status == 0
    assert json.loads(out) | {} == {"id": 1, "api": 0, "error": 6, "versions": "3-9", "always": True, "apply": True,
                                    "delay_ms": 20, "matched": 0, "fired": 0}


def test_fault_add_with_a_bad_value_prints_the_api_s_error_and_exits_1(cli: Run, kafkalite_broker: BrokerThread) -> None:
    status, out, err = cli("fault", "add", "--http-url", kafkalite_broker.http_url, "--api", "Prodce")
    assert (status, out) == (1, "")
    assert err == "kafkalite fault: error: api: unknown API 'Prodce'\n"
    assert kafkalite_broker.call(lambda: kafkalite_broker.broker.faults.rules) == []


def test_fault_remove_and_clear(cli: Run, kafkalite_broker: BrokerThread) -> None:
    url = kafkalite_broker.http_url
    for api in ("Produce", "Fetch", "Metadata"):
        cli("fault", "add", "--http-url", url, "--api", api, "--drop")
    assert cli("fault", "remove", "2", "--http-url", url)[:2] == (0, "removed rule 2: api=Fetch drop=True (matched 0, fired 0)\n")
    status, _out, err = cli("fault", "remove", "2", "--http-url", url)
    assert (status, err) == (1, "kafkalite fault: error: no fault rule 2 (field id)\n")
    assert cli("fault", "clear", "--http-url", url)[:2] == (0, "removed 2 rule(s)\n")


def test_a_journal_line_names_the_errors_and_the_fault() -> None:
    line = control.describe_entry({"seq": 7, "time_ms": 0, "api": "Produce", "api_version": 9, "correlation_id": 3,
                                   "client_id": "app", "peer": "127.0.0.1:5000", "node_id": 0, "elapsed_ms": 0.25,
                                   "errors": [6], "fault": 2})
    assert line == ("1970-01-01T00:00:00.000Z #7 Produce v9 correlation_id=3 client_id=app peer=127.0.0.1:5000 "
                    "node=0 (0.2 ms) errors=NOT_LEADER_OR_FOLLOWER(6) fault=rule 2")


def test_every_spec_key_is_an_option_of_fault_add() -> None:
    assert list(control._SPEC_OPTIONS) == list(SPEC_KEYS)


def test_journal_prints_a_line_per_request_and_json_on_request(cli: Run, kafkalite_broker: BrokerThread) -> None:
    with Connection(kafkalite_broker.host, kafkalite_broker.port, client_id="journal-cli") as connection:
        connection.negotiate()
    url = kafkalite_broker.http_url
    status, out, _ = cli("journal", "--http-url", url, "--client-id", "journal-cli")
    assert status == 0
    (line,) = out.splitlines()
    assert " #1 ApiVersions v3 correlation_id=" in line and "client_id=journal-cli" in line
    assert f"node={kafkalite_broker.broker.config.node_id}" in line and " ms)" in line
    status, out, _ = cli("journal", "--http-url", url, "--client-id", "journal-cli", "--api", "ApiVersions",
                         "--limit", "5", "--json")
    (entry,) = json.loads(out)
    assert entry["api"] == "ApiVersions" and entry["client_id"] == "journal-cli"
    assert cli("journal", "--http-url", url, "--api", "Nope")[0] == 1


def test_clock_show_advance_freeze_unfreeze(cli: Run, kafkalite_broker: BrokerThread) -> None:
    url = kafkalite_broker.http_url
    status, out, _ = cli("clock", "advance", "45", "--http-url", url)
    assert status == 0 and out.endswith(", 45.000 s ahead of real time, running\n")
    assert cli("clock", "--http-url", url, "freeze")[1].endswith(", frozen\n")
    assert kafkalite_broker.call(lambda: kafkalite_broker.broker.clock.frozen)
    assert cli("clock", "show", "--http-url", url)[1].endswith(", frozen\n")
    assert cli("clock", "unfreeze", "--http-url", url)[1].endswith(", running\n")
    status, _out, err = cli("clock", "advance", "-1", "--http-url", url)
    assert (status, err) == (1, "kafkalite clock: error: seconds must be 0 or more (time never goes back), not -1\n")


def test_the_url_comes_from_the_environment(cli: Run, kafkalite_broker: BrokerThread,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKALITE_HTTP_URL", kafkalite_broker.http_url + "/")
    status, out, _ = cli("clock", "show")
    assert status == 0 and out.startswith("broker clock ")


def test_without_a_url_the_default_port_on_the_bootstrap_host_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKALITE_HTTP_URL", raising=False)
    monkeypatch.delenv("KAFKALITE_BOOTSTRAP_SERVER", raising=False)
    args = argparse.Namespace(http_url=None, bootstrap_server=None)
    assert control.http_url(args) == "http://localhost:8092"
    args.bootstrap_server = "kafka.example:19092"
    assert control.http_url(args) == "http://kafka.example:8092"
    monkeypatch.setenv("KAFKALITE_BOOTSTRAP_SERVER", "ci-host:9092")
    assert control.http_url(argparse.Namespace(http_url=None, bootstrap_server=None)) == "http://ci-host:8092"


@pytest.mark.kafkalite(http_port=None)
def test_an_unreachable_api_says_how_to_turn_it_on(cli: Run, kafkalite_broker: BrokerThread) -> None:
    status, out, err = cli("fault", "list", "--http-url", "http://127.0.0.1:1")
    assert (status, out) == (1, "")
    assert "cannot reach the kafkalite HTTP API at http://127.0.0.1:1" in err and "--http-port" in err
