"""ProducerStates on the partition side of transactions: open transactions, the first
unstable and last stable offsets, aborted transaction entries, rebuilding from a log scan."""

from __future__ import annotations

import struct

import pytest

from kafkalite.broker.producers import ProducerStates, ProducerView, SequenceVerdict
from kafkalite.storage import AbortedTxn, LogConfig, MemoryFiles, MemoryLog
from kafkalite.wire.records import (
    ControlRecordType,
    NewRecord,
    build_batch,
    build_control_batch,
)

ABORT, COMMIT = ControlRecordType.ABORT, ControlRecordType.COMMIT
T, P = "t", 0


def data(states, pid, offset, *, seq=0, count=1, epoch=0, transactional=True, ts=100):
    """Record a batch of *count* records of producer *pid* appended at *offset*."""
    states.record(
        T, P, pid, epoch, seq, seq + count - 1, offset, offset + count - 1, ts,
        transactional=transactional,
    )


# -- open transactions and the unstable offsets --


def test_a_transactional_batch_opens_the_producers_transaction_at_its_base_offset():
    states = ProducerStates()
    assert states.first_unstable_offset(T, P) is None
    assert states.last_stable_offset(T, P, 10) == 10
    data(states, 1, 10, count=3)
    assert states.first_unstable_offset(T, P) == 10
    assert states.last_stable_offset(T, P, 13) == 10
    data(states, 1, 13, seq=3)  # the same transaction goes on
    assert states.first_unstable_offset(T, P) == 10
    assert states.first_unstable_offset(T, 1) is None  # another partition


def test_idempotent_batches_open_nothing():
    states = ProducerStates()
    data(states, 1, 0, transactional=False)
    assert states.first_unstable_offset(T, P) is None
    assert states.ongoing(T, P) == []


def test_commit_closes_the_transaction_and_writes_no_entry():
    states = ProducerStates()
    data(states, 1, 0, count=2)
    assert states.record_marker(T, P, 1, 0, COMMIT, 2, coordinator_epoch=0) is None
    assert states.first_unstable_offset(T, P) is None
    assert states.last_stable_offset(T, P, 3) == 3


def test_abort_returns_the_entry_with_the_lso_after_the_marker():
    states = ProducerStates()
    data(states, 1, 5, count=2)
    entry = states.record_marker(T, P, 1, 0, ABORT, 7, coordinator_epoch=0)
    assert entry == AbortedTxn(producer_id=1, first_offset=5, last_offset=7, last_stable_offset=8)
    assert states.first_unstable_offset(T, P) is None


def test_interleaved_producers_lso_is_the_earliest_other_open_transaction():
    states = ProducerStates()
    data(states, 1, 0)  # P opens at 0
    data(states, 2, 1)  # Q opens at 1
    data(states, 3, 2)  # R opens at 2
    data(states, 1, 3, seq=1)
    assert states.first_unstable_offset(T, P) == 0
    # Q aborts while P (from 0) is open: the LSO right after the marker is still 0.
    assert states.record_marker(T, P, 2, 0, ABORT, 4) == AbortedTxn(2, 1, 4, 0)
    assert states.first_unstable_offset(T, P) == 0
    # P aborts: R, open since 2, holds the LSO.
    assert states.record_marker(T, P, 1, 0, ABORT, 5) == AbortedTxn(1, 0, 5, 2)
    assert states.first_unstable_offset(T, P) == 2
    data(states, 1, 6, seq=2)  # P's next transaction opens at 6, after R's
    assert [v.producer_id for v in states.ongoing(T, P)] == [3, 1]
    assert states.record_marker(T, P, 3, 0, COMMIT, 7) is None
    assert states.first_unstable_offset(T, P) == 6
    assert states.record_marker(T, P, 1, 0, ABORT, 8) == AbortedTxn(1, 6, 8, 9)
    assert states.first_unstable_offset(T, P) is None


def test_lso_never_passes_the_high_watermark():
    states = ProducerStates()
    data(states, 1, 10)
    assert states.last_stable_offset(T, P, 4) == 4


def test_a_marker_for_a_transaction_without_data_here_changes_no_offset():
    states = ProducerStates()
    data(states, 2, 0)
    assert states.record_marker(T, P, 1, 3, ABORT, 1, coordinator_epoch=7, timestamp=50) is None
    assert states.first_unstable_offset(T, P) == 0
    (view,) = [v for v in states.producers_on(T, P) if v.producer_id == 1]
    assert view == ProducerView(1, 3, -1, 50, 7, -1)


def test_transactions_are_per_partition():
    states = ProducerStates()
    data(states, 1, 0)
    states.record(T, 1, 1, 0, 0, 0, 4, 4, 100, transactional=True)
    assert states.record_marker(T, 1, 1, 0, ABORT, 5) == AbortedTxn(1, 4, 5, 6)
    assert states.first_unstable_offset(T, P) == 0
    assert states.first_unstable_offset(T, 1) is None


def test_drop_partition_forgets_open_transactions():
    states = ProducerStates()
    data(states, 1, 0)
    states.record(T, 1, 1, 0, 0, 0, 0, 0, 100, transactional=True)
    states.drop_partition(T, 1)
    assert states.first_unstable_offset(T, 1) is None
    assert states.first_unstable_offset(T, P) == 0
    states.drop_partition(T)
    assert states.first_unstable_offset(T, P) is None
    assert states.producers_on(T, P) == []


# -- checks --


def test_a_non_transactional_batch_during_an_open_transaction_is_invalid_txn_state():
    states = ProducerStates()
    data(states, 1, 0)
    check = states.check(T, P, 1, 0, 1, 1)
    assert check.verdict is SequenceVerdict.INVALID_TXN_STATE
    assert "open" in check.message
    assert states.check(T, P, 1, 0, 1, 1, transactional=True).verdict is SequenceVerdict.APPEND
    # The epoch and sequence checks come first, as in Kafka.
    assert states.check(T, P, 1, 0, 0, 0).verdict is SequenceVerdict.DUPLICATE
    assert states.check(T, P, 1, 0, 5, 5).verdict is SequenceVerdict.OUT_OF_ORDER
    assert states.check(T, P, 1, 1, 0, 0).verdict is SequenceVerdict.INVALID_TXN_STATE
    states.record_marker(T, P, 1, 0, COMMIT, 1)
    assert states.check(T, P, 1, 0, 1, 1).verdict is SequenceVerdict.APPEND


def test_sequences_go_on_across_transactions_of_one_epoch():
    states = ProducerStates()
    data(states, 1, 0, seq=0, count=2)
    states.record_marker(T, P, 1, 0, COMMIT, 2)
    assert states.check(T, P, 1, 0, 2, 2, transactional=True).verdict is SequenceVerdict.APPEND
    assert states.check(T, P, 1, 0, 0, 1, transactional=True).verdict is SequenceVerdict.DUPLICATE
    assert states.check(T, P, 1, 0, 0, 0, transactional=True).verdict is SequenceVerdict.OUT_OF_ORDER


def test_a_marker_with_a_bumped_epoch_starts_sequences_over():
    # KIP-890: the coordinator ends the transaction with the producer's next epoch.
    states = ProducerStates()
    data(states, 1, 0, seq=0, count=3)
    states.record_marker(T, P, 1, 1, ABORT, 3)
    assert states.check(T, P, 1, 0, 3, 3, transactional=True).verdict is SequenceVerdict.STALE_EPOCH
    assert states.check(T, P, 1, 1, 0, 0, transactional=True).verdict is SequenceVerdict.APPEND
    assert states.check(T, P, 1, 1, 3, 3, transactional=True).verdict is SequenceVerdict.OUT_OF_ORDER


def test_check_marker_refuses_old_epochs_and_fenced_coordinators():
    states = ProducerStates()
    assert states.check_marker(T, P, 1, 0, 0).verdict is SequenceVerdict.APPEND  # unknown producer
    data(states, 1, 0, epoch=2)
    states.record_marker(T, P, 1, 2, COMMIT, 1, coordinator_epoch=5)
    assert states.check_marker(T, P, 1, 1, 5).verdict is SequenceVerdict.STALE_EPOCH
    assert states.check_marker(T, P, 1, 2, 4).verdict is SequenceVerdict.COORDINATOR_FENCED
    assert states.check_marker(T, P, 1, 2, 5).verdict is SequenceVerdict.APPEND
    assert states.check_marker(T, P, 1, 3, 6).verdict is SequenceVerdict.APPEND


# -- views --


def test_ongoing_and_producers_on_show_what_describe_producers_needs():
    states = ProducerStates()
    data(states, 7, 10, seq=0, count=3, epoch=2, ts=1234)
    data(states, 5, 13, seq=4, count=1, epoch=0, transactional=False, ts=99)
    assert states.ongoing(T, P) == [
        ProducerView(
            producer_id=7, producer_epoch=2, last_sequence=2, last_timestamp=1234,
            coordinator_epoch=-1, current_txn_start_offset=10,
        )
    ]
    assert states.producers_on(T, P) == [
        ProducerView(5, 0, 4, 99, -1, -1),
        ProducerView(7, 2, 2, 1234, -1, 10),
    ]
    states.record_marker(T, P, 7, 2, COMMIT, 14, coordinator_epoch=3, timestamp=2000)
    assert states.ongoing(T, P) == []
    assert states.producers_on(T, P)[1] == ProducerView(7, 2, 2, 2000, 3, -1)


# -- rebuilding from a scan of the log --


def _txn_batch(pid, seq, count=1, *, epoch=0, transactional=True, ts=1000):
    return build_batch(
        [NewRecord(b"k", b"v", timestamp=ts + i) for i in range(count)],
        producer_id=pid, producer_epoch=epoch, base_sequence=seq, transactional=transactional,
    )


def _marker(kind, pid, *, epoch=0, coordinator_epoch=0, ts=2000):
    return build_control_batch(
        kind, producer_id=pid, producer_epoch=epoch, coordinator_epoch=coordinator_epoch,
        timestamp=ts,
    )


def _scan(log, states):
    found = []
    for header, view in log.batches_from(log.log_start_offset):
        entry = states.replay(T, P, header, view)
        if entry is not None:
            found.append(entry)
    return found


def test_replaying_the_log_rebuilds_what_appending_built():
    config = LogConfig(segment_bytes=400)
    files = MemoryFiles()
    log = MemoryLog(config, files=files)
    live = ProducerStates()
    # (bytes, how the broker recorded it when it appended them)
    script = [
        (_txn_batch(1, 0, 2), ("data", 1, 0, 1, True)),
        (_txn_batch(2, 0, 1), ("data", 2, 0, 0, True)),
        (_txn_batch(3, 0, 1, transactional=False), ("data", 3, 0, 0, False)),
        (_txn_batch(1, 2, 1), ("data", 1, 2, 2, True)),
        (_marker(ABORT, 1, coordinator_epoch=4), ("marker", 1, ABORT, 4)),
        (_txn_batch(4, 0, 2), ("data", 4, 0, 1, True)),
        (_marker(COMMIT, 2, coordinator_epoch=4), ("marker", 2, COMMIT, 4)),
        (_marker(ABORT, 4, epoch=1, coordinator_epoch=5), ("marker", 4, ABORT, 5)),
        (_txn_batch(2, 1, 1), ("data", 2, 1, 1, True)),  # open at the end
    ]
    live_entries = []
    for raw, how in script:
        info = log.append(raw, now_ms=0)
        if how[0] == "data":
            _, pid, first_seq, last_seq, transactional = how
            live.record(
                T, P, pid, 0, first_seq, last_seq, info.base_offset, info.last_offset,
                info.max_timestamp, transactional=transactional,
            )
        else:
            _, pid, kind, coordinator_epoch = how
            epoch = 1 if pid == 4 else 0
            entry = live.record_marker(
                T, P, pid, epoch, kind, info.base_offset,
                coordinator_epoch=coordinator_epoch, timestamp=info.max_timestamp,
            )
            if entry is not None:
                log.append_aborted_txn(entry)
                live_entries.append(entry)
    # Offsets: P1 0-1, P2 2, P3 3, P1 4, ABORT(P1) 5, P4 6-7, COMMIT(P2) 8, ABORT(P4) 9, P2 10
    assert live_entries == [AbortedTxn(1, 0, 5, 2), AbortedTxn(4, 6, 9, 10)]
    assert log.segment_count > 1

    rebuilt = ProducerStates()
    assert _scan(log, rebuilt) == live_entries
    for states in (live, rebuilt):
        assert states.first_unstable_offset(T, P) == 10
        assert states.last_stable_offset(T, P, log.high_watermark) == 10
    assert rebuilt.producers_on(T, P) == live.producers_on(T, P)
    assert rebuilt.ongoing(T, P) == live.ongoing(T, P)
    # Idempotence works on the rebuilt state as on the live one.
    assert rebuilt.check(T, P, 3, 0, 0, 0).verdict is SequenceVerdict.DUPLICATE
    assert rebuilt.check(T, P, 1, 0, 2, 2, transactional=True).verdict is SequenceVerdict.DUPLICATE
    assert rebuilt.check(T, P, 4, 1, 0, 0, transactional=True).verdict is SequenceVerdict.APPEND

    # A crash lost the txn index files: the scan's entries restore them.
    log.close()
    damaged = files.snapshot()
    for name in damaged.listdir(log.directory):
        if name.endswith(".txnindex"):
            damaged.remove(log.directory / name)
    reopened = MemoryLog(config, files=damaged, directory=log.directory)
    assert reopened.txn_index_entries() == []
    assert reopened.reconcile_txn_indexes(_scan(reopened, ProducerStates()))
    assert reopened.txn_index_entries() == live_entries
    assert reopened.collect_aborted_txns(0, 10) == live_entries


def test_replay_ignores_control_batches_that_are_not_markers():
    log = MemoryLog(LogConfig())
    leader_change = build_batch(
        [NewRecord(struct.pack(">hh", 0, 2), b"\x00\x00", timestamp=1)],
        producer_id=1, producer_epoch=0, transactional=False, control=True,
    )
    log.append(_txn_batch(1, 0, 1))
    log.append(leader_change)
    states = ProducerStates()
    assert _scan(log, states) == []
    assert states.first_unstable_offset(T, P) == 0  # still open: that was no marker


@pytest.mark.parametrize("kind", [ABORT, COMMIT])
def test_replay_of_a_marker_reads_its_type_and_coordinator_epoch(kind):
    log = MemoryLog(LogConfig())
    log.append(_txn_batch(9, 0, 3))
    log.append(_marker(kind, 9, coordinator_epoch=12, ts=777))
    states = ProducerStates()
    found = _scan(log, states)
    assert found == ([AbortedTxn(9, 0, 3, 4)] if kind is ABORT else [])
    assert states.producers_on(T, P) == [ProducerView(9, 0, 2, 777, 12, -1)]
