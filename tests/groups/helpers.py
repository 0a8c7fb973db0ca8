"""Test helpers: a broker whose group coordinator runs, and group members over their own
in-memory connections, speaking our codec."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.groups.consumer_protocol import encode_subscription
from kafkalite.wire.messages.heartbeat import HeartbeatRequest
from kafkalite.wire.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from kafkalite.wire.messages.leave_group import LeaveGroupRequest, MemberIdentity
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic
from kafkalite.wire.messages.sync_group import SyncGroupRequest, SyncGroupRequestAssignment

from ..broker.conftest import Client, make_broker

MEMBER_ID_REQUIRED = 79


def start_broker(nursery: trio.Nursery, **overrides: Any) -> Broker:
    """A memory broker with its group coordinator's timers running in *nursery*.

    No initial rebalance delay unless asked for: these tests pin the other rules of membership,
    and the delay has tests of its own.
    """
    overrides.setdefault("group_initial_rebalance_delay_ms", 0)
    broker = make_broker(**overrides)
    nursery.start_soon(broker.groups.run)
    return broker


def connect(broker: Broker, nursery: trio.Nursery, node_id: int | None = None) -> Client:
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, broker.config.node_id if node_id is None else node_id)
    return Client(ours)


def subscription(*topics: str) -> bytes:
    return encode_subscription(list(topics) or ["t"])


class GroupMember:
    """One member of a group on its own connection; remembers its member id and generation."""

    def __init__(
        self,
        client: Client,
        group_id: str = "g",
        *,
        protocols: tuple[tuple[str, bytes], ...] | None = None,
        protocol_type: str = "consumer",
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 30_000,
        group_instance_id: str | None = None,
        join_version: int = 7,
        sync_version: int = 5,
        heartbeat_version: int = 4,
    ) -> None:
        self.client = client
        self.group_id = group_id
        self.protocols = protocols or (("range", subscription("t")),)
        self.protocol_type = protocol_type
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.group_instance_id = group_instance_id
        self.join_version = join_version
        self.sync_version = sync_version
        self.heartbeat_version = heartbeat_version
        self.member_id = ""
        self.generation_id = -1
        self.leader = ""
        self.protocol_name: str | None = None
        self.members: list[Any] = []
        self.assignment = b""

    async def join_once(self, **overrides: Any) -> Any:
        fields: dict[str, Any] = dict(
            group_id=self.group_id,
            session_timeout_ms=self.session_timeout_ms,
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            member_id=self.member_id,
            group_instance_id=self.group_instance_id,
            protocol_type=self.protocol_type,
            protocols=[JoinGroupRequestProtocol(name=n, metadata=m) for n, m in self.protocols],
        )
        fields.update(overrides)
        response = await self.client.request(JoinGroupRequest(**fields), self.join_version)
        if response.error_code in (0, MEMBER_ID_REQUIRED):
            self.member_id = response.member_id
        if response.error_code == 0:
            self.generation_id = response.generation_id
            self.leader = response.leader
            self.protocol_name = response.protocol_name
            self.members = list(response.members)
        return response

    async def join(self, **overrides: Any) -> Any:
        """Join, answering MEMBER_ID_REQUIRED by joining again with the given id."""
        response = await self.join_once(**overrides)
        if response.error_code == MEMBER_ID_REQUIRED:
            response = await self.join_once(**overrides)
        return response

    @property
    def is_leader(self) -> bool:
        return bool(self.member_id) and self.member_id == self.leader

    async def sync(self, assignments: dict[str, bytes] | None = None, **overrides: Any) -> Any:
        fields: dict[str, Any] = dict(
            group_id=self.group_id,
            generation_id=self.generation_id,
            member_id=self.member_id,
            group_instance_id=self.group_instance_id,
            protocol_type=self.protocol_type,
            protocol_name=self.protocol_name,
            assignments=[
                SyncGroupRequestAssignment(member_id=k, assignment=v) for k, v in (assignments or {}).items()
            ],
        )
        fields.update(overrides)
        response = await self.client.request(SyncGroupRequest(**fields), self.sync_version)
        if response.error_code == 0:
            self.assignment = response.assignment
        return response

    async def join_and_sync(self, assign: Any = None) -> tuple[Any, Any]:
        """Join; as leader, give each member ``assign(member_ids)[member]`` (default b"<id>")."""
        joined = await self.join()
        assert joined.error_code == 0, joined
        assignments = None
        if self.is_leader:
            ids = [m.member_id for m in joined.members]
            assignments = assign(ids) if assign else {i: i.encode() for i in ids}
        synced = await self.sync(assignments)
        return joined, synced

    async def heartbeat(self, **overrides: Any) -> int:
        fields: dict[str, Any] = dict(
            group_id=self.group_id,
            generation_id=self.generation_id,
            member_id=self.member_id,
            group_instance_id=self.group_instance_id,
        )
        fields.update(overrides)
        response = await self.client.request(HeartbeatRequest(**fields), self.heartbeat_version)
        return response.error_code

    async def leave(self, version: int = 5) -> Any:
        if version >= 3:
            request = LeaveGroupRequest(
                group_id=self.group_id,
                members=[MemberIdentity(member_id=self.member_id, group_instance_id=self.group_instance_id)],
            )
        else:
            request = LeaveGroupRequest(group_id=self.group_id, member_id=self.member_id)
        return await self.client.request(request, version)

    async def commit(self, offsets: dict[tuple[str, int], int], version: int = 9, **overrides: Any) -> dict:
        by_topic: dict[str, list[OffsetCommitRequestPartition]] = {}
        for (topic, partition), offset in offsets.items():
            by_topic.setdefault(topic, []).append(
                OffsetCommitRequestPartition(
                    partition_index=partition, committed_offset=offset, committed_leader_epoch=0,
                    committed_metadata=f"m{offset}",
                )
            )
        fields: dict[str, Any] = dict(
            group_id=self.group_id,
            generation_id_or_member_epoch=self.generation_id,
            member_id=self.member_id,
            group_instance_id=self.group_instance_id,
            topics=[OffsetCommitRequestTopic(name=t, partitions=ps) for t, ps in by_topic.items()],
        )
        fields.update(overrides)
        response = await self.client.request(OffsetCommitRequest(**fields), version)
        return {(t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions}


async def fetch_offsets(client: Client, group_id: str, partitions: dict[str, list[int]] | None,
                        version: int = 7) -> dict[tuple[str, int], tuple[int, int, str | None, int]]:
    """{(topic, partition): (offset, leader epoch, metadata, error)} of OffsetFetch v1-7."""
    topics = None if partitions is None else [
        OffsetFetchRequestTopic(name=t, partition_indexes=ps) for t, ps in partitions.items()
    ]
    response = await client.request(OffsetFetchRequest(group_id=group_id, topics=topics), version)
    assert response.error_code == 0, response
    return {
        (t.name, p.partition_index): (p.committed_offset, p.committed_leader_epoch, p.metadata, p.error_code)
        for t in response.topics
        for p in t.partitions
    }


async def simple_commit(client: Client, group_id: str, offsets: dict[tuple[str, int], int], version: int = 9) -> dict:
    """A commit as assign() consumers and admin tools send it: generation -1, no member."""
    member = GroupMember(client, group_id)
    return await member.commit(offsets, version=version)
