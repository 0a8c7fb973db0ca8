"""Rebuilding groups and committed offsets from ``__consumer_offsets`` at start.

Records are replayed in log order: an offset commit sets (a tombstone removes) a partition's
committed offset; a group metadata record replaces the group (a tombstone deletes it, keeping
offsets that outlived it). Groups with members come back Stable and their members keep their
generation as long as they heartbeat in time.
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalite.groups.group import Group, Member, OffsetAndMetadata
from kafkalite.groups.port import OFFSETS_TOPIC, OffsetsTopic
from kafkalite.groups.records import GroupMetadataRecord, OffsetCommitRecord, parse_record
from kafkalite.groups.state import GroupState
from kafkalite.storage import KafkaStorageError, OffsetOutOfRange
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.records import decode_records

log = logging.getLogger("kafkalite.groups")


def replay_groups(topic: OffsetsTopic, num_partitions: int) -> dict[str, Group]:
    """The groups (with their offsets) that the records of every partition describe."""
    groups: dict[str, Group] = {}
    count = 0
    for partition in range(num_partitions):
        try:
            for header, view in topic.batches(partition):
                if header.is_control or header.is_transactional:
                    continue  # transactional offset commits are not supported
                try:
                    records = decode_records(view)
                except DecodeError as exc:
                    log.warning("%s-%d: skipping undecodable batch at %d: %s",
                                OFFSETS_TOPIC, partition, header.base_offset, exc)
                    continue
                for record in records:
                    try:
                        replay_record(groups, record.key, record.value)
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


def replay_record(groups: dict[str, Group], key: bytes | None, value: bytes | None) -> None:
    """Apply one record of __consumer_offsets to *groups*."""
    record = parse_record(key, value)
    if isinstance(record, OffsetCommitRecord):
        tp = (record.topic, record.partition)
        if record.value is None:
            group = groups.get(record.group)
            if group is not None:
                group.offsets.pop(tp, None)
            return
        v: Any = record.value
        group = groups.get(record.group)
        if group is None:
            group = groups[record.group] = Group(record.group)
        group.offsets[tp] = OffsetAndMetadata(
            committed_offset=v.offset,
            leader_epoch=v.leader_epoch,
            metadata=v.metadata,
            commit_timestamp=v.commit_timestamp,
            expire_timestamp=None if v.expire_timestamp < 0 else v.expire_timestamp,
        )
    elif isinstance(record, GroupMetadataRecord):
        old = groups.pop(record.group, None)
        if record.value is None:
            if old is not None and old.offsets:
                # Offsets outlived the group record: keep them in a simple group.
                groups[record.group] = Group(record.group, offsets=old.offsets)
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
