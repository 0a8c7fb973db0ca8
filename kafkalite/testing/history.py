"""What the request journal says happened, decoded for tests: records produced, commits of a
group, joins and rebalances of a group.

These are functions of the `Broker`, run in the broker's thread (the methods of
`kafkalite.testing.assertions` hand them over). They read the journal
(`kafkalite.broker.journal`), so they see what clients *sent* (a retried produce twice, a
refused commit with its error), as far back as the journal reaches: its capacity
(``journal_size`` entries) and, for records, its record byte budget.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterable

import attrs

from kafkalite.broker.message_facts import topic_name

if TYPE_CHECKING:
    from kafkalite.broker.journal import Journal, JournalEntry
    from kafkalite.broker.state import Broker

PRODUCE, OFFSET_COMMIT, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 0, 8, 11, 12, 13, 14
TXN_OFFSET_COMMIT, CONSUMER_GROUP_HEARTBEAT = 28, 68


class JournalOff(RuntimeError):
    """The broker's request journal is off (``journal_size=0``): nothing to read."""


@attrs.frozen
class ProducedRecord:
    """One record as a client sent it in a Produce request (decoded from the journal)."""

    topic: str
    partition: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp: int | None
    client_id: str | None
    #: the offset the broker gave it; None if the partition answered an error (or no answer)
    offset: int | None
    #: the partition's error code in the response (0: written); None without a response (acks=0)
    error: int | None
    transactional_id: str | None
    seq: int  # the journal entry's
    time_ms: int


@attrs.frozen
class CommitEvent:
    """One partition of an OffsetCommit or TxnOffsetCommit request, with its answer."""

    seq: int
    time_ms: int
    api: str  # "OffsetCommit" or "TxnOffsetCommit"
    client_id: str | None
    member_id: str
    #: generation (classic groups) or member epoch (consumer groups); -1 for a simple commit
    generation_id: int
    topic: str
    partition: int
    offset: int
    metadata: str | None
    leader_epoch: int
    error: int | None
    transactional_id: str | None = None


@attrs.frozen
class GroupEvent:
    """A join, sync, leave, failed heartbeat or (KIP-848) membership heartbeat of a group."""

    seq: int
    time_ms: int
    kind: str  # "join", "sync", "leave", "heartbeat", "consumer_heartbeat"
    client_id: str | None
    member_id: str
    generation_id: int  # the generation (member epoch for consumer groups) the answer carries
    error: int | None
    #: join: topics the member subscribed to (consumer protocol), as it asked
    subscription: tuple[str, ...] | None = None
    #: join: the protocol chosen and the leader; the members (leader only)
    protocol: str | None = None
    leader: str | None = None
    members: tuple[str, ...] = ()
    #: sync / consumer_heartbeat: the member's assignment, topic -> partitions
    assignment: dict[str, tuple[int, ...]] | None = None
    reason: str | None = None


def _journal(broker: Broker) -> Journal:
    journal = broker.journal
    if not journal.enabled:
        raise JournalOff(
            "the kafkalite request journal is off (journal_size=0): start the broker with a "
            "journal_size above 0 to read what clients sent"
        )
    return journal


def _resolver(broker: Broker) -> Any:
    return lambda topic_id: (t.name if (t := broker.cluster.topics_by_id.get(topic_id)) else None)


def _partition_errors(response: Any, resolve: Any) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (error code, base offset or -1) of a Produce or commit response."""
    found: dict[tuple[str, int], tuple[int, int]] = {}
    if response is None:
        return found
    topics = getattr(response, "responses", None) or getattr(response, "topics", None) or ()
    for t in topics:
        name = topic_name(t, resolve) or ""
        parts = getattr(t, "partition_responses", None) or getattr(t, "partitions", None) or ()
        for p in parts:
            index = p.index if hasattr(p, "index") else p.partition_index
            found[(name, index)] = (p.error_code, getattr(p, "base_offset", -1))
    return found


def produced_records(
    broker: Broker, topic: str | None = None, client_id: str | None = None, partition: int | None = None
) -> list[ProducedRecord]:
    """Records in the journal's Produce requests (oldest first), decoded: see
    `kafkalite.testing.assertions.JournalProxy.produced`."""
    journal = _journal(broker)
    resolve = _resolver(broker)
    out: list[ProducedRecord] = []
    for entry in journal.query(api=PRODUCE, client_id=client_id, topic=topic, partition=partition):
        answers = _partition_errors(entry.response, resolve)
        transactional_id = getattr(entry.request, "transactional_id", None) if entry.request is not None else None
        for name, index, records in entry.record_sets():
            if (topic is not None and name != topic) or (partition is not None and index != partition):
                continue
            error, base_offset = answers.get((name, index), (None, -1))
            for delta, key, value, headers, timestamp in _decode(records):
                out.append(ProducedRecord(
                    name, index, key, value, headers, timestamp, entry.client_id,
                    base_offset + delta if error == 0 and base_offset >= 0 else None,
                    error, transactional_id, entry.seq, entry.time_ms,
                ))
    return out


def _decode(records: Any) -> Iterable[tuple[int, bytes | None, bytes | None, tuple[Any, ...], int | None]]:
    """(offset delta from the first record, key, value, headers, timestamp) of a produced
    record set: v2 batches, or an old message set (Produce v0-2)."""
    from kafkalite.wire.batch import iter_batches
    from kafkalite.wire.legacy import deep_messages, iter_message_set
    from kafkalite.wire.records import decode_records, record_timestamp

    data = bytes(records)
    if len(data) > 16 and data[16] in (0, 1):  # magic 0/1: an old message set
        delta = 0
        for wrapper in iter_message_set(data):
            for m in deep_messages(wrapper) if wrapper.codec else [wrapper]:
                yield delta, m.key, m.value, (), m.timestamp
                delta += 1
        return
    delta = 0
    for pos, header in iter_batches(data):
        if header.is_control:
            continue
        for record in decode_records(data[pos : pos + header.size]):
            yield delta + record.offset_delta, record.key, record.value, tuple(record.headers), \
                record_timestamp(header, record)
        delta += header.last_offset_delta + 1


def commit_history(broker: Broker, group: str) -> list[CommitEvent]:
    """See `kafkalite.testing.assertions.BrokerAssertions.committed_history`."""
    journal = _journal(broker)
    resolve = _resolver(broker)
    out: list[CommitEvent] = []
    for entry in journal.query(api=[OFFSET_COMMIT, TXN_OFFSET_COMMIT], group_id=group):
        request = entry.request
        answers = _partition_errors(entry.response, resolve)
        txn = entry.api_key == TXN_OFFSET_COMMIT
        generation = request.generation_id if txn else request.generation_id_or_member_epoch
        for t in request.topics:
            name = topic_name(t, resolve) or ""
            for p in t.partitions:
                error = answers.get((name, p.partition_index), (None, -1))[0]
                out.append(CommitEvent(
                    entry.seq, entry.time_ms, entry.api, entry.client_id, request.member_id, generation,
                    name, p.partition_index, p.committed_offset, p.committed_metadata,
                    p.committed_leader_epoch, error, request.transactional_id if txn else None,
                ))
    return out


def _decoded_assignment(raw: bytes) -> dict[str, tuple[int, ...]] | None:
    from kafkalite.groups.consumer_protocol import ConsumerProtocolError, assigned_partitions

    if not raw:
        return {}
    with contextlib.suppress(ConsumerProtocolError):
        return {t: tuple(ps) for t, ps in sorted(assigned_partitions(raw).items())}
    return None


def _subscription(request: Any) -> tuple[str, ...] | None:
    from kafkalite.groups.consumer_protocol import ConsumerProtocolError, subscribed_topics

    if request.protocol_type != "consumer" or not request.protocols:
        return None
    with contextlib.suppress(ConsumerProtocolError):
        return tuple(subscribed_topics(request.protocols[0].metadata))
    return None


def group_events(broker: Broker, group: str) -> list[GroupEvent]:
    """See `kafkalite.testing.assertions.BrokerAssertions.group_history`."""
    journal = _journal(broker)
    resolve = _resolver(broker)
    out: list[GroupEvent] = []
    apis = [JOIN_GROUP, SYNC_GROUP, LEAVE_GROUP, HEARTBEAT, CONSUMER_GROUP_HEARTBEAT]
    for entry in journal.query(api=apis, group_id=group):
        event = _group_event(entry, resolve)
        if event is not None:
            out.extend(event)
    return out


def _group_event(entry: JournalEntry, resolve: Any) -> list[GroupEvent] | None:
    req, resp = entry.request, entry.response
    error = None if resp is None else resp.error_code
    base = (entry.seq, entry.time_ms)
    if entry.api_key == JOIN_GROUP:
        member = resp.member_id if resp is not None and resp.member_id else req.member_id
        return [GroupEvent(
            *base, "join", entry.client_id, member, -1 if resp is None else resp.generation_id, error,
            subscription=_subscription(req),
            protocol=None if resp is None else resp.protocol_name,
            leader=None if resp is None else resp.leader,
            members=() if resp is None else tuple(m.member_id for m in resp.members),
            reason=getattr(req, "reason", None),
        )]
    if entry.api_key == SYNC_GROUP:
        assignment = None
        if resp is not None and not resp.error_code and (req.protocol_type in (None, "consumer")):
            assignment = _decoded_assignment(bytes(resp.assignment))
        return [GroupEvent(*base, "sync", entry.client_id, req.member_id, req.generation_id, error,
                           assignment=assignment)]
    if entry.api_key == LEAVE_GROUP:
        members = [(m.member_id, m.reason) for m in req.members] if req.members else [(req.member_id, None)]
        return [GroupEvent(*base, "leave", entry.client_id, m, -1, error, reason=r) for m, r in members]
    if entry.api_key == HEARTBEAT:
        if not error:
            return None  # only a heartbeat that says something (REBALANCE_IN_PROGRESS ...)
        return [GroupEvent(*base, "heartbeat", entry.client_id, req.member_id, req.generation_id, error)]
    # ConsumerGroupHeartbeat (KIP-848): joins (epoch 0), leaves (-1, -2), new assignments, errors.
    assignment = None
    if resp is not None and resp.assignment is not None:
        assignment = {
            topic_name(tp, resolve) or "": tuple(sorted(tp.partitions))
            for tp in resp.assignment.topic_partitions
        }
    if req.member_epoch > 0 and assignment is None and not error:
        return None
    member = resp.member_id if resp is not None and resp.member_id else req.member_id
    epoch = resp.member_epoch if resp is not None else req.member_epoch
    subscription = tuple(req.subscribed_topic_names) if req.subscribed_topic_names is not None else None
    return [GroupEvent(*base, "consumer_heartbeat", entry.client_id, member, epoch, error,
                       subscription=subscription, assignment=assignment)]


__all__ = [
    "CommitEvent", "GroupEvent", "JournalOff", "ProducedRecord", "commit_history", "group_events", "produced_records",
]
