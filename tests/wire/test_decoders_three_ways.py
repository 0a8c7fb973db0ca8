"""Every message decoder fed whole, one byte at a time (prefixes), and with trailing bytes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.schema import decode, encode

from .test_conformance_kio import CASES, kio_bytes, kio_class


def cut_points(size: int, most: int = 48) -> range | list[int]:
    """Every prefix length of a short message; evenly spread ones (and the last) of a long one."""
    if size <= most:
        return range(size)
    return sorted({*range(0, size, max(1, size // most)), size - 1})


@pytest.mark.parametrize(("cls", "version"), CASES)
def test_whole_prefixes_and_trailing_bytes(cls: type, version: int) -> None:
    kcls = kio_class(cls, version)

    @settings(max_examples=2, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.from_type(kcls), st.binary(min_size=1, max_size=8))
    def check(value: object, trailing: bytes) -> None:
        wire = kio_bytes(kcls, value)
        whole, used = decode(cls, version, wire)
        assert used == len(wire)
        # Trailing bytes are left untouched: same value, same end offset.
        again, used_with_tail = decode(cls, version, wire + trailing)
        assert (again, used_with_tail) == (whole, len(wire))
        # Every strict prefix is an error, never a wrong value (byte-at-a-time arrival).
        for cut in cut_points(len(wire)):
            with pytest.raises(DecodeError):
                decode(cls, version, wire[:cut])
        assert encode(whole, version) == wire

    check()
