"""Start-up time and idle memory of a kafkalite process, as a user runs it.

Prints: time from process start to the first ApiVersions answer (what every client sends
first) and to the first Metadata answer, medians of several runs, and the broker's resident
memory (RSS) when idle. Targets: first ApiVersions within 0.15 s, idle RSS 25 MB or less.

By default it measures a regular install, as ``pip install kafkalite`` leaves it (a wheel of
this checkout in its own venv under .cache/, bytecode compiled by pip) running
``kafkalite serve``; ``--editable`` measures this checkout's .venv instead.

    .venv/bin/python bench/startup.py [--runs 10] [--editable]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header  # noqa: E402
from kafkalite.wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse  # noqa: E402
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataResponse  # noqa: E402
from kafkalite.wire.schema import decode, encode_into  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PORT_BASE = 29092


def request(sock: socket.socket, api_key: int, version: int, body: object, response_cls: type) -> object:
    out = bytearray()
    write_request_header(out, RequestHeader(api_key, version, 1, "bench"), False)
    encode_into(out, body, version)
    sock.sendall(struct.pack(">i", len(out)) + out)
    size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
    frame = sock.recv(size, socket.MSG_WAITALL)
    _, pos = read_response_header(frame, False)
    response, _ = decode(response_cls, version, frame, pos)
    return response


def connect(port: int) -> socket.socket | None:
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return None


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


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
        while (sock := connect(port)) is None:
            if proc.poll() is not None:
                raise RuntimeError("broker exited")
            if time.perf_counter() - start > 10:
                raise RuntimeError("broker did not listen within 10 s")
            time.sleep(0.002)
        with sock:
            versions = request(sock, 18, 2, ApiVersionsRequest(), ApiVersionsResponse)
            ready = time.perf_counter() - start
            assert versions.error_code == 0 and versions.api_keys
            metadata = request(sock, 3, 1, MetadataRequest(topics=None), MetadataResponse)
            metadata_ready = time.perf_counter() - start
            assert len(metadata.brokers) == 1
        time.sleep(1.0)
        return ready, metadata_ready, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--editable", action="store_true", help="measure this checkout's .venv, not an install")
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
    print(f"{what}, {args.runs} runs:")
    print(f"ready (process start -> first ApiVersions answer): median {statistics.median(readies)*1000:.0f} ms "
          f"(min {min(readies)*1000:.0f}, max {max(readies)*1000:.0f}; target <= 150 ms)")
    print(f"first Metadata answer: median {statistics.median(metadata_readies)*1000:.0f} ms")
    print(f"idle RSS: median {statistics.median(rsses):.1f} MB (target <= 25 MB)")


if __name__ == "__main__":
    main()
