"""The part of Kafka's ConsumerProtocol the coordinator reads: the subscribed topics.

Group members of protocol type ``consumer`` put a ``ConsumerProtocolSubscription`` in their
JoinGroup protocol metadata: int16 version, then (in every version, as its prefix) an array
of topic names (int32 count, int16-length strings), then fields the coordinator ignores
(user data, owned partitions, generation, rack). The broker never builds assignments; it only
needs the topics, to know which committed offsets are in use (offset expiry, OffsetDelete).
Parsing only the version-0 prefix keeps it working for any later version, as Kafka does.
"""

from __future__ import annotations

import struct

import attrs

_i16 = struct.Struct(">h")
_i32 = struct.Struct(">i")


class ConsumerProtocolError(ValueError):
    """The metadata is not a ConsumerProtocolSubscription."""


def subscribed_topics(metadata: bytes) -> list[str]:
    """The topics of a ConsumerProtocolSubscription (any version).

    Raises:
        ConsumerProtocolError: the bytes are short or malformed.
    """
    try:
        version = _i16.unpack_from(metadata, 0)[0]
        if version < 0:
            raise ConsumerProtocolError(f"negative consumer protocol version {version}")
        count = _i32.unpack_from(metadata, 2)[0]
        if count < 0 or count > len(metadata):
            raise ConsumerProtocolError(f"invalid topic count {count}")
        pos = 6
        topics = []
        for _ in range(count):
            length = _i16.unpack_from(metadata, pos)[0]
            pos += 2
            if length < 0 or pos + length > len(metadata):
                raise ConsumerProtocolError(f"topic name of {length} bytes at offset {pos} does not fit")
            topics.append(bytes(metadata[pos : pos + length]).decode("utf-8"))
            pos += length
        return topics
    except (struct.error, UnicodeDecodeError) as exc:
        raise ConsumerProtocolError(f"not a consumer protocol subscription: {exc}") from None


def encode_subscription(topics: list[str], version: int = 0, user_data: bytes | None = None) -> bytes:
    """A version-0 ConsumerProtocolSubscription (for tests and tools)."""
    out = bytearray(_i16.pack(version))
    out += _i32.pack(len(topics))
    for topic in topics:
        raw = topic.encode("utf-8")
        out += _i16.pack(len(raw)) + raw
    if user_data is None:
        out += _i32.pack(-1)
    else:
        out += _i32.pack(len(user_data)) + user_data
    return bytes(out)


def encode_assignment(partitions: dict[str, list[int]], version: int = 0) -> bytes:
    """A ConsumerProtocolAssignment: int16 version, [topic, [partition]], null user data."""
    out = bytearray(_i16.pack(version))
    out += _i32.pack(len(partitions))
    for topic, indexes in partitions.items():
        raw = topic.encode("utf-8")
        out += _i16.pack(len(raw)) + raw
        out += _i32.pack(len(indexes))
        for index in indexes:
            out += _i32.pack(index)
    out += _i32.pack(-1)
    return bytes(out)


def assigned_partitions(assignment: bytes) -> dict[str, list[int]]:
    """The partitions of a ConsumerProtocolAssignment (any version; the v0 prefix).

    Raises:
        ConsumerProtocolError: the bytes are short or malformed.
    """
    try:
        _i16.unpack_from(assignment, 0)
        count = _i32.unpack_from(assignment, 2)[0]
        if count < 0 or count > len(assignment):
            raise ConsumerProtocolError(f"invalid topic count {count}")
        pos = 6
        result: dict[str, list[int]] = {}
        for _ in range(count):
            length = _i16.unpack_from(assignment, pos)[0]
            pos += 2
            if length < 0 or pos + length > len(assignment):
                raise ConsumerProtocolError(f"topic name of {length} bytes at offset {pos} does not fit")
            topic = bytes(assignment[pos : pos + length]).decode("utf-8")
            pos += length
            n = _i32.unpack_from(assignment, pos)[0]
            pos += 4
            if n < 0 or pos + 4 * n > len(assignment):
                raise ConsumerProtocolError(f"invalid partition count {n}")
            result[topic] = [_i32.unpack_from(assignment, pos + 4 * i)[0] for i in range(n)]
            pos += 4 * n
        return result
    except (struct.error, UnicodeDecodeError) as exc:
        raise ConsumerProtocolError(f"not a consumer protocol assignment: {exc}") from None


@attrs.frozen
class Subscription:
    """A ConsumerProtocolSubscription: version, topics, the partitions the member owns
    (version 1 and later) and its rack (version 3 and later)."""

    version: int
    topics: tuple[str, ...]
    owned_partitions: dict[str, list[int]]
    rack_id: str | None = None


def parse_subscription(metadata: bytes) -> Subscription:
    """Every field of a ConsumerProtocolSubscription the coordinator uses (versions 0-3; a
    later version's extra fields are ignored).

    Raises:
        ConsumerProtocolError: the bytes are short or malformed.
    """
    topics = subscribed_topics(metadata)
    try:
        version = _i16.unpack_from(metadata, 0)[0]
        pos = 6 + sum(2 + len(t.encode("utf-8")) for t in topics)
        user_data = _i32.unpack_from(metadata, pos)[0]
        pos += 4 + max(user_data, 0)
        owned: dict[str, list[int]] = {}
        rack = None
        if version >= 1:
            count = _i32.unpack_from(metadata, pos)[0]
            pos += 4
            if count < 0 or count > len(metadata):
                raise ConsumerProtocolError(f"invalid owned topic count {count}")
            for _ in range(count):
                length = _i16.unpack_from(metadata, pos)[0]
                topic = bytes(metadata[pos + 2 : pos + 2 + length]).decode("utf-8")
                pos += 2 + length
                n = _i32.unpack_from(metadata, pos)[0]
                pos += 4
                if n < 0 or pos + 4 * n > len(metadata):
                    raise ConsumerProtocolError(f"invalid owned partition count {n}")
                owned.setdefault(topic, []).extend(_i32.unpack_from(metadata, pos + 4 * i)[0] for i in range(n))
                pos += 4 * n
        if version >= 2:
            pos += 4  # the generation id
        if version >= 3:
            length = _i16.unpack_from(metadata, pos)[0]
            if length >= 0:
                rack = bytes(metadata[pos + 2 : pos + 2 + length]).decode("utf-8")
        return Subscription(version, tuple(topics), owned, rack)
    except (struct.error, UnicodeDecodeError) as exc:
        raise ConsumerProtocolError(f"not a consumer protocol subscription: {exc}") from None


def assignment_user_data(assignment: bytes) -> bytes | None:
    """The user data of a ConsumerProtocolAssignment (None when null or absent).

    Raises:
        ConsumerProtocolError: the bytes are short or malformed.
    """
    partitions = assigned_partitions(assignment)
    pos = 6 + sum(2 + len(t.encode("utf-8")) + 4 + 4 * len(ps) for t, ps in partitions.items())
    if pos + 4 > len(assignment):
        return None
    length = _i32.unpack_from(assignment, pos)[0]
    if length < 0:
        return None
    if pos + 4 + length > len(assignment):
        raise ConsumerProtocolError(f"user data of {length} bytes at offset {pos} does not fit")
    return bytes(assignment[pos + 4 : pos + 4 + length])
