"""Consumer groups (KIP-848) survive a restart: their records in __consumer_offsets (group
epoch, member subscriptions, target and current assignments) are replayed at start."""

from __future__ import annotations

from pathlib import Path

import trio

from kafkalite.groups.consumer_group import MemberState
from kafkalite.groups.consumer_records import CURRENT_MEMBER_ASSIGNMENT, GROUP_METADATA, MEMBER_METADATA
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.groups.records import partition_for
from kafkalite.wire.records import decode_records

from ..groups.helpers import connect
from .consumer_group_client import CgMember
from .test_group_restart import open_broker


def record_types(broker, group_id: str) -> list[tuple[int, bool]]:
    """(record type, is a tombstone) of the group's records, in log order."""
    partition = partition_for(group_id, broker.groups.num_partitions)
    found = []
    for _header, view in broker.groups.offsets_topic.batches(partition):
        for r in decode_records(view):
            found.append((int.from_bytes(bytes(r.key[:2]), "big"), r.value is None))
    return found


async def test_consumer_group_survives_a_restart(tmp_path: Path, nursery, autojump_clock) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first)
        broker.create_topic("t", 4)
        a = CgMember(connect(broker, first), instance_id="i-a", assignor="range")
        b = CgMember(connect(broker, first), topics=None, regex="t")
        await a.heartbeat()
        for _ in range(4):
            await b.heartbeat()
            await a.heartbeat()
        group = broker.groups.consumer_group("g")
        before = (group.group_epoch, group.assignment_epoch, dict(group.target),
                  {m.member_id: (m.member_epoch, m.assigned, m.instance_id, m.subscribed_topic_regex,
                                 m.server_assignor) for m in group.members.values()})
        types = record_types(broker, "g")
        assert (GROUP_METADATA, False) in types and (MEMBER_METADATA, False) in types
        assert (CURRENT_MEMBER_ASSIGNMENT, False) in types
        first.cancel_scope.cancel()
    broker.close()

    restarted = open_broker(tmp_path, nursery)
    group = restarted.groups.consumer_group("g")
    after = (group.group_epoch, group.assignment_epoch, dict(group.target),
             {m.member_id: (m.member_epoch, m.assigned, m.instance_id, m.subscribed_topic_regex,
                            m.server_assignor) for m in group.members.values()})
    assert after == before
    assert all(m.state is MemberState.STABLE for m in group.members.values())
    # The members carry on with their epochs; the first heartbeat recomputes the topics'
    # metadata (not stored), which bumps the group epoch once and keeps the assignment.
    a.client, b.client = connect(restarted, nursery), connect(restarted, nursery)
    owned = (a.partitions(), b.partitions())
    for _ in range(3):
        assert (await a.heartbeat()).error_code == 0
        assert (await b.heartbeat()).error_code == 0
    assert (a.partitions(), b.partitions()) == owned


async def test_a_member_that_left_stays_gone_after_a_restart(tmp_path: Path, nursery, autojump_clock) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first)
        broker.create_topic("t", 2)
        a, b = CgMember(connect(broker, first)), CgMember(connect(broker, first))
        await a.heartbeat()
        await b.heartbeat()
        await b.leave()
        first.cancel_scope.cancel()
    broker.close()
    restarted = open_broker(tmp_path, nursery)
    group = restarted.groups.consumer_group("g")
    assert list(group.members) == [a.member_id]
    assert b.member_id not in group.target


async def test_a_deleted_consumer_group_stays_deleted(tmp_path: Path, nursery, autojump_clock) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first)
        broker.create_topic("t", 2)
        a = CgMember(connect(broker, first))
        await a.heartbeat()
        await a.leave()
        assert broker.groups.delete_groups(["g"]) == [("g", 0)]
        first.cancel_scope.cancel()
    broker.close()
    restarted = open_broker(tmp_path, nursery)
    assert restarted.groups.consumer_group("g") is None


async def test_consumer_group_survives_compaction_of_consumer_offsets_and_a_restart(
    tmp_path: Path, nursery, autojump_clock
) -> None:
    from kafkalite.broker.cleaning import compact_topic

    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first)
        broker.create_topic("t", 4)
        a, b = CgMember(connect(broker, first)), CgMember(connect(broker, first))
        gone = CgMember(connect(broker, first))
        for m in (a, b, gone):
            await m.heartbeat()
        for _ in range(4):
            for m in (a, b, gone):
                await m.heartbeat()
        await gone.leave()
        for _ in range(4):
            await a.heartbeat()
            await b.heartbeat()
        group = broker.groups.consumer_group("g")
        before = (group.group_epoch, group.assignment_epoch, dict(group.target),
                  {m.member_id: (m.member_epoch, m.assigned) for m in group.members.values()})
        assert compact_topic(broker, OFFSETS_TOPIC)  # keeps the latest record per key
        first.cancel_scope.cancel()
    broker.close()
    restarted = open_broker(tmp_path, nursery)
    group = restarted.groups.consumer_group("g")
    after = (group.group_epoch, group.assignment_epoch, dict(group.target),
             {m.member_id: (m.member_epoch, m.assigned) for m in group.members.values()})
    assert after == before and gone.member_id not in group.members
