"""Producer id expiration (KIP-854): idle idempotent producer state goes after
producer.id.expiration.ms, checked every producer.id.expiration.check.interval.ms on the broker
clock; a producer with an open transaction keeps its state; the expired producer's next batch
is taken at any sequence, as Kafka takes a producer with no current epoch."""

from __future__ import annotations

import trio
import trio.testing

from kafkalite.broker.producers import ProducerStates, SequenceVerdict
from kafkalite.broker.state import Broker
from kafkalite.server.connection import handle_connection
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.records import NewRecord, build_batch

from .conftest import Client, make_broker
from .test_produce_fetch import produce


def record(states: ProducerStates, pid: int, seq: int, ts: int, *, transactional: bool = False, topic: str = "t") -> None:
    states.record(topic, 0, pid, 0, seq, seq, seq, seq, ts, transactional=transactional)


def test_idle_producers_expire_and_busy_ones_stay() -> None:
    states = ProducerStates()
    record(states, 1, 0, ts=1_000)
    record(states, 2, 0, ts=5_000)
    assert states.remove_expired(now_ms=10_999, expiration_ms=10_000) == 0
    assert states.remove_expired(now_ms=11_000, expiration_ms=10_000) == 1
    assert [v.producer_id for v in states.producers_on("t", 0)] == [2]


def test_a_producer_with_an_open_transaction_keeps_its_state() -> None:
    states = ProducerStates()
    record(states, 1, 0, ts=1_000, transactional=True)
    assert states.remove_expired(now_ms=10**9, expiration_ms=10_000) == 0
    assert states.first_unstable_offset("t", 0) == 0


def test_an_expired_producers_next_batch_is_taken_at_any_sequence() -> None:
    states = ProducerStates()
    pid = states.new_producer_id()
    record(states, pid, 0, ts=1_000)
    assert states.check("t", 0, pid, 0, 5, 5).verdict == SequenceVerdict.OUT_OF_ORDER
    states.remove_expired(now_ms=100_000, expiration_ms=10_000)
    assert states.check("t", 0, pid, 0, 5, 5).verdict == SequenceVerdict.APPEND
    record(states, pid, 5, ts=100_000)
    # Its state is back: sequences are checked again from there.
    assert states.check("t", 0, pid, 0, 9, 9).verdict == SequenceVerdict.OUT_OF_ORDER
    assert states.check("t", 0, pid, 0, 6, 6).verdict == SequenceVerdict.APPEND


def idempotent_batch(pid: int, seq: int, ts: int) -> bytes:
    return build_batch([NewRecord(None, b"v", timestamp=ts)], producer_id=pid, producer_epoch=0, base_sequence=seq)


async def test_the_broker_expires_producers_on_its_clock(nursery: trio.Nursery, autojump_clock) -> None:
    broker: Broker = make_broker(producer_id_expiration_ms=60_000, producer_id_expiration_check_interval_ms=10_000)
    broker.create_topic("t", 1)
    broker.start_background(nursery.start_soon)
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, broker.config.node_id)
    client = Client(ours)
    pid = broker.producers.new_producer_id()
    assert (await produce(client, "t", idempotent_batch(pid, 0, broker.clock.wall_ms()))).error_code == E.NONE
    broker.clock.advance(50)
    await trio.testing.wait_all_tasks_blocked()
    assert len(broker.producers.producers_on("t", 0)) == 1  # idle 50 s of 60
    broker.clock.advance(15)
    await trio.testing.wait_all_tasks_blocked()
    assert broker.producers.producers_on("t", 0) == []
    # Its next batch, sequence 1, is taken as Kafka 4 takes it (no current epoch).
    answer = await produce(client, "t", idempotent_batch(pid, 1, broker.clock.wall_ms()))
    assert (answer.error_code, answer.base_offset) == (E.NONE, 1)
    assert [v.last_sequence for v in broker.producers.producers_on("t", 0)] == [1]


async def test_by_default_a_day_idle_is_kept(nursery: trio.Nursery, autojump_clock) -> None:
    broker = make_broker()
    broker.create_topic("t", 1)
    broker.start_background(nursery.start_soon)
    pid = broker.producers.new_producer_id()
    broker.producers.record("t", 0, pid, 0, 0, 0, 0, 0, broker.clock.wall_ms())
    broker.clock.advance(86_400 - 700)
    await trio.testing.wait_all_tasks_blocked()
    assert len(broker.producers.producers_on("t", 0)) == 1
    broker.clock.advance(1300)  # past a day, and past the next 10-minute check
    await trio.testing.wait_all_tasks_blocked()
    assert broker.producers.producers_on("t", 0) == []
