"""The server-side assignors through ConsumerGroupHeartbeat: ``range`` orders static members
by instance id, as Kafka's RangeAssignor."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker

from ..groups.helpers import connect, start_broker
from .consumer_group_client import CgMember


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery)
    b.create_topic("t", 4)
    return b


async def settle(*members: CgMember, rounds: int = 6) -> None:
    for _ in range(rounds):
        for m in members:
            await m.heartbeat()


async def test_range_gives_the_first_ranges_to_static_members_by_instance_id(broker: Broker, nursery) -> None:
    # Member ids sort the other way round from instance ids; a dynamic member comes last.
    late = CgMember(connect(broker, nursery), instance_id="instance-2", assignor="range")
    early = CgMember(connect(broker, nursery), instance_id="instance-1", assignor="range")
    dynamic = CgMember(connect(broker, nursery), assignor="range")
    late.member_id, early.member_id, dynamic.member_id = "member-a", "member-b", "member-0"
    await settle(late, early, dynamic)
    partitions = {m.instance_id: sorted(p for _t, p in m.partitions()) for m in (early, late, dynamic)}
    assert partitions == {"instance-1": [0, 1], "instance-2": [2], None: [3]}
