"""Learning mode (``--trace``): every request and response, decoded, with the reasons of errors.

For each request the broker logs (logger ``kafkalite.trace``, level INFO) the API, version,
correlation id, client id and peer, then every field of the body that exists in that
version, nested structs indented, with the field names of Kafka's message definitions in
snake_case (as in the protocol guide: ``fetch_offset``, ``partition_max_bytes``). The
response follows with its fields and the time the broker took.

* Record sets are summarised, one line per batch: base offset, record count, codec, the
  producer id / epoch / base sequence, and whether the batch is transactional or control.
* Consumer-protocol bytes (JoinGroup metadata, SyncGroup and DescribeGroups assignments)
  are shown decoded: the subscribed topics, the assigned partitions.
* Every non-zero error code is followed by a line in plain words: the error message the
  handler put in the response if there is one (even where that version of the protocol
  cannot carry it), else a reason derived from the request, the response and the broker's
  state, e.g. ``OFFSET_OUT_OF_RANGE: fetch offset 57 is past the log end offset 42 of
  orders-0``, else Kafka's description of the code.
* Long arrays show their first `MAX_ITEMS` elements and how many more there are.

With ``--trace-file PATH`` each request and response is also written to PATH as one JSON
object per line (the whole body, records summarised, bytes as hex), for tools to read.

Cluster events come between the requests: every change of a partition's leader, ISR or
replicas with its reason (logger ``kafkalite.cluster``: "orders-0: leader 1 -> 2 (epoch 3 ->
4), ISR [1, 2, 3] -> [2, 3]: broker 1 stopped (hard)") and the controller quorum's events
(``kafkalite.quorum``). ``kafkalite serve --trace`` shows those loggers as it shows the trace;
the trace file gets them as ``{"direction": "event", "api": null, "logger": ..., "message": ...}``
lines.

The parts: `kafkalite.readable` turns a message into plain data (shared with the CLI
tools), `kafkalite.trace.render` turns that data into lines, `kafkalite.trace.explain`
finds the reasons of errors; this module holds the tracer that puts them together.

Tracing costs nothing when it is off: `kafkalite.server.dispatch` checks one boolean and only
then imports this module.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kafkalite.readable import to_data
from kafkalite.trace.explain import explain
from kafkalite.trace.sites import Context, error_sites
from kafkalite.trace.render import MAX_ITEMS, render, value_text

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

log = logging.getLogger("kafkalite.trace")

#: The loggers of cluster events shown with the trace (see the module docstring).
EVENT_LOGGERS = ("kafkalite.cluster", "kafkalite.quorum")

_tracers: weakref.WeakKeyDictionary[Any, Tracer] = weakref.WeakKeyDictionary()
_tracers_lock = threading.Lock()


def tracer_for(broker: Broker) -> Tracer:
    """The broker's tracer (created on first use, with the trace file its config names)."""
    tracer = _tracers.get(broker)
    if tracer is None:
        with _tracers_lock:
            tracer = _tracers.get(broker)
            if tracer is None:
                tracer = _tracers[broker] = Tracer(broker, getattr(broker.config, "trace_file", None))
    return tracer


class Tracer:
    """Logs requests and responses of one broker; writes JSON lines if given a file."""

    def __init__(self, broker: Broker, trace_file: Path | str | None = None) -> None:
        self._broker_ref = weakref.ref(broker)
        self.file: TextIO | None = None
        if trace_file is not None:
            path = Path(trace_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed with the broker
            events = _EventsToFile(self)
            for name in EVENT_LOGGERS:
                logger = logging.getLogger(name)
                if not logger.isEnabledFor(logging.INFO):  # the file wants them whatever is shown
                    logger.setLevel(logging.INFO)
                logger.addHandler(events)
            weakref.finalize(broker, _close, self.file, events)

    def request(self, api_name: str, header: Any, request: Any, peer: str, node_id: int) -> float:
        """Trace an incoming request; return the start time to pass to `response`."""
        api_key, version = header.api_key, header.api_version
        body = to_data(request, version, api_key=api_key, limit=MAX_ITEMS)
        if log.isEnabledFor(logging.INFO):
            lines = [
                f"-> {api_name} v{version} correlation_id={header.correlation_id} "
                f"client_id={value_text(header.client_id)} peer={peer or '-'} node={node_id}",
                *render(body),
            ]
            log.info("%s", "\n".join(lines))
        if self.file is not None:
            self._write({
                "direction": "request",
                "api": api_name,
                "api_key": api_key,
                "api_version": version,
                "correlation_id": header.correlation_id,
                "client_id": header.client_id,
                "peer": peer,
                "node_id": node_id,
                "body": to_data(request, version, api_key=api_key),
            })
        return time.perf_counter()

    def response(
        self, api_name: str, header: Any, request: Any, response: Any, node_id: int, started: float
    ) -> None:
        api_key, version = header.api_key, header.api_version
        elapsed_ms = (time.perf_counter() - started) * 1000
        broker = self._broker_ref()
        errors = []
        if response is not None and broker is not None:
            ctx = Context(broker, api_key, version, request, node_id)
            for site in error_sites(response):
                name, reason = explain(ctx, site)
                errors.append({"path": site.path or "(top level)", "code": site.code, "name": name, "reason": reason})
        if log.isEnabledFor(logging.INFO):
            head = f"<- {api_name} v{version} correlation_id={header.correlation_id} ({elapsed_ms:.1f} ms)"
            if response is None:
                lines = [head + ": no response (acks=0)"]
            else:
                lines = [head, *render(to_data(response, version, api_key=api_key, limit=MAX_ITEMS))]
            for e in errors:
                lines.append(f"   ! {e['name']}: {e['reason']}  [at {e['path']}]")
            log.info("%s", "\n".join(lines))
        if self.file is not None:
            self._write({
                "direction": "response",
                "api": api_name,
                "api_key": api_key,
                "api_version": version,
                "correlation_id": header.correlation_id,
                "elapsed_ms": round(elapsed_ms, 3),
                "body": None if response is None else to_data(response, version, api_key=api_key),
                "errors": errors,
            })

    def event(self, record: logging.LogRecord) -> None:
        """Write a cluster event (a record of one of `EVENT_LOGGERS`) to the trace file."""
        if self.file is not None:
            # "api" null: every line of the file has the same keys to filter on.
            self._write({"direction": "event", "api": None, "logger": record.name, "message": record.getMessage()})

    def _write(self, entry: dict[str, Any]) -> None:
        assert self.file is not None
        entry = {"ts": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"), **entry}
        try:
            self.file.write(json.dumps(entry, default=str) + "\n")
        except (OSError, ValueError) as exc:
            log.warning("cannot write the trace file: %s", exc)


class _EventsToFile(logging.Handler):
    """Hands the records of the cluster-event loggers to a tracer (its file), at INFO and up."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__(logging.INFO)
        self._tracer = weakref.ref(tracer)

    def emit(self, record: logging.LogRecord) -> None:
        tracer = self._tracer()
        if tracer is not None:
            tracer.event(record)


def _close(file: TextIO, events: logging.Handler) -> None:
    for name in EVENT_LOGGERS:
        logging.getLogger(name).removeHandler(events)
    file.close()
