"""Groups and committed offsets survive a restart (they are rebuilt from __consumer_offsets),
and offsets.retention.minutes expires the offsets of empty groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from kafkalite.broker.state import Broker
from kafkalite.broker.cluster import BrokerNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.server.dispatch import load_handlers
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.groups.records import offset_commit_key, partition_for
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.records import NewRecord, build_batch

from ..groups.helpers import GroupMember, connect, fetch_offsets, simple_commit


def open_broker(data_dir: Path, nursery: trio.Nursery, **overrides: Any) -> Broker:
    load_handlers()
    broker = Broker.create(BrokerConfig(data_dir=data_dir, **overrides))
    for i, node_id in enumerate(broker.cluster.node_ids):
        broker.cluster.set_node(BrokerNode(node_id, "localhost", 9092 + i))
    nursery.start_soon(broker.groups.run)
    return broker


async def stable_group(broker: Broker, nursery: trio.Nursery) -> tuple[GroupMember, GroupMember]:
    a = GroupMember(connect(broker, nursery), session_timeout_ms=6000)
    b = GroupMember(connect(broker, nursery), session_timeout_ms=6000, group_instance_id="static-b", join_version=5)
    async with trio.open_nursery() as n:
        n.start_soon(a.join)
        await trio.sleep(0.1)
        n.start_soon(b.join)
        await trio.sleep(1)
        await a.join()
    async with trio.open_nursery() as n:
        n.start_soon(a.sync, {a.member_id: b"assignment-a", b.member_id: b"assignment-b"})
        n.start_soon(b.sync)
    return a, b


async def test_offsets_and_groups_survive_a_restart(tmp_path: Path, nursery, autojump_clock) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first)
        broker.create_topic("t", 2)
        a, b = await stable_group(broker, first)
        assert await a.commit({("t", 0): 11, ("t", 1): 12}) == {("t", 0): E.NONE, ("t", 1): E.NONE}
        await simple_commit(connect(broker, first), "simple", {("t", 0): 3})
        before = {gid: dict(g.offsets) for gid, g in broker.groups.groups.items()}
        first.cancel_scope.cancel()
    broker.close()

    restarted = open_broker(tmp_path, nursery)
    groups = restarted.groups.groups
    assert {gid: dict(g.offsets) for gid, g in groups.items()} == before  # metadata, epochs, timestamps
    group = groups["g"]
    assert (group.state.value, group.generation_id, group.protocol_type, group.protocol_name) == (
        "Stable", 2, "consumer", "range")
    assert group.leader_id == a.member_id
    assert {m.member_id: m.assignment for m in group.members.values()} == {
        a.member_id: b"assignment-a", b.member_id: b"assignment-b"}
    assert group.static_members == {"static-b": b.member_id}
    assert groups["simple"].state.value == "Empty" and groups["simple"].protocol_type is None

    # The members reconnect and carry on in their generation...
    client = connect(restarted, nursery)
    a.client = client
    assert await a.heartbeat() == E.NONE
    assert (await fetch_offsets(client, "g", {"t": [0, 1]})) == {
        ("t", 0): (11, 0, "m11", E.NONE), ("t", 1): (12, 0, "m12", E.NONE)}
    # ... and one that does not come back is removed after its session timeout.
    for _ in range(4):
        await trio.sleep(2)
        error = await a.heartbeat()
    assert error == E.REBALANCE_IN_PROGRESS
    joined = await a.join()
    assert [m.member_id for m in joined.members] == [a.member_id]


async def test_empty_and_deleted_groups_after_a_restart(tmp_path: Path, nursery, autojump_clock) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first)
        broker.create_topic("t", 1)
        left = GroupMember(connect(broker, first), "left")
        await left.join_and_sync()
        await left.commit({("t", 0): 5})
        await left.leave()
        await simple_commit(connect(broker, first), "deleted", {("t", 0): 1})
        assert broker.groups.delete_groups(["deleted"]) == [("deleted", E.NONE)]
        await simple_commit(connect(broker, first), "partly", {("t", 0): 1})
        broker.groups.delete_offsets("partly", [("t", [0])])
        first.cancel_scope.cancel()
    broker.close()

    restarted = open_broker(tmp_path, nursery)
    groups = restarted.groups.groups
    assert "deleted" not in groups
    assert groups["left"].state.value == "Empty" and groups["left"].generation_id == 2
    assert groups["left"].offsets[("t", 0)].committed_offset == 5
    assert groups["partly"].offsets == {}
    # A new member starts the next generation.
    again = GroupMember(connect(restarted, nursery), "left")
    joined, _ = await again.join_and_sync()
    assert joined.generation_id == 3


async def test_undecodable_records_are_skipped_at_load(tmp_path: Path, nursery, caplog) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first)
        broker.create_topic("t", 1)
        await simple_commit(connect(broker, first), "g", {("t", 0): 5})
        partition = partition_for("g", 50)
        # Someone produced garbage into __consumer_offsets.
        broker.log_for(OFFSETS_TOPIC, partition).append(
            build_batch([NewRecord(offset_commit_key("g", "t", 0), b"\x00\x09garbage")])
        )
        first.cancel_scope.cancel()
    broker.close()
    restarted = open_broker(tmp_path, nursery)
    assert restarted.groups.groups["g"].offsets[("t", 0)].committed_offset == 5
    assert "skipping undecodable record" in caplog.text


async def test_offsets_of_an_empty_group_expire_after_the_retention(tmp_path: Path, nursery, autojump_clock) -> None:
    async with trio.open_nursery() as first:
        broker = open_broker(tmp_path, first, offsets_retention_minutes=1, offsets_retention_check_interval_ms=5000)
        broker.groups.wall_ms = lambda: int(trio.current_time() * 1000)
        broker.create_topic("t", 1)
        a = GroupMember(connect(broker, first))
        await a.join_and_sync()
        await a.commit({("t", 0): 5})
        for _ in range(40):  # a stable group keeps the offsets of its subscribed topics
            await trio.sleep(3)
            assert await a.heartbeat() == E.NONE
        assert ("t", 0) in broker.groups.groups["g"].offsets
        await a.leave()
        await trio.sleep(50)
        assert ("t", 0) in broker.groups.groups["g"].offsets
        await trio.sleep(20)  # one minute (plus a check interval) after the group emptied
        assert "g" not in broker.groups.groups
        first.cancel_scope.cancel()
    broker.close()
    assert "g" not in open_broker(tmp_path, nursery).groups.groups  # tombstones were written


async def test_simple_group_offsets_expire_by_commit_time(nursery, autojump_clock) -> None:
    from ..groups.helpers import start_broker

    broker = start_broker(nursery, offsets_retention_minutes=1, offsets_retention_check_interval_ms=1000)
    broker.groups.wall_ms = lambda: int(trio.current_time() * 1000)
    broker.create_topic("t", 2)
    client = connect(broker, nursery)
    await simple_commit(client, "s", {("t", 0): 1})
    await trio.sleep(30)
    await simple_commit(client, "s", {("t", 1): 1})
    await trio.sleep(35)
    assert broker.groups.groups["s"].offsets.keys() == {("t", 1)}
    await trio.sleep(30)
    assert "s" not in broker.groups.groups
