"""Real Kafka clients against a real kafkalite process.

By default a kafkalite broker is started as a subprocess on 127.0.0.1 with a free port, in
memory, once per test session. Set KAFKALITE_TEST_BOOTSTRAP=host:port to run the very same
tests against any other Kafka-compatible cluster instead (Apache Kafka, Redpanda, ...),
which is how these tests show that kafkalite behaves like the real thing.

Tests use unique topic names, so they never depend on each other's leftovers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from typing import Iterator

import pytest

EXTERNAL = os.environ.get("KAFKALITE_TEST_BOOTSTRAP")


def start_broker(*extra_args: str, timeout: float = 20.0) -> tuple[subprocess.Popen, str]:
    """Start ``python -m kafkalite`` on a free port; return the process and its bootstrap."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkalite", "serve", "--host", "127.0.0.1", "--port", "0", *extra_args],
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
