"""The log cleaner: which records stay, offsets, tombstones, transactions, producers, groups."""

from __future__ import annotations

import pytest
from attrs import evolve as attrs_evolve

from kafkalite.storage import LogConfig
from kafkalite.storage.cleaner import ProducerLast, clean, read_cleaner_offset, to_clean
from kafkalite.wire.batch import DELETE_HORIZON_MASK, iter_batches
from kafkalite.wire.compression import Compression
from kafkalite.wire.records import (
    ControlRecordType,
    NewRecord,
    build_batch,
    build_control_batch,
    decode_records,
)

COMPACT = LogConfig(delete=False, compact=True, segment_bytes=1 << 20, delete_retention_ms=1000)
FAR = 10**15  # a last stable offset that bounds nothing


def kv(key, value, *, ts=1000, **kwargs):
    k = None if key is None else key.encode()
    v = None if value is None else value.encode()
    return build_batch([NewRecord(k, v, timestamp=ts)], **kwargs)


def records_of(log, start=0):
    """[(offset, key, value)] of every record in the log."""
    out = []
    for header, view in log.batches_from(max(start, log.log_start_offset)):
        if header.is_control:
            continue
        for r in decode_records(view):
            out.append((header.base_offset + r.offset_delta, r.key, r.value))
    return out


def headers_of(log):
    return [h for h, _ in log.batches_from(log.log_start_offset)]


def fill(log, pairs, *, roll_every=None, **kwargs):
    for i, (k, v) in enumerate(pairs):
        log.append(kv(k, v, **kwargs))
        if roll_every and (i + 1) % roll_every == 0:
            log.roll()


def run(log, now=2000, producers=None, lso=FAR, **kwargs):
    return clean(log, now_ms=now, last_stable_offset=lso, producers=producers or {}, force=True, **kwargs)


def test_keeps_the_latest_record_per_key_with_offsets_and_gaps(open_log):
    log = open_log(COMPACT)
    fill(log, [(f"k{i % 3}", f"v{i}") for i in range(9)], roll_every=3)
    log.append(kv("tail", "t"))  # the active segment is never cleaned
    result = run(log)
    assert result is not None and result.end_offset == 9
    assert records_of(log) == [(6, b"k0", b"v6"), (7, b"k1", b"v7"), (8, b"k2", b"v8"), (9, b"tail", b"t")]
    assert log.log_end_offset == 10 and log.log_start_offset == 0
    # One cleaned segment (groupSegmentsBySize merged the three) plus the active one.
    assert log.segment_base_offsets == [0, 9]
    # Reads at an offset in a gap continue at the next batch.
    assert [h.base_offset for h, _ in log.batches_from(2)] == [6, 7, 8, 9]
    assert log.read(3, 1 << 20)[0].tobytes()[:8] == (6).to_bytes(8, "big")
    assert read_cleaner_offset(log.files, log.directory) == 9


def test_the_result_survives_a_reopen(open_log):
    log = open_log(COMPACT)
    fill(log, [("a", "1"), ("a", "2"), ("b", "1")], roll_every=1)
    run(log)
    before = records_of(log)
    log.close()
    log = open_log(COMPACT)
    assert records_of(log) == before == [(1, b"a", b"2"), (2, b"b", b"1")]
    assert log.log_end_offset == 3


def test_records_in_the_active_segment_are_not_touched_and_do_not_count(open_log):
    log = open_log(COMPACT)
    fill(log, [("a", "1")])
    log.roll()
    fill(log, [("a", "2")])  # active
    run(log)
    assert records_of(log) == [(0, b"a", b"1"), (1, b"a", b"2")]


def test_records_without_key_are_removed(open_log):
    log = open_log(COMPACT)
    fill(log, [(None, "x"), ("a", "1")], roll_every=2)
    log.append(kv("z", "z"))
    run(log)
    assert records_of(log) == [(1, b"a", b"1"), (2, b"z", b"z")]


def test_a_batch_keeps_its_offsets_codec_and_headers_when_records_go(open_log):
    log = open_log(COMPACT)
    records = [NewRecord(b"a", b"1", (("h", b"x"),), 1000), NewRecord(b"b", b"1", (), 1001),
               NewRecord(b"a", b"2", (("h", b"y"),), 1002)]
    log.append(build_batch(records, compression=Compression.GZIP, producer_id=7, producer_epoch=1, base_sequence=0))
    log.roll()
    log.append(kv("z", "z"))
    run(log)
    (header, view), _ = list(log.batches_from(0))
    assert (header.base_offset, header.last_offset, header.compression) == (0, 2, Compression.GZIP)
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (7, 1, 0)
    kept = decode_records(view)
    assert [(r.offset_delta, r.key, r.value, r.headers) for r in kept] == [
        (1, b"b", b"1", ()), (2, b"a", b"2", (("h", b"y"),))
    ]
    assert header.max_timestamp == 1002


def test_an_untouched_batch_is_copied_byte_for_byte(open_log):
    log = open_log(COMPACT)
    original = kv("a", "1")
    log.append(original)
    log.roll()
    log.append(kv("b", "1"))
    run(log)
    assert bytes(log.read(0, 1 << 20)[0])[12:] == original[12:]  # leader epoch/base patched


def test_a_tombstone_gets_a_delete_horizon_then_goes_after_delete_retention_ms(open_log):
    log = open_log(COMPACT)
    fill(log, [("a", "1"), ("a", None)], roll_every=2)
    log.append(kv("z", "z"))
    run(log, now=5000)
    assert records_of(log) == [(1, b"a", None), (2, b"z", b"z")]
    header = headers_of(log)[0]
    assert header.attributes & DELETE_HORIZON_MASK and header.base_timestamp == 5000 + 1000
    # Cleaned again before the horizon: the tombstone stays.
    log.roll()
    log.append(kv("y", "y"))
    run(log, now=5999)
    assert (1, b"a", None) in records_of(log)
    log.roll()
    log.append(kv("x", "x"))
    run(log, now=6000)
    assert [k for _, k, _ in records_of(log)] == [b"z", b"y", b"x"]


def test_aborted_transactions_go_and_their_marker_after_its_horizon(open_log):
    log = open_log(COMPACT)
    log.append(kv("a", "committed", producer_id=5, producer_epoch=0, base_sequence=0, transactional=True))
    log.append(build_control_batch(ControlRecordType.COMMIT, producer_id=5, producer_epoch=0, timestamp=1000))
    log.append(kv("a", "aborted", producer_id=6, producer_epoch=0, base_sequence=0, transactional=True))
    log.append(build_control_batch(ControlRecordType.ABORT, producer_id=6, producer_epoch=0, timestamp=1000))
    from kafkalite.storage.txn_index import AbortedTxn

    log.append_aborted_txn(AbortedTxn(6, 2, 3, 4))
    log.roll()
    log.append(kv("z", "z"))
    run(log, now=5000)
    # The aborted record is gone; the committed one stays (the map ignores aborted data).
    assert records_of(log) == [(0, b"a", b"committed"), (4, b"z", b"z")]
    kinds = [(h.base_offset, h.is_control) for h in headers_of(log)]
    # The COMMIT marker stays (its transaction has data); the ABORT one too in this pass,
    # which saw its transaction's data.
    assert kinds == [(0, False), (1, True), (3, True), (4, False)]
    assert not headers_of(log)[2].attributes & DELETE_HORIZON_MASK
    assert [e.producer_id for e in log.txn_index_entries()] == [6]
    # The next pass finds no data of it: it gets a delete horizon and stays until then.
    log.roll()
    log.append(kv("y", "y"))
    run(log, now=5000)
    abort = headers_of(log)[2]
    assert abort.attributes & DELETE_HORIZON_MASK and abort.base_timestamp == 6000
    # Its data is gone, so is its aborted-transaction index entry (as Kafka's cleaner).
    assert log.txn_index_entries() == []
    log.roll()
    log.append(kv("x", "x"))
    run(log, now=6000)
    assert [h.base_offset for h in headers_of(log) if h.is_control] == [1]


def test_the_last_batch_of_an_active_producer_keeps_its_empty_header(open_log):
    log = open_log(COMPACT)
    log.append(kv("a", "1", producer_id=9, producer_epoch=2, base_sequence=0))
    log.append(kv("a", "2"))
    log.roll()
    log.append(kv("z", "z"))
    run(log, producers={9: ProducerLast(0, 2)})
    header = headers_of(log)[0]
    assert (header.base_offset, header.records_count, header.producer_id) == (0, 0, 9)
    assert (header.producer_epoch, header.base_sequence, header.last_offset) == (2, 0, 0)
    assert records_of(log) == [(1, b"a", b"2"), (2, b"z", b"z")]
    # A producer the broker no longer knows: its batch goes.
    log.roll()
    log.append(kv("y", "y"))
    run(log)
    assert headers_of(log)[0].base_offset == 1


def test_segments_are_grouped_by_size(open_log):
    big = "x" * 400
    log = open_log(LogConfig(delete=False, compact=True, segment_bytes=1024))
    fill(log, [(f"k{i}", big) for i in range(6)], roll_every=1)
    log.append(kv("z", "z"))
    run(log)
    # Each batch is ~470 bytes: two fit a 1024-byte segment.
    assert log.segment_base_offsets == [0, 2, 4, 6]
    assert [k for _, k, _ in records_of(log)] == [f"k{i}".encode() for i in range(6)] + [b"z"]


def test_dirty_ratio_min_lag_and_max_lag_choose_what_is_cleaned(open_log):
    config = LogConfig(delete=False, compact=True, min_cleanable_dirty_ratio=0.5)
    log = open_log(config)
    fill(log, [("a", "1")], ts=1000)
    log.roll()
    fill(log, [("a", "2")], ts=1000)
    section = to_clean(log, 2000, FAR)
    assert (section.first_dirty_offset, section.first_uncleanable_offset) == (0, 1)
    assert section.cleanable_ratio == 1.0
    assert clean(log, now_ms=2000, last_stable_offset=FAR, producers={}) is not None
    # Nothing dirty now: nothing to do; with force, the clean segments are cleaned again.
    assert clean(log, now_ms=2000, last_stable_offset=FAR, producers={}) is None
    again = clean(log, now_ms=2000, last_stable_offset=FAR, producers={}, force=True)
    assert again.records_removed == 0 and again.end_offset == 1
    # The last stable offset bounds the section at a segment start.
    log.roll()
    assert to_clean(log, 2000, 1).first_uncleanable_offset == 1
    # min.compaction.lag.ms: a segment with a too recent timestamp is not cleanable yet.
    log.update_config(LogConfig(delete=False, compact=True, min_compaction_lag_ms=5000))
    assert to_clean(log, 2000, FAR).first_uncleanable_offset == 1
    assert to_clean(log, 7000, FAR).first_uncleanable_offset == 2
    # max.compaction.lag.ms makes a log due whatever its ratio.
    log.update_config(LogConfig(delete=False, compact=True, min_cleanable_dirty_ratio=0.99,
                                max_compaction_lag_ms=100))
    assert to_clean(log, 2000, FAR).compaction_due


def test_a_delete_only_log_is_never_cleaned_and_compact_only_has_no_time_retention(open_log):
    log = open_log(LogConfig())
    fill(log, [("a", "1"), ("a", "2")], roll_every=1)
    log.append(kv("z", "z"))
    assert run(log) is None
    log.update_config(LogConfig(delete=False, compact=True, retention_ms=1))
    assert log.apply_retention(10**12) == 0


def test_the_offset_map_limit_cleans_in_several_passes(open_log):
    log = open_log(COMPACT)
    fill(log, [("a", "1"), ("b", "1"), ("a", "2"), ("b", "2")], roll_every=1)
    log.append(kv("z", "z"))
    result = run(log, max_keys=1)
    # One key fits: the first segment alone is mapped, so it is all that is cleaned.
    assert result.end_offset == 1
    result = run(log, max_keys=1)
    assert result.end_offset == 2
    run(log, max_keys=2)
    run(log, max_keys=2)
    assert records_of(log) == [(2, b"a", b"2"), (3, b"b", b"2"), (4, b"z", b"z")]


def test_config_reads_the_compaction_topic_configs():
    config = LogConfig.from_topic_configs({
        "cleanup.policy": "compact,delete", "min.cleanable.dirty.ratio": "0.01",
        "min.compaction.lag.ms": "5", "max.compaction.lag.ms": "100", "delete.retention.ms": "7",
        "segment.ms": "1000",
    })
    assert (config.compact, config.delete, config.min_cleanable_dirty_ratio) == (True, True, 0.01)
    assert (config.min_compaction_lag_ms, config.max_compaction_lag_ms, config.delete_retention_ms) == (5, 100, 7)
    assert config.max_segment_ms == 100
    assert LogConfig.from_topic_configs({}).compact is False
    with pytest.raises(ValueError):
        LogConfig.from_topic_configs({"min.cleanable.dirty.ratio": "x"})


def test_iter_batches_reads_the_cleaned_bytes_whole(open_log):
    log = open_log(COMPACT)
    fill(log, [("a", "1"), ("a", "2")], roll_every=2)
    log.append(kv("z", "z"))
    run(log)
    data = b"".join(bytes(v) for v in log.read(0, 1 << 20))
    assert [h.base_offset for _, h in iter_batches(data)] == [1, 2]


def _crash_log(files):
    from kafkalite.storage import MemoryLog

    return MemoryLog(COMPACT, now_ms=0, files=files, directory=__import__("pathlib").Path("/d/t-0"))


@pytest.mark.parametrize("durable", [False, True])
def test_a_crash_at_any_step_of_a_cleaning_loses_nothing(durable):
    """Crash before each file change of a cleaning in turn (the .cleaned writes, the renames,
    the removals, the index writes): reopening gives the old log or the cleaned one, never a
    mix, and every key's latest value."""
    from kafkalite.storage import FaultyFiles, MemoryFiles

    config = attrs_evolve(COMPACT, fsync=durable)
    pairs = [(f"k{i % 4}", f"v{i}") for i in range(12)]
    expected_latest = {f"k{i}".encode(): f"v{8 + i}".encode() for i in range(4)}
    outcomes = set()
    for n in range(200):
        faulty = FaultyFiles(MemoryFiles())
        log = _crash_log(faulty)
        log.update_config(config)
        fill(log, pairs, roll_every=3)
        log.append(kv("tail", "t"))
        before = records_of(log)
        faulty.changes_left = n
        try:
            run(log)
            crashed = False
        except Exception:
            crashed = True
        reopened = _crash_log(faulty.inner.snapshot())
        after = records_of(reopened)
        assert reopened.log_end_offset == 13
        latest = {}
        for offset, key, value in after:
            latest[key] = value
        assert latest == {**expected_latest, b"tail": b"t"}, n
        offsets = [o for o, _, _ in after]
        assert offsets == sorted(set(offsets))
        assert after == before or after == [(8, b"k0", b"v8"), (9, b"k1", b"v9"), (10, b"k2", b"v10"),
                                            (11, b"k3", b"v11"), (12, b"tail", b"t")], n
        outcomes.add(after == before)
        # A cleaning after the restart finishes the job.
        run(reopened)
        assert len(records_of(reopened)) == 5
        reopened.close()
        if not crashed:
            break
    else:
        raise AssertionError("the cleaning never completed")
    assert outcomes == {True, False} and n > 5, n


def test_max_compaction_lag_is_read_from_the_first_batch_after_a_reopen(open_log):
    config = LogConfig(delete=False, compact=True, min_cleanable_dirty_ratio=0.99, max_compaction_lag_ms=100)
    log = open_log(config)
    fill(log, [("a", "1")], ts=1000)
    log.roll()
    fill(log, [("a", "2")], ts=1000)
    log.close()
    log = open_log(config)
    assert to_clean(log, 1050, FAR).compaction_due is False
    assert to_clean(log, 1101, FAR).compaction_due is True
    assert clean(log, now_ms=1101, last_stable_offset=FAR, producers={}) is not None


def test_a_swap_that_cannot_commit_leaves_the_log_as_it_was():
    from kafkalite.storage import FaultyFiles, KafkaStorageError, MemoryFiles

    faulty = FaultyFiles(MemoryFiles())
    log = _crash_log(faulty)
    fill(log, [("a", "1"), ("a", "2")], roll_every=1)
    log.append(kv("z", "z"))
    faulty.failing.add("rename")
    with pytest.raises(KafkaStorageError):
        run(log)
    assert records_of(log) == [(0, b"a", b"1"), (1, b"a", b"2"), (2, b"z", b"z")]
    assert not [n for n in faulty.listdir(log.directory) if n.endswith(".cleaned")]
    log.append(kv("y", "y"))  # still takes appends
    faulty.failing.clear()
    run(log)
    assert records_of(log) == [(1, b"a", b"2"), (2, b"z", b"z"), (3, b"y", b"y")]
