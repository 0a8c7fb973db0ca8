"""The dispatcher's request observers, and the compat run's journal built on them
(compat_tests/journal.py): the broker's side writes one line per request, the test side one
line per compat test."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from compat_tests import journal
from kafkalite.server.dispatch import REQUEST_OBSERVERS
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.metadata import MetadataRequest

from .conftest import Client

pytest_plugins = ["pytester"]


@pytest.fixture
def observed() -> Iterator[list[tuple[Any, Any]]]:
    seen: list[tuple[Any, Any]] = []

    def observe(ctx: Any, request: Any) -> None:
        seen.append((ctx, request))

    REQUEST_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        REQUEST_OBSERVERS.remove(observe)


async def test_an_observer_sees_each_served_request_with_its_header_and_body(client: Client, observed) -> None:
    await client.request(ApiVersionsRequest(client_software_name="lib", client_software_version="1.2"), 3)
    await client.request(MetadataRequest(topics=[]), 12)
    assert [(ctx.header.api_key, ctx.header.api_version, ctx.header.client_id) for ctx, _ in observed] == [
        (18, 3, "test"), (3, 12, "test")]
    assert observed[0][1].client_software_name == "lib"
    assert observed[1][0].peer == "memory"


async def test_a_request_of_a_version_not_served_is_not_observed(client: Client, observed) -> None:
    await client.send_raw(client.encode_request(MetadataRequest(topics=[]), 99))
    assert await client.receive_frame() is None  # closed, as Kafka does
    assert observed == []


async def test_the_broker_journal_writes_a_line_per_request_and_the_software_of_api_versions_v3(client: Client) -> None:
    out = io.StringIO()
    observer = journal.RequestJournal(out)
    REQUEST_OBSERVERS.append(observer)
    try:
        await client.request(ApiVersionsRequest(client_software_name="lib", client_software_version="1.2"), 3)
        await client.request(ApiVersionsRequest(), 2)
        await client.request(MetadataRequest(topics=[]), 12)
    finally:
        REQUEST_OBSERVERS.remove(observer)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [{k: v for k, v in line.items() if k != "t"} for line in lines] == [
        {"peer": "memory", "client_id": "test", "api_key": 18, "api_version": 3, "software": ["lib", "1.2"]},
        {"peer": "memory", "client_id": "test", "api_key": 18, "api_version": 2},
        {"peer": "memory", "client_id": "test", "api_key": 3, "api_version": 12},
    ]
    assert lines[0]["t"] <= lines[1]["t"] <= lines[2]["t"]


def test_brokers_run_through_the_journal_only_when_it_is_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(journal.ENV, raising=False)
    assert journal.broker_command()[1:] == ["-m", "kafkalite"]
    monkeypatch.setenv(journal.ENV, str(tmp_path))
    assert journal.broker_command()[1:] == [str(Path(journal.__file__).resolve())]
    assert journal.folder() == tmp_path.resolve()


def test_the_test_journal_writes_each_test_with_its_outcome(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    target = tmp_path / "journal"
    target.mkdir()
    (target / "requests-main-1.jsonl").write_text("stale\n")  # an earlier run's
    pytester.makepyfile(test_scenarios="""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("setup fails")

        def test_passes():
            pass

        def test_fails():
            assert False

        def test_setup_fails(broken):
            pass

        @pytest.mark.skip(reason="a skipped scenario, for the journal to record as skipped")
        def test_skipped():
            pass
    """)
    plugin = journal.TestJournal(target, pytester.path)
    pytester.inline_run("-p", "no:cacheprovider", plugins=[plugin])
    plugin.out.close()
    assert not (target / "requests-main-1.jsonl").exists()
    lines = [json.loads(line) for line in (target / "tests-main.jsonl").read_text().splitlines()]
    assert {line["test"].split("::")[1]: line["outcome"] for line in lines} == {
        "test_passes": "passed", "test_fails": "failed", "test_setup_fails": "failed", "test_skipped": "skipped"}
    assert all(line["start"] <= line["end"] for line in lines)


def test_a_broker_run_through_the_journal_names_the_real_clients(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """End to end: the journal script runs kafkalite serve, two client libraries talk to it,
    and the matrix names each as it names itself."""
    from confluent_kafka import Producer
    from kafka import KafkaProducer

    from kafkalite.tools.compat import build_matrix, read_journal

    monkeypatch.setenv(journal.ENV, str(tmp_path))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    proc = subprocess.Popen(
        [*journal.broker_command(), "serve", "--host", "127.0.0.1", "--port", "0", "--memory"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        lines = iter(proc.stdout.readline, "")
        started = next((line for line in lines if line.startswith("kafkalite listening on ")), None)
        assert started is not None, "the journalled broker did not start"
        bootstrap = started.split()[-1]
        producer = Producer({"bootstrap.servers": bootstrap})
        producer.produce("journalled", b"v")
        assert producer.flush(10) == 0
        kp = KafkaProducer(bootstrap_servers=bootstrap)
        kp.send("journalled", b"w").get(timeout=10)
        kp.close()
    finally:
        proc.terminate()  # a graceful stop flushes the journal
        proc.communicate(timeout=10)
    [file] = tmp_path.glob("requests-main-*.jsonl")
    assert file.name == f"requests-main-{proc.pid}.jsonl"
    clients = {c["client"]: c for c in build_matrix(read_journal(tmp_path))["clients"]}
    assert set(clients) == {"confluent-kafka-python", "kafka-python"}
    for client in clients.values():
        assert client["known_by"] == "software"
        assert {a["api"] for a in client["apis"]} >= {"ApiVersions", "Metadata", "Produce"}
