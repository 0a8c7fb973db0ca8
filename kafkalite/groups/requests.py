"""The values a group request is handled with: what handlers pass to the coordinator and
what they get back, plus the `Waiter` a parked JoinGroup or SyncGroup awaits.

Handlers translate each API version's rules into these plain values (capability flags such as
`JoinRequest.require_known_member_id`), so the coordinator never sees a protocol version.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from kafkalite.groups.group import Protocols
from kafkalite.groups.state import GroupState
from kafkalite.wire.error_codes import ErrorCode


def client_host(peer: str) -> str:
    """A member's client_host as Kafka shows it (``/127.0.0.1``) from a "host:port" peer."""
    host = peer.rsplit(":", 1)[0] if ":" in peer else peer
    return "/" + host


@attrs.frozen(kw_only=True)
class JoinRequest:
    """A JoinGroup, as the coordinator needs it (the handler fills in version rules)."""

    group_id: str
    member_id: str
    group_instance_id: str | None
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: Protocols
    client_id: str
    client_host: str
    #: JoinGroup v4+: a dynamic member's first join answers MEMBER_ID_REQUIRED (KIP-394).
    require_known_member_id: bool
    #: JoinGroup v9+: a rejoining static leader may be told to skip the assignment (KIP-814).
    supports_skip_assignment: bool
    reason: str | None = None


@attrs.frozen
class JoinResult:
    error: ErrorCode
    member_id: str
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str = ""
    skip_assignment: bool = False
    #: (member id, group instance id, metadata): the leader's view of the members.
    members: tuple[tuple[str, str | None, bytes], ...] = ()


@attrs.frozen(kw_only=True)
class SyncRequest:
    group_id: str
    member_id: str
    group_instance_id: str | None
    generation_id: int
    protocol_type: str | None
    protocol_name: str | None
    assignments: tuple[tuple[str, bytes], ...]


@attrs.frozen
class SyncResult:
    error: ErrorCode
    protocol_type: str | None = None
    protocol_name: str | None = None
    assignment: bytes = b""


@attrs.frozen
class CommitRequest:
    """One partition of an OffsetCommit."""

    topic: str
    partition: int
    offset: int
    leader_epoch: int
    metadata: str | None
    #: The commit's time (OffsetCommit v1 lets the client give it); -1: the broker's clock.
    commit_timestamp: int = -1


@attrs.frozen
class FetchedOffset:
    partition: int
    offset: int
    leader_epoch: int
    metadata: str
    error: ErrorCode = ErrorCode.NONE


@attrs.frozen
class MemberSummary:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@attrs.frozen
class GroupSummary:
    group_id: str
    state: GroupState
    protocol_type: str
    protocol_data: str
    members: tuple[MemberSummary, ...]


class Waiter:
    """What a parked JoinGroup / SyncGroup awaits: an event and the result set with it."""

    __slots__ = ("_event", "result")

    def __init__(self) -> None:
        self._event = trio.Event()
        self.result: Any = None

    def complete(self, result: Any) -> bool:
        """Set the result (once); return whether this call set it."""
        if self._event.is_set():
            return False
        self.result = result
        self._event.set()
        return True

    @property
    def done(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> Any:
        await self._event.wait()
        return self.result
