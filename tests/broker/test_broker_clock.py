"""The broker's rules on the broker clock: advancing it ends sessions, transactions, offsets,
segments and fetch waits at once. Under trio's mock clock at rate 0, so trio's own time never
moves: whatever happens here happens because the broker clock was advanced."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.server.serve import _housekeeping
from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.records import NewRecord, build_batch

from ..groups.helpers import GroupMember, connect, simple_commit, start_broker
from .consumer_group_client import CgMember
from .test_produce_fetch import fetch_request, produce

async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


def batch_at(broker: Broker, *values: bytes, ago_s: float = 0) -> bytes:
    """A batch whose records were created *ago_s* before the broker's clock says now."""
    ts = broker.clock.wall_ms() - int(ago_s * 1000)
    return build_batch([NewRecord(None, v, timestamp=ts) for v in values])


# -- groups ----------------------------------------------------------------------------------


async def test_a_silent_classic_member_is_removed_once_the_clock_passes_its_session(nursery, mock_clock) -> None:
    broker = start_broker(nursery)
    a = GroupMember(connect(broker, nursery), session_timeout_ms=30_000)
    await a.join_and_sync()
    group = broker.groups.groups["g"]
    broker.clock.advance(29)
    await settle()
    assert list(group.members) == [a.member_id]
    broker.clock.advance(1.5)
    await settle()
    assert (list(group.members), group.state.value) == ([], "Empty")
    assert await a.heartbeat() == E.UNKNOWN_MEMBER_ID


async def test_a_silent_consumer_protocol_member_is_fenced_once_the_clock_passes_its_session(
    nursery, mock_clock
) -> None:
    broker = start_broker(nursery, group_consumer_session_timeout_ms=45_000)
    broker.create_topic("t", 2)
    a, b = CgMember(connect(broker, nursery)), CgMember(connect(broker, nursery))
    await a.heartbeat()
    await b.heartbeat()
    group = broker.groups.consumer_group("g")
    assert set(group.members) == {a.member_id, b.member_id}
    broker.clock.advance(44)
    await a.heartbeat()  # a keeps its session; b stays silent
    await settle()
    assert set(group.members) == {a.member_id, b.member_id}
    broker.clock.advance(2)
    await settle()
    assert set(group.members) == {a.member_id}
    for _ in range(3):
        await a.heartbeat()
    assert len(a.partitions()) == 2  # the survivor owns every partition


async def test_committed_offsets_expire_once_the_clock_passes_the_retention(nursery, mock_clock) -> None:
    broker = start_broker(nursery, offsets_retention_minutes=1, offsets_retention_check_interval_ms=10_000)
    broker.create_topic("t", 1)
    assert await simple_commit(connect(broker, nursery), "s", {("t", 0): 5}) == {("t", 0): E.NONE}
    before = broker.clock.wall_ms()
    assert broker.groups.groups["s"].offsets[("t", 0)].commit_timestamp == pytest.approx(before, abs=100)
    broker.clock.advance(55)
    await settle()
    assert ("t", 0) in broker.groups.groups["s"].offsets
    broker.clock.advance(10)
    await settle()
    assert "s" not in broker.groups.groups


# -- transactions ----------------------------------------------------------------------------


async def test_an_open_transaction_is_aborted_once_the_clock_passes_its_timeout(nursery, mock_clock) -> None:
    broker = start_broker(nursery)
    broker.create_topic("x", 1)
    coordinator = broker.transactions
    nursery.start_soon(coordinator.run)
    error, producer_id, epoch = coordinator.init_producer_id("t", 60_000)
    assert error is E.NONE
    assert coordinator.add_partitions("t", producer_id, epoch, [("x", 0)]) == {("x", 0): E.NONE}
    await settle()
    broker.clock.advance(55)
    await settle()
    assert coordinator.transactions["t"].state is TxnState.ONGOING
    broker.clock.advance(10)  # past the timeout and the next 10 s abort check
    await settle()
    txn = coordinator.transactions["t"]
    assert (txn.state, txn.producer_epoch) == (TxnState.COMPLETE_ABORT, epoch + 1)
    assert broker.log_for("x", 0).log_end_offset == 1  # the ABORT marker
    [(marker, _view)] = list(broker.log_for("x", 0).batches_from(0))
    assert marker.max_timestamp == pytest.approx(broker.clock.wall_ms(), abs=100)  # stamped by the broker's clock


# -- retention and segments ------------------------------------------------------------------


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "disk"])
async def test_retention_deletes_a_segment_once_the_clock_passes_retention_ms(
    nursery, tmp_path: Path, on_disk: bool, mock_clock
) -> None:
    broker = Broker.create(BrokerConfig(data_dir=tmp_path) if on_disk else BrokerConfig(memory=True))
    broker.create_topic("r", 1, configs={"retention.ms": "60000"})
    plog = broker.log_for("r", 0)
    plog.append(batch_at(broker, b"old"))
    plog.roll()
    nursery.start_soon(_housekeeping, broker)
    await settle()
    broker.clock.advance(30)
    await settle()
    plog.append(batch_at(broker, b"new"))  # written 30 s after the first
    assert plog.segments.base_offsets == [0, 1]
    broker.clock.advance(31)  # the first segment is 61 s old, the second 31 s
    await settle()
    assert (plog.log_start_offset, plog.segments.base_offsets) == (1, [1])
    if on_disk:
        assert not (tmp_path / "r-0" / f"{0:020d}.log").exists()
        assert (tmp_path / "r-0" / f"{1:020d}.log").exists()
    broker.close()


async def test_log_append_time_is_the_advanced_clock(broker: Broker, client, mock_clock) -> None:
    broker.create_topic("lat", 1, configs={"message.timestamp.type": "LogAppendTime"})
    broker.clock.advance(3600)
    expected = broker.clock.wall_ms()
    result = await produce(client, "lat", build_batch([NewRecord(None, b"a", timestamp=1)]))
    assert result.log_append_time_ms == pytest.approx(expected, abs=100)
    [(header, _view)] = list(broker.log_for("lat", 0).batches_from(0))
    assert header.max_timestamp == result.log_append_time_ms


async def test_segment_ms_rolls_by_the_advanced_clock(broker: Broker, client, mock_clock) -> None:
    # LogAppendTime: the batches carry the broker's time, which segment.ms compares.
    broker.create_topic("lat", 1, configs={"message.timestamp.type": "LogAppendTime", "segment.ms": "60000"})
    await produce(client, "lat", build_batch([NewRecord(None, b"a", timestamp=1)]))
    plog = broker.log_for("lat", 0)
    broker.clock.advance(59)
    await produce(client, "lat", build_batch([NewRecord(None, b"b", timestamp=1)]))
    assert len(plog.segments.base_offsets) == 1
    broker.clock.advance(2)  # 61 s after the segment's first batch: segment.ms rolls it
    await produce(client, "lat", build_batch([NewRecord(None, b"c", timestamp=1)]))
    assert plog.segments.base_offsets == [0, 2]


async def test_create_time_checks_follow_the_broker_clock(broker: Broker, client, mock_clock) -> None:
    broker.create_topic("ct", 1, configs={"message.timestamp.before.max.ms": "60000"})
    created = broker.clock.wall_ms()
    assert (await produce(client, "ct", build_batch([NewRecord(None, b"a", timestamp=created)]))).error_code == 0
    broker.clock.advance(120)  # now the same CreateTime is two minutes in the past
    refused = await produce(client, "ct", build_batch([NewRecord(None, b"b", timestamp=created)]))
    assert refused.error_code == E.INVALID_TIMESTAMP


# -- fetch -----------------------------------------------------------------------------------


async def test_a_parked_fetch_returns_when_the_clock_passes_its_max_wait(
    broker: Broker, client, nursery, mock_clock
) -> None:
    broker.create_topic("f", 1)
    answered: list[object] = []

    async def fetch() -> None:
        answered.append(await client.request(fetch_request("f", 0, max_wait_ms=30_000), 12))

    nursery.start_soon(fetch)
    await settle()
    broker.clock.advance(29)
    await settle()
    assert answered == []
    broker.clock.advance(1)
    await settle()
    [response] = answered
    assert response.responses[0].partitions[0].records in (None, b"")
    assert trio.current_time() == 0  # trio's clock never moved


async def test_reset_unfreezes_the_clock_without_moving_it_back(broker: Broker, mock_clock) -> None:
    broker.clock.freeze()
    broker.clock.advance(10)
    frozen = broker.clock.monotonic()
    broker.reset()
    assert not broker.clock.frozen
    assert broker.clock.monotonic() == pytest.approx(frozen)
    mock_clock.jump(1)
    assert broker.clock.monotonic() == pytest.approx(frozen + 1)
