"""The CI service container: the Dockerfile (read, since this machine builds no images), the
environment variables that configure it, its entrypoint command and its health check."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kafkalite.cli import build_parser, config_from_args
from kafkalite.tools.client import Client

from .test_shutdown import Broker

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.setdefault(word.upper(), []).append(rest.strip())
    return found


def test_dockerfile_is_small_non_root_with_a_volume_a_port_and_a_health_check() -> None:
    i = instructions()
    assert re.fullmatch(r"python:3\.\d+-slim", i["FROM"][0])
    assert i["USER"] == ["kafkalite"]
    assert i["EXPOSE"] == ["9092 8092 8081"]  # Kafka, the HTTP control API, the Schema Registry
    assert i["VOLUME"] == ['["/var/lib/kafkalite/data"]']
    env = " ".join(i["ENV"])
    assert "KAFKALITE_HOST=0.0.0.0" in env and "KAFKALITE_DATA_DIR=/var/lib/kafkalite/data" in env
    assert "KAFKALITE_HTTP_PORT=8092" in env and "KAFKALITE_JOURNAL_SIZE=10000" in env
    assert "KAFKALITE_SCHEMA_REGISTRY_PORT=8081" in env
    assert 'pip install ".[registry]"' in DOCKERFILE  # the registry's parsers
    assert "kafkalite health" in i["HEALTHCHECK"][0] and "--bootstrap-server" in i["HEALTHCHECK"][0]
    assert i["ENTRYPOINT"] == ['["kafkalite"]'] and i["CMD"] == ['["serve"]']
    ignored = (ROOT / ".dockerignore").read_text()
    assert "!kafkalite/" in ignored and "\n*\n" in "\n" + ignored


ENVIRONMENT = {
    "KAFKALITE_HOST": ("0.0.0.0", "host", "0.0.0.0"),
    "KAFKALITE_PORT": ("19092", "port", 19092),
    "KAFKALITE_ADVERTISED_HOST": ("kafka", "advertised_host", "kafka"),
    "KAFKALITE_ADVERTISED_PORT": ("29092", "advertised_port", 29092),
    "KAFKALITE_DATA_DIR": ("/data", "data_dir", Path("/data")),
    "KAFKALITE_MEMORY": ("1", "memory", True),
    "KAFKALITE_FSYNC": ("true", "fsync", True),
    "KAFKALITE_NODE_ID": ("3", "node_id", 3),
    "KAFKALITE_CONTROLLERS": ("3", "controllers", 3),
    "KAFKALITE_REQUEST_TIMEOUT_MS": ("5000", "request_timeout_ms", 5000),
    "KAFKALITE_CLUSTER_ID": ("ci-cluster", "cluster_id", "ci-cluster"),
    "KAFKALITE_PARTITIONS": ("4", "num_partitions", 4),
    "KAFKALITE_NO_AUTO_CREATE_TOPICS": ("yes", "auto_create_topics", False),
    "KAFKALITE_OFFSETS_TOPIC_PARTITIONS": ("5", "offsets_topic_partitions", 5),
    "KAFKALITE_GROUP_INITIAL_REBALANCE_DELAY_MS": ("3000", "group_initial_rebalance_delay_ms", 3000),
    "KAFKALITE_GROUP_INITIAL_REBALANCE_DELAY_MAX_MS": ("5000", "group_initial_rebalance_delay_max_ms", 5000),
    "KAFKALITE_GROUP_MIN_SESSION_TIMEOUT_MS": ("1000", "group_min_session_timeout_ms", 1000),
    "KAFKALITE_GROUP_MAX_SESSION_TIMEOUT_MS": ("60000", "group_max_session_timeout_ms", 60000),
    "KAFKALITE_OFFSETS_RETENTION_MINUTES": ("60", "offsets_retention_minutes", 60),
    "KAFKALITE_TRANSACTION_STATE_PARTITIONS": ("7", "transaction_state_partitions", 7),
    "KAFKALITE_TRANSACTION_MAX_TIMEOUT_MS": ("60000", "transaction_max_timeout_ms", 60000),
    "KAFKALITE_TRANSACTION_ABORT_TIMED_OUT_INTERVAL_MS": ("1000", "transaction_abort_timed_out_interval_ms", 1000),
    "KAFKALITE_TRACE_FILE": ("/tmp/t.jsonl", "trace_file", Path("/tmp/t.jsonl")),
    "KAFKALITE_HTTP_PORT": ("8092", "http_port", 8092),
    "KAFKALITE_HTTP_HOST": ("127.0.0.1", "http_host", "127.0.0.1"),
    "KAFKALITE_SCHEMA_REGISTRY_PORT": ("8081", "schema_registry_port", 8081),
    "KAFKALITE_JOURNAL_SIZE": ("500", "journal_size", 500),
}


def test_every_serve_option_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (raw, _field, _value) in ENVIRONMENT.items():
        monkeypatch.setenv(name, raw)
    config = config_from_args(build_parser().parse_args(["serve"]))
    assert {name: getattr(config, field) for name, (_raw, field, _v) in ENVIRONMENT.items()} == {
        name: value for name, (_raw, _field, value) in ENVIRONMENT.items()
    }
    assert config.trace  # a trace file implies tracing
    # Flags win over the environment.
    assert config_from_args(build_parser().parse_args(["serve", "--port", "1234"])).port == 1234


@pytest.mark.parametrize(("name", "raw"), [("KAFKALITE_MEMORY", "ture"), ("KAFKALITE_PORT", "90 92"),
                                           ("KAFKALITE_LOG_LEVEL", "verbose")])
def test_a_malformed_variable_stops_with_its_name(monkeypatch: pytest.MonkeyPatch, name: str, raw: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(SystemExit, match=name):
        build_parser()


def test_the_container_command_serves_advertises_and_passes_its_health_check(tmp_path: Path) -> None:
    # What the image runs: `kafkalite serve` configured only through the environment.
    broker = Broker("serve", env={
        "KAFKALITE_HOST": "0.0.0.0",
        "KAFKALITE_PORT": "0",
        "KAFKALITE_ADVERTISED_HOST": "kafka.example",
        "KAFKALITE_DATA_DIR": str(tmp_path / "data"),
        "KAFKALITE_HTTP_PORT": "0",
    })
    try:
        health = subprocess.run(
            [sys.executable, "-m", "kafkalite", "health", "--bootstrap-server", f"127.0.0.1:{broker.port}"],
            capture_output=True, text=True, timeout=30,
        )
        assert health.returncode == 0, health.stderr
        assert "is healthy: ApiVersions answered" in health.stdout
        with Client(f"127.0.0.1:{broker.port}") as client:
            assert client.metadata([]).brokers[0].host == "kafka.example"  # what clients are told
        # The HTTP API is on, on every interface as the broker; its line follows the broker's.
        deadline = time.monotonic() + 5
        while not any(line.startswith("kafkalite HTTP API on ") for line in broker.lines):
            assert time.monotonic() < deadline, broker.output
            time.sleep(0.01)
        url = next(line for line in broker.lines if line.startswith("kafkalite HTTP API on ")).split()[-1]
        assert url.startswith("http://localhost:")
        port = int(url.rsplit(":", 1)[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as ready:
            assert json.loads(ready.read()) == {"status": "ready"}
        assert broker.stop(signal.SIGTERM) < 1.0
    finally:
        broker.close()
    assert broker.proc.returncode == 0, broker.output
    assert (tmp_path / "data" / "meta" / "cluster.json").exists()


def test_health_fails_without_a_kafka_broker() -> None:
    import socket
    import threading

    # Something listens, accepts and says nothing a Kafka client understands.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def answer_garbage() -> None:
        conn, _ = server.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "kafkalite", "health", "--bootstrap-server", f"127.0.0.1:{port}", "--timeout", "2"],
            capture_output=True, text=True, timeout=30,
        )
    finally:
        thread.join(5)
        server.close()
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is not healthy" in result.stderr

    closed = subprocess.run(
        [sys.executable, "-m", "kafkalite", "health", "--bootstrap-server", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=30,
    )
    assert closed.returncode == 1 and "Connection refused" in closed.stderr


def test_the_readme_table_documents_every_serve_option_and_its_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    serve = next(
        action.choices["serve"] for action in build_parser()._actions if getattr(action, "choices", None)
    )
    for action in serve._actions:
        flags = [f for f in action.option_strings if f.startswith("--")]
        if not flags or flags[0] == "--help":
            continue
        flag = flags[0]
        variable = "KAFKALITE_" + flag[2:].upper().replace("-", "_")
        assert f"`{flag}`" in readme, f"{flag} is not in the README's options table"
        # The table gives the max session timeout's variable as `..._MAX_...` beside the min's.
        shown = variable if "_MAX_SESSION" not in variable else variable.replace("_MAX_", "_MIN_")
        assert f"`{shown}" in readme, f"{variable} is not in the README's options table"
