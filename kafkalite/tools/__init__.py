"""Command-line tools in the spirit of Kafka's scripts, for kafkalite or any Kafka cluster.

``kafkalite topics | groups | produce | consume | transactions | acls | dump-log | health | compat``:
each is a module here with a ``main(argv) -> int``; `run` dispatches to it. ``fault``,
``journal`` and ``clock`` share `kafkalite.tools.control` (the broker's HTTP API), a
function each (``"module:function"`` in `TOOLS`); ``schemas`` talks to the Schema Registry's
REST API. They talk to brokers
through `kafkalite.tools.client` (kafkalite's own codec over a socket), so no client library
is needed; ``dump-log`` reads segment files directly, ``compat`` the compat tests' journal.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from typing import Callable, Sequence, TextIO

#: tool name -> (module, one-line help)
TOOLS: dict[str, tuple[str, str]] = {
    "topics": ("topics", "list, describe, create and delete topics (like kafka-topics)"),
    "groups": ("groups", "list and describe consumer groups, with lag (like kafka-consumer-groups)"),
    "produce": ("produce", "send lines of stdin as records (like kafka-console-producer)"),
    "consume": ("consume", "print records as lines (like kafka-console-consumer)"),
    "transactions": ("transactions", "list and describe transactions (like kafka-transactions)"),
    "quotas": ("quotas", "describe and alter client quotas (like kafka-configs --entity-type users/clients)"),
    "acls": ("acls", "add, list and remove ACLs (like kafka-acls)"),
    "quorum": ("quorum", "describe the controller quorum: leader, epoch, voters, lag (like kafka-metadata-quorum)"),
    "dump-log": ("dump_log", "print the batches and records of segment files (like kafka-dump-log)"),
    "health": ("health", "exit 0 when a broker answers ApiVersions (for container health checks)"),
    "compat": ("compat", "which clients, API versions and scenarios the compat tests cover"),
    "certs": ("certs", "write a test CA, broker and client certificates for the TLS listeners"),
    # The broker's HTTP control API (kafkalite serve --http-port): one module, a main each.
    "fault": ("control:fault_main", "add, list and remove fault rules (the broker's HTTP API)"),
    "journal": ("control:journal_main", "print the requests the broker recorded (the broker's HTTP API)"),
    "clock": ("control:clock_main", "show, advance, freeze the broker clock (the broker's HTTP API)"),
    "broker": ("nodes", "list, stop and start the cluster's broker nodes (the broker's HTTP API)"),
    # The Schema Registry (kafkalite serve --http-port / --schema-registry-port).
    "schemas": ("schemas:schemas_main", "list, show, register and check schemas (the broker's Schema Registry)"),
}


def run(name: str, argv: Sequence[str]) -> int:
    """Run tool *name* with *argv*; return its exit status (1 on a `ToolError`)."""
    from kafkalite.tools.client import ToolError

    module_name, _, function = TOOLS[name][0].partition(":")
    module = importlib.import_module(f"kafkalite.tools.{module_name}")
    try:
        return int(getattr(module, function or "main")(list(argv)) or 0)
    except ToolError as exc:
        print(f"kafkalite {name}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `kafkalite consume ... | head`: the reader went away; that is not an error. Point
        # stdout at /dev/null so that flushing it at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def parser(name: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"kafkalite {name}", description=description)


def add_connection_options(p: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    """``--bootstrap-server`` and ``--timeout``. A tool with subcommands adds them to its
    own parser and, with *subcommand*, to each subcommand's, so that they may come before
    or after the subcommand (``topics --bootstrap-server X list`` or ``topics list
    --bootstrap-server X``)."""
    from kafkalite.tools.client import DEFAULT_TIMEOUT_S, default_bootstrap

    p.add_argument(
        "--bootstrap-server",
        default=argparse.SUPPRESS if subcommand else default_bootstrap(),
        metavar="HOST:PORT",
        help="broker(s) to connect to (default: $KAFKALITE_BOOTSTRAP_SERVER or localhost:9092)",
    )
    p.add_argument(
        "--timeout", type=float, default=argparse.SUPPRESS if subcommand else DEFAULT_TIMEOUT_S,
        metavar="SECONDS", help=f"network timeout (default {DEFAULT_TIMEOUT_S:g})",
    )


class Progress:
    """A progress line on stderr, rewritten in place, only when stderr is a terminal.

    ``render()`` returns the text; it is redrawn at most every 0.2 s, and cleared by `done`.
    """

    def __init__(self, render: Callable[[], str], *, enabled: bool | None = None, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = _isatty(self.stream)
        self.enabled = enabled
        self.render = render
        self._last = 0.0
        self._shown = False

    def tick(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self.stream.write("\r\x1b[K" + self.render())
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
