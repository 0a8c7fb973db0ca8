"""The broker's log cleaner: compact(), the background task, internal topics, restarts."""

from __future__ import annotations

import time

import pytest

from kafkalite.groups.requests import CommitRequest
from kafkalite.testing.thread import run_in_thread


def _fill(broker, topic, rounds=100, keys=10):
    for r in range(rounds):
        broker.produce_batch(topic, [(f"k{k}", f"v{r}") for k in range(keys)], partition=0)


def test_compact_keeps_the_latest_value_per_key_at_its_offset():
    with run_in_thread(memory=True, port=0) as broker:
        broker.create_topic("c", partitions=1, configs={"cleanup.policy": "compact"})
        _fill(broker, "c")
        assert broker.compact("c") == 990
        records = broker.records("c")
        assert [(r.offset, r.key, r.value) for r in records] == [
            (990 + k, f"k{k}".encode(), b"v99") for k in range(10)
        ]
        assert broker.end_offsets("c") == {0: 1000}
        # Appends continue at the log end offset; a second compaction keeps the newest.
        broker.produce("c", "new", key="k0", partition=0)
        broker.compact("c")
        assert [(r.offset, r.value) for r in broker.records("c") if r.key == b"k0"] == [(1000, b"new")]


def test_compact_of_a_delete_topic_does_nothing_and_unknown_topic_raises():
    with run_in_thread(memory=True, port=0) as broker:
        broker.create_topic("d", partitions=1)
        _fill(broker, "d", rounds=2)
        assert broker.compact("d") == 0
        assert len(broker.records("d")) == 20
        with pytest.raises(KeyError):
            broker.compact("nope")


def test_tombstones_go_on_the_first_compaction_after_delete_retention_ms():
    with run_in_thread(memory=True, port=0) as broker:
        broker.create_topic("c", partitions=1, configs={"cleanup.policy": "compact", "delete.retention.ms": "300"})
        _fill(broker, "c", rounds=3, keys=2)
        broker.produce("c", None, key="k0", partition=0)
        broker.compact("c")
        assert [(r.key, r.value) for r in broker.records("c")] == [(b"k1", b"v2"), (b"k0", None)]
        broker.compact("c")  # before delete.retention.ms: still there
        assert (b"k0", None) in [(r.key, r.value) for r in broker.records("c")]
        time.sleep(0.35)
        broker.compact("c")
        assert [(r.key, r.value) for r in broker.records("c")] == [(b"k1", b"v2")]


def test_the_background_cleaner_compacts_by_dirty_ratio():
    with run_in_thread(memory=True, port=0, log_cleaner_backoff_ms=50) as broker:
        broker.create_topic(
            "c", partitions=1,
            configs={"cleanup.policy": "compact", "segment.ms": "50", "min.cleanable.dirty.ratio": "0.01"},
        )
        _fill(broker, "c", rounds=20)
        time.sleep(0.1)
        broker.produce("c", "x", key="sentinel", partition=0)  # rolls: the rest is cleanable
        broker.wait_until(lambda: len(broker.records("c")) == 11, expected="11 records after compaction")
        assert {r.key: r.value for r in broker.records("c")}[b"k3"] == b"v19"


def test_an_open_transaction_holds_back_compaction():
    with run_in_thread(memory=True, port=0) as broker:
        broker.create_topic("c", partitions=1, configs={"cleanup.policy": "compact"})
        _fill(broker, "c", rounds=2, keys=1)

        def open_txn():
            b = broker.broker
            b.producers._open_txns.setdefault(("c", 0), {})[4242] = 0

        broker.call(open_txn)
        assert broker.compact("c") == 0
        assert len(broker.records("c")) == 2


def test_consumer_offsets_are_compacted_and_survive_a_restart(tmp_path):
    config = dict(data_dir=tmp_path, memory=False, port=0, offsets_topic_partitions=1)
    with run_in_thread(**config) as broker:
        broker.create_topic("t", partitions=1)

        def commit(offset):
            return broker.broker.groups.commit_offsets(
                "g", "", None, -1, [CommitRequest("t", 0, offset, -1, None)]
            )

        for offset in range(1, 301):
            broker.call(commit, offset)
        removed = broker.compact("__consumer_offsets")
        assert removed >= 299
        assert broker.committed("g", "t") == 300
    with run_in_thread(**config) as broker:
        assert broker.committed("g", "t") == 300
        broker.call(lambda: broker.broker.groups.commit_offsets("g", "", None, -1, [CommitRequest("t", 0, 301, -1, None)]))
        assert broker.committed("g", "t") == 301


def test_a_restart_keeps_a_compacted_topic_with_its_gaps(tmp_path):
    config = dict(data_dir=tmp_path, memory=False, port=0)
    with run_in_thread(**config) as broker:
        broker.create_topic("c", partitions=1, configs={"cleanup.policy": "compact"})
        _fill(broker, "c", rounds=5, keys=3)
        broker.compact("c")
        before = [(r.offset, r.key, r.value) for r in broker.records("c")]
    with run_in_thread(**config) as broker:
        assert [(r.offset, r.key, r.value) for r in broker.records("c")] == before
        assert [o for o, _, _ in before] == [12, 13, 14]
        assert broker.produce("c", "x", key="k0", partition=0) == (0, 15)


def test_an_idempotent_producer_goes_on_after_compaction_and_a_restart(tmp_path):
    """The producer's last batch survives compaction (its record superseded or not), so the
    broker that restarts from the compacted log knows the producer's sequence: the producer
    goes on without an error and without a duplicate."""
    from confluent_kafka import Producer

    config = dict(data_dir=tmp_path, memory=False)
    with run_in_thread(**config, port=0) as broker:
        port = broker.port
        broker.create_topic("c", partitions=1, configs={"cleanup.policy": "compact"})
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True,
                             "linger.ms": 0})
        for value in (b"1", b"2", b"3"):
            producer.produce("c", key=b"other" if value == b"1" else b"k", value=value, partition=0)
            assert producer.flush(10) == 0
        broker.produce("c", "plain", key="k", partition=0)  # supersedes the producer's last record
        broker.compact("c")
        headers = broker.call(lambda: [h for h, _ in broker.broker.log_for("c", 0).batches_from(0)])
        # The producer's last batch (offset 2) stays, emptied; its first one holds "other".
        assert [(h.base_offset, h.records_count) for h in headers] == [(0, 1), (2, 0), (3, 1)]
    with run_in_thread(**config, port=port) as broker:
        errors = []
        producer.produce("c", key=b"k", value=b"4", partition=0, on_delivery=lambda err, msg: errors.append(err))
        assert producer.flush(20) == 0 and errors == [None]
        assert [(r.offset, r.value) for r in broker.records("c")] == [(0, b"1"), (3, b"plain"), (4, b"4")]
        view = broker.call(lambda: broker.broker.producers.producers_on("c", 0))
        assert [(v.last_sequence) for v in view] == [3]
