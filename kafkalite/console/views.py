"""The console's pages about data: the overview, topics, a partition's messages.

Each view is a function of the broker's state (read through `kafkalite.console.facts` and
`kafkalite.console.messages`) to a whole HTML document (`kafkalite.console.html.page`). A
view raises `NotFound` for a topic or partition that does not exist and `BadRequest` for a
query parameter out of range; the HTTP adapter turns both into an HTML page with the status.

Parts of a page that change while it is open (offsets, lag, the trace) carry ``data-live``
and an ``id``: the page's script re-reads the page now and then and swaps those parts.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from kafkalite.console import facts
from kafkalite.console.html import Markup, facts as fact_list, link, page, path_part, table, tag
from kafkalite.console.messages import DEFAULT_LIMIT, MAX_LIMIT, Shown, browse

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker


class ConsoleError(Exception):
    """A page that cannot be shown: *status* and a sentence for the person who asked."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ConsoleError):
    status = 404


class BadRequest(ConsoleError):
    status = 400


class Forbidden(ConsoleError):
    status = 403


def error_page(error: ConsoleError) -> str:
    """The page of a *error*: its status and its sentence."""
    return page(f"Error {error.status}", "", tag("p", error.message, class_="error"), live=False)


# -- small formats ---------------------------------------------------------------------------


def when(ms: int | None) -> str:
    """A broker wall-clock time in ms as ``2026-05-01 12:00:00.123 UTC`` (``-`` for none)."""
    if ms is None or ms < 0:
        return "-"
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


def size(n: int | None) -> str:
    """A byte count as people read it: ``512 B``, ``1.9 KiB``, ``3.0 MiB``, ``1.2 GiB``."""
    if n is None:
        return "-"
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def dash(value: Any) -> Any:
    return "-" if value is None else value


def node_list(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids) or "-"


def topic_href(name: str) -> str:
    return f"/topics/{path_part(name)}"


def partition_href(name: str, index: int, **query: int) -> str:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{topic_href(name)}/partitions/{index}" + (f"?{params}" if params else "")


def group_href(group_id: str) -> str:
    return f"/groups/{path_part(group_id)}"


# -- overview --------------------------------------------------------------------------------


def overview_page(broker: Broker) -> str:
    """``/``: the cluster's nodes (address, rack, live or stopped, controller) and counts."""
    o = facts.overview(broker)
    nodes = table(
        ["node", "host:port", "rack", "status", "role"],
        [
            (n.node_id, f"{n.host}:{n.port}", dash(n.rack),
             tag("span", "live" if n.live else "stopped", class_="ok" if n.live else "bad"),
             "controller" if n.controller else "broker")
            for n in o.nodes
        ],
        caption="Brokers", id="nodes", data_live=True,
    )
    counts = fact_list([
        ("cluster id", tag("code", o.cluster_id)),
        ("controller", link("/cluster", o.controller_id, aria_label=f"controller {o.controller_id}: the cluster view")),
        ("topics", link("/topics", f"{o.topics} (+{o.internal_topics} internal)")),
        ("partitions", o.partitions),
        ("consumer groups", link("/groups", o.groups)),
        ("transactional ids", link("/transactions", o.transactions)),
    ], id="counts", data_live=True)
    return page("Overview", "/", counts, nodes)


def cluster_page(broker: Broker) -> str:
    """``/cluster``: each node with the partitions it leads and the replicas it holds; the
    under-replicated and offline partitions."""
    c = facts.cluster(broker)
    nodes = table(
        ["node", "host:port", "rack", "status", "role", "partitions led", "replicas held"],
        [
            (n.node.node_id, f"{n.node.host}:{n.node.port}", dash(n.node.rack),
             tag("span", "live" if n.node.live else "stopped", class_="ok" if n.node.live else "bad"),
             "controller" if n.node.controller else "broker", n.leaders, n.replicas)
            for n in c.load
        ],
        caption="Brokers", id="load", data_live=True,
    )

    def issues(found: list[facts.PartitionIssue], caption: str, ident: str, empty: str) -> Markup:
        return table(
            ["topic", "partition", "leader", "replicas", "ISR"],
            [(link(topic_href(i.topic), i.topic), i.partition, "none" if i.leader < 0 else i.leader,
              node_list(i.replicas), node_list(i.isr)) for i in found],
            caption=caption, id=ident, data_live=True, empty=empty,
        )

    return page(
        "Cluster", "/cluster", nodes,
        issues(c.under_replicated, "Under-replicated partitions (ISR smaller than the replicas)", "under-replicated",
               "none: every partition has all its replicas in sync"),
        issues(c.offline, "Offline partitions (no leader)", "offline", "none: every partition has a leader"),
    )


# -- topics ----------------------------------------------------------------------------------


def topics_page(broker: Broker) -> str:
    """``/topics``: every topic with its partitions, messages and size."""
    rows = []
    for name in facts.topic_names(broker):
        t = facts.topic(broker, name, segments=False)
        if t is None:
            continue
        rows.append((link(topic_href(name), name), "internal" if t.internal else "", len(t.partitions),
                     t.messages, size(t.size)))
    body = table(["topic", "", "partitions", "offsets in log", "size"], rows, id="topics", data_live=True,
                 empty="no topics yet")
    return page("Topics", "/topics", body)


def topic_page(broker: Broker, name: str) -> str:
    """``/topics/TOPIC``: each partition's placement, offsets and segments; the configs."""
    t = facts.topic(broker, name)
    if t is None:
        raise NotFound(f"There is no topic {name!r}.")
    partitions = table(
        ["partition", "leader", "epoch", "replicas", "ISR", "log start", "log end", "high watermark",
         "last stable", "copies (node: log end)", "size", "segments (base: size)", ""],
        [
            (p.partition, p.leader, p.leader_epoch, node_list(p.replicas), node_list(p.isr),
             dash(p.log_start_offset), dash(p.log_end_offset), dash(p.high_watermark), dash(p.last_stable_offset),
             tag("ul", *(tag("li", f"{node}: {dash(end)}") for node, end in p.copies), class_="segments")
             if p.copies else "-",
             size(p.size),
             tag("ul", *(tag("li", f"{s.base_offset}: {size(s.size)}") for s in p.segments), class_="segments"),
             link(partition_href(name, p.partition), "messages", aria_label=f"messages of partition {p.partition}"))
            for p in t.partitions
        ],
        caption="Partitions", id="partitions", data_live=True,
    )
    head = fact_list([("topic id", tag("code", t.topic_id)), ("internal", "yes" if t.internal else "no"),
                      ("partitions", len(t.partitions))])
    configs = table(["config", "value"], t.configs.items(), caption="Configs set on the topic",
                    empty="none: broker defaults")
    return page(f"Topic {name}", "/topics", head, partitions, configs)


# -- messages --------------------------------------------------------------------------------


def _shown(s: Shown) -> Markup:
    cls = {"null": "null", "hex": "hex", "schema": "schema"}.get(s.kind)
    parts = [tag("span", s.text, class_=f"v {cls}" if cls else "v")]
    if s.note:
        parts.append(tag("small", s.note, class_="note"))
    return Markup("".join(parts))


def messages_page(broker: Broker, name: str, index: int, offset: int | None, limit: int | None) -> str:
    """``/topics/TOPIC/partitions/P?offset=&limit=``: up to *limit* messages from *offset*
    (default: the newest `DEFAULT_LIMIT`), with links to the pages before and after."""
    if broker.cluster.partition(name, index) is None:
        raise NotFound(f"There is no partition {index} of topic {name!r}.")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
    if offset is not None and offset < 0:
        raise BadRequest(f"offset must be 0 or more, not {offset}.")
    found = browse(broker, name, index, offset, limit)
    if found is None:
        raise NotFound(f"Partition {index} of topic {name!r} has no log on this broker.")
    rows = []
    for m in found.messages:
        if m.control is not None:
            value: Any = tag("span", f"transaction marker: {m.control}", class_="marker")
            rows.append((m.offset, when(m.timestamp), "", value, ""))
            continue
        headers = tag("ul", *(tag("li", tag("code", k), ": ", _shown(v)) for k, v in m.headers), class_="headers")
        rows.append((m.offset, when(m.timestamp), _shown(m.key), _shown(m.value), headers if m.headers else ""))
    nav = []
    if found.offset > found.log_start_offset:
        prev = max(found.log_start_offset, found.offset - limit)
        nav.append(link(partition_href(name, index, offset=prev, limit=limit), "← older", rel="prev"))
    if found.next_offset < found.high_watermark:
        nav.append(link(partition_href(name, index, offset=found.next_offset, limit=limit), "newer →", rel="next"))
    nav.append(link(partition_href(name, index, limit=limit), "newest"))
    form = tag(
        "form",
        tag("label", "offset ", Markup(f'<input name="offset" type="number" min="0" value="{found.offset}">')),
        tag("label", " limit ", Markup(f'<input name="limit" type="number" min="1" max="{MAX_LIMIT}" value="{limit}">')),
        " ", tag("button", "Show", type="submit"),
        method="get", class_="inline",
    )
    head = fact_list([
        ("topic", link(topic_href(name), name)), ("partition", index),
        ("log start", found.log_start_offset), ("high watermark", found.high_watermark),
        ("showing", f"offsets {found.offset} to {found.next_offset - 1}" if found.messages else "nothing"),
    ], id="where", data_live=True)
    parts = [head, form, tag("p", *_spaced(nav), class_="pager")]
    if found.error:
        parts.append(tag("p", found.error, class_="error"))
    parts.append(table(["offset", "timestamp", "key", "value", "headers"], rows, id="messages",
                       empty="no messages at these offsets"))
    return page(f"{name}-{index}", "/topics", *parts)


def _spaced(items: list[Markup]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if out:
            out.append(" · ")
        out.append(item)
    return out
