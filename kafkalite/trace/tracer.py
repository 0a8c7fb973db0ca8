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
  cannot carry it), else a reason derived here from the request, the response and the
  broker's state, e.g. ``OFFSET_OUT_OF_RANGE: fetch offset 57 is past the log end offset 42
  of orders-0``, else Kafka's description of the code.
* Long arrays show their first `MAX_ITEMS` elements and how many more there are.

With ``--trace-file PATH`` each request and response is also written to PATH as one JSON
object per line (the whole body, records summarised, bytes as hex), for tools to read.

Tracing costs nothing when it is off: `kafkalite.dispatch` checks one boolean and only then
imports this module.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TextIO

from kafkalite.wire.error_codes import ErrorCode

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

log = logging.getLogger("kafkalite.trace")

MAX_ITEMS = 30
_CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
_GROUP_APIS = {11: "JoinGroup", 14: "SyncGroup", 15: "DescribeGroups"}

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


# -- values ----------------------------------------------------------------------------------


def kafka_uuid(value: uuid.UUID) -> str:
    """A UUID as Kafka prints topic ids: URL-safe base64 of its 16 bytes, without padding."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def summarise_records(data: Any) -> dict[str, Any]:
    """Batches of a record set, header fields only (records are not decoded)."""
    from kafkalite.wire.records import scan_batches

    if isinstance(data, list):  # a handler's list of stored chunks
        data = b"".join(bytes(chunk) for chunk in data)
    size = len(data)
    try:
        scan = scan_batches(data)
    except Exception as exc:  # noqa: BLE001 - the trace shows what it cannot parse
        return {"bytes": size, "error": str(exc)}
    batches = []
    for _pos, h in scan.batches:
        batch: dict[str, Any] = {
            "base_offset": h.base_offset,
            "last_offset": h.last_offset,
            "count": h.records_count,
            "codec": _CODECS.get(h.compression, str(h.compression)),
            "producer_id": h.producer_id,
            "producer_epoch": h.producer_epoch,
            "base_sequence": h.base_sequence,
            "partition_leader_epoch": h.partition_leader_epoch,
            "max_timestamp": h.max_timestamp,
            "size": h.size,
        }
        if h.timestamp_type:
            batch["timestamp_type"] = "LogAppendTime"
        if h.is_transactional:
            batch["transactional"] = True
        if h.is_control:
            batch["control"] = True
        batches.append(batch)
    summary: dict[str, Any] = {"bytes": size, "batches": batches}
    if scan.partial_tail:
        summary["partial_tail_bytes"] = size - scan.valid_bytes
    return summary


def _consumer_bytes(name: str, value: bytes) -> dict[str, Any] | None:
    """Decode consumer-protocol subscription / assignment bytes, or None."""
    from kafkalite.groups.consumer_protocol import ConsumerProtocolError, assigned_partitions, subscribed_topics

    try:
        if "assignment" in name:
            return {"assigned": assigned_partitions(value)}
        if "metadata" in name:
            return {"subscribed_topics": subscribed_topics(value)}
    except ConsumerProtocolError:
        return None
    return None


def to_data(obj: Any, version: int | None, *, api_key: int | None = None, limit: int | None = None) -> Any:
    """A declared message (or struct) as plain JSON-able data: only the fields of *version*
    (all when None), records summarised, bytes as length and hex, UUIDs as Kafka prints
    them. *limit* caps arrays (the rest is counted under ``"...": N more``)."""
    fields = getattr(type(obj), "__kafka_fields__", None)
    if fields is None:
        return _scalar(obj, "", api_key)
    out: dict[str, Any] = {}
    for spec in fields:
        if version is not None and version not in spec.versions:
            continue
        value = getattr(obj, spec.name)
        if spec.tag is not None and value == spec.default_value():
            continue  # a tagged field at its default is not on the wire
        out[spec.name] = _value(spec.name, spec.type, value, version, api_key, limit)
    unknown = getattr(obj, "unknown_tagged_fields", None)
    if unknown:
        out["unknown_tagged_fields"] = {str(tag): raw.hex() for tag, raw in unknown.items()}
    return out


def _value(name: str, type_: Any, value: Any, version: int | None, api_key: int | None, limit: int | None) -> Any:
    if value is None:
        return None
    if type_ == "records":
        return {"records": summarise_records(value)}
    if isinstance(value, list):
        items = value if limit is None else value[:limit]
        result = [_value(name, getattr(type_, "element", None), item, version, api_key, limit) for item in items]
        if limit is not None and len(value) > limit:
            result.append({"...": f"{len(value) - limit} more"})
        return result
    if hasattr(type(value), "__kafka_fields__"):
        return to_data(value, version, api_key=api_key, limit=limit)
    return _scalar(value, name, api_key)


def _scalar(value: Any, name: str, api_key: int | None) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if api_key in _GROUP_APIS and raw:
            decoded = _consumer_bytes(name, raw)
            if decoded is not None:
                return decoded
        return {"bytes": len(raw), "hex": raw[:64].hex() + ("..." if len(raw) > 64 else "")}
    if isinstance(value, uuid.UUID):
        return kafka_uuid(value)
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _api_name(key: int) -> str | None:
    from kafkalite.wire.api_keys import ApiKey

    try:
        return "".join(part.capitalize() for part in ApiKey(key).name.split("_"))
    except ValueError:
        return None


# -- text rendering --------------------------------------------------------------------------


def render(data: dict[str, Any], indent: str = "   ") -> list[str]:
    """Lines for a `to_data` dict: scalars ``name=value`` on one line, nested things below."""
    lines: list[str] = []
    scalars = []
    nested = []
    for name, value in data.items():
        if isinstance(value, dict) and "records" in value and len(value) == 1:
            nested.append((name, value))
        elif isinstance(value, dict) and not _is_leaf(value):
            nested.append((name, value))
        elif isinstance(value, list) and any(isinstance(v, dict) and not _is_leaf(v) for v in value):
            nested.append((name, value))
        elif name == "api_key" and isinstance(value, int) and _api_name(value):
            scalars.append(f"{name}={value}({_api_name(value)})")
        else:
            scalars.append(f"{name}={_text(value)}")
    if scalars:
        lines.append(indent + " ".join(scalars))
    for name, value in nested:
        if isinstance(value, dict) and "records" in value:
            lines.extend(_render_records(name, value["records"], indent))
        elif isinstance(value, dict):
            lines.append(f"{indent}{name}:")
            lines.extend(render(value, indent + "  "))
        else:
            for i, item in enumerate(value):
                if isinstance(item, dict) and "..." in item:
                    lines.append(f"{indent}{name}: ... {item['...']}")
                elif isinstance(item, dict) and not _is_leaf(item):
                    sub = render(item, indent + "  ")
                    head = sub[0].strip() if sub and not sub[0].strip().endswith(":") else ""
                    lines.append(f"{indent}{name}[{i}]: {head}".rstrip())
                    lines.extend(sub[1:] if head else sub)
                else:
                    lines.append(f"{indent}{name}[{i}]: {_text(item)}")
    return lines


def _is_leaf(value: dict[str, Any]) -> bool:
    return set(value) <= {"bytes", "hex"} or set(value) <= {"assigned"} or set(value) <= {"subscribed_topics"}


def _render_records(name: str, summary: dict[str, Any], indent: str) -> list[str]:
    if "error" in summary:
        return [f"{indent}{name}: {summary['bytes']} bytes that do not parse: {summary['error']}"]
    batches = summary["batches"]
    if not batches:
        return [f"{indent}{name}: empty"]
    lines = [f"{indent}{name}: {len(batches)} batch(es), {summary['bytes']} bytes"]
    for b in batches[:MAX_ITEMS]:
        flags = "".join(
            f" {flag}" for flag in ("transactional", "control") if b.get(flag)
        ) + (" LogAppendTime" if b.get("timestamp_type") else "")
        lines.append(
            f"{indent}  batch base_offset={b['base_offset']} count={b['count']} codec={b['codec']} "
            f"producer_id={b['producer_id']} producer_epoch={b['producer_epoch']} "
            f"base_sequence={b['base_sequence']} partition_leader_epoch={b['partition_leader_epoch']} "
            f"size={b['size']}{flags}"
        )
    if len(batches) > MAX_ITEMS:
        lines.append(f"{indent}  ... {len(batches) - MAX_ITEMS} more batches")
    if summary.get("partial_tail_bytes"):
        lines.append(f"{indent}  + {summary['partial_tail_bytes']} bytes of a partial batch")
    return lines


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if (value == "" or " " in value) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        if "bytes" in value:
            return f"<{value['bytes']} bytes>"
        if "assigned" in value:
            parts = ",".join(f"{t}-{p}" for t, ps in value["assigned"].items() for p in ps)
            return f"<assignment {parts or 'none'}>"
        if "subscribed_topics" in value:
            return f"<subscription {','.join(value['subscribed_topics'])}>"
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(_text(v) for v in value) + "]"
    return str(value)


# -- errors and their reasons ----------------------------------------------------------------


class ErrorSite:
    """Where in a response an error code sits, with what a reason needs to know."""

    def __init__(self, path: str, chain: list[Any], code: int) -> None:
        self.path = path
        self.chain = chain  # response structs from the top down to the one with the error
        self.code = code

    @property
    def struct(self) -> Any:
        return self.chain[-1]

    def attr(self, *names: str) -> Any:
        """The first of *names* found on the erroring struct or, going up, its parents."""
        for obj in reversed(self.chain):
            for name in names:
                value = getattr(obj, name, None)
                if value is not None and name in _field_names(obj):
                    return value
        return None

    @property
    def topic(self) -> str | None:
        for obj in reversed(self.chain[:-1] if _partition_of(self.struct) is not None else self.chain):
            for name in ("topic", "name"):
                if name in _field_names(obj):
                    value = getattr(obj, name)
                    if isinstance(value, str) and value:
                        return value
        return None

    @property
    def partition(self) -> int | None:
        return _partition_of(self.struct)


def _field_names(obj: Any) -> set[str]:
    return {spec.name for spec in getattr(type(obj), "__kafka_fields__", ())}


def _partition_of(obj: Any) -> int | None:
    for name in ("partition_index", "partition", "index"):
        if name in _field_names(obj):
            value = getattr(obj, name)
            if isinstance(value, int):
                return value
    return None


def error_sites(response: Any) -> list[ErrorSite]:
    """Every struct of *response* with a non-zero ``error_code``, depth first."""
    found: list[ErrorSite] = []

    def walk(obj: Any, path: str, chain: list[Any]) -> None:
        fields = getattr(type(obj), "__kafka_fields__", None)
        if fields is None:
            return
        chain = [*chain, obj]
        for spec in fields:
            value = getattr(obj, spec.name)
            if spec.name == "error_code" and value:
                found.append(ErrorSite(path, chain, value))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(item, f"{path}.{spec.name}[{i}]" if path else f"{spec.name}[{i}]", chain)
            elif hasattr(type(value), "__kafka_fields__"):
                walk(value, f"{path}.{spec.name}" if path else spec.name, chain)

    walk(response, "", [])
    return found


def _request_partition(request: Any, topic: str | None, partition: int | None) -> Any:
    """The request's struct for *topic* / *partition* (Fetch, Produce, ListOffsets ...)."""
    for t in _items(request, ("topics", "topic_data")):
        name = getattr(t, "topic", None) or getattr(t, "name", None)
        if topic is not None and name != topic:
            continue
        for p in _items(t, ("partitions", "partition_data")):
            if _partition_of(p) == partition:
                return p
    return None


def _items(obj: Any, names: tuple[str, ...]) -> list[Any]:
    for name in names:
        if name in _field_names(obj):
            return getattr(obj, name) or []
    return []


Reason = Callable[["Context", ErrorSite], "str | None"]


class Context:
    """What a reason may look at: the broker (current state), the request and its version."""

    def __init__(self, broker: Broker, api_key: int, version: int, request: Any, node_id: int) -> None:
        self.broker = broker
        self.api_key = api_key
        self.version = version
        self.request = request
        self.node_id = node_id

    def plog(self, topic: str | None, partition: int | None) -> Any:
        if topic is None or partition is None:
            return None
        return self.broker.log_for(topic, partition)

    def group(self) -> Any:
        group_id = getattr(self.request, "group_id", None)
        if group_id is None:
            return None
        return self.broker.groups.groups.get(group_id)


def _where(topic: str | None, partition: int | None) -> str:
    return f"{topic}-{partition}" if partition is not None else str(topic)


def _offset_out_of_range(ctx: Context, site: ErrorSite) -> str | None:
    topic, partition = site.topic, site.partition
    wanted = _request_partition(ctx.request, topic, partition)
    if wanted is None:
        return None
    offset = getattr(wanted, "fetch_offset", None)
    verb = "fetch offset"
    if offset is None:
        offset, verb = getattr(wanted, "offset", None), "offset"
    if offset is None:
        return None
    plog = ctx.plog(topic, partition)
    start = getattr(site.struct, "log_start_offset", -1)
    end = getattr(site.struct, "high_watermark", -1)
    if plog is not None:
        start = plog.log_start_offset if start in (None, -1) else start
        end = plog.high_watermark if end in (None, -1) else end
    where = _where(topic, partition)
    if end is not None and end >= 0 and offset > end:
        return f"{verb} {offset} is past the log end offset {end} of {where}"
    if start is not None and start >= 0 and offset < start:
        return (
            f"{verb} {offset} is before the log start offset {start} of {where} "
            "(older records were deleted by retention or DeleteRecords)"
        )
    return f"{verb} {offset} is outside [{start}, {end}] of {where}"


def _unknown_topic_or_partition(ctx: Context, site: ErrorSite) -> str | None:
    topic, partition = site.topic, site.partition
    if topic is None:
        return None
    t = ctx.broker.cluster.topic(topic)
    if t is None:
        reason = f"topic {topic} does not exist"
        if ctx.api_key == 3:
            if not ctx.broker.config.auto_create_topics:
                reason += " and the broker does not create topics on demand (auto.create.topics.enable=false)"
            elif ctx.version >= 4 and not getattr(ctx.request, "allow_auto_topic_creation", True):
                reason += " and the client did not ask to create it (allow_auto_topic_creation=false)"
        return reason
    if partition is not None and not 0 <= partition < len(t.partitions):
        return f"topic {topic} has {len(t.partitions)} partition(s), 0-{len(t.partitions) - 1}: no partition {partition}"
    return None


def _unknown_topic_id(ctx: Context, site: ErrorSite) -> str | None:
    topic_id = site.attr("topic_id")
    if isinstance(topic_id, uuid.UUID):
        return f"no topic has the id {kafka_uuid(topic_id)} (deleted, or from another cluster)"
    return None


def _not_leader(ctx: Context, site: ErrorSite) -> str | None:
    topic, partition = site.topic, site.partition
    if topic is None or partition is None:
        return None
    state = ctx.broker.cluster.partition(topic, partition)
    if state is None:
        return None
    return f"node {ctx.node_id} is not the leader of {topic}-{partition}: node {state.leader_id} is (refresh Metadata)"


def _leader_epoch(ctx: Context, site: ErrorSite) -> str | None:
    topic, partition = site.topic, site.partition
    wanted = _request_partition(ctx.request, topic, partition)
    state = ctx.broker.cluster.partition(topic, partition) if topic is not None and partition is not None else None
    if wanted is None or state is None:
        return None
    epoch = getattr(wanted, "current_leader_epoch", None)
    relation = "older" if site.code == ErrorCode.FENCED_LEADER_EPOCH else "newer"
    return (
        f"the client's leader epoch {epoch} for {topic}-{partition} is {relation} than the "
        f"leader's epoch {state.leader_epoch} (its Metadata is {'stale' if relation == 'older' else 'ahead'})"
    )


def _group_id(ctx: Context, site: ErrorSite) -> str | None:
    return getattr(ctx.request, "group_id", None) or site.attr("group_id", "key")


def _coordinator(ctx: Context, site: ErrorSite) -> str | None:
    group_id = _group_id(ctx, site)
    if group_id is None:
        return None
    coordinator = ctx.broker.groups
    partition = coordinator.partition_for(group_id)
    leader = coordinator.coordinator_node(group_id)
    if site.code == ErrorCode.NOT_COORDINATOR:
        return (
            f"group {group_id} lives in __consumer_offsets-{partition}, led by node {leader}; "
            f"this is node {ctx.node_id} (ask FindCoordinator again)"
        )
    return f"__consumer_offsets-{partition}, where group {group_id} lives, has no leader yet"


def _member_id_required(ctx: Context, site: ErrorSite) -> str | None:
    member_id = getattr(site.struct, "member_id", "")
    return (
        "a new member joins twice (KIP-394): the coordinator assigned it the member id "
        f"{member_id}, and the client sends JoinGroup again with it"
    )


def _unknown_member(ctx: Context, site: ErrorSite) -> str | None:
    group = ctx.group()
    member_id = getattr(ctx.request, "member_id", None) or site.attr("member_id")
    group_id = getattr(ctx.request, "group_id", "?")
    if group is None:
        return f"there is no group {group_id}, so it has no member {member_id or '(empty id)'}"
    return (
        f"member {member_id or '(empty id)'} is not in group {group_id} (it has {len(group.members)} "
        "member(s)): its session expired or it was removed in a rebalance; it must join again"
    )


def _illegal_generation(ctx: Context, site: ErrorSite) -> str | None:
    group = ctx.group()
    generation = getattr(ctx.request, "generation_id", None)
    if generation is None:
        generation = getattr(ctx.request, "generation_id_or_member_epoch", None)
    if group is None:
        return None
    return (
        f"generation {generation} is not the current generation {group.generation_id} of group "
        f"{group.group_id}: a rebalance happened since this member joined"
    )


def _rebalance_in_progress(ctx: Context, site: ErrorSite) -> str | None:
    group = ctx.group()
    if group is None:
        return None
    return (
        f"group {group.group_id} is rebalancing (state {group.state.value}, generation "
        f"{group.generation_id}, {len(group.members)} member(s)): every member must send JoinGroup again"
    )


def _invalid_session_timeout(ctx: Context, site: ErrorSite) -> str | None:
    timeout = getattr(ctx.request, "session_timeout_ms", None)
    config = ctx.broker.config
    return (
        f"session timeout {timeout} ms is outside the broker's range "
        f"[{config.group_min_session_timeout_ms}, {config.group_max_session_timeout_ms}] ms "
        "(group.min.session.timeout.ms, group.max.session.timeout.ms)"
    )


def _group_not_found(ctx: Context, site: ErrorSite) -> str | None:
    group_id = _group_id(ctx, site)
    return f"there is no group {group_id}" if group_id else None


def _non_empty_group(ctx: Context, site: ErrorSite) -> str | None:
    group_id = _group_id(ctx, site)
    group = ctx.broker.groups.groups.get(group_id) if group_id else None
    if group is None:
        return None
    return f"group {group_id} still has {len(group.members)} member(s); only an empty group can be deleted"


def _unsupported_version(ctx: Context, site: ErrorSite) -> str | None:
    if ctx.api_key != 18:
        return None
    return (
        f"the client asked for ApiVersions v{ctx.version}, newer than this broker's; the broker "
        "answers in the v0 layout with the versions it serves, and the client retries (KIP-511)"
    )


def _fetch_session(ctx: Context, site: ErrorSite) -> str | None:
    return (
        f"kafkalite keeps no fetch sessions (KIP-227): session id {getattr(ctx.request, 'session_id', '?')} "
        f"epoch {getattr(ctx.request, 'session_epoch', '?')} is unknown; the client falls back to full fetches"
    )


REASONS: dict[int, Reason] = {
    ErrorCode.OFFSET_OUT_OF_RANGE: _offset_out_of_range,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: _unknown_topic_or_partition,
    ErrorCode.UNKNOWN_TOPIC_ID: _unknown_topic_id,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: _not_leader,
    ErrorCode.FENCED_LEADER_EPOCH: _leader_epoch,
    ErrorCode.UNKNOWN_LEADER_EPOCH: _leader_epoch,
    ErrorCode.NOT_COORDINATOR: _coordinator,
    ErrorCode.COORDINATOR_NOT_AVAILABLE: _coordinator,
    ErrorCode.MEMBER_ID_REQUIRED: _member_id_required,
    ErrorCode.UNKNOWN_MEMBER_ID: _unknown_member,
    ErrorCode.ILLEGAL_GENERATION: _illegal_generation,
    ErrorCode.REBALANCE_IN_PROGRESS: _rebalance_in_progress,
    ErrorCode.INVALID_SESSION_TIMEOUT: _invalid_session_timeout,
    ErrorCode.GROUP_ID_NOT_FOUND: _group_not_found,
    ErrorCode.NON_EMPTY_GROUP: _non_empty_group,
    ErrorCode.UNSUPPORTED_VERSION: _unsupported_version,
    ErrorCode.FETCH_SESSION_ID_NOT_FOUND: _fetch_session,
    ErrorCode.INVALID_FETCH_SESSION_EPOCH: _fetch_session,
}


def explain(ctx: Context, site: ErrorSite) -> tuple[str, str]:
    """(error name, one-line reason) for the error at *site*."""
    try:
        code = ErrorCode(site.code)
        name, description = code.name, code.description
    except ValueError:
        return f"ERROR_{site.code}", "an error code this broker does not know"
    message = getattr(site.struct, "error_message", None) or getattr(site.struct, "batch_index_error_message", None)
    if message:
        return name, message
    reason = REASONS.get(site.code)
    if reason is not None:
        try:
            derived = reason(ctx, site)
        except Exception:  # noqa: BLE001 - an explanation must never break a request
            log.debug("no reason for %s at %s", name, site.path, exc_info=True)
            derived = None
        if derived:
            return name, derived
    return name, description


# -- the tracer ------------------------------------------------------------------------------


class Tracer:
    """Logs requests and responses of one broker; writes JSON lines if given a file."""

    def __init__(self, broker: Broker, trace_file: Path | str | None = None) -> None:
        self._broker_ref = weakref.ref(broker)
        self.file: TextIO | None = None
        if trace_file is not None:
            path = Path(trace_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed with the broker
            weakref.finalize(broker, self.file.close)

    def request(self, api_name: str, header: Any, request: Any, peer: str, node_id: int) -> float:
        """Trace an incoming request; return the start time to pass to `response`."""
        api_key, version = header.api_key, header.api_version
        body = to_data(request, version, api_key=api_key, limit=MAX_ITEMS)
        if log.isEnabledFor(logging.INFO):
            lines = [
                f"-> {api_name} v{version} correlation_id={header.correlation_id} "
                f"client_id={_text(header.client_id)} peer={peer or '-'} node={node_id}",
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

    def _write(self, entry: dict[str, Any]) -> None:
        assert self.file is not None
        entry = {"ts": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"), **entry}
        try:
            self.file.write(json.dumps(entry, default=str) + "\n")
        except (OSError, ValueError) as exc:
            log.warning("cannot write the trace file: %s", exc)
