from __future__ import annotations

import struct

import pytest

from kafkalite.groups.consumer_protocol import (
    ConsumerProtocolError,
    assigned_partitions,
    encode_assignment,
    encode_subscription,
    subscribed_topics,
)


def test_subscription_topics_round_trip() -> None:
    assert subscribed_topics(encode_subscription(["a", "bé"])) == ["a", "bé"]


def test_later_versions_are_read_by_their_v0_prefix() -> None:
    # v3: topics, user data, owned partitions, generation, rack: only the prefix is read.
    raw = encode_subscription(["t"], version=3) + struct.pack(">i", 0) + struct.pack(">i", 7) + b"\x00\x01r"
    assert subscribed_topics(raw) == ["t"]


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\x00\x00\x00\x00\x00\x02\x00\x01a", b"\xff\xff\x00\x00\x00\x00"])
def test_malformed_subscription_raises(raw: bytes) -> None:
    with pytest.raises(ConsumerProtocolError):
        subscribed_topics(raw)


def test_assignment_round_trip() -> None:
    assert assigned_partitions(encode_assignment({"t": [0, 2], "u": []})) == {"t": [0, 2], "u": []}


def test_malformed_assignment_raises() -> None:
    with pytest.raises(ConsumerProtocolError):
        assigned_partitions(b"\x00\x00\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x09")


def _subscription_v3(topics: list[str], owned: dict[str, list[int]], rack: str | None, generation: int = 7) -> bytes:
    import struct

    out = bytearray(struct.pack(">hi", 3, len(topics)))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    out += struct.pack(">i", 2) + b"ud"
    out += struct.pack(">i", len(owned))
    for t, ps in owned.items():
        out += struct.pack(">h", len(t)) + t.encode() + struct.pack(">i", len(ps)) + b"".join(struct.pack(">i", p) for p in ps)
    out += struct.pack(">i", generation)
    out += struct.pack(">h", -1) if rack is None else struct.pack(">h", len(rack)) + rack.encode()
    return bytes(out)


def test_parse_subscription_reads_owned_partitions_and_rack() -> None:
    from kafkalite.groups.consumer_protocol import parse_subscription

    parsed = parse_subscription(_subscription_v3(["a", "b"], {"a": [0, 3]}, "r1"))
    assert (parsed.version, parsed.topics, parsed.owned_partitions, parsed.rack_id) == (3, ("a", "b"), {"a": [0, 3]}, "r1")
    assert parse_subscription(_subscription_v3(["a"], {}, None)).rack_id is None
    v0 = parse_subscription(encode_subscription(["x"]))
    assert (v0.version, v0.topics, v0.owned_partitions) == (0, ("x",), {})


def test_parse_subscription_refuses_a_truncated_owned_list() -> None:
    from kafkalite.groups.consumer_protocol import ConsumerProtocolError, parse_subscription

    with pytest.raises(ConsumerProtocolError):
        parse_subscription(_subscription_v3(["a"], {"a": [0, 1]}, None)[:-12])
