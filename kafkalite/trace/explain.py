"""Why a response carries an error code, in plain words, for the learning mode.

For each error site (`kafkalite.trace.sites.error_sites`), `explain` gives its name and one
line of reason: the error message the handler put in the response
if there is one (even where that version of the protocol cannot carry it), else a reason
derived from the request, the response and the broker's current state (a `Context`), e.g.
``fetch offset 57 is past the log end offset 42 of orders-0``, else Kafka's description of
the code.
"""

from __future__ import annotations

import logging
import uuid

from kafkalite.broker.cluster import NO_LEADER
from kafkalite.readable import kafka_uuid
from kafkalite.trace.sites import Context, ErrorSite, Reason, request_partition
from kafkalite.trace.txn_reasons import TXN_REASONS
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.trace")


def _where(topic: str | None, partition: int | None) -> str:
    return f"{topic}-{partition}" if partition is not None else str(topic)


def _offset_out_of_range(ctx: Context, site: ErrorSite) -> str | None:
    topic, partition = site.topic, site.partition
    wanted = request_partition(ctx.request, topic, partition)
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
    why = ctx.broker.nodes.last_change.get((topic, partition))
    since = f", since {why}" if why else ""
    if state.leader_id == NO_LEADER:
        return (
            f"{topic}-{partition} has no leader{since}: its in-sync replicas {state.isr} are stopped "
            "(it comes back with one of them, or by an unclean election)"
        )
    return (
        f"node {ctx.node_id} is not the leader of {topic}-{partition}: node {state.leader_id} is "
        f"(leader epoch {state.leader_epoch}{since}; refresh Metadata)"
    )


def _leader_epoch(ctx: Context, site: ErrorSite) -> str | None:
    topic, partition = site.topic, site.partition
    wanted = request_partition(ctx.request, topic, partition)
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
    group = ctx.broker.groups.group(group_id) if group_id else None
    if group is None:
        return None
    return f"group {group_id} still has {len(group.members)} member(s); only an empty group can be deleted"


def _unsupported_version(ctx: Context, site: ErrorSite) -> str | None:
    if ctx.api_key == 18:
        return (
            f"the client asked for ApiVersions v{ctx.version}, newer than this broker's; the broker "
            "answers in the v0 layout with the versions it serves, and the client retries (KIP-511)"
        )
    if ctx.api_key in (8, 9) and ctx.version == 0:
        api = "OffsetCommit" if ctx.api_key == 8 else "OffsetFetch"
        return (
            f"{api} v0 kept offsets in ZooKeeper (Kafka 3 and before); a broker without ZooKeeper "
            "(Kafka 3.9 in KRaft mode, and kafkalite) answers it so on every partition: the client "
            "must use v1 or later, where offsets live in __consumer_offsets"
        )
    if ctx.api_key == 2 and ctx.version < 11:
        return (
            f"ListOffsets v{ctx.version} does not know the special timestamp asked for (-1 latest "
            "and -2 earliest from v0, -3 max timestamp from v7, -4 earliest local from v8, -5 latest "
            "tiered from v9, -6 earliest pending upload from v11)"
        )
    return None


def _fetch_session(ctx: Context, site: ErrorSite) -> str | None:
    session_id = getattr(ctx.request, "session_id", "?")
    epoch = getattr(ctx.request, "session_epoch", "?")
    if site.code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND:
        return (
            f"no fetch session {session_id} (KIP-227): it was evicted from the session cache, or the "
            "broker restarted; the client starts a new session with a full fetch"
        )
    return (
        f"fetch session {session_id} expects another epoch than {epoch} (KIP-227): a request was lost or "
        "repeated; the client starts a new session with a full fetch"
    )


def _invalid_regular_expression(ctx: Context, site: ErrorSite) -> str | None:
    pattern = getattr(ctx.request, "transactional_id_pattern", None)
    if pattern is None:
        return None
    return (
        f"the transactional id pattern {pattern!r} is not a regular expression Kafka's RE2/J compiles "
        "(no lookaround, backreferences, atomic groups or possessive quantifiers; kafkalite also "
        "refuses \\p classes, \\Q...\\E and [[:class:]], which RE2/J accepts)"
    )


def _invalid_cursor(ctx: Context, site: ErrorSite) -> str | None:
    cursor = getattr(ctx.request, "cursor", None)
    if ctx.api_key != 75 or cursor is None:
        return None
    if cursor.partition_index < 0:
        return f"the cursor's partition {cursor.partition_index} is negative"
    return f"the cursor's topic {cursor.topic_name} is not among the topics asked for"


REASONS: dict[int, Reason] = {
    ErrorCode.OFFSET_OUT_OF_RANGE: _offset_out_of_range,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: _unknown_topic_or_partition,
    ErrorCode.UNKNOWN_TOPIC_ID: _unknown_topic_id,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: _not_leader,
    ErrorCode.LEADER_NOT_AVAILABLE: _not_leader,
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
    ErrorCode.INVALID_REGULAR_EXPRESSION: _invalid_regular_expression,
    ErrorCode.INVALID_REQUEST: _invalid_cursor,
    **TXN_REASONS,
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
