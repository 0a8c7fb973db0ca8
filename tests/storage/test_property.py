"""Property test: random appends, reads, rolls, reopens and deletions against a list model,
on the file log and the memory log alike."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkalite.storage import LogConfig, MemoryFiles, MemoryLog, OffsetOutOfRange, PartitionLog
from kafkalite.wire.batch import iter_batches, patch_base_offset, patch_partition_leader_epoch
from kafkalite.wire.records import build_batch

_append = st.tuples(
    st.just("append"),
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 300), st.integers(0, 5000)), min_size=1, max_size=3),
    st.integers(0, 3),
)
_read = st.tuples(st.just("read"), st.integers(-2, 60), st.integers(0, 2000))
_ops = st.lists(
    st.one_of(
        _append,
        _append,
        _read,
        _read,
        st.tuples(st.just("roll")),
        st.tuples(st.just("reopen")),
        st.tuples(st.just("delete_records"), st.integers(0, 60)),
        st.tuples(st.just("retention"), st.integers(0, 6000)),
        st.tuples(st.just("timestamp"), st.integers(0, 6000)),
    ),
    max_size=40,
)
_configs = st.builds(
    LogConfig,
    segment_bytes=st.sampled_from([200, 700, 5000, 1 << 30]),
    index_interval_bytes=st.sampled_from([0, 100, 4096]),
    segment_index_bytes=st.sampled_from([24, 120, 10485760]),
    retention_ms=st.sampled_from([-1, 3000]),
    retention_bytes=st.sampled_from([-1, 1500]),
)


class Model:
    """The log as a list of (base offset, last offset, max timestamp, bytes)."""

    def __init__(self):
        self.batches = []
        self.start = 0
        self.end = 0

    def append(self, raw_batches, epoch):
        first = self.end
        for raw in raw_batches:
            data = bytearray(raw)
            patch_base_offset(data, 0, self.end)
            patch_partition_leader_epoch(data, 0, epoch)
            header = next(iter_batches(data))[1]
            self.batches.append((self.end, header.last_offset, header.max_timestamp, bytes(data)))
            self.end = header.last_offset + 1
        return first, self.end - 1

    def read(self, offset, max_bytes):
        if offset < self.start or offset > self.end:
            return "out of range"
        out, budget = [], max_bytes
        for base, last, _, data in self.batches:
            if last < offset:
                continue
            if out and len(data) > budget:
                break
            out.append(data)
            budget -= len(data)
        return b"".join(out)

    def offset_for_timestamp(self, ts):
        for base, last, max_ts, _ in self.batches:
            if last >= self.start and max_ts >= ts:
                return max(base, self.start), max_ts
        return None

    def drop_below(self, start):
        self.start = max(self.start, start)


def _run(ops, config, opener):
    """Run *ops* on the log from *opener*, checking against the model; return observations."""
    model = Model()
    log = opener(config)
    seen = []
    try:
        for op in ops:
            kind = op[0]
            if kind == "append":
                raws = [build_batch([(b"k", b"v" * size)] * count, base_timestamp=ts) for count, size, ts in op[1]]
                info = log.append(b"".join(raws), leader_epoch=op[2] if not model.batches else max(op[2], 0), now_ms=0)
                assert (info.base_offset, info.last_offset) == model.append(raws, op[2])
            elif kind == "read":
                _, offset, max_bytes = op
                try:
                    got = b"".join(bytes(v) for v in log.read(offset, max_bytes))
                except OffsetOutOfRange:
                    got = "out of range"
                assert got == model.read(offset, max_bytes)
                seen.append(got)
            elif kind == "roll":
                log.roll(now_ms=0)
            elif kind == "reopen":
                log.close()
                log = opener(config)
            elif kind == "delete_records":
                target = min(op[1], model.end)
                assert log.delete_records(target) == max(model.start, target)
                model.drop_below(target)
            elif kind == "retention":
                log.apply_retention(now_ms=op[1])
                # Whole batches only ever go; the model follows the log's new start.
                assert log.log_start_offset >= model.start
                assert any(b[0] == log.log_start_offset for b in model.batches) or log.log_start_offset in (model.start, model.end)
                model.drop_below(log.log_start_offset)
                model.batches = [b for b in model.batches if b[1] >= model.start]
            elif kind == "timestamp":
                assert log.offset_for_timestamp(op[1]) == model.offset_for_timestamp(op[1])
            assert (log.log_start_offset, log.log_end_offset) == (model.start, model.end)
            seen.append((log.log_start_offset, log.log_end_offset, log.segment_count))
        expected_max = (-1, -1)
        for base, last, max_ts, _ in model.batches:
            if max_ts > expected_max[0] and last >= 0:
                expected_max = (max_ts, last)
        if model.start == 0:
            assert log.max_timestamp == expected_max
    finally:
        log.close()
    return seen


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_ops, config=_configs)
def test_file_and_memory_logs_match_the_model_and_each_other(ops, config):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "t-0"
        file_seen = _run(ops, config, lambda c: PartitionLog.open(directory, c, 0))
    files = MemoryFiles()
    memory_seen = _run(ops, config, lambda c: MemoryLog(c, now_ms=0, files=files))
    assert file_seen == memory_seen
