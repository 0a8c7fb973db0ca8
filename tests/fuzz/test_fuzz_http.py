"""Fuzzing the HTTP control API: no request makes it answer 5xx (an unhandled error) or stop
answering; afterwards, the broker still serves Kafka clients."""

from __future__ import annotations

import http.client
import os
import random

import kafkalite

from tests.fuzz.harness import LogCollector
from tests.fuzz.http_cases import random_http_request
from tests.fuzz.wire import answers

SEED = int(os.environ.get("KAFKALITE_FUZZ_SEED", "0"))
CASES = 300


def test_fuzz_http_control_api() -> None:
    with LogCollector() as logs, kafkalite.run_in_thread(http_port=0) as broker:
        host, port = broker.info.http
        failures = []
        for case in range(CASES):
            seed = f"{SEED}:http:{case}"
            method, path, body = random_http_request(random.Random(seed))
            connection = http.client.HTTPConnection(host, port, timeout=10)
            try:
                connection.request(method, path, body=body, headers={"content-type": "application/json"})
                response = connection.getresponse()
                response.read()
                if response.status >= 500:
                    failures.append(f"seed {seed}: {method} {path[:80]} {body[:80]!r} -> {response.status}")
            finally:
                connection.close()
            health = http.client.HTTPConnection(host, port, timeout=10)
            health.request("GET", "/healthz")
            assert health.getresponse().status == 200, f"the HTTP API stopped answering after seed {seed}"
            health.close()
        assert failures == []
        assert not logs.internal_errors(), [r.getMessage() for r in logs.internal_errors()]
        clear = http.client.HTTPConnection(host, port, timeout=10)  # random fault rules may stay
        clear.request("DELETE", "/v1/faults")
        assert clear.getresponse().status == 200
        clear.close()
        assert answers(broker.bootstrap_servers)
