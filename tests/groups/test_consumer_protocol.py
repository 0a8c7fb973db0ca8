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
