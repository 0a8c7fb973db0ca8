"""The fault interceptor: applies the fault rule that fires on a request (issue #12, part 1).

`dispatch` calls `intercept` instead of the handler only while a rule exists
(``broker.faults.active``). The rule is chosen by `kafkalite.broker.faults.FaultRules.select`;
this module carries its action out:

* ``error``: the request is answered with the error and not applied; with scope "partition"
  only the matched topics / partitions fail, the others are handled (a write is split:
  `HandlerSpec.split_request`, and the answers merged back in request order); with ``apply``
  the whole request is applied first, so the client loses an acknowledgement of a write that
  happened. Fetch errors and stalls are answered by the Fetch handler itself
  (``RequestContext.fetch_faults``), so that a stalled Fetch waits its max wait as an empty one.
* ``delay_ms``: answered that much later; ``throttle_ms``: the answer's ``throttle_time_ms`` is
  set and the answer held that long (as Kafka's quotas did before KIP-219).
* ``drop``: never answered (`DropRequest`: the connection then reads and discards until the
  client closes it, so later answers cannot overtake); ``close``: the connection is closed
  (`CloseConnection`) before the request is handled, or after (applied, unanswered).

Requests on a connection are handled one at a time, so a delayed answer delays the ones
after it: responses stay in request order.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable

import attrs
import trio

from kafkalite.broker.faults import FaultRule, Targets
from kafkalite.broker.fetch_sessions import FINAL_EPOCH, INITIAL_EPOCH, cache_of
from kafkalite.broker.partition_errors import LAYOUTS, PartitionError, override, topic_name
from kafkalite.broker.registry import HandlerSpec, RequestContext
from kafkalite.broker.state import Broker
from kafkalite.wire.api_keys import ApiKey

log = logging.getLogger("kafkalite.faults")

Handle = Callable[[HandlerSpec, RequestContext, Any], Awaitable[Any]]

__all__ = ["CloseConnection", "DropRequest", "intercept", "targets_of"]


class CloseConnection(Exception):
    """A fault rule closes this connection (the request was handled or not, as it said)."""


class DropRequest(Exception):
    """A fault rule drops this request: it is never answered, nor anything after it."""


async def intercept(spec: HandlerSpec, ctx: RequestContext, request: Any, handle: Handle) -> Any:
    """Handle *request* through ``handle(spec, ctx, request)``, as the rule that fires on it
    (if any) says; return the response (None: no response is due).

    Raises:
        DropRequest: the rule drops the request.
        CloseConnection: the rule closes the connection.
    """
    broker = ctx.broker
    header = ctx.header
    chosen = broker.faults.select(
        spec.api_key, header.api_version, header.client_id, ctx.peer, ctx.node_id,
        lambda: targets_of(broker, spec.api_key, request),
    )
    if chosen is None:
        return await handle(spec, ctx, request)
    rule, targets = chosen
    ctx.fault_rule_id = rule.id
    log.debug("fault rule %d fires on %s v%d from %s", rule.id, spec.name, header.api_version, ctx.peer)
    if rule.drop:
        raise DropRequest(f"fault rule {rule.id} drops {spec.name} (correlation id {header.correlation_id})")
    if rule.close == "before":
        raise CloseConnection(f"fault rule {rule.id} closes the connection before {spec.name}")
    if rule.stall:
        ctx.fetch_faults = _partition_map(rule, targets or targets_of(broker, spec.api_key, request), None)
        response = await handle(spec, ctx, request)
    elif rule.error is not None:
        response = await _answer_error(rule, spec, ctx, request, targets, handle)
    else:
        response = await handle(spec, ctx, request)
    if rule.close == "after":
        raise CloseConnection(f"fault rule {rule.id} closes the connection after {spec.name}")
    if response is not None and rule.throttle_ms:
        response = _with_throttle(response, header.api_version, rule.throttle_ms)
    wait_ms = rule.delay_ms + rule.throttle_ms
    if wait_ms:
        await trio.sleep(wait_ms / 1000)
    return response


def _partition_map(rule: FaultRule, targets: Targets, code: Any) -> dict[tuple[str, int | None], Any]:
    out: dict[tuple[str, int | None], Any] = {}
    for name, partitions in rule.matched_partitions(targets).items():
        for partition in partitions if partitions is not None else (None,):
            out[(name, partition)] = code
    return out


def _names(broker: Broker) -> Callable[[uuid.UUID], str | None]:
    def name(topic_id: uuid.UUID) -> str | None:
        topic = broker.cluster.topics_by_id.get(topic_id)
        return topic.name if topic is not None else None

    return name


def _leader_hint(broker: Broker, node_id: int) -> Callable[[str, int], tuple[int, int] | None]:
    def leader(name: str, partition: int) -> tuple[int, int] | None:
        state = broker.cluster.partition(name, partition)
        return node_id, state.leader_epoch if state is not None else 0

    return leader


async def _answer_error(
    rule: FaultRule, spec: HandlerSpec, ctx: RequestContext, request: Any, targets: Targets | None, handle: Handle
) -> Any:
    broker = ctx.broker
    version = ctx.api_version
    assert rule.error is not None
    code = rule.error
    message = rule.error_message if rule.error_message is not None else f"injected by kafkalite fault rule {rule.id}"
    leader = _leader_hint(broker, rule.leader_hint) if rule.leader_hint is not None else None
    error = PartitionError(code, message, leader)
    names = _names(broker)
    acks_zero = spec.api_key == ApiKey.PRODUCE and request.acks == 0
    if rule.scope == "request":
        if rule.apply:
            await handle(spec, ctx, request)
        if acks_zero:
            return None
        response = spec.answer_error(request, version, code, message)
        if response is None:
            raise CloseConnection(f"fault rule {rule.id}: {spec.name} v{version} has no place for an error")
        layout = LAYOUTS.get(spec.api_key)
        if leader is not None and layout is not None:
            response = override(layout, response, lambda _n, _p: True, error, names)
        return _with_endpoints(broker, response, rule.leader_hint)
    if targets is None:
        targets = targets_of(broker, spec.api_key, request)
    matched = rule.matched_partitions(targets)

    def failed(name: str, partition: int | None) -> bool:
        if name not in matched:
            return False
        partitions = matched[name]
        return partitions is None or partition is None or partition in partitions

    if spec.api_key == ApiKey.FETCH:
        ctx.fetch_faults = _partition_map(rule, targets, code)
        response = await handle(spec, ctx, request)
    elif rule.apply:
        response = await handle(spec, ctx, request)
    else:
        cut, rest = spec.split_request(request, failed, names)
        response = await handle(spec, ctx, rest) if rest is not None else None
        if not cut:
            assert response is not None
    if acks_zero:
        return None
    response = spec.answer_partition_errors(request, response, failed, error, names)
    return _with_endpoints(broker, response, rule.leader_hint)


def _with_endpoints(broker: Broker, response: Any, node_id: int | None) -> Any:
    """NOT_LEADER_OR_FOLLOWER's hint, KIP-951: the hinted leader's address (Produce v10+,
    Fetch v16+; the field is tagged, so older versions simply do not send it)."""
    if node_id is None or not hasattr(response, "node_endpoints"):
        return response
    node = broker.cluster.nodes.get(node_id)
    if node is None:
        return response
    endpoint_cls = _element_of(type(response), "node_endpoints")
    endpoint = endpoint_cls(node_id=node.node_id, host=node.host, port=node.port, rack=node.rack)
    return attrs.evolve(response, node_endpoints=[endpoint])


def _element_of(cls: type, field: str) -> type:
    spec = next(s for s in cls.__kafka_fields__ if s.name == field)  # type: ignore[attr-defined]
    return spec.type.element


def _with_throttle(response: Any, version: int, throttle_ms: int) -> Any:
    spec = next((s for s in type(response).__kafka_fields__ if s.name == "throttle_time_ms"), None)
    if spec is None or version not in spec.versions:
        return response
    return attrs.evolve(response, throttle_time_ms=throttle_ms)


# -- what a request names ------------------------------------------------------------------

_TOPIC_LISTS = ("topics", "topic_data", "topic_names", "v3_and_below_topics")
_TRANSACTIONAL_IDS = ("transactional_id", "v3_and_below_transactional_id")
_PARTITION_LISTS = ("partitions", "partition_data", "partition_indexes")
_PARTITION_INDEXES = ("partition_index", "index", "partition")
_NESTED = ("groups", "transactions")  # OffsetFetch v8+, AddPartitionsToTxn v4+


def targets_of(broker: Broker, api_key: int, request: Any) -> Targets:
    """The topics (with their partitions), groups and transactional ids *request* names,
    found from its fields by their Kafka names; a Fetch of an incremental session also names
    the session's partitions."""
    topics: dict[str, set[int] | None] = {}
    groups: set[str] = set()
    txns: set[str] = set()
    names = _names(broker)
    _walk(request, topics, groups, txns, names)
    if api_key == ApiKey.FIND_COORDINATOR:
        keys = list(request.coordinator_keys or ()) + ([request.key] if request.key else [])
        (txns if request.key_type == 1 else groups).update(keys)
    elif api_key == ApiKey.METADATA and request.topics is None:
        for name, topic in broker.cluster.topics.items():  # all topics asked for: all answered
            if not topic.is_internal:
                _add(topics, name, None)
    elif api_key == ApiKey.FETCH and request.session_epoch not in (INITIAL_EPOCH, FINAL_EPOCH):
        session = cache_of(broker).get(request.session_id)
        for cached in session.partitions.values() if session is not None else ():
            name = cached.topic or names(cached.topic_id) or ""
            _add(topics, name, {cached.partition})
    return Targets(
        topics={name: frozenset(parts) if parts is not None else None for name, parts in topics.items()},
        groups=frozenset(groups),
        transactional_ids=frozenset(txns),
    )


def _add(topics: dict[str, set[int] | None], name: str, partitions: set[int] | None) -> None:
    if name in topics and topics[name] is None:
        return
    if partitions is None:
        topics[name] = None
    else:
        topics.setdefault(name, set()).update(partitions)  # type: ignore[union-attr]


def _walk(struct: Any, topics: dict, groups: set[str], txns: set[str], names: Callable[[uuid.UUID], str | None]) -> None:
    for field in type(struct).__kafka_fields__:
        value = getattr(struct, field.name)
        if value is None or value == "":  # absent in this version, or not given
            continue
        name = field.name
        if name == "group_id" and isinstance(value, str):
            groups.add(value)
        elif name in _TRANSACTIONAL_IDS and isinstance(value, str):
            txns.add(value)
        elif name in ("groups", "groups_names") and value and isinstance(value[0], str):
            groups.update(value)  # DescribeGroups, DeleteGroups
        elif name in _TOPIC_LISTS and isinstance(value, list):
            for entry in value:
                if isinstance(entry, str):
                    _add(topics, entry, None)
                elif hasattr(entry, "__kafka_fields__"):
                    _add(topics, topic_name(entry, names), _partitions_of(entry))
        elif name in _NESTED and isinstance(value, list):
            for entry in value:
                if hasattr(entry, "__kafka_fields__"):
                    _walk(entry, topics, groups, txns, names)


def _partitions_of(topic: Any) -> set[int] | None:
    for field in _PARTITION_LISTS:
        entries = getattr(topic, field, None)
        if entries is None:
            continue
        out = set()
        for entry in entries:
            if isinstance(entry, int):
                out.add(entry)
            else:
                index = next((getattr(entry, f) for f in _PARTITION_INDEXES if hasattr(entry, f)), None)
                if index is not None:
                    out.add(index)
        return out
    return None
