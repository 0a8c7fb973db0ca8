"""Message formats v0 and v1: bytes built by hand from Kafka's layout (LegacyRecord,
AbstractLegacyRecordBatch), CRC32, nested compression, deep iteration."""

from __future__ import annotations

import gzip
import struct
import zlib

import lz4.frame
import pytest

from kafkalite.wire.compression import Compression
from kafkalite.wire.legacy import (
    CorruptMessageError,
    InvalidMessageError,
    build_message,
    build_message_set,
    deep_messages,
    iter_message_set,
    lz4_break_header_checksum,
    lz4_fix_header_checksum,
    xxh32_short,
)


def by_hand(offset: int, magic: int, attributes: int, timestamp: int | None, key: bytes | None, value: bytes | None) -> bytes:
    """One message-set entry written field by field from Kafka's layout."""
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    for part in (key, value):
        body += struct.pack(">i", -1) if part is None else struct.pack(">i", len(part)) + part
    crc = zlib.crc32(body) & 0xFFFFFFFF
    message = struct.pack(">I", crc) + body
    return struct.pack(">qi", offset, len(message)) + message


def test_magic_0_message_layout_and_crc32() -> None:
    built = build_message(7, 0, key=b"k", value=b"value")
    assert built == by_hand(7, 0, 0, None, b"k", b"value")
    # offset, size, crc, magic, attributes, key (4 + 1), value (4 + 5): no timestamp
    assert len(built) == 12 + 4 + 1 + 1 + 5 + 9
    (message,) = iter_message_set(built)
    assert (message.offset, message.magic, message.timestamp, message.key, message.value) == (7, 0, None, b"k", b"value")
    assert message.crc_ok and message.crc == zlib.crc32(built[16:]) & 0xFFFFFFFF


def test_magic_1_message_carries_timestamp_and_type() -> None:
    built = build_message(3, 1, key=None, value=b"v", timestamp=1_700_000_000_000, attributes=0x08)
    assert built == by_hand(3, 1, 0x08, 1_700_000_000_000, None, b"v")
    (message,) = iter_message_set(built)
    assert (message.timestamp, message.key, message.log_append_time) == (1_700_000_000_000, None, True)


def test_crc_is_crc32_not_crc32c() -> None:
    built = bytearray(build_message(0, 1, key=None, value=b"abc", timestamp=5))
    built[-1] ^= 0xFF
    (message,) = iter_message_set(bytes(built))
    assert not message.crc_ok


def test_trailing_partial_message_is_ignored_and_bad_framing_is_corrupt() -> None:
    whole = build_message(0, 0, key=None, value=b"a") + build_message(1, 0, key=None, value=b"b")
    assert [m.value for m in iter_message_set(whole + whole[:20])] == [b"a", b"b"]
    bad_magic = bytearray(build_message(0, 1, key=None, value=b"a", timestamp=0))
    bad_magic[16] = 3
    with pytest.raises(CorruptMessageError, match="Invalid magic found in record: 3"):
        list(iter_message_set(bytes(bad_magic)))
    with pytest.raises(CorruptMessageError, match="minimum record overhead"):
        list(iter_message_set(struct.pack(">qi", 0, 10) + bytes(10)))


@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4])
@pytest.mark.parametrize("magic", [0, 1])
def test_compressed_wrapper_round_trip(magic: int, codec: int) -> None:
    items = [(10, 1000, b"k0", b"v0"), (11, 3000, None, b"v1"), (12, 2000, b"k2", None)]
    built = build_message_set(items, magic, codec=codec)
    (wrapper,) = iter_message_set(built)
    assert wrapper.codec == codec and wrapper.key is None and wrapper.crc_ok
    assert wrapper.offset == 12  # the last inner offset
    if magic == 1:
        assert wrapper.timestamp == 3000  # the largest inner timestamp
    inner = deep_messages(wrapper)
    assert [(m.offset, m.key, m.value) for m in inner] == [(o, k, v) for o, _t, k, v in items]
    assert [m.timestamp for m in inner] == ([1000, 3000, 2000] if magic == 1 else [None] * 3)
    assert all(m.crc_ok and m.magic == magic for m in inner)


def test_magic_1_inner_offsets_are_relative_and_magic_0_absolute() -> None:
    items = [(100, 1, None, b"a"), (101, 2, None, b"b")]
    for magic, expected in ((1, [0, 1]), (0, [100, 101])):
        (wrapper,) = iter_message_set(build_message_set(items, magic, codec=Compression.GZIP))
        inflated = gzip.decompress(wrapper.value)
        assert [m.offset for m in iter_message_set(inflated)] == expected


def test_wrapper_built_by_hand_is_deep_iterated_with_absolute_offsets() -> None:
    inner = by_hand(0, 1, 0, 111, b"a", b"1") + by_hand(1, 1, 0, 222, b"b", b"2")
    wrapper_bytes = by_hand(41, 1, Compression.GZIP, 222, None, gzip.compress(inner))
    (wrapper,) = iter_message_set(wrapper_bytes)
    assert [(m.offset, m.timestamp) for m in deep_messages(wrapper)] == [(40, 111), (41, 222)]
    # A wrapper offset of 0 (as producers send it) keeps the relative ones.
    (zero,) = iter_message_set(by_hand(0, 1, Compression.GZIP, 222, None, gzip.compress(inner)))
    assert [m.offset for m in deep_messages(zero)] == [0, 1]


def test_log_append_time_wrapper_gives_its_timestamp_to_inner_messages() -> None:
    inner = by_hand(0, 1, 0, 111, None, b"1") + by_hand(1, 1, 0, 222, None, b"2")
    (wrapper,) = iter_message_set(by_hand(1, 1, Compression.GZIP | 0x08, 999, None, gzip.compress(inner)))
    assert [m.timestamp for m in deep_messages(wrapper)] == [999, 999]


def test_deep_iteration_refusals() -> None:
    nested = by_hand(0, 1, Compression.GZIP, 0, None, gzip.compress(by_hand(0, 1, 0, 0, None, b"x")))
    (wrapper,) = iter_message_set(by_hand(0, 1, Compression.GZIP, 0, None, gzip.compress(nested)))
    with pytest.raises(InvalidMessageError, match="Inner messages must not be compressed"):
        deep_messages(wrapper)
    (zstd,) = iter_message_set(by_hand(0, 1, Compression.ZSTD, 0, None, b"whatever"))
    with pytest.raises(InvalidMessageError, match="compressionType"):
        deep_messages(zstd)
    (null,) = iter_message_set(by_hand(0, 0, Compression.GZIP, None, None, None))
    with pytest.raises(InvalidMessageError, match="null value"):
        deep_messages(null)
    (empty,) = iter_message_set(by_hand(0, 0, Compression.GZIP, None, None, gzip.compress(b"")))
    with pytest.raises(InvalidMessageError, match="no inner records"):
        deep_messages(empty)
    (garbage,) = iter_message_set(by_hand(0, 0, Compression.GZIP, None, None, b"not gzip"))
    with pytest.raises(CorruptMessageError):
        deep_messages(garbage)
    inner = by_hand(5, 1, 0, 0, None, b"x")
    (behind,) = iter_message_set(by_hand(3, 1, Compression.GZIP, 0, None, gzip.compress(inner)))
    with pytest.raises(InvalidMessageError, match="less than the last inner message offset"):
        deep_messages(behind)


def test_lz4_header_checksum_magic_0_covers_the_frame_magic() -> None:
    frame = lz4.frame.compress(b"hello kafka" * 10, store_size=False)
    assert frame[6] == (xxh32_short(frame[4:6]) >> 8) & 0xFF  # the correct checksum
    broken = lz4_break_header_checksum(frame)
    assert broken[6] == (xxh32_short(frame[0:6]) >> 8) & 0xFF
    assert broken[:6] == frame[:6] and broken[7:] == frame[7:]
    assert lz4_fix_header_checksum(broken) == frame
    # A magic-0 lz4 wrapper is written with Kafka's checksum and read back.
    (wrapper,) = iter_message_set(build_message_set([(0, -1, None, b"x")], 0, codec=Compression.LZ4))
    assert wrapper.value[6] == (xxh32_short(bytes(wrapper.value[0:6])) >> 8) & 0xFF
    assert [m.value for m in deep_messages(wrapper)] == [b"x"]


def test_xxh32_known_values() -> None:
    # XXH32 reference values (seed 0).
    assert xxh32_short(b"") == 0x02CC5D05
    assert xxh32_short(b"a") == 0x550D7456
    assert xxh32_short(b"abc") == 0x32D153FF


def test_log_append_time_set_stamps_every_message_magic_1() -> None:
    built = build_message_set([(0, 5, None, b"a"), (1, 6, None, b"b")], 1, log_append_time=77)
    assert [(m.timestamp, m.log_append_time) for m in iter_message_set(built)] == [(77, True), (77, True)]
    built0 = build_message_set([(0, 5, None, b"a")], 0, log_append_time=77)
    assert [(m.timestamp, m.attributes) for m in iter_message_set(built0)] == [(None, 0)]
