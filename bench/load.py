"""Load: many connections at once beside a steady produce/consume, then connection churn.

1. ``--connections`` (1,000) connections open at the same time, each sending a few requests
   (ApiVersions, Metadata), held open until all are open, while one producer appends numbered
   records at a steady pace and one consumer fetches them: every request must be answered,
   every acknowledged record read back once, in order. Resident memory (RSS) is reported
   before, at the peak, and after.
2. ``--churn-seconds`` (30) of a client opening and closing connections in a tight loop (an
   idle one, one with a request, one with half a frame, in turn): afterwards the broker's
   open file descriptors and trio tasks are back where they were.

The broker runs in this process (``kafkalite.run_in_thread``), so its trio tasks can be
counted; RSS and file descriptors are therefore the process's, clients included (a client
connection costs a socket and a small buffer). The soft limit of open files is raised to the
hard one when the connections need it.

    .venv/bin/python bench/load.py [--connections 1000] [--churn-seconds 30] [--requests 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fuzz: the load engine

import kafkalite  # noqa: E402
from tests.fuzz.load import (  # noqa: E402
    TrafficResult, churn, count_tasks, many_connections, open_fds, rss_mib, settle, steady_traffic,
)


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        new = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        print(f"open files limit raised from {soft} to {new}")
    print(f"open files limit (soft/hard): {resource.getrlimit(resource.RLIMIT_NOFILE)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=3, help="requests on each connection")
    parser.add_argument("--churn-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=500, help="records per second of the steady producer")
    args = parser.parse_args()
    raise_fd_limit(2 * args.connections + 200)  # both ends of each connection live in this process
    ok = True
    # The journal off, as `kafkalite serve` runs by default (the in-process default keeps
    # 10,000 decoded requests, which would show as memory here).
    with kafkalite.run_in_thread(journal_size=0) as broker:
        broker.create_topic("load", partitions=1)
        rss_before = rss_mib()
        traffic = TrafficResult()
        peak = [rss_before]

        async def phase1() -> object:
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(steady_traffic, broker.bootstrap_servers, stop, traffic, args.rate)

                async def sample() -> None:
                    while not stop.is_set():
                        peak[0] = max(peak[0], rss_mib())
                        await trio.sleep(0.05)

                nursery.start_soon(sample)
                await trio.sleep(0.5)
                result = await many_connections(broker.bootstrap_servers, args.connections, args.requests)
                await trio.sleep(0.5)
                stop.set()
            return result

        result = trio.run(phase1)
        print(f"{result.connections} connections at once, {args.requests} requests each: "
              f"{result.answered} fully answered, {len(result.failed)} failed, in {result.seconds:.2f} s")
        for failure in result.failed[:10]:
            print("  ", failure)
        print(f"steady traffic alongside: {traffic.produced} records produced (acks=-1), "
              f"{traffic.consumed} consumed, {len(traffic.errors)} errors; log holds {len(broker.values('load'))}")
        print(f"RSS (broker and clients): {rss_before:.1f} MiB before, {peak[0]:.1f} MiB peak, {rss_mib():.1f} MiB after")
        ok &= not result.failed and result.answered == result.connections
        ok &= not traffic.errors and traffic.consumed == traffic.produced == len(broker.values("load"))

        trio.run(churn, broker.bootstrap_servers, 0.5)  # warm up
        fds, tasks = open_fds(), broker.call(count_tasks)
        started = time.perf_counter()
        opened = trio.run(churn, broker.bootstrap_servers, args.churn_seconds)
        elapsed = time.perf_counter() - started
        settled = settle(lambda: open_fds() <= fds and broker.call(count_tasks) <= tasks)
        print(f"churn: {opened} connections opened and closed in {elapsed:.1f} s ({opened / elapsed:.0f}/s); "
              f"fds {fds} before, {open_fds()} after; broker trio tasks {tasks} before, {broker.call(count_tasks)} after; "
              f"RSS {rss_mib():.1f} MiB")
        ok &= settled
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
