"""Real Kafka clients against a real kafkalite process, or against Apache Kafka.

By default a kafkalite broker is started as a subprocess on 127.0.0.1 with a free port, in
memory, once per test session. Set KAFKALITE_TEST_BOOTSTRAP=host:port to run the very same
tests against any other Kafka-compatible cluster instead; ``make test-kafka`` does that with
the reference Apache Kafka of compat_tests/reference/, which is how these tests show that
kafkalite behaves like the real thing (and that their expectations are Kafka's, not ours).

Honesty about the broker under test:

- ``BROKER`` is ``"kafkalite"`` or ``"kafka"``: the behaviour a test may expect. Any external
  cluster counts as Kafka unless KAFKALITE_TEST_BROKER names it ``kafkalite...``.
- ``@pytest.mark.kafkalite_only(reason=...)``: a test of something only kafkalite has (its
  own processes, restarts and crashes, fixtures, trace, files). Skipped against any other
  broker with the reason in the skip message, and listed at the end of the run.
- ``@pytest.mark.deliberate_difference(reason=...)`` with ``per_broker(kafkalite=..., kafka=...)``:
  a test whose expectation differs on purpose (listed in the README's "Deliberate
  differences"); the marker's reason says why, the helper picks the broker's expectation.
- Kafka applies topic changes to its metadata a moment after it answers CreateTopics,
  CreatePartitions or DeleteTopics (kafkalite at once): ``eventually()`` retries a block of
  assertions until they hold, so tests wait for what Kafka promises, and no more.
- With KAFKALITE_COMPAT_JOURNAL=FOLDER (``make compat-matrix``), a run against kafkalite
  journals which client sent which API version in which test (compat_tests/journal.py).
- Every run writes the compat tests' results as JUnit XML to .reports/compat-BROKER.xml
  (KAFKALITE_COMPAT_REPORTS picks another folder); compat_tests/reference/report.py puts the
  two brokers side by side.

Tests use unique topic names, so they never depend on each other's leftovers.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest

from . import journal

EXTERNAL = os.environ.get("KAFKALITE_TEST_BOOTSTRAP")
BROKER_NAME = os.environ.get("KAFKALITE_TEST_BROKER") or ("kafka" if EXTERNAL else "kafkalite")
BROKER = "kafkalite" if not EXTERNAL or BROKER_NAME.startswith("kafkalite") else "kafka"
HERE = Path(__file__).resolve().parent

T = TypeVar("T")
U = TypeVar("U")


def per_broker(*, kafkalite: T, kafka: U) -> T | U:
    """The expectation for the broker under test, where kafkalite differs on purpose."""
    return kafkalite if BROKER == "kafkalite" else kafka


def eventually(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Run *check* until it returns without an AssertionError; return what it returns.

    For what Kafka promises only eventually (a created topic in Metadata). After *timeout*
    the last AssertionError is raised, so the failure shows the real assertion.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition",
               interval: float = 0.02) -> None:
    """Poll *condition* until it is true; after *timeout* fail naming *what* (for conditions
    that are plain booleans; `eventually` is for checks that assert)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def wait_for_topic(client: Any, topic: str, partitions: int | None = None) -> None:
    """Until Metadata shows *topic* (with *partitions* partitions, each with a leader).

    *client* is a bootstrap address or a confluent-kafka AdminClient.

    Kafka's broker learns of a created topic, or of added partitions, a moment after
    CreateTopics or CreatePartitions has answered; a test that creates a topic and then uses
    it waits for this, as a Kafka application must. kafkalite shows them before it answers.
    """
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": client}) if isinstance(client, str) else client

    def shown() -> None:
        found = admin.list_topics(timeout=10).topics.get(topic)
        assert found is not None and found.error is None, f"{topic} not in Metadata: {found and found.error}"
        if partitions is not None:
            assert sorted(found.partitions) == list(range(partitions)), f"{topic}: {sorted(found.partitions)}"
        assert all(p.leader >= 0 for p in found.partitions.values()), f"{topic} has partitions without a leader"

    eventually(shown)


def start_broker(*extra_args: str, timeout: float = 20.0) -> tuple[subprocess.Popen, str]:
    """Start ``python -m kafkalite`` on a free port; return the process and its bootstrap."""
    proc = subprocess.Popen(
        [*journal.broker_command(), "serve", "--host", "127.0.0.1", "--port", "0", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("kafkalite listening on "):
            return proc, line.split()[-1]
    proc.kill()
    raise RuntimeError("kafkalite did not start:\n" + "".join(lines))


def stop_broker(proc: subprocess.Popen) -> int:
    """Stop a broker with SIGTERM (SIGKILL after 10 s); return its exit status."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode


def broker_serving(announcement: str, *extra_args: str) -> Iterator[tuple[str, str]]:
    """Run a broker process as `start_broker` does and yield (bootstrap, URL): the URL ends the
    line it prints starting with *announcement* (e.g. "kafkalite HTTP API on "). Its further
    output is read away, so the process never blocks on a full pipe; stopped at the end."""
    proc, bootstrap = start_broker(*extra_args)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(announcement), line
    drain = threading.Thread(target=proc.stdout.read, daemon=True)
    drain.start()
    try:
        yield bootstrap, line.split()[-1]
    finally:
        stop_broker(proc)
        drain.join(timeout=5)


class ClientProcess:
    """A client program in a process of its own (``python -m MODULE ARGS``), to kill -9.

    The program reports its progress as lines on stdout; ``wait_for`` waits for a line that
    starts with a prefix, ``kill`` sends SIGKILL and reaps it, as a crashing application dies.
    """

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=HERE.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ended = False
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self.ended = True
            self._seen.notify_all()

    def wait_for(self, prefix: str, timeout: float = 30.0) -> str:
        """The first line starting with *prefix*; AssertionError (with the output) if none comes."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                found = [line for line in self.lines if line.startswith(prefix)]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if self.ended or remaining <= 0:
                    output = "\n".join(self.lines)
                    raise AssertionError(f"no line {prefix!r} from {self.proc.args[2:]}:\n{output}")
                self._seen.wait(min(remaining, 0.5))

    def kill(self) -> None:
        """SIGKILL (if it still runs), reap it, and close its output."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class RestartableBroker:
    """A kafkalite process with a data dir, that a test crashes and starts again."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.proc, self.bootstrap = start_broker("--data-dir", data_dir)
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def crash_and_restart(self) -> None:
        """kill -9, then start again on the same port, so that clients reconnect."""
        port = self.bootstrap.rsplit(":", 1)[1]
        self.proc.kill()
        stop_broker(self.proc)
        self.proc, address = start_broker("--data-dir", self.data_dir, "--port", port)
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        assert address == self.bootstrap

    def stop(self) -> None:
        stop_broker(self.proc)


@pytest.fixture
def restartable_broker(tmp_path: Path) -> Iterator[RestartableBroker]:
    """A kafkalite process of the test's own, on disk, to crash and restart (kafkalite only)."""
    broker = RestartableBroker(str(tmp_path / "data"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def bootstrap() -> Iterator[str]:
    if EXTERNAL:
        yield EXTERNAL
        return
    proc, address = start_broker("--memory")
    # Drain the broker's output so that it never blocks on a full pipe.
    assert proc.stdout is not None
    drain = threading.Thread(target=proc.stdout.read, daemon=True)
    drain.start()
    try:
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        drain.join(timeout=5)
        stop_broker(proc)


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    base = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:60]
    return f"{base}-{uuid.uuid4().hex[:8]}"



# -- markers ------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if journal.folder() is not None and BROKER == "kafkalite":  # `make compat-matrix`
        config.pluginmanager.register(journal.TestJournal(journal.folder(), HERE), "compat-journal")
    config.addinivalue_line(
        "markers",
        "kafkalite_only(reason): a test of a kafkalite-only feature; skipped, with the reason, "
        "when the compat tests run against another broker (KAFKALITE_TEST_BOOTSTRAP)",
    )
    config.addinivalue_line(
        "markers",
        "deliberate_difference(reason): the test expects kafkalite's or Kafka's behaviour "
        "(per_broker()) because kafkalite differs on purpose; listed in the README",
    )


def _reason(item: pytest.Item, name: str) -> str | None:
    """The reason given to the item's *name* marker; None without the marker."""
    marker = item.get_closest_marker(name)
    if marker is None:
        return None
    reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
    if not reason:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{name} needs a reason")
    return reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _RESULTS.clear()
    for item in items:
        if HERE not in item.path.parents:
            continue  # tests/ in the same run
        _RESULTS[item.nodeid] = _Result(item)
        _reason(item, "deliberate_difference")
        reason = _reason(item, "kafkalite_only")
        if reason and EXTERNAL:
            item.add_marker(pytest.mark.skip(reason=f"{KAFKALITE_ONLY} {BROKER_NAME}: {reason}"))


KAFKALITE_ONLY = "kafkalite only, not run against"


# -- the run's results as JUnit XML, one file per broker -----------------------------------


class _Result:
    """One compat test's outcome, from its setup, call and teardown reports."""

    def __init__(self, item: pytest.Item) -> None:
        self.classname = ".".join(item.path.relative_to(HERE.parent).with_suffix("").parts)
        self.name = item.name
        self.file = item.path.relative_to(HERE.parent).as_posix()
        self.outcome = ""  # "" (not run), passed, failed, error, skipped
        self.seconds = 0.0
        self.message = ""
        self.details = ""

    def add(self, report: pytest.TestReport) -> None:
        self.seconds += report.duration
        if report.passed:
            if report.when == "call" and not self.outcome:
                self.outcome = "passed"
        elif report.skipped:
            self.outcome = "skipped"
            longrepr = report.longrepr
            self.message = (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix("Skipped: ")
        else:
            # A failure in setup or teardown is an error; in the test itself, a failure.
            self.outcome = "failed" if report.when == "call" else "error"
            crash = getattr(report.longrepr, "reprcrash", None)
            self.message = crash.message if crash is not None else report.longreprtext.strip().splitlines()[-1]
            self.details += report.longreprtext


_RESULTS: dict[str, _Result] = {}
_WRITE_ERROR: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    result = _RESULTS.get(report.nodeid)
    if result is not None:
        result.add(report)


def report_path(config: pytest.Config) -> Path:
    folder = os.environ.get("KAFKALITE_COMPAT_REPORTS") or config.rootpath / ".reports"
    return Path(folder) / f"compat-{BROKER}.xml"


def pytest_sessionfinish(session: pytest.Session) -> None:
    ran = [r for r in _RESULTS.values() if r.outcome]
    if not ran:
        return
    suite = ET.Element(
        "testsuite",
        name=f"compat-{BROKER}",
        tests=str(len(ran)),
        failures=str(sum(r.outcome == "failed" for r in ran)),
        errors=str(sum(r.outcome == "error" for r in ran)),
        skipped=str(sum(r.outcome == "skipped" for r in ran)),
        time=f"{sum(r.seconds for r in ran):.3f}",
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        hostname=socket.gethostname(),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in [
        ("broker", BROKER),
        ("broker_name", BROKER_NAME),
        ("bootstrap", EXTERNAL or "kafkalite subprocess"),
        ("python", platform.python_version()),
        ("args", " ".join(session.config.invocation_params.args)),
    ]:
        ET.SubElement(properties, "property", name=name, value=value)
    for r in ran:
        case = ET.SubElement(suite, "testcase", classname=r.classname, name=r.name, file=r.file, time=f"{r.seconds:.3f}")
        tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(r.outcome)
        if tag:
            ET.SubElement(case, tag, message=r.message).text = r.details or None
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path = report_path(session.config)
    _WRITE_ERROR.clear()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:  # a read-only checkout still runs its tests
        _WRITE_ERROR.append(f"could not write {path}: {exc}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    ran = [r for r in _RESULTS.values() if r.outcome]
    if not ran:
        return
    only = [r for r in ran if r.outcome == "skipped" and r.message.startswith(KAFKALITE_ONLY)]
    if only:
        terminalreporter.section(f"kafkalite-only tests, not run against {BROKER_NAME}", sep="-")
        for r in only:
            terminalreporter.write_line(f"{r.file}::{r.name}: {r.message.split(': ', 1)[1]}")
    counts = ", ".join(f"{sum(r.outcome == k for r in ran)} {k}" for k in ("passed", "failed", "error", "skipped"))
    written = _WRITE_ERROR[0] if _WRITE_ERROR else f"results in {report_path(config)}"
    terminalreporter.write_line(f"compat tests against {BROKER_NAME}: {counts}; {written}")


def kill_transformer_and_check_resumes(run: Callable[[str], ClientProcess], records: int, batch: int) -> None:
    """The consume-transform-produce choreography of both clients' transaction tests.

    *run(pause)* starts the transformer (a ClientProcess printing ``STARTED p:offset...``,
    ``PAUSED``, ``COMMITTED n total`` and ``DONE``; *pause* names where it stops to be
    killed). It is killed with its 3rd transaction's records in the sink's log, then with
    its 2nd transaction's offsets pending, then just after its 4th commit, and restarted
    once more to finish; each incarnation must resume from the offsets the previous one
    committed (a killed transaction's pending offsets discarded with it).
    """

    def committed_by(worker: ClientProcess) -> int:
        return max([0] + [int(line.split()[2]) for line in worker.lines if line.startswith("COMMITTED")])

    def resumed_from(worker: ClientProcess) -> int:
        line = worker.wait_for("STARTED")
        return sum(max(int(tp.split(":")[1]), 0) for tp in line.split()[1:])

    runs: list[ClientProcess] = []
    try:
        runs.append(run("produced:3"))
        runs[-1].wait_for("PAUSED")
        runs[-1].kill()
        runs.append(run("offsets:2"))
        runs[-1].wait_for("PAUSED")
        runs[-1].kill()
        runs.append(run(""))
        runs[-1].wait_for("COMMITTED 4 ")
        runs[-1].kill()
        runs.append(run(""))
        runs[-1].wait_for("DONE", timeout=60)
    finally:
        for worker in runs:
            worker.kill()
    # The free-running third one may have been killed after its last commit but before it
    # said so: the fourth then resumes up to one transaction further.
    assert resumed_from(runs[0]) == 0
    assert resumed_from(runs[1]) == committed_by(runs[0]) > 0
    assert resumed_from(runs[2]) - resumed_from(runs[1]) == committed_by(runs[1]) > 0
    assert committed_by(runs[2]) <= resumed_from(runs[3]) - resumed_from(runs[2]) <= committed_by(runs[2]) + batch
    assert resumed_from(runs[3]) + committed_by(runs[3]) == records
