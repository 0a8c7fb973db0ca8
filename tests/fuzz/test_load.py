"""A short load run: many connections at once with steady produce/consume alongside, then
connection churn that must leave no file descriptors or tasks behind (bench/load.py runs
the long version: 1,000 connections, 30 s of churn)."""

from __future__ import annotations

import trio

import kafkalite

from tests.fuzz.load import TrafficResult, churn, count_tasks, many_connections, open_fds, settle, steady_traffic


def test_many_connections_alongside_steady_traffic_all_answered_nothing_lost() -> None:
    with kafkalite.run_in_thread() as broker:
        broker.create_topic("load", partitions=1)
        traffic = TrafficResult()

        async def main() -> None:
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(steady_traffic, broker.bootstrap_servers, stop, traffic)
                await trio.sleep(0.3)
                result = await many_connections(broker.bootstrap_servers, 200)
                assert result.failed == []
                assert result.answered == 200
                stop.set()

        trio.run(main)
        assert traffic.errors == []
        assert traffic.produced > 0
        assert traffic.consumed == traffic.produced
        assert len(broker.values("load")) == traffic.produced


def test_connection_churn_leaves_no_file_descriptors_or_tasks() -> None:
    with kafkalite.run_in_thread() as broker:
        assert trio.run(churn, broker.bootstrap_servers, 0.3) > 0  # warm up: imports, first buffers
        fds, tasks = open_fds(), broker.call(count_tasks)
        opened = trio.run(churn, broker.bootstrap_servers, 3.0)
        assert opened > 100
        assert settle(lambda: open_fds() <= fds and broker.call(count_tasks) <= tasks), (
            open_fds(), fds, broker.call(count_tasks), tasks,
        )
        assert broker.call(lambda: broker.info.connections.open_connections) == 0
