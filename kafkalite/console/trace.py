"""The trace view's rows: the newest requests of the request journal, errors explained.

The journal (`kafkalite.broker.journal`, on with ``--journal-size N``) keeps the last N
requests and responses decoded; this picks the newest `limit` of them that match the API
and client filters, and explains every non-zero error code of a response as the learning
mode (``--trace``) does (`kafkalite.trace.explain`): the handler's error message, else a
reason from the request and the broker's state, else Kafka's description of the code.
Reasons read the broker as it is now, not as it was when the request was answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kafkalite.broker.journal import JournalEntry
from kafkalite.readable import to_data
from kafkalite.trace.explain import explain
from kafkalite.trace.render import MAX_ITEMS, render
from kafkalite.trace.sites import Context, error_sites

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

#: Most requests the trace view shows, and how many when the URL does not say.
MAX_LIMIT = 500
DEFAULT_LIMIT = 100


@attrs.frozen
class ExplainedError:
    path: str
    code: int
    name: str
    reason: str


@attrs.frozen
class TraceRow:
    seq: int
    time_ms: int
    api: str
    api_version: int
    correlation_id: int
    client_id: str | None
    peer: str
    node_id: int
    elapsed_ms: float
    answered: bool
    fault: int | None
    errors: list[ExplainedError]


def trace_rows(broker: Broker, *, api: str | None = None, client_id: str | None = None,
               errors_only: bool = False, limit: int = DEFAULT_LIMIT) -> list[TraceRow]:
    """The newest *limit* journal entries (newest first) of API *api* (a name or key, any
    spelling the journal takes) and client *client_id*, with *errors_only* those whose
    response has an error code; empty when the journal is off.

    Raises:
        ValueError: *limit* is not between 1 and `MAX_LIMIT`.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if not errors_only:
        entries = broker.journal.query(api=api or None, client_id=client_id, limit=limit)
        return [_row(broker, entry) for entry in reversed(entries)]
    # One pass over the journal (bounded by its capacity), errors decoded newest first
    # until *limit* entries with errors are found.
    found = []
    for entry in reversed(broker.journal.query(api=api or None, client_id=client_id)):
        if entry.errors:
            found.append(_row(broker, entry))
            if len(found) >= limit:
                break
    return found


def _row(broker: Broker, entry: JournalEntry) -> TraceRow:
    errors = []
    if entry.response is not None and entry.errors:
        ctx = Context(broker, entry.api_key, entry.api_version, entry.request, entry.node_id)
        for site in error_sites(entry.response):
            name, reason = explain(ctx, site)
            errors.append(ExplainedError(site.path or "(top level)", site.code, name, reason))
    return TraceRow(
        entry.seq, entry.time_ms, entry.api, entry.api_version, entry.correlation_id, entry.client_id,
        entry.peer, entry.node_id, entry.elapsed_ms, entry.response is not None, entry.fault, errors,
    )


@attrs.frozen
class TraceDetail:
    """One request and its response as ``--trace`` prints them: field by field, record sets
    summarised batch by batch, arrays cut after `MAX_ITEMS` elements."""

    row: TraceRow
    request: list[str]
    response: list[str] | None  # None: no response was sent (acks=0)
    records_dropped: bool  # the journal let its record sets go (its record budget)


def trace_detail(broker: Broker, seq: int) -> TraceDetail | None:
    """The journal's entry number *seq*, rendered; None when the journal no longer has it."""
    entry = next((e for e in reversed(broker.journal.entries()) if e.seq == seq), None)
    if entry is None:
        return None
    version, key = entry.api_version, entry.api_key
    request = render(to_data(entry.request, version, api_key=key, limit=MAX_ITEMS))
    response = None
    if entry.response is not None:
        response = render(to_data(entry.response, version, api_key=key, limit=MAX_ITEMS))
    return TraceDetail(_row(broker, entry), request, response, entry.records_dropped)


def api_names(broker: Broker) -> list[str]:
    """The APIs clients used since the journal was last cleared, for the filter's choices."""
    return sorted(broker.journal.apis())


def client_ids(broker: Broker) -> list[str]:
    """The client ids seen since the journal was last cleared, for the filter's choices."""
    return [c for c in broker.journal.clients() if c is not None]
