"""The console's pages about clients: groups, transactions, the request trace, fault rules.

As in `kafkalite.console.views`: functions of the broker's state to HTML documents, raising
`NotFound` / `BadRequest`; the fault rules page shows its forms only when the console may
change data (``console_write``), and `apply_fault_form` turns a submitted form into a rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from kafkalite.broker.faults import FaultSpecError
from kafkalite.console import facts
from kafkalite.console.html import Markup, esc, facts as fact_list, link, page, table, tag, void
from kafkalite.console.lag import LagSamples, lag_chart
from kafkalite.console.trace import DEFAULT_LIMIT, MAX_LIMIT, api_names, client_ids, trace_detail, trace_rows
from kafkalite.console.views import BadRequest, NotFound, dash, group_href, partition_href, topic_href, when

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker


# -- groups ----------------------------------------------------------------------------------


def groups_page(broker: Broker) -> str:
    """``/groups``: every group with its state, members and total lag."""
    rows = [
        (link(group_href(g.group_id), g.group_id), g.kind, g.state, g.members, dash(g.lag))
        for g in facts.group_list(broker)
    ]
    body = table(["group", "type", "state", "members", "lag"], rows, id="groups", data_live=True,
                 empty="no consumer groups yet")
    return page("Consumer groups", "/groups", body)


def group_page(broker: Broker, group_id: str, samples: LagSamples | None) -> str:
    """``/groups/GROUP``: state and members, the offsets and lag per partition as
    kafka-consumer-groups shows them, and the lag over time."""
    g = facts.group(broker, group_id)
    if g is None:
        raise NotFound(f"There is no consumer group {group_id!r}.")
    head = fact_list([
        ("type", g.kind), ("state", g.state), ("protocol type", g.protocol_type or "-"),
        ("assignor" if g.kind == "consumer" else "protocol", g.protocol or "-"),
        ("group epoch" if g.kind == "consumer" else "generation", g.generation),
        ("total lag", tag("strong", dash(g.lag), id="total-lag")),
    ], id="group-state", data_live=True)
    offsets = table(
        ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"],
        [
            (link(topic_href(r.topic), r.topic),
             link(partition_href(r.topic, r.partition), r.partition, aria_label=f"messages of {r.topic}-{r.partition}"),
             dash(r.current_offset) if r.current_offset is None else link(
                 partition_href(r.topic, r.partition, offset=r.current_offset), r.current_offset,
                 aria_label=f"messages of {r.topic}-{r.partition} from the committed offset {r.current_offset}"),
             dash(r.log_end_offset), dash(r.lag),
             dash(r.member_id), dash(r.host), dash(r.client_id))
            for r in g.rows
        ],
        caption="Offsets and lag", id="offsets", data_live=True, empty="no committed offsets and no assignment",
    )
    members = table(
        ["member id", "client id", "host", "instance id", "assignment"],
        [
            (m.member_id + (" (leader)" if m.member_id == g.leader else ""), m.client_id, m.host,
             dash(m.instance_id), ", ".join(f"{t}-{p}" for t, p in m.assignment) or "-")
            for m in g.members
        ],
        caption="Members", id="members", data_live=True, empty="no members",
    )
    chart = lag_chart(samples.samples(group_id) if samples is not None else [], f"lag of {group_id} over time")
    lag_section = tag("section", tag("h2", "Lag over time"), chart, id="lag-chart", data_live=True)
    return page(f"Group {group_id}", "/groups", head, offsets, members, lag_section)


# -- transactions ----------------------------------------------------------------------------


def transactions_page(broker: Broker) -> str:
    """``/transactions``: every transactional id with its state, producer and partitions."""
    rows = [
        (t.transactional_id, t.state, t.producer_id, t.producer_epoch, f"{t.timeout_ms} ms",
         when(t.start_time_ms), ", ".join(f"{n}-{p}" for n, p in t.partitions) or "-")
        for t in facts.transaction_list(broker)
    ]
    body = table(["transactional id", "state", "producer id", "epoch", "timeout", "started", "partitions"], rows,
                 id="transactions", data_live=True, empty="no transactional ids yet")
    return page("Transactions", "/transactions", body)


# -- trace -----------------------------------------------------------------------------------


def trace_page(broker: Broker, api: str | None, client_id: str | None, limit: int | None,
               errors_only: bool = False) -> str:
    """``/trace?api=&client_id=&errors=1&limit=``: the newest requests (with ``errors=1``
    only those answered with an error), errors explained."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
    if not broker.journal.enabled:
        note = tag("p", "The request journal is off, so there is nothing to show: start the broker with "
                        "--journal-size N (KAFKALITE_JOURNAL_SIZE) to keep the last N requests.", class_="error")
        return page("Request trace", "/trace", note)
    form = tag(
        "form",
        _choice("api", "API", api_names(broker), api),
        _choice("client_id", "client id", client_ids(broker), client_id),
        tag("label", void("input", name="errors", type="checkbox", value="1", checked=errors_only), " errors only "),
        tag("label", "last ", void("input", name="limit", type="number", min=1, max=MAX_LIMIT, value=limit)),
        " ", tag("button", "Filter", type="submit"),
        method="get", class_="inline",
    )
    rows = []
    for r in trace_rows(broker, api=api, client_id=client_id, errors_only=errors_only, limit=limit):
        errors = tag("ul", *(
            tag("li", tag("strong", e.name), ": ", e.reason, tag("small", f" at {e.path}", class_="note"))
            for e in r.errors
        ), class_="errors") if r.errors else ""
        fault = tag("small", f"fault rule {r.fault}", class_="note") if r.fault is not None else ""
        rows.append((
            link(f"/trace/{r.seq}", r.seq, aria_label=f"request {r.seq} decoded"), when(r.time_ms), Markup(f"{esc(r.api)} v{r.api_version}"), r.correlation_id, dash(r.client_id),
            r.peer, r.node_id, f"{r.elapsed_ms:.1f} ms" if r.answered else "no response",
            Markup(errors + fault) if (errors or fault) else tag("span", "ok", class_="ok"),
        ))
    body = table(["#", "time", "API", "correlation", "client id", "peer", "node", "took", "errors"], rows,
                 id="trace", data_live=True, empty="no requests match")
    return page("Request trace", "/trace", form, body)


def trace_entry_page(broker: Broker, seq: int) -> str:
    """``/trace/SEQ``: one request and its response decoded, as ``--trace`` logs them, with
    its errors explained."""
    detail = trace_detail(broker, seq)
    if detail is None:
        raise NotFound(f"The request journal has no request {seq} (any more): it keeps the last "
                       f"{broker.journal.capacity} requests.")
    r = detail.row
    head = fact_list([
        ("API", f"{r.api} v{r.api_version}"), ("correlation id", r.correlation_id), ("client id", dash(r.client_id)),
        ("peer", r.peer), ("node", r.node_id), ("time", when(r.time_ms)),
        ("took", f"{r.elapsed_ms:.1f} ms" if r.answered else "no response"),
        ("fault rule", dash(r.fault)),
    ])
    parts: list[Any] = [head, tag("p", link("/trace", "← all requests"))]
    if r.errors:
        parts.append(tag("h2", "Errors"))
        parts.append(tag("ul", *(tag("li", tag("strong", e.name), ": ", e.reason,
                                        tag("small", f" at {e.path}", class_="note")) for e in r.errors),
                         class_="errors"))
    if detail.records_dropped:
        parts.append(tag("p", "The journal let this entry's record sets go (its record budget): they show as null.",
                         class_="muted"))
    parts += [tag("h2", "Request"), tag("pre", "\n".join(detail.request), class_="decoded")]
    parts.append(tag("h2", "Response"))
    parts.append(tag("pre", "\n".join(detail.response), class_="decoded") if detail.response is not None
                 else tag("p", "No response was sent (acks=0).", class_="muted"))
    return page(f"Request {seq}: {r.api} v{r.api_version}", "/trace", *parts)


def _choice(name: str, label: str, options: list[str], chosen: str | None) -> Markup:
    choices = [tag("option", "any", value="")]
    for option in sorted(set(options) | ({chosen} if chosen else set())):
        choices.append(tag("option", option, value=option, selected=option == chosen))
    return tag("label", f"{label} ", tag("select", *choices, name=name), " ")


# -- fault rules -----------------------------------------------------------------------------

#: The fault form's fields: (name, label, kind); kind "int", "bool" or "str". The engine
#: (`kafkalite.broker.faults`) checks the values; an empty field is left out.
FAULT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("api", "API (name or key)", "str"),
    ("error", "error (name or code)", "str"),
    ("topic", "topic", "str"),
    ("partition", "partition", "int"),
    ("client_id", "client id", "str"),
    ("group_id", "group id", "str"),
    ("delay_ms", "delay (ms)", "int"),
    ("times", "times", "int"),
    ("always", "always", "bool"),
)


def faults_page(broker: Broker, *, writable: bool, problem: str | None = None,
                form: Mapping[str, str] | None = None) -> str:
    """``/faults``: each rule with its counters; with *writable*, forms to add, remove and
    clear rules (*problem* and *form*: a refused submission, shown again)."""
    rules = facts.fault_rules(broker)
    rows = []
    for rule in rules:
        spec = ", ".join(f"{k}={v}" for k, v in rule.items() if k not in ("id", "matched", "fired"))
        remove: Any = ""
        if writable:
            remove = tag("form", tag("button", "Remove", type="submit", aria_label=f"remove rule {rule['id']}"),
                         method="post", action=f"/faults/{rule['id']}/remove")
        rows.append((rule["id"], tag("code", spec), rule["matched"], rule["fired"], remove))
    parts: list[Any] = [table(["rule", "spec", "matched", "fired", ""], rows, id="rules", data_live=True,
                              empty="no fault rules")]
    if not writable:
        parts.append(tag("p", "Read-only: start the broker with --console-write (KAFKALITE_CONSOLE_WRITE=1) to add "
                              "and clear rules here.", class_="muted"))
        return page("Fault rules", "/faults", *parts)
    if problem:
        parts.append(tag("p", problem, class_="error", role="alert"))
    given = form or {}
    inputs = []
    for name, label, kind in FAULT_FIELDS:
        if kind == "bool":
            field = void("input", name=name, type="checkbox", value="1", checked=bool(given.get(name)))
        else:
            field = void("input", name=name, type="number" if kind == "int" else "text", value=given.get(name, ""))
        inputs.append(tag("label", tag("span", label), field))
    parts.append(tag("form", tag("fieldset", tag("legend", "Add a rule"), *inputs,
                                 tag("button", "Add rule", type="submit")), method="post", action="/faults"))
    parts.append(tag("form", tag("button", "Clear all rules", type="submit"), method="post", action="/faults/clear"))
    return page("Fault rules", "/faults", *parts)


def apply_fault_form(broker: Broker, form: Mapping[str, str]) -> int:
    """Add the rule a submitted fault form describes; its id.

    Raises:
        BadRequest: a field is unknown or not a number where one is needed, or the fault
            engine refuses the spec (its sentence names the field).
    """
    kinds = {name: kind for name, _label, kind in FAULT_FIELDS}
    spec: dict[str, Any] = {}
    for name, raw in form.items():
        kind = kinds.get(name)
        if kind is None:
            raise BadRequest(f"unknown field {name!r}")
        raw = raw.strip()
        if not raw:
            continue
        if kind == "int" or (name in ("api", "error") and raw.lstrip("-").isdigit()):
            try:
                spec[name] = int(raw)
            except ValueError:
                raise BadRequest(f"{name} must be a whole number, not {raw!r}") from None
        elif kind == "bool":
            spec[name] = True
        else:
            spec[name] = raw
    try:
        return broker.faults.add(**spec).id
    except FaultSpecError as exc:
        raise BadRequest(str(exc)) from None
