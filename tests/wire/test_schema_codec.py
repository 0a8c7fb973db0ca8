"""The schema compiler's own rules, on small hand-made declarations."""

from __future__ import annotations

import pytest

from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.schema import Versions, array, decode, encode, field, message, struct

Item = struct("Item", field("id", "int32"), field("label", "string", "1+", nullable="2+"))
Sample = message(
    "SampleRequest",
    api_key=9999,
    valid="0-3",
    flexible="3+",
    fields=[
        field("items", array(Item)),
        field("maybe", array("int32"), "1+", nullable="1+", default=None),
        field("hint", "int64", "3+", tag=0, default=-1),
        field("note", "string", "3+", tag=7, nullable="3+", default=None),
    ],
)


def test_versions_parse() -> None:
    assert 5 in Versions.parse("3+") and 2 not in Versions.parse("3+")
    assert 4 in Versions.parse("3-4") and 5 not in Versions.parse("3-4")
    assert 0 not in Versions.parse("none")
    assert str(Versions.parse("2-7")) == "2-7"


def test_fields_absent_in_a_version_are_not_written_and_decode_to_default() -> None:
    value = Sample(items=[Item(id=1, label="x")], maybe=[1, 2])
    v0 = encode(value, 0)
    assert v0 == b"\x00\x00\x00\x01" + b"\x00\x00\x00\x01"
    assert decode(Sample, 0, v0)[0] == Sample(items=[Item(id=1, label="")], maybe=None)


def test_default_valued_tagged_fields_are_not_written() -> None:
    assert encode(Sample(), 3) == b"\x01\x00\x00"  # empty items, null maybe, no tags


def test_tagged_fields_round_trip_in_tag_order() -> None:
    value = Sample(hint=5, note="n")
    wire = encode(value, 3)
    assert wire.endswith(b"\x02" + b"\x00\x08" + (5).to_bytes(8, "big") + b"\x07\x02\x02n")
    assert decode(Sample, 3, wire)[0] == value


def test_unknown_tags_are_kept_and_written_back() -> None:
    wire = b"\x01\x01" + b"\x02" + b"\x00\x08" + (5).to_bytes(8, "big") + b"\x09\x03abc"
    value, end = decode(Sample, 3, wire)
    assert end == len(wire)
    assert value.hint == 5 and value.unknown_tagged_fields == {9: b"abc"}
    assert encode(value, 3) == wire


def test_null_in_a_non_nullable_version_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode(Sample, 0, b"\xff\xff\xff\xff")


def test_absurd_array_count_is_refused_without_allocating() -> None:
    with pytest.raises(DecodeError, match="claims"):
        decode(Sample, 0, b"\x7f\xff\xff\xff")


def test_invalid_utf8_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        decode(Sample, 1, b"\x00\x00\x00\x01" + b"\x00\x00\x00\x01" + b"\x00\x01\xff" + b"\xff\xff\xff\xff")
