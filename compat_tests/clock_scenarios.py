"""The broker-clock scenario both clients' compat tests share: a consumer that went silent
loses its partitions to the other one as soon as the test advances the broker's clock past
its session.

The consumers run in child processes (the calling test module, run as ``python -m MODULE
consume BOOTSTRAP TOPIC GROUP CLIENT_ID``), so that one can be stopped with SIGSTOP: still
connected, but silent, as a hung process is (a consumer that merely stops polling keeps
heartbeating from its client's own thread).
"""

from __future__ import annotations

import os
import signal
import time

from .conftest import ClientProcess, wait_until

SESSION_TIMEOUT_MS = 30_000


def end(process: ClientProcess) -> None:
    """Let a stopped child run again (so that it can die), then kill it."""
    if process.proc.poll() is None:
        os.kill(process.proc.pid, signal.SIGCONT)
    process.kill()


def silent_consumer_takeover(broker, topic: str, module: str) -> None:
    """Two consumers of *module*'s ``consume`` share a 2-partition topic; one is stopped;
    once the clock is advanced past its session the other owns both partitions within a
    second of real time."""
    broker.create_topic(topic, partitions=2)
    for partition in (0, 1):
        broker.produce(topic, b"v", partition=partition)
    group = f"{topic}-g"
    survivor = ClientProcess(module, "consume", broker.bootstrap_servers, topic, group, "clock-survivor")
    silent = None
    try:
        survivor.wait_for("consumed")
        silent = ClientProcess(module, "consume", broker.bootstrap_servers, topic, group, "clock-silent")
        info = broker.wait_for_group(group, 2, timeout=30)
        assert sorted(len(m.assignment.get(topic, ())) for m in info.members) == [1, 1]
        os.kill(silent.proc.pid, signal.SIGSTOP)
        # A heartbeat it sent just before it stopped may still be on its way: let the broker
        # take it before the clock moves, or it would renew the session on the moved clock.
        time.sleep(0.3)

        # Two steps, as time passes for a real broker: most of the session first, then (once
        # the survivor's heartbeats, every 200 ms, have renewed its session on the moved
        # clock) past the silent one's deadline. One jump of the whole session would expire
        # the survivor's session too: it would then rejoin as a new member, a slower path
        # (and not the one a real broker shows).
        broker.clock.advance(SESSION_TIMEOUT_MS / 1000 - 2)
        time.sleep(0.6)
        started = time.monotonic()
        broker.clock.advance(3)

        def survivor_owns_everything() -> bool:
            info = broker.group(group)
            return (
                info is not None and info.state == "Stable"
                and [m.client_id for m in info.members] == ["clock-survivor"]
                and sorted(info.members[0].assignment.get(topic, ())) == [0, 1]
            )

        wait_until(survivor_owns_everything, timeout=1.0, what="the survivor to own every partition")
        assert time.monotonic() - started < 1.0
    finally:
        if silent is not None:
            end(silent)
        end(survivor)
