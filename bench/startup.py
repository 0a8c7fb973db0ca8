"""Start-up time and idle memory of a kafkalite process, as a user runs it; and of Kafka.

Prints: time from process start to the first ApiVersions answer (what every client sends
first) and to the first Metadata answer, medians of several runs, and the broker's resident
memory (RSS, of its process tree) after 1 s idle. Targets: first ApiVersions within 0.15 s,
idle RSS 25 MB or less.

By default it measures a regular install, as ``pip install kafkalite`` leaves it (a wheel of
this checkout in its own venv under .cache/, bytecode compiled by pip) running
``kafkalite serve``; ``--editable`` measures this checkout's .venv instead. Each run starts
on a new data dir, as a user's first start.

``--reference`` also measures the reference Apache Kafka (compat_tests/reference/, the same
number of runs) in two steps, as a user's first start of Kafka goes: formatting the KRaft
storage (``kafka-storage format``, a JVM of its own), then the broker's JVM from its start to
the first ApiVersions answer; its idle RSS is the broker JVM's.

    .venv/bin/python bench/startup.py [--runs 10] [--editable] [--reference] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import targets
from targets import wait_ready

from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataResponse
from kafkalite.wire.schema import decode, encode_into

ROOT = Path(__file__).resolve().parents[1]
PORT_BASE = 29092
IDLE_SECONDS = 1.0


def metadata(sock: socket.socket) -> MetadataResponse:
    out = bytearray()
    write_request_header(out, RequestHeader(3, 1, 2, "bench"), False)
    encode_into(out, MetadataRequest(topics=None), 1)
    sock.sendall(len(out).to_bytes(4, "big") + out)
    size = int.from_bytes(sock.recv(4, socket.MSG_WAITALL), "big")
    frame = sock.recv(size, socket.MSG_WAITALL)
    _, pos = read_response_header(frame, False)
    response, _ = decode(MetadataResponse, 1, frame, pos)
    return response


def installed_kafkalite() -> list[str]:
    """A regular (non-editable) install of this checkout in .cache/bench-venv; its command."""
    venv = ROOT / ".cache" / "bench-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", str(ROOT)],
                   check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)  # dependencies
    return [str(venv / "bin" / "kafkalite")]


def one_run(command: list[str], port: int) -> tuple[float, float, float]:
    """One start of ``kafkalite serve`` on a new data dir, as a user's first start."""
    with tempfile.TemporaryDirectory() as data_dir:
        return _one_run(command, port, data_dir)


def _one_run(command: list[str], port: int, data_dir: str) -> tuple[float, float, float]:
    # Bytecode caching on, as for any installed package (some shells export
    # PYTHONDONTWRITEBYTECODE, which would make every start recompile every module).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir, "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    try:
        ready = wait_ready(port, proc, start, timeout=10)
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            assert len(metadata(sock).brokers) == 1
            metadata_ready = time.perf_counter() - start
        time.sleep(IDLE_SECONDS)
        return ready, metadata_ready, targets.rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()


def kafka_run() -> tuple[float, float, float]:
    """One first start of the reference Kafka: (format s, broker JVM start to ready s, idle RSS)."""
    broker = targets.TimedKafka()
    try:
        broker.start()
        time.sleep(IDLE_SECONDS)
        return broker.format_seconds, broker.ready_seconds, targets.rss_mb(broker.pid)
    finally:
        broker.stop()


def ms(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:.0f} ms "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--editable", action="store_true", help="measure this checkout's .venv, not an install")
    parser.add_argument("--reference", action="store_true", help="also measure the reference Apache Kafka")
    parser.add_argument("--json", metavar="FILE", help="write the results by broker to FILE")
    args = parser.parse_args()
    command = [sys.executable, "-m", "kafkalite"] if args.editable else installed_kafkalite()
    one_run(command, PORT_BASE + args.runs)  # warm-up: page cache, and bytecode caches for --editable
    readies, metadata_readies, rsses = [], [], []
    for i in range(args.runs):
        ready, metadata_ready, rss = one_run(command, PORT_BASE + i)
        readies.append(ready)
        metadata_readies.append(metadata_ready)
        rsses.append(rss)
    what = "this checkout (editable)" if args.editable else "a regular install"
    print(f"kafkalite, {what}, {args.runs} runs:")
    print(f"ready (process start -> first ApiVersions answer): {ms(readies)}; target <= 150 ms")
    print(f"first Metadata answer: median {statistics.median(metadata_readies)*1000:.0f} ms")
    print(f"idle RSS: median {statistics.median(rsses):.1f} MB (target <= 25 MB)", flush=True)
    results = {"kafkalite": {"ready_s": statistics.median(readies),
                             "first_start_ready_s": statistics.median(readies),
                             "idle_rss_mb": statistics.median(rsses)}}
    if args.reference:
        kafka_run()  # warm-up: page cache of the jars, as for kafkalite
        runs = [kafka_run() for _ in range(args.runs)]
        formats, jvm_readies, kafka_rsses = ([r[i] for r in runs] for i in range(3))
        firsts = [f + r for f, r, _ in runs]
        print(f"{targets.kafka_name()}, {args.runs} runs:")
        print(f"storage format (kafka-storage format, its own JVM): {ms(formats)}")
        print(f"ready (broker JVM start -> first ApiVersions answer, storage formatted): {ms(jvm_readies)}")
        print(f"first start (format + broker JVM to first ApiVersions answer): {ms(firsts)}")
        print(f"idle RSS (broker JVM, {targets.KAFKA_HEAP}): median {statistics.median(kafka_rsses):.1f} MB")
        results["kafka"] = {"ready_s": statistics.median(jvm_readies),
                            "first_start_ready_s": statistics.median(firsts),
                            "format_s": statistics.median(formats),
                            "idle_rss_mb": statistics.median(kafka_rsses)}
        print()
        targets.print_side_by_side(
            [("ready: process start -> first ApiVersions (ms)",
              {k: v["ready_s"] * 1000 for k, v in results.items()}, 0),
             ("first start, incl. Kafka's storage format (ms)",
              {k: v["first_start_ready_s"] * 1000 for k, v in results.items()}, 0),
             ("idle RSS (MB)", {k: v["idle_rss_mb"] for k, v in results.items()}, 1)],
            {"kafkalite": "kafkalite", "kafka": targets.kafka_name()},
        )
    targets.write_json(args.json, results)


if __name__ == "__main__":
    main()
