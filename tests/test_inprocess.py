"""The in-process API: a broker in a background thread, used from plain threads and trio."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest
import trio
from confluent_kafka import Consumer, Producer

import kafkalite
from kafkalite.testing.thread import BrokerNotRunning, BrokerThread
from kafkalite.testing.waits import WaitTimeout
from kafkalite.tools import Progress


def test_import_kafkalite_is_cheap_and_exports_the_api() -> None:
    import subprocess
    import sys

    code = "import sys, kafkalite; print(sorted(m for m in ('trio', 'kafkalite.server') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert kafkalite.BrokerConfig is not None and kafkalite.serve is not None
    assert kafkalite.run_in_thread is not None
    with pytest.raises(AttributeError):
        kafkalite.no_such_thing  # noqa: B018


def test_run_in_thread_from_a_plain_thread() -> None:
    results: dict[str, object] = {}
    before = sum(1 for t in threading.enumerate() if t.name == "kafkalite-broker")

    def worker() -> None:
        with kafkalite.run_in_thread(partitions=2) as broker:
            producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
            producer.produce("events", key=b"k", value=b"v")
            producer.flush(10)
            results["records"] = broker.wait_for_records("events", 1)
            results["topics"] = broker.topics()
        results["alive"] = sum(1 for t in threading.enumerate() if t.name == "kafkalite-broker") - before

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert [r.value for r in results["records"]] == [b"v"]  # type: ignore[attr-defined]
    assert results["topics"] == {"events": 2}
    assert results["alive"] == 0  # the broker's thread ended with the block


def test_stop_closes_the_port_and_is_idempotent() -> None:
    broker = BrokerThread().start()
    host, port = broker.host, broker.port
    broker.stop()
    broker.stop()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()
    with pytest.raises(BrokerNotRunning):
        broker.topics()


def test_a_broker_that_cannot_start_says_why() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerNotRunning, match="failed to start") as info:
            BrokerThread(port=port).start()
    assert isinstance(info.value.__cause__, OSError)


def test_on_disk_broker_keeps_data_across_restarts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with kafkalite.run_in_thread(data_dir=tmp_path, memory=False) as broker:
        broker.produce("kept", "one")
    with kafkalite.run_in_thread(data_dir=tmp_path, memory=False) as broker:
        assert broker.values("kept") == [b"one"]


def test_wait_for_records_returns_as_soon_as_they_are_there(kafkalite_shared_broker: BrokerThread) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("later")

    def produce_soon() -> None:
        time.sleep(0.2)
        broker.produce_batch("later", ["a", "b"])

    threading.Thread(target=produce_soon).start()
    started = time.monotonic()
    records = broker.wait_for_records("later", 2, timeout=5)
    assert [r.value for r in records] == [b"a", b"b"]
    assert time.monotonic() - started < 1


def test_waits_that_time_out_say_what_was_expected_and_seen(kafkalite_shared_broker: BrokerThread) -> None:
    broker = kafkalite_shared_broker
    broker.produce("one", "x")
    with pytest.raises(WaitTimeout, match=r"one to hold 2 record\(s\); last seen: 1 record\(s\)"):
        broker.wait_for_records("one", 2, timeout=0.1)
    with pytest.raises(WaitTimeout, match="group 'g' to be Stable with 3 member.*last seen: no such group"):
        broker.wait_for_group("g", 3, timeout=0.1)
    with pytest.raises(WaitTimeout, match="commit offset >= 5 on one-0; last seen: no committed offset"):
        broker.wait_for_committed("g", "one", 0, 5, timeout=0.1)


def test_group_helpers_follow_a_real_consumer_group(kafkalite_shared_broker: BrokerThread) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("jobs", 2)
    broker.produce_batch("jobs", ["a", "b", "c"], partition=0)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "workers",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe(["jobs"])
        group = broker.wait_for_group("workers", members=1)
        assert group.state == "Stable" and group.protocol_type == "consumer"
        assert group.assignment() == {("jobs", 0): group.members[0].member_id, ("jobs", 1): group.members[0].member_id}
        assert broker.lag("workers", "jobs") == {0: 3, 1: 0}
        for _ in range(3):
            assert consumer.poll(5) is not None
        consumer.commit(asynchronous=False)
        assert broker.wait_for_committed("workers", "jobs", 0, 3) == 3
        assert broker.lag("workers", "jobs") == {0: 0, 1: 0}
    finally:
        consumer.close()
    assert broker.wait_for_group("workers", state="Empty").members == ()


def test_reset_drops_topics_groups_offsets_and_producers_in_milliseconds() -> None:
    with kafkalite.run_in_thread() as broker:
        broker.create_topic("a", 3)
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True})
        producer.produce("a", value=b"x")
        producer.flush(10)
        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "g",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe(["a"])
        broker.wait_for_group("g", 1)
        message = consumer.poll(10)
        assert message is not None and not message.error()
        # Close first: librdkafka's close() can block forever in its rebalance callback when
        # the group and topic vanish under a live member. The group and its committed offsets
        # stay behind for reset() to drop.
        consumer.close()
        assert broker.groups() != []
        started = time.perf_counter()
        broker.reset()
        elapsed = time.perf_counter() - started
        assert broker.topics() == {} and broker.groups() == []
        assert broker.call(lambda: broker.broker.producers._entries) == {}
        assert elapsed < 0.2


def test_reset_rejects_settings_a_running_broker_cannot_change(kafkalite_shared_broker: BrokerThread) -> None:
    with pytest.raises(ValueError, match="brokers cannot change on a running broker"):
        kafkalite_shared_broker.reset(brokers=2)


async def test_helpers_work_from_inside_a_trio_test(kafkalite_shared_broker: BrokerThread) -> None:
    # Blocking helpers from a trio task (they hand work to the broker's own loop).
    kafkalite_shared_broker.produce("from-trio", "x")
    assert kafkalite_shared_broker.values("from-trio") == [b"x"]
    records = await trio.to_thread.run_sync(kafkalite_shared_broker.wait_for_records, "from-trio", 1)
    assert len(records) == 1


async def test_serve_in_a_nursery_and_shut_down_gracefully() -> None:
    async with trio.open_nursery() as nursery:
        info = await nursery.start(kafkalite.serve, kafkalite.BrokerConfig(host="127.0.0.1", port=0, memory=True))
        stream = await trio.open_tcp_stream(*info.bound[0])
        info.shutdown()
        assert await stream.receive_some(10) == b""  # an idle connection is closed at once
        await stream.aclose()
    # serve returned on its own after the shutdown: the nursery closed.


def test_progress_draws_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress(lambda: "42 records", stream=stream)
        progress.tick()
        progress.done()
    assert tty.getvalue() == "\r\x1b[K42 records\r\x1b[K"
    assert pipe.getvalue() == ""


def test_the_unittest_pattern_of_the_readme() -> None:
    import unittest

    seen: list[str] = []

    class OrdersTest(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            super().setUpClass()
            cls.kafka = kafkalite.run_in_thread(partitions=3)
            cls.addClassCleanup(cls.kafka.stop)

        def setUp(self) -> None:
            self.kafka.reset()

        def test_a(self) -> None:
            self.kafka.produce("orders", "x")
            seen.append(self.kafka.bootstrap_servers)
            self.assertEqual(self.kafka.topics(), {"orders": 3})

        def test_b(self) -> None:
            seen.append(self.kafka.bootstrap_servers)
            self.assertEqual(self.kafka.topics(), {})

    result = unittest.TextTestRunner(stream=io.StringIO()).run(unittest.defaultTestLoader.loadTestsFromTestCase(OrdersTest))
    assert result.wasSuccessful(), result.failures + result.errors
    assert len(set(seen)) == 1 and len(seen) == 2


def test_transaction_helpers_follow_a_transactional_producer(kafkalite_shared_broker: BrokerThread) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("payments", partitions=1)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "transactional.id": "payments-tx"})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce("payments", b"kept")
    producer.commit_transaction(10)
    producer.begin_transaction()
    producer.produce("payments", b"dropped")
    producer.flush(10)
    [open_txn] = broker.open_transactions()
    assert (open_txn.transactional_id, open_txn.state, open_txn.partitions) == ("payments-tx", "Ongoing", (("payments", 0),))
    assert broker.values("payments", committed=True) == [b"kept"]  # not past the open transaction
    assert broker.values("payments") == [b"kept", b"dropped"]
    producer.abort_transaction(10)
    assert broker.wait_for_transaction("payments-tx").state == "CompleteAbort"
    assert broker.values("payments", committed=True) == [b"kept"]
    assert broker.open_transactions() == []
    assert [t.transactional_id for t in broker.transactions("CompleteAbort")] == ["payments-tx"]
