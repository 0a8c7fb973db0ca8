"""The compat run's journal: which client sent which API and version, in which test.

Off unless KAFKALITE_COMPAT_JOURNAL names a folder, and only for a run against kafkalite
(what the reference Kafka receives says nothing about kafkalite). Then:

- every kafkalite broker the compat tests start (`conftest.start_broker`) runs through this
  file as a script: it adds an observer to kafkalite's dispatch
  (``kafkalite.server.dispatch.REQUEST_OBSERVERS``) that writes one JSON line per request,
  ``{"t", "peer", "client_id", "api_key", "api_version"}``, plus ``"software": [name,
  version]`` for ApiVersions v3+ (KIP-511: the client library names itself), to
  ``requests-WORKER-PID.jsonl`` (flushed every half second and at exit: a broker killed
  with -9 loses its last half second);
- the test process writes one line per compat test, ``{"test", "start", "end", "outcome"}``,
  to ``tests-WORKER.jsonl``.

WORKER is pytest-xdist's worker id (``main`` without xdist), which the brokers inherit, so a
broker's requests are matched with the tests of the worker that started it, by time: tests
run one at a time in a worker. ``kafkalite compat --journal FOLDER`` (kafkalite.tools.compat)
turns the files into the compatibility matrix. Nothing here names a test file: a new compat
test is journalled as soon as it exists.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

ENV = "KAFKALITE_COMPAT_JOURNAL"
#: ApiVersions' api key; from v3 its body names the client software (KIP-511).
API_VERSIONS = 18


def folder() -> Path | None:
    """The journal folder named by KAFKALITE_COMPAT_JOURNAL, or None when journalling is off."""
    value = os.environ.get(ENV, "").strip()
    return Path(value).resolve() if value else None


def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER") or "main"


def broker_command() -> list[str]:
    """How `conftest.start_broker` runs kafkalite: through this script when journalling."""
    if folder() is None:
        return [sys.executable, "-m", "kafkalite"]
    return [sys.executable, str(Path(__file__).resolve())]


# -- the broker's side ----------------------------------------------------------------------


class RequestJournal:
    """The observer: one JSON line per request served, flushed at most every half second
    (and at exit) so that journalling costs the broker little."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._flushed = time.monotonic()

    def __call__(self, ctx: Any, request: Any) -> None:
        header = ctx.header
        entry: dict[str, Any] = {
            "t": round(time.time(), 4),
            "peer": ctx.peer,
            "client_id": header.client_id,
            "api_key": header.api_key,
            "api_version": header.api_version,
        }
        if header.api_key == API_VERSIONS and header.api_version >= 3:
            entry["software"] = [request.client_software_name, request.client_software_version]
        self.out.write(json.dumps(entry, separators=(",", ":")) + "\n")
        now = time.monotonic()
        if now - self._flushed > 0.5:
            self.out.flush()
            self._flushed = now


def run_broker(argv: list[str]) -> int:
    """``kafkalite ARGV`` with every request journalled (the journal folder must be set)."""
    from kafkalite.cli import main
    from kafkalite.server.dispatch import REQUEST_OBSERVERS

    target = folder()
    assert target is not None, f"{ENV} is not set"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / f"requests-{worker()}-{os.getpid()}.jsonl", "a", encoding="utf-8") as out:
        REQUEST_OBSERVERS.append(RequestJournal(out))
        return main(argv)


# -- the test process's side ----------------------------------------------------------------


class TestJournal:
    """A pytest plugin: each compat test's start, end and outcome, one JSON line each."""

    def __init__(self, target: Path, under: Path) -> None:
        self.under = under
        self._compat: set[str] = set()
        target.mkdir(parents=True, exist_ok=True)
        # A rerun into the same folder replaces this worker's files (a broker starts later).
        for stale in [*target.glob(f"requests-{worker()}-*.jsonl"), *target.glob(f"tests-{worker()}.jsonl")]:
            stale.unlink()
        self.out = open(target / f"tests-{worker()}.jsonl", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._started: dict[str, float] = {}
        self._outcome: dict[str, str] = {}

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        self._compat = {item.nodeid for item in items if self.under in item.path.parents}

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if nodeid not in self._compat:
            return  # tests/ in the same run
        self._started[nodeid] = time.time()
        self._outcome[nodeid] = ""

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.nodeid not in self._outcome:
            return
        if report.passed:
            if report.when == "call" and not self._outcome[report.nodeid]:
                self._outcome[report.nodeid] = "passed"
        elif report.skipped:
            self._outcome[report.nodeid] = "skipped"
        else:  # a failure in setup or teardown fails the scenario too
            self._outcome[report.nodeid] = "failed"

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        started = self._started.pop(nodeid, None)
        outcome = self._outcome.pop(nodeid, "")
        if started is None:
            return
        entry = {"test": nodeid, "start": round(started, 4), "end": round(time.time(), 4), "outcome": outcome}
        self.out.write(json.dumps(entry) + "\n")

    def pytest_unconfigure(self) -> None:
        self.out.close()


if __name__ == "__main__":
    # Run as a script, this folder leads sys.path: keep its modules from shadowing the broker's.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    sys.exit(run_broker(sys.argv[1:]))
