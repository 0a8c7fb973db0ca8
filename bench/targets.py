"""The brokers a benchmark runs against: kafkalite, and the reference Apache Kafka.

Shared by the scripts in bench/ (each runs against kafkalite alone by default; ``--reference``
adds Kafka, started by compat_tests/reference/kafka_reference.py from the jars Maven put in
.cache/kafka-reference). Also: the memory and CPU of a broker's process tree, read from
/proc, a ready check that works the same for both brokers, and the table both are printed in.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "compat_tests" / "reference"))

import kafka_reference  # noqa: E402
from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header  # noqa: E402
from kafkalite.wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse  # noqa: E402
from kafkalite.wire.schema import decode, encode_into  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
KAFKA_HEAP = "-Xmx512m"  # as kafka_reference.py starts it


def kafka_name() -> str:
    return f"Kafka {kafka_reference.kafka_version()}"


# --- the process tree's memory and CPU ------------------------------------------------------


def tree(pid: int) -> list[int]:
    """*pid* and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(children.get(p, ()))
    return pids


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    """Resident memory of the process tree now (sum of VmRSS)."""
    return sum(_status_kb(p, "VmRSS") for p in tree(pid)) / 1024


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of the process tree (sum of each process's VmHWM)."""
    return sum(_status_kb(p, "VmHWM") for p in tree(pid)) / 1024


def cpu_seconds(pid: int | None) -> float:
    """CPU time of the process tree so far: every thread's (for a JVM, GC and JIT too).

    Per process the larger of two counts, both at most the true figure: its live threads'
    schedstat (nanoseconds, but a thread that exited is gone from it: a JVM ends compiler
    threads it no longer needs) and /proc/PID/stat (every thread's, in 10 ms ticks: too
    coarse alone for the few tens of ms kafkalite spends on 200,000 messages).
    """
    if pid is None:
        return float("nan")
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        ticks = (int(fields[11]) + int(fields[12])) / CLK_TCK
        live = 0
        for task in tasks:
            try:
                live += int(Path(f"/proc/{p}/task/{task}/schedstat").read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue
        total += max(ticks, live / 1e9)
    return total


# --- ready: the first ApiVersions answer ----------------------------------------------------


def api_versions(sock: socket.socket) -> ApiVersionsResponse:
    """One ApiVersions v2 request (what every client sends first) with kafkalite's codec."""
    out = bytearray()
    write_request_header(out, RequestHeader(18, 2, 1, "bench"), False)
    encode_into(out, ApiVersionsRequest(), 2)
    sock.sendall(struct.pack(">i", len(out)) + out)
    head = sock.recv(4, socket.MSG_WAITALL)
    if len(head) < 4:
        raise EOFError
    size = struct.unpack(">i", head)[0]
    frame = sock.recv(size, socket.MSG_WAITALL)
    if len(frame) < size:
        raise EOFError
    _, pos = read_response_header(frame, False)
    response, _ = decode(ApiVersionsResponse, 2, frame, pos)
    return response


def wait_ready(port: int, proc: subprocess.Popen, start: float, timeout: float) -> float:
    """Seconds from *start* (perf_counter) to the first ApiVersions answer without an error.

    Tries to connect every 2 ms. A connection the broker accepts before it serves requests
    (Kafka binds its port early) waits for the answer; one it closes is tried again.
    """
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with status {proc.returncode} before answering")
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"broker did not answer ApiVersions within {timeout:.0f} s")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                response = api_versions(sock)
                if response.error_code == 0 and response.api_keys:
                    return time.perf_counter() - start
        except (OSError, EOFError, struct.error):
            pass
        time.sleep(0.002)


# --- the brokers ----------------------------------------------------------------------------


@dataclass
class Broker:
    name: str  # "kafkalite" or "kafka": the key of its results
    label: str  # as the tables show it
    bootstrap: str
    pid: int


@contextlib.contextmanager
def kafkalite(data_dir: str | None = None, memory: bool = False, extra: Sequence[str] = ()) -> Iterator[Broker]:
    """A kafkalite process of this checkout, on a free port; on a temp data dir unless given.

    *extra*: more `kafkalite serve` options.
    """
    with contextlib.ExitStack() as stack:
        args = [sys.executable, "-m", "kafkalite", "serve", "--host", "127.0.0.1", "--port", "0",
                "--log-level", "WARNING"]
        if memory:
            args.append("--memory")
        else:
            args += ["--data-dir", data_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))]
        args += extra
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if line.startswith("kafkalite listening on "):
                    break
            else:
                raise RuntimeError("kafkalite did not start")
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            yield Broker("kafkalite", "kafkalite", line.split()[-1], proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def kafka() -> Iterator[Broker]:
    """The reference Kafka (kafka_reference.py: KRaft, one node, temp dir, -Xmx512m)."""
    broker = kafka_reference.ReferenceKafka()
    broker.start()
    print(f"{kafka_name()} ready on {broker.bootstrap} in {broker.startup_seconds:.1f} s", file=sys.stderr, flush=True)
    try:
        assert broker.proc is not None
        yield Broker("kafka", kafka_name(), broker.bootstrap, broker.proc.pid)
    finally:
        broker.stop()


class TimedKafka:
    """The reference Kafka started in two timed steps, for bench/startup.py.

    Step 1 formats the KRaft storage (kafka-storage format, a JVM of its own); step 2 starts
    the broker's JVM, which is ready at its first ApiVersions answer. Same configuration,
    JVM options and temp dir as kafka_reference.py; only the timing is finer (its start
    polls every 100 ms and counts both steps together).
    """

    def __init__(self) -> None:
        self.libs = kafka_reference.ensure_jars()
        self.java = kafka_reference.java_binary()
        self.proc: subprocess.Popen | None = None
        self.workdir: Path | None = None
        self.format_seconds = 0.0  # storage format (its own JVM, start to exit)
        self.ready_seconds = 0.0  # broker JVM start to first ApiVersions answer

    def start(self, timeout: float = kafka_reference.START_TIMEOUT) -> None:
        for _ in range(3):
            try:
                return self._start(timeout)
            except kafka_reference._PortTaken:
                continue
        raise RuntimeError("Kafka found its ports taken three times in a row")

    def _start(self, timeout: float) -> None:
        self.workdir = workdir = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
        port, controller_port = kafka_reference.free_ports(2)
        config = workdir / "server.properties"
        config.write_text(kafka_reference.server_properties(workdir, port, controller_port))
        (workdir / "log4j2.properties").write_text(kafka_reference.log4j2_properties(workdir))
        jvm = [f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}", "-cp", str(self.libs / "*")]
        start = time.perf_counter()
        fmt = subprocess.run(
            [self.java, *jvm, "kafka.tools.StorageTool", "format", "-t", kafka_reference.cluster_id(),
             "-c", str(config), "--standalone"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.format_seconds = time.perf_counter() - start
        if fmt.returncode != 0:
            raise RuntimeError(f"formatting the KRaft storage failed:\n{fmt.stdout}")
        output = open(workdir / "stdout.log", "wb")
        start = time.perf_counter()
        self.proc = subprocess.Popen([self.java, KAFKA_HEAP, *jvm, "kafka.Kafka", str(config)], stdout=output,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        output.close()
        try:
            self.ready_seconds = wait_ready(port, self.proc, start, timeout)
        except RuntimeError:
            log = (workdir / "stdout.log").read_text(errors="replace")
            log += kafka_reference._read(workdir / "server.log")
            self.stop()
            if "Address already in use" in log:
                raise kafka_reference._PortTaken from None
            raise

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()  # a controlled shutdown
                try:
                    self.proc.wait(kafka_reference.STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


# --- results --------------------------------------------------------------------------------


def fmt(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def print_side_by_side(rows: list[tuple[str, dict[str, float], int]], labels: dict[str, str]) -> None:
    """A plain text table: one row per metric, one column per broker, and kafkalite / Kafka."""
    names = list(labels)
    header = ["", *(labels[n] for n in names)]
    if len(names) == 2:
        header.append("ratio")
    lines = [header]
    for metric, values, digits in rows:
        line = [metric, *(fmt(values.get(n, float("nan")), digits) for n in names)]
        if len(names) == 2:
            a, b = (values.get(n, float("nan")) for n in names)
            line.append(f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "-")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join([line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:], widths[1:]))]))


def write_json(path: str | None, results: dict[str, dict[str, float]]) -> None:
    """The results by broker ("kafkalite", "kafka"), for bench/side_by_side.py."""
    if path:
        Path(path).write_text(json.dumps(results, indent=1))
