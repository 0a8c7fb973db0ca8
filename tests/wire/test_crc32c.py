"""CRC-32C: check value, incremental use, buffer types, and an independent implementation."""

from __future__ import annotations


import google_crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.record._crc32c import crc as pure_python_crc32c  # kafka-python's own, in Python

from kafkalite.wire.crc32c import crc32c


def test_standard_check_value():
    # The CRC-32C "check" value from the CRC catalogue (RFC 3720 appendix B.4).
    assert crc32c(b"123456789") == 0xE3069283


def test_empty_input_is_zero():
    assert crc32c(b"") == 0


def test_rfc3720_vectors():
    # iSCSI test vectors (RFC 3720, B.4).
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E


def test_incremental_equals_one_shot():
    data = b"The quick brown fox jumps over the lazy dog"
    for cut in range(len(data) + 1):
        assert crc32c(data[cut:], crc32c(data[:cut])) == crc32c(data)


@pytest.mark.parametrize(
    "wrap",
    [bytes, bytearray, memoryview, lambda b: memoryview(bytearray(b))],
    ids=["bytes", "bytearray", "memoryview", "writable-memoryview"],
)
def test_accepts_any_bytes_like(wrap):
    assert crc32c(wrap(b"123456789")) == 0xE3069283


def test_memoryview_slice_covers_only_the_slice():
    buf = bytearray(b"xx123456789yy")
    assert crc32c(memoryview(buf)[2:11]) == 0xE3069283


def test_result_is_unsigned_32_bit():
    value = crc32c(b"123456789")  # 0xE3069283 has the top bit set
    assert value > 0x7FFFFFFF and value < 2**32


def test_agrees_with_google_crc32c_where_both_apply():
    # A second, independent C implementation as a cross-check.
    for data in (b"", b"a", b"123456789", bytes(range(256)) * 40):
        assert crc32c(data) == google_crc32c.value(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 300))
def test_matches_independent_implementation(data, cut):
    assert crc32c(data) == pure_python_crc32c(data)
    assert crc32c(data[cut:], crc32c(data[:cut])) == pure_python_crc32c(data)
