"""Start-up time and idle memory of a kafkalite process.

Prints: time from process start to the first successful Metadata answer (median of several
runs), and the broker's resident memory (RSS) when idle. Targets (issue 2): ready in under
0.3 s, idle RSS under 40 MB.

    .venv/bin/python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header  # noqa: E402
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataResponse  # noqa: E402
from kafkalite.wire.schema import decode, encode_into  # noqa: E402

PORT_BASE = 29092


def metadata_once(port: int) -> bool:
    out = bytearray()
    write_request_header(out, RequestHeader(3, 1, 1, "bench"), False)
    encode_into(out, MetadataRequest(topics=None), 1)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(struct.pack(">i", len(out)) + out)
            size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
            frame = sock.recv(size, socket.MSG_WAITALL)
    except OSError:
        return False
    _, pos = read_response_header(frame, False)
    response, _ = decode(MetadataResponse, 1, frame, pos)
    return len(response.brokers) == 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(port: int) -> tuple[float, float]:
    # Bytecode caching on, as for any installed package (some shells export
    # PYTHONDONTWRITEBYTECODE, which would make every start recompile every module).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkalite", "--host", "127.0.0.1", "--port", str(port), "--memory",
         "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    try:
        while not metadata_once(port):
            if proc.poll() is not None:
                raise RuntimeError("broker exited")
            if time.perf_counter() - start > 10:
                raise RuntimeError("broker did not answer within 10 s")
            time.sleep(0.002)
        ready = time.perf_counter() - start
        time.sleep(1.0)
        return ready, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    one_run(PORT_BASE + args.runs)  # warm-up: writes the bytecode caches
    readies, rsses = [], []
    for i in range(args.runs):
        ready, rss = one_run(PORT_BASE + i)
        readies.append(ready)
        rsses.append(rss)
    print(f"ready (process start -> first Metadata answer): median {statistics.median(readies)*1000:.0f} ms "
          f"(min {min(readies)*1000:.0f}, max {max(readies)*1000:.0f}, {args.runs} runs; target < 300 ms)")
    print(f"idle RSS: median {statistics.median(rsses):.1f} MB (target < 40 MB)")


if __name__ == "__main__":
    main()
