"""Transactions with kafka-python: what an exactly-once application sees.

The same pictures as test_transactions_confluent.py, with kafka-python's producer, consumer
and admin client (which also describes transactions and producers, KIP-664). Every test runs
against kafkalite and, unchanged, against the reference Apache Kafka; the one that restarts
the broker is kafkalite-only.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import errors as Errors
from kafka.admin import NewTopic, OffsetSpec
from kafka.net.inet import KafkaNetSocket
from kafka.protocol.consumer.offsets import IsolationLevel
from kafka.structs import OffsetAndMetadata, TopicPartition

from .conftest import ClientProcess, RestartableBroker, eventually, kill_transformer_and_check_resumes

TIMEOUT = 30


@pytest.fixture
def admin(bootstrap: str):
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield client
    client.close()


def create_topic(admin: KafkaAdminClient, name: str, partitions: int = 1) -> None:
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])

    def shown() -> None:  # Kafka's broker serves a new topic a moment after CreateTopics answers
        (described,) = admin.describe_topics([name])
        assert described["error_code"] == 0 and len(described["partitions"]) == partitions, described

    eventually(shown)


def txn_producer(bootstrap: str, transactional_id: str, **conf) -> KafkaProducer:
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id, linger_ms=5, **conf)
    producer.init_transactions()
    return producer


def read(bootstrap: str, tp: TopicPartition, isolation: str, until: int, idle: float = 0.0) -> list[tuple[int, bytes]]:
    """(offset, value) of the records of *tp* from the start, read with *isolation*.

    Reads until the consumer's position reaches *until* (an offset the log is known to have
    reached: a read_committed consumer gets there too, as it steps over markers and aborted
    records), then *idle* seconds more to show that nothing else arrives.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation, enable_auto_commit=False)
    records: list[tuple[int, bytes]] = []
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + TIMEOUT
        while consumer.position(tp) < until:
            assert time.monotonic() < deadline, f"{isolation} consumer stuck at {consumer.position(tp)}: {records}"
            for batch in consumer.poll(timeout_ms=100).values():
                records += [(m.offset, m.value) for m in batch]
        end = time.monotonic() + idle
        while time.monotonic() < end:
            for batch in consumer.poll(timeout_ms=100).values():
                records += [(m.offset, m.value) for m in batch]
    finally:
        consumer.close()
    return records


def assert_latest(admin: KafkaAdminClient, tp: TopicPartition, *, committed: int, uncommitted: int) -> None:
    """ListOffsets latest: the last stable offset read_committed, the high watermark else."""
    got = tuple(
        admin.list_partition_offsets({tp: OffsetSpec.LATEST}, isolation_level=level)[tp].offset
        for level in (IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED)
    )
    assert got == (committed, uncommitted)


def test_commit_abort_commit(bootstrap: str, admin: KafkaAdminClient, topic_name: str) -> None:
    create_topic(admin, topic_name)
    tp = TopicPartition(topic_name, 0)
    producer = txn_producer(bootstrap, f"txn-{topic_name}")

    def transaction(tag: str, commit: bool) -> None:
        producer.begin_transaction()
        for i in range(5):
            producer.send(topic_name, value=f"{tag}-{i}".encode(), partition=0)
        if commit:
            producer.commit_transaction()
        else:
            producer.flush(TIMEOUT)  # the aborted records really reach the log
            producer.abort_transaction()

    try:
        transaction("first", commit=True)  # offsets 0-4, its COMMIT marker 5
        transaction("aborted", commit=False)  # 6-10, ABORT marker 11
        transaction("second", commit=True)  # 12-16, COMMIT marker 17

        committed = [(o, f"first-{i}".encode()) for i, o in enumerate(range(0, 5))]
        committed += [(o, f"second-{i}".encode()) for i, o in enumerate(range(12, 17))]
        aborted = [(o, f"aborted-{i}".encode()) for i, o in enumerate(range(6, 11))]
        assert read(bootstrap, tp, "read_committed", until=18, idle=0.5) == committed
        assert read(bootstrap, tp, "read_uncommitted", until=18, idle=0.5) == sorted(committed + aborted)
        # No transaction open: the last stable offset is the high watermark, past the last
        # marker. (Kafka's EndTxn answers once the outcome is logged; the markers follow.)
        eventually(lambda: assert_latest(admin, tp, committed=18, uncommitted=18))

        # An open transaction holds the last stable offset at its first record, for ListOffsets
        # and for a read_committed consumer's end_offsets; Fetch's high watermark is the log's.
        producer.begin_transaction()
        producer.send(topic_name, value=b"open-0", partition=0)
        producer.send(topic_name, value=b"open-1", partition=0)
        producer.flush(TIMEOUT)
        assert_latest(admin, tp, committed=18, uncommitted=20)
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
        try:
            assert consumer.end_offsets([tp]) == {tp: 18}
            consumer.assign([tp])
            consumer.seek(tp, 12)
            polled: list[tuple[int, bytes]] = []
            deadline = time.monotonic() + TIMEOUT
            while len(polled) < 5 or consumer.highwater(tp) is None:
                assert time.monotonic() < deadline, polled
                for batch in consumer.poll(timeout_ms=100).values():
                    polled += [(m.offset, m.value) for m in batch]
            assert polled == committed[5:]
            assert consumer.highwater(tp) == 20
        finally:
            consumer.close()
        producer.commit_transaction()  # marker 20
        eventually(lambda: assert_latest(admin, tp, committed=21, uncommitted=21))
        assert read(bootstrap, tp, "read_committed", until=21) == committed + [(18, b"open-0"), (19, b"open-1")]
    finally:
        producer.close(timeout=5)


@pytest.mark.parametrize("zombie_next", ["send", "commit"])
def test_second_producer_fences_the_first(
    bootstrap: str, admin: KafkaAdminClient, topic_name: str, zombie_next: str
) -> None:
    create_topic(admin, topic_name)
    tp = TopicPartition(topic_name, 0)
    transactional_id = f"txn-{topic_name}"
    zombie = txn_producer(bootstrap, transactional_id)
    successor = None
    try:
        zombie.begin_transaction()
        zombie.send(topic_name, value=b"zombie-0", partition=0)
        zombie.flush(TIMEOUT)  # offset 0, in the zombie's open transaction
        before = admin.describe_transactions([transactional_id])[transactional_id]
        assert (before.state.value, before.topic_partitions) == ("Ongoing", {tp})
        assert before.transaction_start_time_ms > 0

        # The new incarnation's InitProducerId bumps the epoch and aborts the open transaction.
        successor = txn_producer(bootstrap, transactional_id)
        after = admin.describe_transactions([transactional_id])[transactional_id]
        assert (after.state.value, after.topic_partitions, after.transaction_start_time_ms) == ("Empty", set(), -1)
        assert (after.producer_id, after.producer_epoch) == (before.producer_id, before.producer_epoch + 2)  # fence, init
        successor.begin_transaction()
        successor.send(topic_name, value=b"successor-0", partition=0)
        successor.commit_transaction()

        # The zombie learns that it is fenced on its next send (Produce with the old epoch:
        # INVALID_PRODUCER_EPOCH) or commit (EndTxn with the old epoch: PRODUCER_FENCED).
        if zombie_next == "send":
            future = zombie.send(topic_name, value=b"zombie-1", partition=0)
            with pytest.raises(Errors.InvalidProducerEpochError):
                future.get(TIMEOUT)
            with pytest.raises(Errors.KafkaError):  # the transaction cannot commit any more
                zombie.commit_transaction()
        else:
            with pytest.raises(Errors.ProducerFencedError):
                zombie.commit_transaction()

        # zombie-0 (offset 0) was aborted (marker 1); successor-0 (2) committed (marker 3).
        assert read(bootstrap, tp, "read_committed", until=4, idle=0.5) == [(2, b"successor-0")]
        assert read(bootstrap, tp, "read_uncommitted", until=4) == [(0, b"zombie-0"), (2, b"successor-0")]
        eventually(lambda: assert_latest(admin, tp, committed=4, uncommitted=4))
    finally:
        zombie.close(timeout=5)
        if successor is not None:
            successor.close(timeout=5)


def test_transaction_timeout_aborts_a_stalled_producer(bootstrap: str, admin: KafkaAdminClient, topic_name: str) -> None:
    create_topic(admin, topic_name)
    tp = TopicPartition(topic_name, 0)
    stalled_id = f"stalled-{topic_name}"
    stalled = txn_producer(bootstrap, stalled_id, transaction_timeout_ms=2000)
    other = txn_producer(bootstrap, f"other-{topic_name}")
    try:
        stalled.begin_transaction()
        for i in range(3):
            stalled.send(topic_name, value=b"stalled-%d" % i, partition=0)
        stalled.flush(TIMEOUT)  # offsets 0-2, then the producer stops
        started = time.monotonic()
        other.begin_transaction()
        for i in range(3):
            other.send(topic_name, value=b"other-%d" % i, partition=0)
        other.commit_transaction()  # 3-5, COMMIT marker 6
        eventually(lambda: assert_latest(admin, tp, committed=0, uncommitted=7))  # held by the stalled one
        before = admin.describe_transactions([stalled_id])[stalled_id]
        assert (before.state.value, before.transaction_timeout_ms, before.topic_partitions) == ("Ongoing", 2000, {tp})
        # DescribeProducers (KIP-664): the stalled producer's transaction starts at offset 0.
        producers = admin.describe_producers([tp])[tp].active_producers
        assert {p.producer_id: p.current_transaction_start_offset for p in producers} == {
            before.producer_id: 0,
            next(p.producer_id for p in producers if p.producer_id != before.producer_id): -1,
        }

        # The coordinator aborts the stalled transaction once it is older than its timeout (its
        # check runs every transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by
        # default), bumping the epoch: the ABORT marker takes offset 7, and a read_committed
        # consumer moves on.
        committed = read(bootstrap, tp, "read_committed", until=8, idle=0.3)
        assert committed == [(3, b"other-0"), (4, b"other-1"), (5, b"other-2")]
        assert time.monotonic() - started >= 2.0
        eventually(lambda: assert_latest(admin, tp, committed=8, uncommitted=8))
        after = admin.describe_transactions([stalled_id])[stalled_id]
        assert (after.state.value, after.topic_partitions) == ("CompleteAbort", set())
        assert (after.producer_id, after.producer_epoch) == (before.producer_id, before.producer_epoch + 1)
        producers = admin.describe_producers([tp])[tp].active_producers
        assert all(p.current_transaction_start_offset == -1 for p in producers), producers

        with pytest.raises(Errors.ProducerFencedError):  # its epoch is no longer current
            stalled.commit_transaction()
    finally:
        stalled.close(timeout=5)
        other.close(timeout=5)


@pytest.fixture
def close_refused_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """kafka-python 3.0.12 leaves the socket of a refused connection open (KafkaNetSocket.
    sock_connect raises without closing it, and the traceback keeps it alive until the end of
    the session, where it fails the run with a ResourceWarning). Its clients reconnect while
    a broker restarts: close the socket of each failed attempt, as the client should."""
    original = KafkaNetSocket.sock_connect

    async def sock_connect(self, net, sock, sockaddr, timeout_at=None):
        try:
            return await original(self, net, sock, sockaddr, timeout_at=timeout_at)
        except BaseException:
            sock.close()
            raise

    monkeypatch.setattr(KafkaNetSocket, "sock_connect", sock_connect)


@pytest.mark.kafkalite_only(reason="restarts the broker process (kill -9) in the middle of transactions")
@pytest.mark.usefixtures("close_refused_sockets")
def test_broker_restart_keeps_commits_and_aborts(restartable_broker: RestartableBroker) -> None:
    bootstrap = restartable_broker.bootstrap
    topic, group = "restart", "restart-group"
    tp = TopicPartition(topic, 0)
    source = TopicPartition("source", 0)  # the input whose offsets the transactions commit
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    create_topic(admin, topic)
    create_topic(admin, source.topic)
    producers: list[KafkaProducer] = []

    def producer(transactional_id: str) -> KafkaProducer:
        producers.append(txn_producer(bootstrap, transactional_id))
        return producers[-1]

    def send(p: KafkaProducer, *values: bytes) -> None:
        for value in values:
            p.send(topic, value=value, partition=0)
        p.flush(TIMEOUT)

    def consumed(offset: int) -> dict[TopicPartition, OffsetAndMetadata]:
        return {source: OffsetAndMetadata(offset, "", -1)}

    def group_offsets() -> dict[TopicPartition, int]:
        return {t: o.offset for t, o in admin.list_group_offsets({group: None})[group].items()}

    def describe(transactional_id: str) -> tuple[str, set[TopicPartition]]:
        described = admin.describe_transactions([transactional_id])[transactional_id]
        return described.state.value, described.topic_partitions

    try:
        a = producer("restart-a")
        a.begin_transaction()
        send(a, b"a1-0", b"a1-1", b"a1-2")  # 0-2
        a.send_offsets_to_transaction(consumed(3), group)
        a.commit_transaction()  # COMMIT 3
        a.begin_transaction()
        send(a, b"a2-0", b"a2-1")  # 4-5
        a.abort_transaction()  # ABORT 6
        a.begin_transaction()
        send(a, b"a3-0", b"a3-1")  # 7-8, open at the crash
        a.send_offsets_to_transaction(consumed(5), group)  # pending at the crash
        b = producer("restart-b")
        b.begin_transaction()
        send(b, b"b-0", b"b-1")  # 9-10, open at the crash; this producer never comes back
        assert_latest(admin, tp, committed=7, uncommitted=11)
        assert group_offsets() == {source: 3}
        open_a = describe("restart-a")
        assert open_a[0] == "Ongoing" and tp in open_a[1]

        restartable_broker.crash_and_restart()
        admin.close()
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)

        # Both open transactions were recovered from __transaction_state and the logs: the
        # last stable offset still waits for them, and the pending offsets stay pending.
        assert describe("restart-a") == open_a
        assert describe("restart-b") == ("Ongoing", {tp})
        assert_latest(admin, tp, committed=7, uncommitted=11)
        assert group_offsets() == {source: 3}
        # a carries on with its transaction over the restarted broker, and commits it.
        send(a, b"a3-2")  # 11
        a.commit_transaction()  # COMMIT 12 (b's transaction still holds the LSO at 9)
        # b's new incarnation aborts what the old one left open.
        b = producer("restart-b")  # ABORT 13
        eventually(lambda: assert_latest(admin, tp, committed=14, uncommitted=14))
        committed = [(0, b"a1-0"), (1, b"a1-1"), (2, b"a1-2"), (7, b"a3-0"), (8, b"a3-1"), (11, b"a3-2")]
        assert read(bootstrap, tp, "read_committed", until=14, idle=0.3) == committed
        assert group_offsets() == {source: 5}

        # A crash after the commits: the same answers, and the transactional ids carry on.
        restartable_broker.crash_and_restart()
        admin.close()
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        assert describe("restart-a")[0] == "CompleteCommit"
        assert describe("restart-b")[0] == "Empty"
        assert_latest(admin, tp, committed=14, uncommitted=14)
        assert read(bootstrap, tp, "read_committed", until=14) == committed
        assert group_offsets() == {source: 5}
        b.begin_transaction()
        send(b, b"b2-0")  # 14
        b.commit_transaction()  # COMMIT 15
        assert read(bootstrap, tp, "read_committed", until=16) == committed + [(14, b"b2-0")]
    finally:
        for p in producers:
            p.close(timeout=2)
        admin.close()


# -- consume-transform-produce ------------------------------------------------------------

RECORDS = 1000
BATCH = 50


def transform(bootstrap: str, source: str, sink: str, group: str, transactional_id: str, pause: str) -> None:
    """The exactly-once transformer (a process of its own): each record of *source* becomes
    ``out-VALUE`` in *sink*, up to BATCH records per transaction with the consumed offsets.

    Prints ``STARTED p:offset ...`` (the committed offsets it resumes from; -1 for none),
    ``COMMITTED n total`` after its n-th transaction (*total*: the records it has committed
    so far) and ``DONE`` at the end of *source*. *pause* ``PHASE:N`` stops (sleeps, to be
    killed) in its N-th transaction after PHASE: ``produced`` (records flushed to *sink*) or
    ``offsets`` (offsets sent to the transaction).
    """
    phase, _, nth = pause.partition(":")
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id, linger_ms=5)
    producer.init_transactions()  # aborts what a killed incarnation left open
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",  # also: OffsetFetch waits for stable offsets
    )
    tps = [TopicPartition(source, p) for p in sorted(consumer.partitions_for_topic(source))]
    consumer.assign(tps)
    committed = {tp: consumer.committed(tp) for tp in tps}
    print("STARTED", " ".join(f"{tp.partition}:{committed[tp] if committed[tp] is not None else -1}" for tp in tps))
    sys.stdout.flush()
    for tp in tps:
        if committed[tp] is None:
            consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed[tp])
    end = consumer.end_offsets(tps)
    count = total = 0

    def stop_at(here: str) -> None:
        if here == phase and count + 1 == int(nth):
            print("PAUSED", here, flush=True)
            time.sleep(TIMEOUT)

    while any(consumer.position(tp) < end[tp] for tp in tps):
        polled = consumer.poll(timeout_ms=1000, max_records=BATCH)
        records = [m for batch in polled.values() for m in batch]
        if not records:
            continue
        producer.begin_transaction()
        for m in records:
            producer.send(sink, key=m.key, value=b"out-" + m.value, partition=0)
        producer.flush(TIMEOUT)
        stop_at("produced")
        offsets = {tp: OffsetAndMetadata(consumer.position(tp), "", -1) for tp in tps}
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        stop_at("offsets")
        producer.commit_transaction()
        count += 1
        total += len(records)
        print("COMMITTED", count, total, flush=True)
    consumer.close()
    producer.close(timeout=5)
    print("DONE", flush=True)


def test_consume_transform_produce_survives_kill_9(bootstrap: str, admin: KafkaAdminClient, topic_name: str) -> None:
    source, sink, group = f"{topic_name}-in", f"{topic_name}-out", f"group-{topic_name}"
    create_topic(admin, source, partitions=2)
    create_topic(admin, sink)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    for i in range(RECORDS):
        producer.send(source, key=b"%d" % (i % 2), value=b"%d-%04d" % (i % 2, i), partition=i % 2)
    producer.flush(TIMEOUT)
    producer.close(timeout=5)
    transactional_id = f"transformer-{topic_name}"

    kill_transformer_and_check_resumes(
        lambda pause: ClientProcess(__name__, "transform", bootstrap, source, sink, group, transactional_id, pause),
        RECORDS,
        BATCH,
    )

    tp = TopicPartition(sink, 0)
    end = eventually(lambda: settled_end(admin, tp))
    out = [value for _, value in read(bootstrap, tp, "read_committed", until=end)]
    assert len(read(bootstrap, tp, "read_uncommitted", until=end)) > RECORDS  # killed transactions' records
    expected = [b"out-%d-%04d" % (i % 2, i) for i in range(RECORDS)]
    duplicates = [v for v, n in Counter(out).items() if n > 1]
    assert len(out) == RECORDS and Counter(out) == Counter(expected), f"{len(out)} results; duplicates {duplicates[:10]}"
    for p in (0, 1):  # each input partition's results in its order
        prefix = b"out-%d-" % p
        assert [v for v in out if v.startswith(prefix)] == [v for v in expected if v.startswith(prefix)]

    offsets = admin.list_group_offsets({group: None})[group]
    assert {tp: o.offset for tp, o in offsets.items()} == {TopicPartition(source, 0): 500, TopicPartition(source, 1): 500}


def settled_end(admin: KafkaAdminClient, tp: TopicPartition) -> int:
    """The end of *tp*'s log once no transaction is open on it (LSO == high watermark)."""
    ends = [
        admin.list_partition_offsets({tp: OffsetSpec.LATEST}, isolation_level=level)[tp].offset
        for level in (IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED)
    ]
    assert ends[0] == ends[1], f"a transaction is still open on {tp.topic}: {ends}"
    return ends[0]


if __name__ == "__main__" and sys.argv[1] == "transform":
    transform(*sys.argv[2:])
