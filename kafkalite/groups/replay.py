"""Rebuilding groups and committed offsets from ``__consumer_offsets`` at start.

Records are replayed in log order: an offset commit sets (a tombstone removes) a partition's
committed offset; a group metadata record replaces the group (a tombstone deletes it, keeping
offsets that outlived it). Groups with members come back Stable and their members keep their
generation as long as they heartbeat in time.
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalite.groups.consumer_group import ConsumerGroup
from kafkalite.groups.consumer_records import replay_consumer_record
from kafkalite.groups.group import Group, Member, OffsetAndMetadata
from kafkalite.groups.port import OFFSETS_TOPIC, OffsetsTopic
from kafkalite.groups.records import GroupMetadataRecord, OffsetCommitRecord, parse_record, partition_for
from kafkalite.groups.state import GroupState
from kafkalite.storage import KafkaStorageError, OffsetOutOfRange
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.batch import CorruptBatchError
from kafkalite.wire.records import ControlRecordType, decode_records, parse_control_record

log = logging.getLogger("kafkalite.groups")


def replay_groups(
    topic: OffsetsTopic, num_partitions: int, consumer_groups: dict[str, ConsumerGroup] | None = None
) -> dict[str, Group]:
    """The groups (with their offsets) that the records of every partition describe; the
    consumer groups (KIP-848) among them go into *consumer_groups*."""
    consumer_groups = {} if consumer_groups is None else consumer_groups
    groups: dict[str, Group] = {}
    count = 0
    for partition in range(num_partitions):
        try:
            for header, view in topic.batches(partition):
                try:
                    records = decode_records(view)
                except DecodeError as exc:
                    log.warning("%s-%d: skipping undecodable batch at %d: %s",
                                OFFSETS_TOPIC, partition, header.base_offset, exc)
                    continue
                if header.is_control:
                    _replay_marker(groups, partition, num_partitions, header.producer_id, records)
                    continue
                # A transactional batch holds a TxnOffsetCommit: pending until its marker.
                pending_of = header.producer_id if header.is_transactional else None
                for record in records:
                    try:
                        if record.key is not None and replay_consumer_record(consumer_groups, record.key, record.value):
                            count += 1
                            continue
                        replay_record(groups, record.key, record.value, header.base_offset + record.offset_delta, pending_of)
                        count += 1
                    except DecodeError as exc:
                        log.warning("%s-%d: skipping undecodable record at %d: %s", OFFSETS_TOPIC,
                                    partition, header.base_offset + record.offset_delta, exc)
        except (KafkaStorageError, OffsetOutOfRange) as exc:
            log.error("%s-%d: cannot read group state: %s", OFFSETS_TOPIC, partition, exc)
    for group in groups.values():
        group.subscribed_topics = group.compute_subscribed_topics()
    if groups:
        log.info("loaded %d group(s) from %d record(s) of %s", len(groups), count, OFFSETS_TOPIC)
    return groups


def _replay_marker(
    groups: dict[str, Group], partition: int, num_partitions: int, producer_id: int, records: list[Any]
) -> None:
    """A transaction marker: the producer's pending offsets of this partition's groups are
    committed or dropped."""
    for record in records:
        try:
            control_type, _coordinator_epoch = parse_control_record(record)
        except CorruptBatchError as exc:
            log.warning("%s-%d: skipping a control record: %s", OFFSETS_TOPIC, partition, exc)
            continue
        for group in groups.values():
            if producer_id in group.pending_txn_offsets and partition_for(group.group_id, num_partitions) == partition:
                group.complete_transaction(producer_id, control_type is ControlRecordType.COMMIT)


def replay_record(
    groups: dict[str, Group],
    key: bytes | None,
    value: bytes | None,
    record_offset: int = -1,
    pending_of: int | None = None,
) -> None:
    """Apply one record of __consumer_offsets (at *record_offset*) to *groups*; an offset
    commit of a transaction (*pending_of*: its producer id) waits for the marker."""
    record = parse_record(key, value)
    if isinstance(record, OffsetCommitRecord):
        tp = (record.topic, record.partition)
        group = groups.get(record.group)
        if record.value is None:
            if group is not None:
                group.offsets.pop(tp, None)
            return
        v: Any = record.value
        if group is None:
            group = groups[record.group] = Group(record.group)
        offset = OffsetAndMetadata(
            committed_offset=v.offset,
            leader_epoch=v.leader_epoch,
            metadata=v.metadata,
            commit_timestamp=v.commit_timestamp,
            expire_timestamp=None if v.expire_timestamp < 0 else v.expire_timestamp,
            record_offset=record_offset,
        )
        if pending_of is None:
            group.offsets[tp] = offset
        else:
            group.pending_txn_offsets.setdefault(pending_of, {})[tp] = offset
    elif isinstance(record, GroupMetadataRecord):
        old = groups.pop(record.group, None)
        if record.value is None:
            if old is not None and (old.offsets or old.pending_txn_offsets):
                # Offsets outlived the group record: keep them in a simple group.
                groups[record.group] = Group(
                    record.group, offsets=old.offsets, pending_txn_offsets=old.pending_txn_offsets
                )
            return
        groups[record.group] = _group_from_record(record.group, record.value, old)


def _group_from_record(group_id: str, value: Any, old: Group | None) -> Group:
    members = value.members
    group = Group(
        group_id,
        state=GroupState.STABLE if members else GroupState.EMPTY,
        state_timestamp=None if value.current_state_timestamp < 0 else value.current_state_timestamp,
        generation_id=value.generation,
        protocol_type=value.protocol_type or None,
        protocol_name=value.protocol,
        offsets=old.offsets if old is not None else {},
        pending_txn_offsets=old.pending_txn_offsets if old is not None else {},
    )
    for m in members:
        member = Member(
            member_id=m.member_id,
            group_instance_id=m.group_instance_id,
            client_id=m.client_id,
            client_host=m.client_host,
            # v0 had no rebalance timeout: the session timeout stood in for it.
            rebalance_timeout_ms=m.rebalance_timeout if m.rebalance_timeout > 0 else m.session_timeout,
            session_timeout_ms=m.session_timeout,
            protocol_type=group.protocol_type or "",
            protocols=((value.protocol or "", m.subscription),),
            assignment=m.assignment,
        )
        group.add(member)
    group.leader_id = value.leader if value.leader in group.members else next(iter(group.members), None)
    return group
