"""kafkalite.readable: record sets summarised for the trace and the tools."""

from __future__ import annotations

import struct

from kafkalite.readable import summarise_records
from kafkalite.wire.compression import Compression
from kafkalite.wire.legacy import build_message_set
from kafkalite.wire.records import build_batch


def test_a_v2_batch_is_summarised_by_its_header() -> None:
    data = build_batch([(None, b"v")], base_offset=5)
    summary = summarise_records(data)
    assert [(b["base_offset"], b["count"], b["codec"]) for b in summary["batches"]] == [(5, 1, "none")]


def test_an_old_message_set_is_summarised_message_by_message() -> None:
    plain = build_message_set([(0, 1700, b"k", b"value"), (1, 1701, None, b"v")], 1)
    summary = summarise_records(plain)
    assert summary["format"] == "message set (v0/v1)"
    assert [(m["offset"], m["magic"], m["timestamp"], m["key_bytes"], m["value_bytes"]) for m in summary["messages"]] == [
        (0, 1, 1700, 1, 5), (1, 1, 1701, None, 1)]
    wrapped = summarise_records(build_message_set([(0, -1, None, b"a"), (1, -1, None, b"b")], 0, codec=Compression.GZIP))
    [wrapper] = wrapped["messages"]
    assert (wrapper["magic"], wrapper["codec"], wrapper["inner_messages"]) == (0, "gzip", 2)
    assert "timestamp" not in wrapper  # magic 0 has none


def test_a_bad_crc_and_an_unparsable_set_are_shown_not_raised() -> None:
    data = bytearray(build_message_set([(0, 1, None, b"x")], 1))
    data[-1] ^= 0xFF
    assert summarise_records(bytes(data))["messages"][0]["crc"] == "mismatch"
    cut = struct.pack(">qi", 0, 3) + bytes(9)  # a size below the minimum message
    summary = summarise_records(cut)
    assert summary["messages"] == [] and "minimum" in summary["error"]
