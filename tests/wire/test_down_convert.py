"""Down-conversion of stored v2 batches to message formats v0/v1 (Kafka 3's RecordsUtil.downConvert)."""

from __future__ import annotations

import pytest

from kafkalite.wire.batch import patch_base_offset, set_log_append_time
from kafkalite.wire.compression import Compression
from kafkalite.wire.down_convert import ZstdDownConversionError, down_convert
from kafkalite.wire.legacy import deep_messages, iter_message_set
from kafkalite.wire.records import ControlRecordType, NewRecord, build_batch, build_control_batch


def stored(records, base_offset: int, **kw) -> bytearray:
    data = bytearray(build_batch(records, **kw))
    patch_base_offset(data, 0, base_offset)
    return data


def messages(converted: list[bytes]) -> list:
    out = []
    for chunk in converted:
        for m in iter_message_set(chunk):
            out.extend(deep_messages(m) if m.codec else [m])
    return out


def test_uncompressed_batch_becomes_one_message_per_record() -> None:
    data = stored([NewRecord(b"k", b"a", timestamp=1000), NewRecord(None, b"b", timestamp=1005)], 20)
    for magic in (0, 1):
        (chunk,) = down_convert(data, magic, 20)
        shallow = list(iter_message_set(chunk))
        assert [(m.offset, m.magic, m.key, m.value) for m in shallow] == [(20, magic, b"k", b"a"), (21, magic, None, b"b")]
        assert [m.timestamp for m in shallow] == ([1000, 1005] if magic == 1 else [None, None])
        assert all(m.crc_ok and m.codec == 0 and not m.log_append_time for m in shallow)


def test_uncompressed_records_before_the_fetch_offset_are_dropped() -> None:
    data = stored([(None, b"a"), (None, b"b"), (None, b"c")], 10)
    (chunk,) = down_convert(data, 1, 11)
    assert [m.offset for m in iter_message_set(chunk)] == [11, 12]
    assert down_convert(data, 1, 13) == []


@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4])
@pytest.mark.parametrize("magic", [0, 1])
def test_compressed_batch_is_rewrapped_with_the_same_codec_whole(magic: int, codec: int) -> None:
    data = stored([NewRecord(None, b"a", timestamp=5), NewRecord(None, b"b", timestamp=9)], 30, compression=codec)
    (chunk,) = down_convert(data, magic, 31)  # a compressed batch keeps the records before the offset
    (wrapper,) = iter_message_set(chunk)
    assert (wrapper.codec, wrapper.offset, wrapper.magic) == (codec, 31, magic)
    inner = deep_messages(wrapper)
    assert [(m.offset, m.value) for m in inner] == [(30, b"a"), (31, b"b")]
    if magic == 1:
        assert wrapper.timestamp == 9 and [m.timestamp for m in inner] == [5, 9]


def test_zstd_batch_cannot_be_down_converted() -> None:
    data = stored([(None, b"a")], 0, compression=Compression.ZSTD)
    with pytest.raises(ZstdDownConversionError):
        down_convert(data, 1, 0)


def test_control_batches_dropped_transactional_data_kept_headers_dropped() -> None:
    txn = stored([NewRecord(b"k", b"v", headers=[("h", b"x")], timestamp=7)], 0, producer_id=9, producer_epoch=0,
                 base_sequence=0, transactional=True)
    marker = bytearray(build_control_batch(ControlRecordType.COMMIT, producer_id=9, producer_epoch=0, coordinator_epoch=0))
    patch_base_offset(marker, 0, 1)
    after = stored([(None, b"next")], 2)
    converted = down_convert(bytes(txn + marker + after), 1, 0)
    assert [(m.offset, m.key, m.value) for m in messages(converted)] == [(0, b"k", b"v"), (2, None, b"next")]


def test_log_append_time_batches_keep_their_type_and_time_in_magic_1() -> None:
    data = stored([NewRecord(None, b"a", timestamp=1), NewRecord(None, b"b", timestamp=2)], 0)
    set_log_append_time(data, 0, 4242)
    shallow = list(iter_message_set(down_convert(bytes(data), 1, 0)[0]))
    assert [(m.timestamp, m.log_append_time) for m in shallow] == [(4242, True), (4242, True)]
    compressed = stored([NewRecord(None, b"a", timestamp=1)], 0, compression=Compression.GZIP)
    set_log_append_time(compressed, 0, 4243)
    (wrapper,) = iter_message_set(down_convert(bytes(compressed), 1, 0)[0])
    assert wrapper.log_append_time and wrapper.timestamp == 4243
    assert [m.timestamp for m in deep_messages(wrapper)] == [4243]
