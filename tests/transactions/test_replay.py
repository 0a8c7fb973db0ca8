"""A restart: every transactional id rebuilt from the records of __transaction_state, and
transactions a crash left in PrepareCommit / PrepareAbort finished."""

from __future__ import annotations

import logging

import pytest
import trio

from kafkalite.transactions.coordinator import TransactionCoordinator
from kafkalite.transactions.records import transaction_log_key
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.records import build_batch

from .fakes import begin, make, states

E = ErrorCode


def test_a_broker_without_the_topic_starts_empty_and_does_not_create_it() -> None:
    f = make()
    assert f.coordinator.transactions == {} and not f.topic.created


def test_ids_come_back_as_they_were_written() -> None:
    f = make()
    f.coordinator.init_producer_id("idle", 10_000)
    producer_id, epoch = begin(f, "open", partitions=[("a", 0), ("b", 3)], timeout_ms=20_000)
    committed_id, committed_epoch = begin(f, "done")
    f.coordinator.end_txn("done", committed_id, committed_epoch, True)
    before = {tid: (t.producer_id, t.producer_epoch, t.state, t.topic_partitions, t.txn_timeout_ms,
                    t.txn_start_timestamp, t.txn_last_update_timestamp)
              for tid, t in f.coordinator.transactions.items()}
    after = f.reopen().transactions
    assert {tid: (t.producer_id, t.producer_epoch, t.state, t.topic_partitions, t.txn_timeout_ms,
                  t.txn_start_timestamp, t.txn_last_update_timestamp)
            for tid, t in after.items()} == before
    assert after["open"].state is TxnState.ONGOING and all(t.pending_state is None for t in after.values())


def test_after_a_restart_the_open_transaction_goes_on() -> None:
    f = make()
    producer_id, epoch = begin(f)
    c = f.reopen()
    assert c.add_partitions("t", producer_id, epoch, [("b", 0)]) == {("b", 0): E.NONE}
    assert c.end_txn("t", producer_id, epoch, True) is E.NONE
    assert set(f.markers.calls[-1].partitions) == {("a", 0), ("b", 0)}


def test_after_a_restart_init_bumps_the_epoch_and_fences_the_open_transaction() -> None:
    f = make()
    producer_id, epoch = begin(f)
    c = f.reopen()
    assert c.init_producer_id("t", 60_000)[0] is E.CONCURRENT_TRANSACTIONS
    assert c.init_producer_id("t", 60_000) == (E.NONE, producer_id, epoch + 2)


def test_the_last_epoch_is_not_kept_across_a_restart() -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    f.coordinator.init_producer_id("t", 60_000, 1000, 0)
    # Kafka does not persist the last epoch: a KIP-360 retry after a restart is fenced.
    assert f.reopen().init_producer_id("t", 60_000, 1000, 0) == (E.PRODUCER_FENCED, -1, -1)


def test_a_tombstone_removes_the_id() -> None:
    f = make(transactional_id_expiration_ms=0)
    f.coordinator.init_producer_id("t", 60_000)
    f.clock.advance(1)
    assert f.coordinator.remove_expired_transactional_ids() == ["t"]
    assert f.reopen().transactions == {}


@pytest.mark.parametrize(("commit", "prepared", "completed"), [(True, "PrepareCommit", "CompleteCommit"),
                                                               (False, "PrepareAbort", "CompleteAbort")])
def test_a_transaction_left_prepared_by_a_crash_is_finished_at_start(commit: bool, prepared: str, completed: str) -> None:
    f = make()
    producer_id, epoch = begin(f, partitions=[("a", 0), ("__consumer_offsets", 4)])
    f.coordinator.end_txn("t", producer_id, epoch, commit)
    f.topic.truncate_last("t")  # the crash came before the Complete* record
    assert states(f)[-1] == prepared
    f.markers.calls.clear()
    c = f.reopen()
    [call] = f.markers.calls
    assert (call.producer_id, call.producer_epoch, call.commit, set(call.partitions)) == (
        producer_id, epoch, commit, {("a", 0), ("__consumer_offsets", 4)})
    assert states(f)[-1] == completed
    assert c.transactions["t"].state.kafka_name == completed
    assert c.end_txn("t", producer_id, epoch, commit) is E.NONE


def test_a_fenced_abort_left_prepared_is_finished_with_the_bumped_epoch() -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.coordinator.init_producer_id("t", 60_000)  # fences and aborts
    f.topic.truncate_last("t")
    f.markers.calls.clear()
    f.reopen()
    assert [(c.producer_epoch, c.commit) for c in f.markers.calls] == [(epoch + 1, False)]


async def test_a_completion_that_fails_at_start_is_retried_once_running(
    nursery: trio.Nursery, autojump_clock: object
) -> None:
    f = make()
    producer_id, epoch = begin(f)
    f.coordinator.end_txn("t", producer_id, epoch, True)
    f.topic.truncate_last("t")
    f.markers.errors[("a", 0)] = [E.NOT_LEADER_OR_FOLLOWER] * 2
    c = f.reopen()
    assert c.transactions["t"].state is TxnState.PREPARE_COMMIT
    assert c.init_producer_id("t", 60_000)[0] is E.CONCURRENT_TRANSACTIONS
    nursery.start_soon(c.run)
    await trio.sleep(1)
    assert c.transactions["t"].state is TxnState.COMPLETE_COMMIT


def test_records_that_cannot_be_decoded_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    f = make()
    f.coordinator.init_producer_id("good", 60_000)
    partition = f.coordinator.partition_for("bad")
    f.topic.append(partition, bytearray(build_batch([(transaction_log_key("bad"), b"\x00\x09junk")])))
    f.topic.append(partition, bytearray(build_batch([(b"\x00\x05odd-key", b"")])))
    with caplog.at_level(logging.WARNING, "kafkalite.transactions"):
        c = f.reopen()
    assert set(c.transactions) == {"good"}
    assert "undecodable record" in caplog.text and "unknown key version" in caplog.text


def test_a_partition_that_cannot_be_read_is_logged_and_the_others_load(caplog: pytest.LogCaptureFixture) -> None:
    f = make()
    f.coordinator.init_producer_id("t", 60_000)
    broken = (f.coordinator.partition_for("t") + 1) % f.topic.num_partitions
    f.topic.unreadable.add(broken)
    with caplog.at_level(logging.ERROR, "kafkalite.transactions"):
        c = TransactionCoordinator.open(f.topic, f.markers, f.ids, wall_ms=f.clock)
    assert set(c.transactions) == {"t"}
    assert "cannot read transaction state" in caplog.text
