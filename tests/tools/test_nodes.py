"""``kafkalite broker list | stop | start`` and ``/v1/nodes`` of a three-broker cluster."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from kafkalite.testing.thread import BrokerThread

from .conftest import Run

pytestmark = pytest.mark.kafkalite(http_port=0, brokers=3)


@pytest.fixture(autouse=True)
def every_node_runs(kafkalite_broker: BrokerThread):
    yield
    for node in (0, 1, 2):
        kafkalite_broker.start_node(node)


def _post(url: str, body: bytes | None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    if body is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_broker_stop_hard_then_start_through_the_cli(cli: Run, kafkalite_broker: BrokerThread) -> None:
    url = kafkalite_broker.http_url
    kafkalite_broker.create_topic("cli-nodes", 3, replication_factor=3)
    status, out, err = cli("broker", "stop", "1", "--hard", "--http-url", url)
    assert (status, err) == (0, "")
    assert out.startswith("stopped (hard): broker 1 ") and "stopped, leads 0 partition(s)" in out
    status, out, _ = cli("broker", "list", "--http-url", url)
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "ROLE", "ADDRESS", "RACK", "STATE", "LEADERS"]
    assert [line.split()[4] for line in lines[1:]] == ["running", "stopped", "running", "running"]
    assert lines[4].split()[:3] == ["3000", "controller", "-"]  # the controller: no client listener
    status, out, err = cli("broker", "stop", "1", "--http-url", url)
    assert status == 1 and "broker 1 is not running" in err
    status, out, _ = cli("broker", "start", "1", "--http-url", url)
    assert status == 0 and out.startswith("started: broker 1 ") and "running" in out
    rows = json.loads(cli("broker", "list", "--http-url", url, "--json")[1])
    assert [row["live"] for row in rows] == [True, True, True, True]


def test_http_stop_defaults_to_a_clean_stop_and_checks_its_body(kafkalite_broker: BrokerThread) -> None:
    url = kafkalite_broker.http_url
    assert _post(f"{url}/v1/nodes/9/stop", None)[0] == 404
    assert _post(f"{url}/v1/nodes/x/stop", None)[0] == 404
    status, answer = _post(f"{url}/v1/nodes/2/stop", b'{"clean": "yes"}')
    assert (status, answer["field"]) == (400, "clean")
    status, answer = _post(f"{url}/v1/nodes/2/stop", b'{"hard": true}')
    assert (status, answer["field"]) == (400, "hard")
    status, row = _post(f"{url}/v1/nodes/2/stop", None)
    assert (status, row["id"], row["live"]) == (200, 2, False)
    assert _post(f"{url}/v1/nodes/2/start", None)[1]["live"] is True
    assert _post(f"{url}/v1/nodes/2/start", None)[0] == 409
