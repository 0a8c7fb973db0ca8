"""kafkalite and the reference Apache Kafka side by side: one Markdown table for the README.

Runs bench/startup.py, bench/throughput.py and bench/groups.py, each with ``--reference``
(kafkalite first, then Kafka 4.x from compat_tests/reference/; Java 17+ and Maven), and
prints one table: metric | kafkalite | Kafka | ratio (kafkalite / Kafka), with the
conditions of the run (machine, load average, versions, duration) above it. The scripts'
own output goes to stderr as they run; the table alone to stdout (and to ``--output``).

    .venv/bin/python bench/side_by_side.py [--runs 5] [--scale 1] [--output FILE] [--json FILE]

About 3 minutes on the 2-core development machine. Absolute figures depend on the machine
and on what else runs on it (the load average is printed for that reason); the ratios are
what to compare.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import targets

HERE = Path(__file__).resolve().parent


def load_average() -> float:
    return os.getloadavg()[0]


def run_script(script: str, args: list[str]) -> dict[str, dict[str, float]]:
    """Run bench/SCRIPT --reference; its results by broker."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, str(HERE / script), "--reference", "--json", out.name, *args]
        print(f"\n$ {' '.join(['bench/' + script, *command[2:]])}", file=sys.stderr, flush=True)
        started = time.monotonic()
        subprocess.run(command, check=True, stdout=sys.stderr)
        print(f"({script}: {time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
        return json.loads(Path(out.name).read_text())


def num(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def versions() -> str:
    import confluent_kafka

    java = subprocess.run([targets.kafka_reference.java_binary(), "-version"], capture_output=True, text=True)
    java_version = (java.stderr.splitlines() or ["java ?"])[0].replace('"', "")
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    return (f"kafkalite {commit} on Python {platform.python_version()}; {targets.kafka_name()} on {java_version}; "
            f"confluent-kafka {confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})")


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model})"


def table(startup: dict, throughput: dict, groups: dict) -> list[str]:
    lite = {**startup["kafkalite"], **throughput["kafkalite"], **groups["kafkalite"]}
    kafka = {**startup["kafka"], **throughput["kafka"], **groups["kafka"]}
    rows: list[tuple[str, str, str, float, float]] = []

    def row(metric: str, key: str, unit: str, digits: int, scale: float = 1.0) -> None:
        a, b = lite.get(key, math.nan) * scale, kafka.get(key, math.nan) * scale
        rows.append((metric, f"{num(a, digits)} {unit}", f"{num(b, digits)} {unit}", a, b))

    def throughput_row(metric: str, op: str, size: int) -> None:
        a, b = (r[f"{op}_{size}_msg_s"] for r in (lite, kafka))
        ma, mb = (r[f"{op}_{size}_mb_s"] for r in (lite, kafka))
        rows.append((metric, f"{num(a, 0)} msg/s ({num(ma, 0)} MB/s)", f"{num(b, 0)} msg/s ({num(mb, 0)} MB/s)", a, b))

    row("ready: process start to first ApiVersions answer (Kafka: its broker JVM)", "ready_s", "ms", 0, 1000)
    rows.append(("Kafka's storage format step before a first start (a JVM of its own)", "-",
                 f"{num(kafka['format_s'] * 1000, 0)} ms", math.nan, math.nan))
    row("first start on a new data dir to first ApiVersions answer (Kafka: format + broker)", "first_start_ready_s", "ms", 0, 1000)
    row(f"idle RSS, 1 s after ready (Kafka: the java process, {targets.KAFKA_HEAP})", "idle_rss_mb", "MB", 0)
    row("peak RSS, over the throughput runs", "peak_rss_mb", "MB", 0)
    throughput_row("produce, 100 B messages", "produce", 100)
    throughput_row("consume, 100 B messages", "consume", 100)
    throughput_row("produce, 1 KB messages", "produce", 1024)
    throughput_row("consume, 1 KB messages", "consume", 1024)
    row("broker CPU per produced 100 B message", "cpu_produce_100_us", "µs", 2)
    row("broker CPU per consumed 100 B message", "cpu_consume_100_us", "µs", 2)
    row("end-to-end latency p50", "e2e_p50_ms", "ms", 2)
    row("end-to-end latency p99", "e2e_p99_ms", "ms", 2)
    row("idle consumer, Fetch requests", "idle_fetch_per_s", "/s", 1)
    row("group: subscribe() to first message, new consumer", "first_cold_s", "ms", 0, 1000)
    row("group: subscribe() to first message, connected consumer", "first_warm_s", "ms", 0, 1000)
    row("group: second member joins, both reassigned (heartbeat 3 s)", "rebalance_default_s", "ms", 0, 1000)
    row("group: second member joins, both reassigned (heartbeat 100 ms)", "rebalance_hb100_s", "ms", 0, 1000)

    lines = [f"| metric | kafkalite | {targets.kafka_name()} | ratio |", "|---|---:|---:|---:|"]
    for metric, a_text, b_text, a, b in rows:
        ratio = f"{a / b:.2f}" if b and not (math.isnan(a) or math.isnan(b)) else "-"
        lines.append(f"| {metric} | {a_text} | {b_text} | {ratio} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="starts per broker (startup.py), groups per case")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply throughput.py's message counts")
    parser.add_argument("--output", metavar="FILE", help="also write the Markdown to FILE")
    parser.add_argument("--json", metavar="FILE", help="write every script's results to FILE")
    args = parser.parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()
    kafka_reference = targets.kafka_reference
    kafka_reference.ensure_jars()  # a first download is not part of the run
    startup = run_script("startup.py", ["--runs", str(args.runs)])
    throughput = run_script("throughput.py", ["--scale", str(args.scale)])
    groups = run_script("groups.py", ["--runs", str(args.runs)])
    load_after = os.getloadavg()
    took = time.monotonic() - started
    if args.json:
        Path(args.json).write_text(json.dumps({"startup": startup, "throughput": throughput, "groups": groups},
                                              indent=1))
    lines = [
        f"{datetime.date.today().isoformat()}, {machine()}; load average (1 min) {load_before[0]:.2f} "
        f"at the start, {load_after[0]:.2f} at the end; the run took {took:.0f} s.",
        versions() + ".",
        f"kafkalite on a temp data dir (a regular install for the ready time, {args.runs} starts each, medians); "
        f"Kafka as compat_tests/reference/ starts it (KRaft, one node, page cache, no fsync). "
        f"Throughput: {int(200_000 * args.scale):,} x 100 B and {int(50_000 * args.scale):,} x 1 KB, one "
        f"partition, linger.ms=5, acks=all, after a quarter-size warm-up; latency over 500 round trips; "
        f"groups: 4 partitions, medians of {args.runs} (rebalances: {max(2, args.runs // 2)}).",
        "",
        *table(startup, throughput, groups),
        "",
        "ratio = kafkalite / Kafka: below 1 is better for times, memory and CPU, above 1 for throughput.",
    ]
    text = "\n".join(lines)
    print(file=sys.stderr)
    print(text, flush=True)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
