"""The coordinator's deadlines under trio's mock clock (autojump: no real sleeps): timed-out
transactions aborted with a fence, idle ids expired, markers and completions retried."""

from __future__ import annotations

from typing import Any

import trio

from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode

from .fakes import Fixture, begin, make, states

E = ErrorCode
BASE_MS = 1_700_000_000_000


def trio_wall_ms() -> int:
    return BASE_MS + int(trio.current_time() * 1000)


def running(nursery: trio.Nursery, **settings: Any) -> Fixture:
    f = make(clock=trio_wall_ms, **settings)
    nursery.start_soon(f.coordinator.run)
    return f


# -- transaction timeout ------------------------------------------------------------------------


async def test_a_transaction_past_its_timeout_is_aborted_with_a_bumped_epoch(
    nursery: trio.Nursery, autojump_clock: object
) -> None:
    f = running(nursery)
    producer_id, epoch = begin(f, partitions=[("a", 0), ("b", 0)], timeout_ms=5_000)
    await trio.sleep(9)
    assert f.coordinator.transactions["t"].state is TxnState.ONGOING  # the check runs every 10 s
    await trio.sleep(2)
    txn = f.coordinator.transactions["t"]
    assert (txn.state, txn.producer_epoch) == (TxnState.COMPLETE_ABORT, epoch + 1)
    [call] = f.markers.calls
    assert (call.producer_id, call.producer_epoch, call.commit) == (producer_id, epoch + 1, False)
    assert states(f) == ["Empty", "Ongoing", "PrepareAbort", "CompleteAbort"]


async def test_the_producer_of_a_timed_out_transaction_learns_it_was_fenced(
    nursery: trio.Nursery, autojump_clock: object
) -> None:
    f = running(nursery)
    producer_id, epoch = begin(f, timeout_ms=1_000)
    await trio.sleep(11)
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.PRODUCER_FENCED
    assert f.coordinator.add_partitions("t", producer_id, epoch, [("a", 0)]) == {("a", 0): E.PRODUCER_FENCED}
    assert f.coordinator.init_producer_id("t", 1_000) == (E.NONE, producer_id, epoch + 2)


async def test_a_transaction_within_its_timeout_stays_open(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery)
    begin(f, timeout_ms=60_000)
    await trio.sleep(65)  # checked at 60 s: open for exactly its timeout, not more
    assert f.coordinator.transactions["t"].state is TxnState.ONGOING
    await trio.sleep(6)
    assert f.coordinator.transactions["t"].state is TxnState.COMPLETE_ABORT


async def test_the_abort_check_interval_is_a_setting(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery, abort_timed_out_transaction_cleanup_interval_ms=500)
    begin(f, timeout_ms=1_000)
    await trio.sleep(1.6)
    assert f.coordinator.transactions["t"].state is TxnState.COMPLETE_ABORT


async def test_a_timed_out_abort_that_cannot_be_written_is_tried_again(
    nursery: trio.Nursery, autojump_clock: object
) -> None:
    f = running(nursery)
    producer_id, epoch = begin(f, timeout_ms=1_000)
    f.topic.append_error = E.NOT_ENOUGH_REPLICAS
    await trio.sleep(11)
    txn = f.coordinator.transactions["t"]
    assert (txn.state, txn.pending_state, txn.has_failed_epoch_fence) == (TxnState.ONGOING, None, True)
    f.topic.append_error = E.NONE
    await trio.sleep(10)
    # The failed fence's epoch was never handed out, so it is not bumped twice.
    assert (txn.state, txn.producer_epoch) == (TxnState.COMPLETE_ABORT, epoch + 1)


# -- transactional id expiration ------------------------------------------------------------------


async def test_an_idle_id_expires_with_a_tombstone(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery, transactional_id_expiration_ms=60_000, remove_expired_transactional_ids_cleanup_interval_ms=10_000)
    f.coordinator.init_producer_id("t", 60_000)
    await trio.sleep(55)
    assert "t" in f.coordinator.transactions
    await trio.sleep(10)
    assert "t" not in f.coordinator.transactions
    assert states(f) == ["Empty", "<tombstone>"]
    assert f.coordinator.describe("t").error is E.TRANSACTIONAL_ID_NOT_FOUND


async def test_an_expired_id_starts_again_with_a_new_producer_id(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery, transactional_id_expiration_ms=1_000, remove_expired_transactional_ids_cleanup_interval_ms=1_000)
    f.coordinator.init_producer_id("t", 60_000)
    await trio.sleep(3)
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NONE, 1001, 0)


async def test_use_keeps_an_id_alive(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery, transactional_id_expiration_ms=60_000, remove_expired_transactional_ids_cleanup_interval_ms=10_000)
    producer_id, epoch = begin(f)
    for _ in range(4):
        await trio.sleep(30)
        f.coordinator.end_txn("t", producer_id, epoch, True)
        f.coordinator.add_partitions("t", producer_id, epoch, [("a", 0)])
    assert "t" in f.coordinator.transactions


async def test_an_open_transaction_never_expires(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery, transactional_id_expiration_ms=1_000, remove_expired_transactional_ids_cleanup_interval_ms=1_000)
    producer_id, epoch = begin(f, timeout_ms=900_000)
    await trio.sleep(60)
    assert f.coordinator.transactions["t"].state is TxnState.ONGOING


async def test_ids_expire_one_batch_per_partition(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery, transactional_id_expiration_ms=1_000, remove_expired_transactional_ids_cleanup_interval_ms=1_000)
    f.topic.num_partitions = 1
    for tid in ("x", "y", "z"):
        f.coordinator.init_producer_id(tid, 60_000)
    await trio.sleep(2.5)
    assert f.coordinator.transactions == {}
    assert len(f.topic.logs[0]) == 4  # three Empty records, then one batch of three tombstones


async def test_a_tombstone_that_cannot_be_written_keeps_the_id(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery, transactional_id_expiration_ms=1_000, remove_expired_transactional_ids_cleanup_interval_ms=1_000)
    f.coordinator.init_producer_id("t", 60_000)
    f.topic.append_error = E.NOT_LEADER_OR_FOLLOWER
    await trio.sleep(2.5)
    txn = f.coordinator.transactions["t"]
    assert (txn.state, txn.pending_state) == (TxnState.EMPTY, None)
    f.topic.append_error = E.NONE
    await trio.sleep(1)
    assert "t" not in f.coordinator.transactions


# -- retries ------------------------------------------------------------------------------------------


async def test_missing_markers_are_retried_until_written(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery)
    producer_id, epoch = begin(f, partitions=[("a", 0), ("b", 0)])
    f.markers.errors[("b", 0)] = [E.NOT_LEADER_OR_FOLLOWER] * 3
    assert f.coordinator.end_txn("t", producer_id, epoch, True) is E.NONE
    await trio.sleep(0.05)
    assert f.coordinator.transactions["t"].state is TxnState.PREPARE_COMMIT
    await trio.sleep(1)  # backoff 100, 200, 400 ms
    assert f.coordinator.transactions["t"].state is TxnState.COMPLETE_COMMIT
    assert [c.partitions for c in f.markers.calls] == [(("a", 0), ("b", 0))] + [(("b", 0),)] * 3
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NONE, producer_id, epoch + 1)


async def test_a_complete_record_is_retried_until_written(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery)
    producer_id, epoch = begin(f)
    f.markers.after_write = lambda: setattr(f.topic, "append_error", E.NOT_LEADER_OR_FOLLOWER)
    f.coordinator.end_txn("t", producer_id, epoch, False)
    await trio.sleep(2)
    assert f.coordinator.transactions["t"].state is TxnState.PREPARE_ABORT
    f.topic.append_error = E.NONE
    await trio.sleep(6)  # the backoff is at most 5 s
    assert f.coordinator.transactions["t"].state is TxnState.COMPLETE_ABORT
    assert len(f.markers.calls) == 1  # the markers were written once; only the record waited


async def test_reset_forgets_ids_and_their_retries(nursery: trio.Nursery, autojump_clock: object) -> None:
    f = running(nursery)
    producer_id, epoch = begin(f)
    f.markers.errors[("a", 0)] = [E.NOT_LEADER_OR_FOLLOWER] * 100
    f.coordinator.end_txn("t", producer_id, epoch, True)
    f.coordinator.reset()
    calls = len(f.markers.calls)
    await trio.sleep(30)
    assert f.coordinator.transactions == {} and len(f.markers.calls) == calls
    assert f.coordinator.init_producer_id("t", 60_000) == (E.NONE, 1001, 0)
