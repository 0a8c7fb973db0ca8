"""The ACL authorizer: who may do what, and the check each API makes before its handler.

Kafka's rules (StandardAuthorizer):

* a super user may do everything;
* the ACLs that apply to a resource are those of its type whose pattern covers its name
  (LITERAL: the same name or "*"; PREFIXED: a prefix of the name), for the request's
  principal or "User:*", from its host or "*";
* a DENY for the operation (or ALL) wins over any ALLOW; an ALLOW for the operation or ALL
  allows, and an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE, of ALTER_CONFIGS
  also DESCRIBE_CONFIGS (implications hold for ALLOW only: a DENY READ does not deny DESCRIBE);
* when no ACL at all covers the resource (any principal), allow.everyone.if.no.acl.found
  decides; when some do but none allows, the answer is no.

`authorize` runs before every handler when the authorizer is on (dispatch calls it only then,
so it costs nothing when off): each API's check (`CHECKS`) refuses the whole request with
Kafka's error (CLUSTER_, GROUP_, TRANSACTIONAL_ID_AUTHORIZATION_FAILED) or names the topics
or entries denied, which are cut out of the request and answered TOPIC_AUTHORIZATION_FAILED
(or the API's per-entry error) while the rest is handled. APIs whose answer depends on what
is visible (Metadata, ListGroups, DescribeCluster) ask `allowed` themselves.
"""

from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable, Iterable

import attrs

from kafkalite.broker.acls import (
    CLUSTER_NAME,
    WILDCARD,
    WILDCARD_PRINCIPAL,
    AclOperation,
    AclPermission,
    AclStore,
    PatternType,
    ResourceType,
)
from kafkalite.broker.partition_errors import AUTHORIZED_OPERATIONS_OMITTED, PartitionError, topic_name
from kafkalite.broker.registry import HandlerSpec, RequestContext
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode

Op = AclOperation
Res = ResourceType

_IMPLIES_DESCRIBE = frozenset((Op.DESCRIBE, Op.READ, Op.WRITE, Op.DELETE, Op.ALTER))
_IMPLIES_DESCRIBE_CONFIGS = frozenset((Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS))

#: The operations KIP-430 reports per resource type, in bit order (bit = operation code).
OPERATIONS: dict[ResourceType, tuple[AclOperation, ...]] = {
    Res.TOPIC: (Op.READ, Op.WRITE, Op.CREATE, Op.DELETE, Op.ALTER, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS),
    Res.GROUP: (Op.READ, Op.DELETE, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS),
    Res.CLUSTER: (Op.CREATE, Op.CLUSTER_ACTION, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS, Op.IDEMPOTENT_WRITE,
                  Op.ALTER, Op.DESCRIBE),
    Res.TRANSACTIONAL_ID: (Op.DESCRIBE, Op.WRITE, Op.TWO_PHASE_COMMIT),
}


def _host(peer: str) -> str:
    host = peer.rpartition(":")[0] if ":" in peer else peer
    return host.strip("[]")


def _covers(pattern: PatternType, pattern_name: str, name: str) -> bool:
    if pattern == PatternType.LITERAL:
        return pattern_name == name or pattern_name == WILDCARD
    return pattern == PatternType.PREFIXED and name.startswith(pattern_name)


def _applies(permission: AclPermission, acl_op: AclOperation, op: AclOperation) -> bool:
    if acl_op == Op.ALL or acl_op == op:
        return True
    if permission != AclPermission.ALLOW:
        return False
    if op == Op.DESCRIBE:
        return acl_op in _IMPLIES_DESCRIBE
    return op == Op.DESCRIBE_CONFIGS and acl_op in _IMPLIES_DESCRIBE_CONFIGS


def allowed(ctx: RequestContext, operation: AclOperation, resource_type: ResourceType, name: str) -> bool:
    """Whether the request's principal may do *operation* on the resource (always, with the
    authorizer off). Decisions are kept until the ACLs change (`AclStore.decisions`)."""
    config = ctx.broker.config
    if not config.acls or ctx.principal in config.super_users:
        return True
    host = _host(ctx.peer)
    store = ctx.broker.acls
    key = (ctx.principal, host, operation, resource_type, name, config.allow_everyone_if_no_acl_found)
    decision = store.decisions.get(key)
    if decision is None:
        if len(store.decisions) >= _MAX_DECISIONS:
            store.decisions.clear()
        decision = store.decisions[key] = _decide(store, ctx.principal, host, operation, resource_type, name,
                                                  config.allow_everyone_if_no_acl_found)
    return decision


_MAX_DECISIONS = 100_000


def _decide(store: AclStore, principal: str, host: str, operation: AclOperation, resource_type: ResourceType,
            name: str, allow_everyone: bool) -> bool:
    found = allow = False
    for acl in store.bindings():
        if acl.resource_type != resource_type or not _covers(acl.pattern_type, acl.resource_name, name):
            continue
        found = True
        if acl.principal not in (principal, WILDCARD_PRINCIPAL) or acl.host not in (host, WILDCARD):
            continue
        if not _applies(acl.permission, acl.operation, operation):
            continue
        if acl.permission == AclPermission.DENY:
            return False
        allow = True
    return allow or (not found and allow_everyone)


def allowed_on_some(ctx: RequestContext, operation: AclOperation, resource_type: ResourceType) -> bool:
    """Kafka's authorizeByResourceType: whether the principal may do *operation* on at least
    one resource of the type: an ALLOW pattern (for the operation or ALL) that no DENY
    pattern covers, or the answer for a resource no ACL names."""
    # First, as Kafka's default implementation: the answer for a literal resource named
    # "hardcode" (a wildcard ALLOW, or no ACL and allow.everyone.if.no.acl.found).
    if allowed(ctx, operation, resource_type, "hardcode"):
        return True
    host = _host(ctx.peer)
    deny_literal: set[str] = set()
    deny_prefixed: set[str] = set()
    allows: list[tuple[PatternType, str]] = []
    for acl in ctx.broker.acls.bindings():
        if acl.resource_type != resource_type or acl.host not in (host, WILDCARD):
            continue
        if acl.principal not in (ctx.principal, WILDCARD_PRINCIPAL) or acl.operation not in (operation, Op.ALL):
            continue
        if acl.permission == AclPermission.DENY:
            if acl.pattern_type == PatternType.LITERAL and acl.resource_name == WILDCARD:
                return False
            (deny_literal if acl.pattern_type == PatternType.LITERAL else deny_prefixed).add(acl.resource_name)
        elif acl.pattern_type == PatternType.LITERAL and acl.resource_name == WILDCARD:
            return True
        else:
            allows.append((acl.pattern_type, acl.resource_name))
    for pattern, name in allows:
        if pattern == PatternType.LITERAL and name in deny_literal:
            continue
        if any(name.startswith(prefix) for prefix in deny_prefixed):
            continue
        return True
    return False


def authorized_operations(ctx: RequestContext, resource_type: ResourceType, name: str) -> int:
    """KIP-430's bit set: bit *n* set when operation code *n* is allowed on the resource."""
    bits = 0
    for op in OPERATIONS[resource_type]:
        if allowed(ctx, op, resource_type, name):
            bits |= 1 << op
    return bits


def operations_if(ctx: RequestContext, asked: bool, resource_type: ResourceType, name: str) -> int:
    """`authorized_operations` when *asked*, else Kafka's "not asked" value (-2^31)."""
    return authorized_operations(ctx, resource_type, name) if asked else AUTHORIZED_OPERATIONS_OMITTED


# -- the check of each API ------------------------------------------------------------------


@attrs.frozen
class Refused:
    """The whole request is answered *code*."""

    code: ErrorCode
    message: str


@attrs.frozen
class DeniedTopics:
    """These topics are answered TOPIC_AUTHORIZATION_FAILED, the rest handled."""

    names: frozenset[str]


@attrs.frozen
class DeniedEntries:
    """These entries of the request's list (by index) are answered with their error code, the
    rest handled."""

    codes: dict[int, ErrorCode]


Verdict = Refused | DeniedTopics | DeniedEntries | None
Check = Callable[[RequestContext, Any], Verdict]


def _cluster(op: AclOperation) -> Check:
    def check(ctx: RequestContext, _req: Any) -> Verdict:
        if allowed(ctx, op, Res.CLUSTER, CLUSTER_NAME):
            return None
        return Refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.")
    return check


def _group_refused(ctx: RequestContext, op: AclOperation, group_id: str) -> Refused | None:
    if allowed(ctx, op, Res.GROUP, group_id):
        return None
    return Refused(ErrorCode.GROUP_AUTHORIZATION_FAILED, f"Not authorized to access group: {group_id}")


def _txn_refused(ctx: RequestContext, transactional_id: str | None) -> Refused | None:
    if not transactional_id or allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, transactional_id):
        return None
    return Refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "Transactional Id authorization failed.")


def _names(ctx: RequestContext) -> Callable[[uuid.UUID], str | None]:
    by_id = ctx.broker.cluster.topics_by_id

    def name(topic_id: uuid.UUID) -> str | None:
        topic = by_id.get(topic_id)
        return None if topic is None else topic.name
    return name


def _denied_topics(ctx: RequestContext, op: AclOperation, entries: Iterable[Any] | None) -> DeniedTopics | None:
    names = _names(ctx)
    # A topic id no topic has (name "") is left to the handler: UNKNOWN_TOPIC_ID, as Kafka.
    denied = frozenset(
        name for entry in entries or ()
        if (name := topic_name(entry, names)) and not allowed(ctx, op, Res.TOPIC, name)
    )
    return DeniedTopics(denied) if denied else None


def _topics(op: AclOperation) -> Check:
    return lambda ctx, req: _denied_topics(ctx, op, req.topics)


def _group(op: AclOperation) -> Check:
    return lambda ctx, req: _group_refused(ctx, op, req.group_id)


def _produce(ctx: RequestContext, req: Any) -> Verdict:
    return _txn_refused(ctx, req.transactional_id) or _denied_topics(ctx, Op.WRITE, req.topic_data)


def _fetch(ctx: RequestContext, req: Any) -> Verdict:
    if getattr(req, "replica_id", -1) >= 0:  # a follower (Kafka's brokers only)
        return _cluster(Op.CLUSTER_ACTION)(ctx, req)
    return _denied_topics(ctx, Op.READ, req.topics)


def _offset_commit(ctx: RequestContext, req: Any) -> Verdict:
    return _group_refused(ctx, Op.READ, req.group_id) or _denied_topics(ctx, Op.READ, req.topics)


def _offset_fetch(ctx: RequestContext, req: Any) -> Verdict:
    if ctx.api_version >= 8:  # several groups, each answered on its own
        return _entries("groups", Op.DESCRIBE, Res.GROUP, ErrorCode.GROUP_AUTHORIZATION_FAILED,
                        lambda g: g.group_id)(ctx, req)
    return _group_refused(ctx, Op.DESCRIBE, req.group_id) or _denied_topics(ctx, Op.DESCRIBE, req.topics)


def _find_coordinator(ctx: RequestContext, req: Any) -> Verdict:
    transactional = req.key_type == 1
    resource, code = (
        (Res.TRANSACTIONAL_ID, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED) if transactional
        else (Res.GROUP, ErrorCode.GROUP_AUTHORIZATION_FAILED)
    )
    if ctx.api_version >= 4:  # several keys, each answered on its own
        return _entries("coordinator_keys", Op.DESCRIBE, resource, code, str)(ctx, req)
    if allowed(ctx, Op.DESCRIBE, resource, req.key):
        return None
    return Refused(code, f"Not authorized to access {'transactional id' if transactional else 'group'}: {req.key}")


def _init_producer_id(ctx: RequestContext, req: Any) -> Verdict:
    if req.transactional_id:
        return _txn_refused(ctx, req.transactional_id)
    # Kafka 3.0+: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on
    # some topic.
    if allowed(ctx, Op.IDEMPOTENT_WRITE, Res.CLUSTER, CLUSTER_NAME) or allowed_on_some(ctx, Op.WRITE, Res.TOPIC):
        return None
    return Refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.")


def _add_partitions_to_txn(ctx: RequestContext, req: Any) -> Verdict:
    if ctx.api_version >= 4:  # sent by brokers to verify: CLUSTER_ACTION
        return _cluster(Op.CLUSTER_ACTION)(ctx, req)
    return _txn_refused(ctx, req.v3_and_below_transactional_id) or _denied_topics(
        ctx, Op.WRITE, req.v3_and_below_topics
    )


def _add_offsets_to_txn(ctx: RequestContext, req: Any) -> Verdict:
    return _txn_refused(ctx, req.transactional_id) or _group_refused(ctx, Op.READ, req.group_id)


def _txn_offset_commit(ctx: RequestContext, req: Any) -> Verdict:
    return (
        _txn_refused(ctx, req.transactional_id)
        or _group_refused(ctx, Op.READ, req.group_id)
        or _denied_topics(ctx, Op.READ, req.topics)
    )


def _entries(field: str, op: AclOperation, resource: ResourceType, code: ErrorCode, key: Callable[[Any], str]) -> Check:
    def check(ctx: RequestContext, req: Any) -> Verdict:
        denied = {
            i: code for i, entry in enumerate(getattr(req, field) or ()) if not allowed(ctx, op, resource, key(entry))
        }
        return DeniedEntries(denied) if denied else None
    return check


def _create_topics(ctx: RequestContext, req: Any) -> Verdict:
    if allowed(ctx, Op.CREATE, Res.CLUSTER, CLUSTER_NAME):
        return None
    return _entries("topics", Op.CREATE, Res.TOPIC, ErrorCode.TOPIC_AUTHORIZATION_FAILED, lambda t: t.name)(ctx, req)


def _delete_topics(ctx: RequestContext, req: Any) -> Verdict:
    if ctx.api_version >= 6:
        names = _names(ctx)
        return _entries(
            "topics", Op.DELETE, Res.TOPIC, ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            lambda t: t.name or names(t.topic_id) or "",
        )(ctx, req)
    return _entries("topic_names", Op.DELETE, Res.TOPIC, ErrorCode.TOPIC_AUTHORIZATION_FAILED, str)(ctx, req)


_CONFIG_RESOURCES = {2: (Res.TOPIC, ErrorCode.TOPIC_AUTHORIZATION_FAILED),
                     4: (Res.CLUSTER, ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
                     8: (Res.CLUSTER, ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
                     32: (Res.GROUP, ErrorCode.GROUP_AUTHORIZATION_FAILED)}


def _configs(op: AclOperation) -> Check:
    def check(ctx: RequestContext, req: Any) -> Verdict:
        denied: dict[int, ErrorCode] = {}
        for i, resource in enumerate(req.resources):
            kind, code = _CONFIG_RESOURCES.get(resource.resource_type, (None, ErrorCode.NONE))
            if kind is None:
                continue
            name = CLUSTER_NAME if kind == Res.CLUSTER else resource.resource_name
            if not allowed(ctx, op, kind, name):
                denied[i] = code
        return DeniedEntries(denied) if denied else None
    return check


CHECKS: dict[int, Check] = {
    ApiKey.PRODUCE: _produce,
    ApiKey.FETCH: _fetch,
    ApiKey.LIST_OFFSETS: _topics(Op.DESCRIBE),
    ApiKey.OFFSET_COMMIT: _offset_commit,
    ApiKey.OFFSET_FETCH: _offset_fetch,
    ApiKey.FIND_COORDINATOR: _find_coordinator,
    ApiKey.JOIN_GROUP: _group(Op.READ),
    ApiKey.HEARTBEAT: _group(Op.READ),
    ApiKey.LEAVE_GROUP: _group(Op.READ),
    ApiKey.SYNC_GROUP: _group(Op.READ),
    ApiKey.DESCRIBE_GROUPS: _entries(
        "groups", Op.DESCRIBE, Res.GROUP, ErrorCode.GROUP_AUTHORIZATION_FAILED, str
    ),
    ApiKey.CREATE_TOPICS: _create_topics,
    ApiKey.DELETE_TOPICS: _delete_topics,
    ApiKey.DELETE_RECORDS: _topics(Op.DELETE),
    ApiKey.INIT_PRODUCER_ID: _init_producer_id,
    ApiKey.OFFSET_FOR_LEADER_EPOCH: _topics(Op.DESCRIBE),
    ApiKey.ADD_PARTITIONS_TO_TXN: _add_partitions_to_txn,
    ApiKey.ADD_OFFSETS_TO_TXN: _add_offsets_to_txn,
    ApiKey.END_TXN: lambda ctx, req: _txn_refused(ctx, req.transactional_id),
    ApiKey.TXN_OFFSET_COMMIT: _txn_offset_commit,
    ApiKey.DESCRIBE_CONFIGS: _configs(Op.DESCRIBE_CONFIGS),
    ApiKey.ALTER_CONFIGS: _configs(Op.ALTER_CONFIGS),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: _configs(Op.ALTER_CONFIGS),
    ApiKey.CREATE_PARTITIONS: _entries(
        "topics", Op.ALTER, Res.TOPIC, ErrorCode.TOPIC_AUTHORIZATION_FAILED, lambda t: t.name
    ),
    ApiKey.DELETE_GROUPS: _entries("groups_names", Op.DELETE, Res.GROUP, ErrorCode.GROUP_AUTHORIZATION_FAILED, str),
    ApiKey.OFFSET_DELETE: lambda ctx, req: _group_refused(ctx, Op.DELETE, req.group_id)
    or _denied_topics(ctx, Op.READ, req.topics),
    ApiKey.DESCRIBE_LOG_DIRS: _cluster(Op.DESCRIBE),
    ApiKey.ALTER_PARTITION_REASSIGNMENTS: _cluster(Op.ALTER),
    ApiKey.LIST_PARTITION_REASSIGNMENTS: _cluster(Op.DESCRIBE),
    ApiKey.DESCRIBE_QUORUM: _cluster(Op.DESCRIBE),
    ApiKey.DESCRIBE_PRODUCERS: _entries(
        "topics", Op.READ, Res.TOPIC, ErrorCode.TOPIC_AUTHORIZATION_FAILED, lambda t: t.name
    ),
    ApiKey.CONSUMER_GROUP_HEARTBEAT: _group(Op.READ),
    ApiKey.CONSUMER_GROUP_DESCRIBE: _entries(
        "group_ids", Op.DESCRIBE, Res.GROUP, ErrorCode.GROUP_AUTHORIZATION_FAILED, str
    ),
    ApiKey.DESCRIBE_TRANSACTIONS: _entries(
        "transactional_ids", Op.DESCRIBE, Res.TRANSACTIONAL_ID, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, str
    ),
    ApiKey.CREATE_ACLS: _cluster(Op.ALTER),
    ApiKey.ELECT_LEADERS: _cluster(Op.ALTER),
    ApiKey.DESCRIBE_ACLS: _cluster(Op.DESCRIBE),
    ApiKey.DELETE_ACLS: _cluster(Op.ALTER),
}

def _partition_response(**values: Any) -> Any:
    from kafkalite.wire.messages.describe_producers import PartitionResponse

    return PartitionResponse(error_message=None, active_producers=[], **values)


#: Per-entry answers: API -> (request list, response list, the response entry that answers
#: request entry *e* with *code*).
ENTRY_ANSWERS: dict[int, tuple[str, str, Callable[[Any, ErrorCode, int], dict[str, Any]]]] = {
    ApiKey.DESCRIBE_GROUPS: ("groups", "groups", lambda e, c, v: {"group_id": e, "error_code": c}),
    ApiKey.OFFSET_FETCH: ("groups", "groups", lambda e, c, v: {"group_id": e.group_id, "error_code": c}),
    ApiKey.FIND_COORDINATOR: ("coordinator_keys", "coordinators", lambda e, c, v: {
        "key": e, "node_id": -1, "host": "", "port": -1, "error_code": c, "error_message": c.description}),
    ApiKey.DESCRIBE_PRODUCERS: ("topics", "topics", lambda e, c, v: {"name": e.name, "partitions": [
        _partition_response(partition_index=p, error_code=c) for p in e.partition_indexes]}),
    ApiKey.CREATE_TOPICS: ("topics", "topics", lambda e, c, v: {"name": e.name, "error_code": c,
                                                                "error_message": "Authorization failed."}),
    ApiKey.DELETE_TOPICS: ("topic_names", "responses", lambda e, c, v: {"name": e, "error_code": c}),
    ApiKey.CREATE_PARTITIONS: ("topics", "results", lambda e, c, v: {"name": e.name, "error_code": c,
                                                                     "error_message": "Authorization failed."}),
    ApiKey.DELETE_GROUPS: ("groups_names", "results", lambda e, c, v: {"group_id": e, "error_code": c}),
    ApiKey.CONSUMER_GROUP_DESCRIBE: ("group_ids", "groups", lambda e, c, v: {"group_id": e, "error_code": c}),
    ApiKey.DESCRIBE_TRANSACTIONS: ("transactional_ids", "transaction_states",
                                   lambda e, c, v: {"transactional_id": e, "error_code": c}),
    ApiKey.DESCRIBE_CONFIGS: ("resources", "results", lambda e, c, v: {
        "resource_type": e.resource_type, "resource_name": e.resource_name, "error_code": c}),
    ApiKey.ALTER_CONFIGS: ("resources", "responses", lambda e, c, v: {
        "resource_type": e.resource_type, "resource_name": e.resource_name, "error_code": c}),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: ("resources", "responses", lambda e, c, v: {
        "resource_type": e.resource_type, "resource_name": e.resource_name, "error_code": c}),
}

Handle = Callable[[HandlerSpec, RequestContext, Any], Awaitable[Any]]


async def authorize(spec: HandlerSpec, ctx: RequestContext, request: Any, handle: Handle) -> Any:
    """Run *spec*'s check on *request*, then *handle* what it allows; return the response
    (None for a Produce with acks=0)."""
    check = CHECKS.get(spec.api_key)
    verdict = None if check is None else check(ctx, request)
    if spec.api_key == ApiKey.OFFSET_FETCH and not isinstance(verdict, Refused):
        return _hide_offsets(ctx, request, await _answer(spec, ctx, request, verdict, handle))
    return await _answer(spec, ctx, request, verdict, handle)


async def _answer(spec: HandlerSpec, ctx: RequestContext, request: Any, verdict: Verdict, handle: Handle) -> Any:
    if verdict is None:
        return await handle(spec, ctx, request)
    acks_zero = spec.api_key == ApiKey.PRODUCE and request.acks == 0
    if isinstance(verdict, Refused):
        if acks_zero:
            return None
        response = spec.answer_error(request, ctx.api_version, verdict.code, verdict.message)
        # No place for the error (DescribeLogDirs before v3): Kafka answers an empty response.
        return response if response is not None else spec.response_cls()
    if isinstance(verdict, DeniedEntries):
        return await _answer_entries(spec, ctx, request, verdict, handle)
    denied = verdict.names
    if spec.api_key == ApiKey.ADD_PARTITIONS_TO_TXN:
        return _add_partitions_denied(spec, ctx, request, denied)

    def failed(name: str, _partition: int | None) -> bool:
        return name in denied

    names = _names(ctx)
    error = PartitionError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed.")
    cut, rest = spec.split_request(request, failed, names)
    response = await handle(spec, ctx, rest) if rest is not None else None
    if acks_zero:
        return None
    return spec.answer_partition_errors(request, response, failed, error, names)


async def _answer_entries(
    spec: HandlerSpec, ctx: RequestContext, request: Any, verdict: DeniedEntries, handle: Handle
) -> Any:
    request_field, response_field, answer = ENTRY_ANSWERS.get(spec.api_key, (None, None, None))
    if spec.api_key == ApiKey.DELETE_TOPICS and ctx.api_version >= 6:
        request_field = "topics"
        names = _names(ctx)

        def answer(e: Any, c: ErrorCode, v: int) -> dict[str, Any]:
            return {"name": e.name or names(e.topic_id), "topic_id": e.topic_id, "error_code": c}
    assert request_field is not None and response_field is not None and answer is not None
    entries = list(getattr(request, request_field))
    kept = [e for i, e in enumerate(entries) if i not in verdict.codes]
    response = await handle(spec, ctx, attrs.evolve(request, **{request_field: kept}))
    element = _element(type(response), response_field)
    refused = [element(**answer(entries[i], code, ctx.api_version)) for i, code in sorted(verdict.codes.items())]
    return attrs.evolve(response, **{response_field: list(getattr(response, response_field)) + refused})


def _hide_offsets(ctx: RequestContext, request: Any, response: Any) -> Any:
    # OffsetFetch, as Kafka: asked for all a group's offsets, the topics the client may not
    # DESCRIBE are left out; named (v8+, several groups), they answer TOPIC_AUTHORIZATION_FAILED.
    names = _names(ctx)

    def described(topic: Any) -> bool:
        return allowed(ctx, Op.DESCRIBE, Res.TOPIC, topic_name(topic, names))

    def refused(topic: Any) -> Any:
        return attrs.evolve(topic, partitions=[
            attrs.evolve(p, committed_offset=-1, committed_leader_epoch=-1, metadata="",
                         error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            for p in topic.partitions
        ])

    if ctx.api_version < 8:
        if request.topics is not None:
            return response
        return attrs.evolve(response, topics=[t for t in response.topics if described(t)])
    asked_all = {g.group_id for g in request.groups if g.topics is None}
    return attrs.evolve(response, groups=[
        attrs.evolve(g, topics=[t for t in g.topics if described(t)]) if g.group_id in asked_all
        else attrs.evolve(g, topics=[t if described(t) else refused(t) for t in g.topics])
        for g in response.groups
    ])


def _add_partitions_denied(spec: HandlerSpec, ctx: RequestContext, request: Any, denied: frozenset[str]) -> Any:
    # v0-3: nothing is added; the denied topics answer TOPIC_AUTHORIZATION_FAILED, the others
    # OPERATION_NOT_ATTEMPTED, as Kafka does.
    response = spec.answer_error(request, ctx.api_version, ErrorCode.TOPIC_AUTHORIZATION_FAILED, "")
    topics = [
        topic if topic.name in denied else attrs.evolve(topic, results_by_partition=[
            attrs.evolve(p, partition_error_code=ErrorCode.OPERATION_NOT_ATTEMPTED) for p in topic.results_by_partition
        ])
        for topic in response.results_by_topic_v3_and_below
    ]
    return attrs.evolve(response, results_by_topic_v3_and_below=topics)


def _element(cls: type, name: str) -> type:
    spec = next(s for s in cls.__kafka_fields__ if s.name == name)  # type: ignore[attr-defined]
    return spec.type.element


__all__ = [
    "CHECKS", "OPERATIONS", "allowed", "allowed_on_some", "authorize",
    "authorized_operations", "operations_if",
]
