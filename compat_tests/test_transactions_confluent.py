"""Transactions with confluent-kafka (librdkafka): what an exactly-once application sees.

Every test runs against kafkalite and, unchanged, against the reference Apache Kafka: the
offsets, watermarks and last stable offsets expected here are Kafka's (each commit or abort
marker takes an offset of its own). The one test that restarts the broker is kafkalite-only.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from .conftest import ClientProcess, RestartableBroker, eventually, kill_transformer_and_check_resumes, wait_for_topic

TIMEOUT = 30


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(admin: AdminClient, name: str, partitions: int = 1) -> None:
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, name, partitions)


def txn_producer(bootstrap: str, transactional_id: str, **conf) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id, "linger.ms": 5, **conf})
    producer.init_transactions(TIMEOUT)
    return producer


def read(bootstrap: str, tp: TopicPartition, isolation: str, until: int, idle: float = 0.0) -> list[tuple[int, bytes]]:
    """(offset, value) of the records of *tp* from the start, read with *isolation*.

    Reads until the consumer's position reaches *until* (an offset the log is known to have
    reached: a read_committed consumer gets there too, as it steps over markers and aborted
    records), then *idle* seconds more to show that nothing else arrives.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    records: list[tuple[int, bytes]] = []
    try:
        consumer.assign([TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)])
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            msg = consumer.poll(0.1)
            if msg is not None:
                assert msg.error() is None, msg.error()
                records.append((msg.offset(), msg.value()))
                continue
            (position,) = consumer.position([TopicPartition(tp.topic, tp.partition)])
            if position.offset >= until:
                break
        else:
            raise AssertionError(f"{isolation} consumer stuck at {consumer.position([tp])}; read {records}")
        end = time.monotonic() + idle
        while time.monotonic() < end:
            msg = consumer.poll(0.1)
            if msg is not None:
                assert msg.error() is None, msg.error()
                records.append((msg.offset(), msg.value()))
    finally:
        consumer.close()
    return records


def latest(admin: AdminClient, tp: TopicPartition, isolation: IsolationLevel) -> int:
    futures = admin.list_offsets({tp: OffsetSpec.latest()}, isolation_level=isolation, request_timeout=TIMEOUT)
    return futures[tp].result().offset


def assert_latest(admin: AdminClient, tp: TopicPartition, *, committed: int, uncommitted: int) -> None:
    """ListOffsets latest: the last stable offset read_committed, the high watermark else."""
    got = (latest(admin, tp, IsolationLevel.READ_COMMITTED), latest(admin, tp, IsolationLevel.READ_UNCOMMITTED))
    assert got == (committed, uncommitted)


def test_commit_abort_commit(bootstrap: str, admin: AdminClient, topic_name: str) -> None:
    create_topic(admin, topic_name)
    tp = TopicPartition(topic_name, 0)
    producer = txn_producer(bootstrap, f"txn-{topic_name}")

    def transaction(tag: str, commit: bool) -> None:
        producer.begin_transaction()
        for i in range(5):
            producer.produce(topic_name, value=f"{tag}-{i}".encode(), partition=0)
        if commit:
            producer.commit_transaction(TIMEOUT)
        else:
            assert producer.flush(TIMEOUT) == 0  # the aborted records really reach the log
            producer.abort_transaction(TIMEOUT)

    transaction("first", commit=True)  # offsets 0-4, its COMMIT marker 5
    transaction("aborted", commit=False)  # 6-10, ABORT marker 11
    transaction("second", commit=True)  # 12-16, COMMIT marker 17

    committed = [(o, f"first-{i}".encode()) for i, o in enumerate(range(0, 5))]
    committed += [(o, f"second-{i}".encode()) for i, o in enumerate(range(12, 17))]
    aborted = [(o, f"aborted-{i}".encode()) for i, o in enumerate(range(6, 11))]
    assert read(bootstrap, tp, "read_committed", until=18, idle=0.5) == committed
    assert read(bootstrap, tp, "read_uncommitted", until=18, idle=0.5) == sorted(committed + aborted)

    # No transaction open: the last stable offset is the high watermark, past the last marker.
    # (Kafka's EndTxn answers once the outcome is logged; the markers follow a moment later.)
    eventually(lambda: assert_latest(admin, tp, committed=18, uncommitted=18))

    # An open transaction holds the last stable offset at its first record.
    producer.begin_transaction()
    producer.produce(topic_name, value=b"open-0", partition=0)
    producer.produce(topic_name, value=b"open-1", partition=0)
    assert producer.flush(TIMEOUT) == 0
    assert_latest(admin, tp, committed=18, uncommitted=20)
    assert read(bootstrap, tp, "read_committed", until=18, idle=0.5) == committed
    producer.commit_transaction(TIMEOUT)  # marker 20
    eventually(lambda: assert_latest(admin, tp, committed=21, uncommitted=21))
    assert read(bootstrap, tp, "read_committed", until=21) == committed + [(18, b"open-0"), (19, b"open-1")]


@pytest.mark.parametrize("zombie_next", ["send", "commit"])
def test_second_producer_fences_the_first(
    bootstrap: str, admin: AdminClient, topic_name: str, zombie_next: str
) -> None:
    create_topic(admin, topic_name)
    tp = TopicPartition(topic_name, 0)
    transactional_id = f"txn-{topic_name}"
    zombie = txn_producer(bootstrap, transactional_id)
    zombie.begin_transaction()
    zombie.produce(topic_name, value=b"zombie-0", partition=0)
    assert zombie.flush(TIMEOUT) == 0  # offset 0, in the zombie's open transaction

    # The new incarnation's InitProducerId bumps the epoch and aborts the open transaction.
    successor = txn_producer(bootstrap, transactional_id)
    successor.begin_transaction()
    successor.produce(topic_name, value=b"successor-0", partition=0)
    successor.commit_transaction(TIMEOUT)

    # The zombie learns that it is fenced on its next send (Produce with the old epoch:
    # INVALID_PRODUCER_EPOCH, fatal to a transactional producer) or commit (EndTxn with the
    # old epoch), and every later call fails the same way.
    if zombie_next == "send":
        zombie.produce(topic_name, value=b"zombie-1", partition=0)
        with pytest.raises(KafkaException) as raised:
            zombie.flush(TIMEOUT)
        assert (raised.value.args[0].code(), raised.value.args[0].fatal()) == (KafkaError._FENCED, True)
        assert "Producer attempted an operation with an old epoch" in raised.value.args[0].str()
    with pytest.raises(KafkaException) as raised:
        zombie.commit_transaction(TIMEOUT)
    assert (raised.value.args[0].code(), raised.value.args[0].fatal()) == (KafkaError._FENCED, True)

    # zombie-0 (offset 0) was aborted (marker 1); successor-0 (2) committed (marker 3).
    assert read(bootstrap, tp, "read_committed", until=4, idle=0.5) == [(2, b"successor-0")]
    assert read(bootstrap, tp, "read_uncommitted", until=4) == [(0, b"zombie-0"), (2, b"successor-0")]
    eventually(lambda: assert_latest(admin, tp, committed=4, uncommitted=4))


def test_transaction_timeout_aborts_a_stalled_producer(bootstrap: str, admin: AdminClient, topic_name: str) -> None:
    create_topic(admin, topic_name)
    tp = TopicPartition(topic_name, 0)
    stalled = txn_producer(bootstrap, f"stalled-{topic_name}", **{"transaction.timeout.ms": 2000})
    stalled.begin_transaction()
    for i in range(3):
        stalled.produce(topic_name, value=b"stalled-%d" % i, partition=0)
    assert stalled.flush(TIMEOUT) == 0  # offsets 0-2, then the producer stops
    started = time.monotonic()

    other = txn_producer(bootstrap, f"other-{topic_name}")
    other.begin_transaction()
    for i in range(3):
        other.produce(topic_name, value=b"other-%d" % i, partition=0)
    other.commit_transaction(TIMEOUT)  # 3-5, COMMIT marker 6
    eventually(lambda: assert_latest(admin, tp, committed=0, uncommitted=7))  # held by the stalled one

    # The coordinator aborts the stalled transaction once it is older than its timeout (its
    # check runs every transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by
    # default): the ABORT marker takes offset 7, and a read_committed consumer moves on.
    committed = read(bootstrap, tp, "read_committed", until=8, idle=0.3)
    waited = time.monotonic() - started
    assert committed == [(3, b"other-0"), (4, b"other-1"), (5, b"other-2")]
    assert waited >= 2.0
    eventually(lambda: assert_latest(admin, tp, committed=8, uncommitted=8))

    # The abort bumped the producer's epoch: the stalled producer is fenced.
    with pytest.raises(KafkaException) as raised:
        stalled.commit_transaction(TIMEOUT)
    assert (raised.value.args[0].code(), raised.value.args[0].fatal()) == (KafkaError._FENCED, True)


@pytest.mark.kafkalite_only(reason="restarts the broker process (kill -9) in the middle of transactions")
def test_broker_restart_keeps_commits_and_aborts(restartable_broker: RestartableBroker) -> None:
    bootstrap = restartable_broker.bootstrap
    topic, group = "restart", "restart-group"
    tp = TopicPartition(topic, 0)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    create_topic(admin, topic)
    create_topic(admin, "source")  # the input whose offsets the transactions commit
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    group_metadata = consumer.consumer_group_metadata()
    consumer.close()

    def send(producer: Producer, *values: bytes) -> None:
        for value in values:
            producer.produce(topic, value=value, partition=0)
        assert producer.flush(TIMEOUT) == 0

    def consumed(offset: int) -> list[TopicPartition]:
        return [TopicPartition("source", 0, offset)]

    def group_offsets() -> list[tuple[str, int, int]]:
        offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(TIMEOUT)
        return [(t.topic, t.partition, t.offset) for t in offsets.topic_partitions]

    a = txn_producer(bootstrap, "restart-a")
    a.begin_transaction()
    send(a, b"a1-0", b"a1-1", b"a1-2")  # 0-2
    a.send_offsets_to_transaction(consumed(3), group_metadata, TIMEOUT)
    a.commit_transaction(TIMEOUT)  # COMMIT 3
    a.begin_transaction()
    send(a, b"a2-0", b"a2-1")  # 4-5
    a.abort_transaction(TIMEOUT)  # ABORT 6
    a.begin_transaction()
    send(a, b"a3-0", b"a3-1")  # 7-8, open at the crash
    a.send_offsets_to_transaction(consumed(5), group_metadata, TIMEOUT)  # pending at the crash
    b = txn_producer(bootstrap, "restart-b")
    b.begin_transaction()
    send(b, b"b-0", b"b-1")  # 9-10, open at the crash; its producer never comes back
    assert_latest(admin, tp, committed=7, uncommitted=11)
    assert group_offsets() == [("source", 0, 3)]

    restartable_broker.crash_and_restart()
    admin = AdminClient({"bootstrap.servers": bootstrap})  # a fresh client: no stale errors
    wait_for_topic(admin, topic, 1)

    # Both open transactions were recovered: the last stable offset still waits for them.
    assert_latest(admin, tp, committed=7, uncommitted=11)
    assert group_offsets() == [("source", 0, 3)]
    # a carries on with its transaction, over the restarted broker, and commits it.
    send(a, b"a3-2")  # 11
    a.commit_transaction(TIMEOUT)  # COMMIT 12 (b's transaction still holds the LSO at 9)
    # b's new incarnation aborts what the old one left open.
    b = txn_producer(bootstrap, "restart-b")  # ABORT 13
    eventually(lambda: assert_latest(admin, tp, committed=14, uncommitted=14))

    committed = [(0, b"a1-0"), (1, b"a1-1"), (2, b"a1-2"), (7, b"a3-0"), (8, b"a3-1"), (11, b"a3-2")]
    assert read(bootstrap, tp, "read_committed", until=14, idle=0.3) == committed
    assert group_offsets() == [("source", 0, 5)]

    # A crash after the commits: the same answers, and the transactional ids carry on.
    restartable_broker.crash_and_restart()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wait_for_topic(admin, topic, 1)
    assert_latest(admin, tp, committed=14, uncommitted=14)
    assert read(bootstrap, tp, "read_committed", until=14) == committed
    assert group_offsets() == [("source", 0, 5)]
    b.begin_transaction()
    send(b, b"b2-0")  # 14
    b.commit_transaction(TIMEOUT)  # COMMIT 15
    assert read(bootstrap, tp, "read_committed", until=16) == committed + [(14, b"b2-0")]


# -- consume-transform-produce ------------------------------------------------------------

RECORDS = 1000
BATCH = 50


def transform(bootstrap: str, source: str, sink: str, group: str, transactional_id: str, pause: str) -> None:
    """The exactly-once transformer (a process of its own): each record of *source* becomes
    ``out-VALUE`` in *sink*, BATCH records per transaction with the consumed offsets.

    Prints ``STARTED p:offset ...`` (the committed offsets it resumes from; -1001 for none),
    ``COMMITTED n total`` after its n-th transaction (*total*: the records it has committed
    so far) and ``DONE`` at the end of *source*.
    *pause* ``PHASE:N`` stops (sleeps, to be killed) in its N-th transaction after PHASE:
    ``produced`` (records flushed to *sink*) or ``offsets`` (offsets sent to the transaction).
    """
    phase, _, nth = pause.partition(":")
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id, "linger.ms": 5})
    producer.init_transactions(TIMEOUT)  # aborts what a killed incarnation left open
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",  # also: OffsetFetch waits for stable offsets
        }
    )
    partitions = sorted(consumer.list_topics(source, timeout=TIMEOUT).topics[source].partitions)
    committed = consumer.committed([TopicPartition(source, p) for p in partitions], timeout=TIMEOUT)
    print("STARTED", " ".join(f"{tp.partition}:{tp.offset}" for tp in committed), flush=True)
    consumer.assign([TopicPartition(source, tp.partition, max(tp.offset, OFFSET_BEGINNING)) for tp in committed])
    end = {p: consumer.get_watermark_offsets(TopicPartition(source, p), timeout=TIMEOUT)[1] for p in partitions}
    count = total = 0

    def stop_at(here: str) -> None:
        if here == phase and count + 1 == int(nth):
            print("PAUSED", here, flush=True)
            time.sleep(TIMEOUT)

    while any(tp.offset < end[tp.partition] for tp in consumer.position(consumer.assignment())):
        records = consumer.consume(BATCH, timeout=1)
        if not records:
            continue
        producer.begin_transaction()
        for msg in records:
            assert msg.error() is None, msg.error()
            producer.produce(sink, key=msg.key(), value=b"out-" + msg.value(), partition=0)
        assert producer.flush(TIMEOUT) == 0
        stop_at("produced")
        producer.send_offsets_to_transaction(
            consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), TIMEOUT
        )
        stop_at("offsets")
        producer.commit_transaction(TIMEOUT)
        count += 1
        total += len(records)
        print("COMMITTED", count, total, flush=True)
    consumer.close()
    print("DONE", flush=True)


def test_consume_transform_produce_survives_kill_9(bootstrap: str, admin: AdminClient, topic_name: str) -> None:
    source, sink, group = f"{topic_name}-in", f"{topic_name}-out", f"group-{topic_name}"
    create_topic(admin, source, partitions=2)
    create_topic(admin, sink)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(RECORDS):
        producer.produce(source, key=b"%d" % (i % 2), value=b"%d-%04d" % (i % 2, i), partition=i % 2)
    assert producer.flush(TIMEOUT) == 0
    transactional_id = f"transformer-{topic_name}"

    kill_transformer_and_check_resumes(
        lambda pause: ClientProcess(__name__, "transform", bootstrap, source, sink, group, transactional_id, pause),
        RECORDS,
        BATCH,
    )

    end = eventually(lambda: settled_end(admin, TopicPartition(sink, 0)))
    out = [value for _, value in read(bootstrap, TopicPartition(sink, 0), "read_committed", until=end)]
    everything = read(bootstrap, TopicPartition(sink, 0), "read_uncommitted", until=end)
    assert len(everything) > RECORDS  # the killed transactions' records are in the log, aborted
    expected = [b"out-%d-%04d" % (i % 2, i) for i in range(RECORDS)]
    assert len(out) == RECORDS and Counter(out) == Counter(expected), f"{len(out)} results; duplicates: " + str(
        [v for v, n in Counter(out).items() if n > 1][:10]
    )
    for p in (0, 1):  # each input partition's results in its order
        assert [v for v in out if v.startswith(b"out-%d-" % p)] == [v for v in expected if v.startswith(b"out-%d-" % p)]

    offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(TIMEOUT)
    assert sorted((tp.partition, tp.offset) for tp in offsets.topic_partitions) == [(0, 500), (1, 500)]


def settled_end(admin: AdminClient, tp: TopicPartition) -> int:
    """The end of *tp*'s log once no transaction is open on it (LSO == high watermark)."""
    committed, uncommitted = (latest(admin, tp, level) for level in IsolationLevel)
    assert committed == uncommitted, f"a transaction is still open on {tp.topic}: {committed} < {uncommitted}"
    return committed


if __name__ == "__main__" and sys.argv[1] == "transform":
    transform(*sys.argv[2:])
