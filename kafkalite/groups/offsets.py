"""Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, group deletion, and the
periodic expiry of offsets past ``offsets.retention.minutes`` (Kafka's ``OffsetMetadataManager``).

Each change is written to ``__consumer_offsets`` first and applied in memory only once the
write succeeded, so memory never holds what a restart would not find.
"""

from __future__ import annotations

import logging

import attrs

from kafkalite.groups.consumer_group import validate_offset_commit, validate_offset_fetch
from kafkalite.groups.core import CoordinatorCore
from kafkalite.groups.group import Group, OffsetAndMetadata, TopicPartition
from kafkalite.groups.port import store_error
from kafkalite.groups.records import group_metadata_key, offset_commit_key, offset_commit_value
from kafkalite.groups.requests import CommitRequest, FetchedOffset
from kafkalite.groups.state import GroupEvent, GroupState
from kafkalite.wire.error_codes import ErrorCode

log = logging.getLogger("kafkalite.groups")


class OffsetManagement(CoordinatorCore):
    """The offsets half of `kafkalite.groups.coordinator.GroupCoordinator`."""

    # -- offsets -------------------------------------------------------------------------

    def commit_offsets(
        self,
        group_id: str,
        member_id: str,
        group_instance_id: str | None,
        generation_id: int,
        partitions: list[CommitRequest],
        *,
        retention_time_ms: int = -1,
        reports_group_id_not_found: bool = True,
        api_version: int = 9,
    ) -> list[ErrorCode]:
        """Handle the (existing) partitions of an OffsetCommit; one error per partition.

        Generation -1 with no member id commits for a group without members (assign()
        consumers, admin tools), creating a "simple" group if needed. For a consumer group
        (KIP-848) the generation is the member epoch, checked as Kafka's ConsumerGroup does.
        """
        def all_failed(error: ErrorCode) -> list[ErrorCode]:
            return [error] * len(partitions)

        group = self.groups.get(group_id)
        consumer_group = self.consumer_groups.get(group_id)
        if consumer_group is not None:
            refused = validate_offset_commit(consumer_group, member_id, generation_id, api_version=api_version)
            if refused is not None:
                return all_failed(refused[0])
            if group is None:  # the committed offsets of a consumer group live in a memberless holder
                group = self.groups[group_id] = Group(group_id, state_timestamp=self.wall_ms())
        elif group is None:
            if generation_id >= 0:
                # v9+ can say so; older clients only understand a stale generation.
                return all_failed(ErrorCode.GROUP_ID_NOT_FOUND if reports_group_id_not_found else ErrorCode.ILLEGAL_GENERATION)
            group = self.groups[group_id] = Group(group_id, state_timestamp=self.wall_ms())
            log.info("group %s: created as a simple group by an offset commit", group_id)
        error = None if consumer_group is not None else group.validate_offset_commit(
            member_id, group_instance_id, generation_id
        )
        if error is not None:
            return all_failed(error)
        if group.is_in(GroupState.STABLE, GroupState.PREPARING_REBALANCE):
            member = group.members.get(member_id)
            if member is not None:
                self._reschedule_heartbeat(group, member)  # a commit keeps the session alive
        now = self.wall_ms()
        expire = None if retention_time_ms == -1 else now + retention_time_ms
        errors, written = self._write_commits(group_id, partitions, now, expire)
        for tp, committed in written:
            group.offsets[tp] = committed
        return errors

    def _write_commits(
        self,
        group_id: str,
        partitions: list[CommitRequest],
        now: int,
        expire: int | None = None,
        *,
        producer_id: int = -1,
        producer_epoch: int = -1,
    ) -> tuple[list[ErrorCode], list[tuple[TopicPartition, OffsetAndMetadata]]]:
        """Write the commit records of *partitions* as one batch: one error per partition,
        and the offsets written (none when the write failed)."""
        errors: list[ErrorCode] = []
        records: list[tuple[bytes, bytes | None]] = []
        written: list[tuple[TopicPartition, OffsetAndMetadata]] = []
        for p in partitions:
            if p.metadata is not None and len(p.metadata) > self.offset_metadata_max_bytes:
                errors.append(ErrorCode.OFFSET_METADATA_TOO_LARGE)
                continue
            errors.append(ErrorCode.NONE)
            # Kafka keeps a client's commit timestamp (OffsetCommit v1) as given: offsets
            # are then dated (for expiry) from it.
            committed_at = now if p.commit_timestamp == -1 else p.commit_timestamp
            value = OffsetAndMetadata(p.offset, p.leader_epoch, p.metadata or "", committed_at, expire)
            written.append(((p.topic, p.partition), value))
            records.append((
                offset_commit_key(group_id, p.topic, p.partition),
                offset_commit_value(p.offset, p.leader_epoch, p.metadata or "", committed_at, expire),
            ))
        error, base_offset = self._append_batch(group_id, records, producer_id=producer_id, producer_epoch=producer_epoch)
        if error is not ErrorCode.NONE:
            return [error if e is ErrorCode.NONE else e for e in errors], []
        return errors, [(tp, attrs.evolve(o, record_offset=base_offset + i)) for i, (tp, o) in enumerate(written)]

    def commit_transactional_offsets(
        self,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        member_id: str,
        group_instance_id: str | None,
        generation_id: int,
        partitions: list[CommitRequest],
    ) -> list[ErrorCode]:
        """Handle a TxnOffsetCommit: the offsets are written now (in a transactional batch of
        the producer) and become the group's committed offsets only when the transaction
        commits (`complete_transaction`); an abort discards them."""
        group = self.groups.get(group_id)
        consumer_group = self.consumer_groups.get(group_id)
        if consumer_group is not None:
            refused = validate_offset_commit(consumer_group, member_id, generation_id, api_version=-1, transactional=True)
            if refused is not None:
                return [refused[0]] * len(partitions)
            if group is None:
                group = self.groups[group_id] = Group(group_id, state_timestamp=self.wall_ms())
        elif group is None:
            if generation_id >= 0:
                return [ErrorCode.ILLEGAL_GENERATION] * len(partitions)
            group = self.groups[group_id] = Group(group_id, state_timestamp=self.wall_ms())
            log.info("group %s: created as a simple group by a transactional offset commit", group_id)
        error = None if consumer_group is not None else group.validate_offset_commit(
            member_id, group_instance_id, generation_id, transactional=True
        )
        if error is not None:
            return [error] * len(partitions)
        errors, written = self._write_commits(
            group_id, partitions, self.wall_ms(), producer_id=producer_id, producer_epoch=producer_epoch
        )
        pending = group.pending_txn_offsets.setdefault(producer_id, {})
        pending.update(written)
        if not pending:
            del group.pending_txn_offsets[producer_id]
        return errors

    def complete_transaction(self, partition: int, producer_id: int, commit: bool) -> None:
        """A transaction marker of *producer_id* was written to *partition* of
        __consumer_offsets: apply or discard the pending offsets of the groups it holds."""
        for group in self.groups.values():
            if producer_id in group.pending_txn_offsets and self.partition_for(group.group_id) == partition:
                applied = group.complete_transaction(producer_id, commit)
                log.debug("group %s: transaction of producer %d %s, %d offset(s) applied", group.group_id,
                          producer_id, "committed" if commit else "aborted", applied)

    def check_offset_fetch(self, group_id: str, member_id: str | None, member_epoch: int) -> ErrorCode | None:
        """The error an OffsetFetch (v9+: with member id and epoch) of a consumer group gets,
        or None; classic groups ignore both fields, as Kafka's do."""
        consumer_group = self.consumer_groups.get(group_id)
        if consumer_group is None:
            return None
        refused = validate_offset_fetch(consumer_group, member_id, member_epoch)
        return None if refused is None else refused[0]

    def fetch_offsets(
        self, group_id: str, topics: list[tuple[str, list[int]]] | None, *, require_stable: bool = False
    ) -> list[tuple[str, list[FetchedOffset]]]:
        """Committed offsets of *topics* (None: every committed offset of the group).

        A partition without a committed offset (or of an unknown group) answers offset -1,
        leader epoch -1, metadata "". With *require_stable*, a partition whose offset an open
        transaction is committing answers UNSTABLE_OFFSET_COMMIT (the client retries).
        """
        group = self.groups.get(group_id)
        offsets = {} if group is None or group.is_in(GroupState.DEAD) else group.offsets
        if topics is None:
            by_topic: dict[str, list[FetchedOffset]] = {}
            for (topic, partition), o in sorted(offsets.items()):
                by_topic.setdefault(topic, []).append(
                    FetchedOffset(partition, o.committed_offset, o.leader_epoch, o.metadata)
                )
            return list(by_topic.items())
        result = []
        for topic, partitions in topics:
            fetched = []
            for partition in partitions:
                o = offsets.get((topic, partition))
                if require_stable and group is not None and group.has_pending_offset((topic, partition)):
                    fetched.append(FetchedOffset(partition, -1, -1, "", ErrorCode.UNSTABLE_OFFSET_COMMIT))
                elif o is None:
                    fetched.append(FetchedOffset(partition, -1, -1, ""))
                else:
                    fetched.append(FetchedOffset(partition, o.committed_offset, o.leader_epoch, o.metadata))
            result.append((topic, fetched))
        return result

    def delete_offsets(
        self, group_id: str, topics: list[tuple[str, list[int]]]
    ) -> tuple[ErrorCode, list[tuple[str, list[tuple[int, ErrorCode]]]]]:
        """Handle an OffsetDelete of existing partitions: a top-level error or per partition."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, []
        group = self.groups.get(group_id)
        if group is None or group.is_in(GroupState.DEAD):
            return ErrorCode.GROUP_ID_NOT_FOUND, []
        if not group.is_in(GroupState.EMPTY) and not group.uses_consumer_protocol():
            return ErrorCode.NON_EMPTY_GROUP, []
        result = []
        records: list[tuple[bytes, bytes | None]] = []
        deleted: list[TopicPartition] = []
        for topic, partitions in topics:
            if group.is_subscribed_to_topic(topic):
                result.append((topic, [(p, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC) for p in partitions]))
                continue
            result.append((topic, [(p, ErrorCode.NONE) for p in partitions]))
            for p in partitions:
                if (topic, p) in group.offsets:
                    records.append((offset_commit_key(group_id, topic, p), None))
                    deleted.append((topic, p))
        error = self._append(group_id, records)
        if error is not ErrorCode.NONE:
            return store_error(error), []
        for tp in deleted:
            group.offsets.pop(tp, None)
        return ErrorCode.NONE, result

    def _delete_group(self, group: Group, offsets: list[TopicPartition]) -> ErrorCode:
        records: list[tuple[bytes, bytes | None]] = [
            (offset_commit_key(group.group_id, topic, partition), None) for topic, partition in offsets
        ]
        records.append((group_metadata_key(group.group_id), None))
        error = self._append(group.group_id, records)
        if error is not ErrorCode.NONE:
            return store_error(error)
        group.transition(GroupEvent.DELETE, self.wall_ms())
        del self.groups[group.group_id]
        for member_id in list(group.pending_members):
            self._cancel_heartbeat(group, member_id)
        self.timers.cancel(("join", group.group_id))
        self.timers.cancel(("sync", group.group_id))
        log.info("group %s: deleted with %d offset(s)", group.group_id, len(offsets))
        return ErrorCode.NONE

    def _schedule_cleanup(self) -> None:
        self.timers.schedule(("cleanup",), self.offsets_retention_check_interval_ms, self._cleanup_tick)

    def _cleanup_tick(self) -> None:
        self._schedule_cleanup()
        self.cleanup_group_metadata()

    # -- expiry and topic deletion -------------------------------------------------------

    def cleanup_group_metadata(self) -> int:
        """Expire offsets past offsets.retention.minutes and delete empty groups left with
        none (KIP-211); return the number of tombstones written."""
        now = self.wall_ms()
        written = 0
        for group in list(self.groups.values()):
            expired = group.expired_offsets(now, self.offsets_retention_ms)
            consumer_group = self.consumer_groups.get(group.group_id)
            if consumer_group is not None and consumer_group.members:
                # A consumer group's members keep the offsets of the topics they subscribe to.
                expired = [tp for tp in expired if tp[0] not in consumer_group.subscription_metadata]
            all_expired = len(expired) == len(group.offsets)
            idle = not group.pending_members and not group.pending_txn_offsets
            if consumer_group is not None and consumer_group.members:
                idle = False
            if all_expired and group.is_in(GroupState.EMPTY) and idle:
                if consumer_group is not None:
                    self.delete_consumer_group(group.group_id)
                if self._delete_group(group, expired) is ErrorCode.NONE:
                    written += len(expired) + 1
                continue
            if expired:
                records: list[tuple[bytes, bytes | None]] = [
                    (offset_commit_key(group.group_id, topic, partition), None) for topic, partition in expired
                ]
                if self._append(group.group_id, records) is ErrorCode.NONE:
                    for tp in expired:
                        group.offsets.pop(tp, None)
                    written += len(records)
                    log.info("group %s: expired %d offset(s)", group.group_id, len(expired))
        return written

    def on_topic_deleted(self, topic: str) -> None:
        """Drop (with tombstones) every committed offset of a deleted topic, as Kafka does."""
        for group in list(self.groups.values()):
            for pending in group.pending_txn_offsets.values():
                for tp in [tp for tp in pending if tp[0] == topic]:
                    del pending[tp]
            gone = [tp for tp in group.offsets if tp[0] == topic]
            if not gone:
                continue
            records: list[tuple[bytes, bytes | None]] = [(offset_commit_key(group.group_id, t, p), None) for t, p in gone]
            if self._append(group.group_id, records) is ErrorCode.NONE:
                for tp in gone:
                    group.offsets.pop(tp, None)
