from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkalite.wire.headers import (
    FrameBuffer,
    FrameTooLarge,
    RequestHeader,
    read_request_header,
    write_request_header,
)
from kafkalite.wire.primitives import DecodeError


def frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def test_frames_fed_whole_byte_by_byte_and_with_trailing_bytes() -> None:
    stream = frame(b"one") + frame(b"") + frame(b"three")
    whole = FrameBuffer(1024)
    whole.feed(stream)
    assert [whole.next_frame() for _ in range(4)] == [b"one", b"", b"three", None]

    trickle = FrameBuffer(1024)
    got = []
    for i in range(len(stream)):
        trickle.feed(stream[i : i + 1])
        while (f := trickle.next_frame()) is not None:
            got.append((i, f))
    # Each frame appears exactly when its last byte arrives, not before.
    assert got == [(6, b"one"), (10, b""), (19, b"three")]

    tail = FrameBuffer(1024)
    tail.feed(frame(b"x") + b"\x00\x00")
    assert tail.next_frame() == b"x"
    assert tail.next_frame() is None
    assert tail.buffered() == 2


def test_oversized_frame_is_refused_before_its_body_arrives() -> None:
    frames = FrameBuffer(100)
    frames.feed(struct.pack(">i", 101))
    with pytest.raises(FrameTooLarge):
        frames.next_frame()


def test_negative_frame_size_is_refused() -> None:
    frames = FrameBuffer(100)
    frames.feed(struct.pack(">i", -5))
    with pytest.raises(FrameTooLarge):
        frames.next_frame()


@given(
    st.integers(0, 70),
    st.integers(-(2**15), 2**15 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.none() | st.text(max_size=20),
    st.booleans(),
)
def test_request_header_round_trip(api_key: int, version: int, corr: int, client_id: str | None, flexible: bool) -> None:
    header = RequestHeader(api_key, version, corr, client_id)
    out = bytearray()
    write_request_header(out, header, flexible)
    decoded, pos = read_request_header(bytes(out) + b"body", flexible)
    assert decoded == header
    assert bytes(out)[pos:] + b"body" == (bytes(out) + b"body")[pos:]
    assert pos == len(out)
    for cut in range(len(out)):
        with pytest.raises(DecodeError):
            read_request_header(bytes(out[:cut]), flexible)


def test_flexible_header_keeps_unknown_tags() -> None:
    out = bytearray(struct.pack(">hhi", 3, 12, 1) + b"\xff\xff")
    out += b"\x01\x05\x02hi"  # one tagged field: tag 5, 2 bytes
    header, pos = read_request_header(bytes(out), True)
    assert header.client_id is None
    assert header.unknown_tagged_fields == {5: b"hi"}
    assert pos == len(out)


def test_large_frames_arrive_whole_and_writable_in_any_split() -> None:
    big = bytes(range(256)) * 1024  # 256 KiB, above FrameBuffer.LARGE
    stream = frame(b"a") + frame(big) + frame(b"b")
    for chunk in (1, 3, 1000, 70_000, len(stream)):
        frames = FrameBuffer(1 << 20)
        got = []
        for i in range(0, len(stream), chunk):
            frames.feed(stream[i : i + chunk])
            while (f := frames.next_frame()) is not None:
                got.append(f)
        assert got == [b"a", big, b"b"]
        assert isinstance(got[1], bytearray)  # the log may patch it in place


def test_frames_before_an_oversized_one_are_still_delivered() -> None:
    frames = FrameBuffer(100)
    frames.feed(frame(b"ok") + struct.pack(">i", 1000) + b"junk")
    assert frames.next_frame() == b"ok"
    with pytest.raises(FrameTooLarge):
        frames.next_frame()
