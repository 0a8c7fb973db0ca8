"""A member of the consumer group protocol (KIP-848) over an in-memory connection, for tests."""

from __future__ import annotations

import uuid
from typing import Any

from kafkalite.wire.messages.consumer_group_heartbeat import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatTopicPartitions,
)

from .conftest import Client


class CgMember:
    """Remembers its member id, epoch and owned partitions, as a client would; `heartbeat`
    sends what a client sends (a full request when joining, then only what changed) and
    applies the assignment it gets (revocations at once, as a client that acknowledges them)."""

    def __init__(self, client: Client, group_id: str = "g", *, topics: tuple[str, ...] | None = ("t",),
                 regex: str | None = None, instance_id: str | None = None, assignor: str | None = None,
                 version: int = 1, rebalance_timeout_ms: int = 30_000) -> None:
        self.client = client
        self.group_id = group_id
        self.topics = topics
        self.regex = regex
        self.instance_id = instance_id
        self.assignor = assignor
        self.version = version
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.member_id = str(uuid.uuid4()) if version >= 1 else ""
        self.epoch = 0
        self.owned: dict[uuid.UUID, list[int]] = {}
        self.last: Any = None

    def owned_list(self) -> list[ConsumerGroupHeartbeatTopicPartitions]:
        return [ConsumerGroupHeartbeatTopicPartitions(topic_id=t, partitions=sorted(ps)) for t, ps in self.owned.items() if ps]

    async def send(self, **fields: Any) -> Any:
        request = ConsumerGroupHeartbeatRequest(group_id=self.group_id, member_id=self.member_id, **fields)
        self.last = await self.client.request(request, self.version)
        return self.last

    async def heartbeat(self, *, keep: bool = False) -> Any:
        """One heartbeat; with *keep*, the member does not give up revoked partitions."""
        joining = self.epoch == 0
        fields: dict[str, Any] = {"member_epoch": self.epoch, "topic_partitions": self.owned_list()}
        if joining:
            fields.update(
                instance_id=self.instance_id,
                rebalance_timeout_ms=self.rebalance_timeout_ms,
                subscribed_topic_names=None if self.topics is None else list(self.topics),
                server_assignor=self.assignor,
            )
            if self.version >= 1:
                fields["subscribed_topic_regex"] = self.regex
        response = await self.send(**fields)
        if response.error_code == 0:
            self.member_id = response.member_id or self.member_id
            self.epoch = response.member_epoch
            if response.assignment is not None and not keep:
                self.owned = {tp.topic_id: list(tp.partitions) for tp in response.assignment.topic_partitions}
        return response

    async def leave(self, epoch: int = -1) -> Any:
        return await self.send(member_epoch=epoch, instance_id=self.instance_id)

    def partitions(self) -> set[tuple[uuid.UUID, int]]:
        return {(t, p) for t, ps in self.owned.items() for p in ps}
