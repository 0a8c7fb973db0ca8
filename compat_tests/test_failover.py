"""Broker failures in a three-broker kafkalite cluster, with confluent-kafka and kafka-python.

The reference harness runs one Kafka broker, so these tests of a running cluster are
kafkalite's only. The cluster runs in this process (`kafkalite.run_in_thread(brokers=3)`);
brokers are stopped and started with its fixed methods, ``stop_node`` and ``start_node``.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
import warnings
from typing import Any, Iterator

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KTopicPartition
from kafka.errors import KafkaTimeoutError
from kafka.net.inet import KafkaNetSocket

import kafkalite

from .conftest import wait_until

pytestmark = pytest.mark.kafkalite_only(reason="a cluster of three brokers that stop and start: the reference runs one")

TIMEOUT = 30


@pytest.fixture(scope="module")
def cluster() -> Iterator[kafkalite.BrokerThread]:
    with kafkalite.run_in_thread(brokers=3, offsets_topic_partitions=3, transaction_state_partitions=3) as broker:
        yield broker


@pytest.fixture
def brokers(cluster: kafkalite.BrokerThread) -> Iterator[kafkalite.BrokerThread]:
    yield cluster
    for node in (0, 1, 2):
        cluster.start_node(node)
    # The next test starts from a healthy cluster: every replica back in sync.
    wait_until(lambda: not under_replicated(cluster), TIMEOUT, "every ISR full again")


def under_replicated(brokers: kafkalite.BrokerThread) -> list[str]:
    def check() -> list[str]:
        return [
            f"{topic.name}-{p.partition_index}"
            for topic in brokers.broker.cluster.topics.values() for p in topic.partitions
            if sorted(p.isr) != sorted(p.replicas)
        ]

    return brokers.call(check)


@pytest.fixture
def topic() -> str:
    return f"failover-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def close_refused_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """kafka-python 3.0.12 leaves the socket of a refused connection open (see the same
    fixture in test_transactions_kafka_python.py): close it, as the client should, so that
    connecting to a stopped broker does not fail a later test with a ResourceWarning."""
    original = KafkaNetSocket.sock_connect

    async def sock_connect(self, net, sock, sockaddr, timeout_at=None):
        try:
            return await original(self, net, sock, sockaddr, timeout_at=timeout_at)
        except BaseException:
            sock.close()
            raise

    monkeypatch.setattr(KafkaNetSocket, "sock_connect", sock_connect)


def address(brokers: kafkalite.BrokerThread, node: int) -> str:
    return brokers.bootstrap_servers.split(",")[node]


def partition(brokers: kafkalite.BrokerThread, topic: str, index: int = 0) -> tuple[int, list[int], int]:
    """(leader, ISR, leader epoch) of a partition, as the controller has it."""
    state = brokers.call(brokers.broker.cluster.partition, topic, index)
    return state.leader_id, list(state.isr), state.leader_epoch


# -- bootstrap.servers: the seed's advice to list every broker ----------------------------


def test_confluent_bootstrap_with_only_a_stopped_broker_cannot_connect_with_all_carries_on(
    brokers: kafkalite.BrokerThread, topic: str
) -> None:
    brokers.create_topic(topic, 1, replication_factor=3)
    brokers.stop_node(0, clean=False)
    lone = Producer({"bootstrap.servers": address(brokers, 0), "message.timeout.ms": 2000})
    failed: list[KafkaError] = []
    lone.produce(topic, b"lost", on_delivery=lambda err, msg: failed.append(err))
    lone.flush(10)
    assert [e.code() for e in failed] == [KafkaError._MSG_TIMED_OUT]
    every = Producer({"bootstrap.servers": brokers.bootstrap_servers, "message.timeout.ms": 10000})
    delivered: list[Any] = []
    every.produce(topic, b"kept", on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
    every.flush(15)
    assert delivered == [(None, 0)]


@pytest.mark.usefixtures("close_refused_sockets")
def test_kafka_python_bootstrap_with_only_a_stopped_broker_cannot_connect_with_all_carries_on(
    brokers: kafkalite.BrokerThread, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    brokers.create_topic(topic, 1, replication_factor=3)
    brokers.stop_node(0, clean=False)
    # A client whose constructor fails leaves its sockets to the garbage collector
    # (kafka-python's doing): collect them here, with that warning off.
    # (Its log records would keep the half-made client alive: none are made meanwhile.)
    with warnings.catch_warnings(), caplog.at_level(logging.CRITICAL + 1, logger="kafka"):
        warnings.simplefilter("ignore", ResourceWarning)
        refused = None
        try:
            KafkaProducer(bootstrap_servers=[address(brokers, 0)], bootstrap_timeout_ms=2000)
        except KafkaTimeoutError as exc:
            refused = str(exc)
        gc.collect()  # the traceback (and the half-made client in it) is gone by now
    assert refused is not None and "Unable to bootstrap" in refused
    producer = KafkaProducer(bootstrap_servers=brokers.bootstrap_servers.split(","), acks="all")
    try:
        assert producer.send(topic, b"kept").get(TIMEOUT).offset == 0
    finally:
        producer.close()


# -- a consumer group across a leader move and a coordinator move -------------------------


def coordinator(brokers: kafkalite.BrokerThread, group: str) -> int | None:
    async def node() -> int | None:  # (a task: it may create __consumer_offsets)
        return brokers.broker.groups.coordinator_node(group)

    return brokers.run(node)


def produce_range(brokers: kafkalite.BrokerThread, topic: str, numbers: range) -> None:
    producer = Producer({"bootstrap.servers": brokers.bootstrap_servers, "acks": "all", "enable.idempotence": True})
    failed: list[Any] = []
    for n in numbers:
        producer.produce(topic, str(n).encode(), on_delivery=lambda err, msg: err and failed.append(err))
    assert producer.flush(TIMEOUT) == 0 and failed == []


def moves(brokers: kafkalite.BrokerThread, topic: str, group: str) -> Iterator[str]:
    """Between the steps of a consuming test: the topic's leader stops, then (with it back)
    the group's coordinator stops; both hard. Yields what just happened."""
    leader = partition(brokers, topic)[0]
    brokers.stop_node(leader, clean=False)
    produce_range(brokers, topic, range(100, 150))
    yield f"leader {leader} stopped"
    brokers.start_node(leader)
    old = coordinator(brokers, group)
    brokers.stop_node(old, clean=False)
    assert coordinator(brokers, group) not in (old, None)
    produce_range(brokers, topic, range(150, 200))
    yield f"coordinator {old} stopped"


def check_once_each(received: list[int], uncommitted: set[int]) -> None:
    """Every number once, in order; a number seen twice only if its commit failed."""
    assert sorted(set(received)) == list(range(200)), sorted(set(range(200)) - set(received))
    seen: set[int] = set()
    for n in received:
        assert n not in seen or n in uncommitted, f"{n} delivered again after its commit succeeded"
        seen.add(n)


def test_confluent_group_keeps_consuming_across_leader_and_coordinator_moves(
    brokers: kafkalite.BrokerThread, topic: str
) -> None:
    group = f"group-{topic}"
    brokers.create_topic(topic, 1, replication_factor=3)
    produce_range(brokers, topic, range(100))
    consumer = Consumer({
        "bootstrap.servers": brokers.bootstrap_servers, "group.id": group, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 100,
    })
    received: list[int] = []
    uncommitted: set[int] = set()
    steps = moves(brokers, topic, group)
    try:
        consumer.subscribe([topic])
        for target in (50, 150, 200):
            deadline = time.monotonic() + TIMEOUT
            while len(set(received)) < target:
                assert time.monotonic() < deadline, f"stuck at {len(set(received))} of {target}"
                msg = consumer.poll(0.2)
                if msg is None or msg.error():
                    continue
                received.append(int(msg.value()))
                try:
                    consumer.commit(msg, asynchronous=False)
                except Exception:  # NOT_COORDINATOR while it moves: this one may come again
                    uncommitted.add(received[-1])
            next(steps, None)
        committed = consumer.committed([TopicPartition(topic, 0)], timeout=TIMEOUT)
    finally:
        consumer.close()
    check_once_each(received, uncommitted)
    assert committed[0].offset == 200


@pytest.mark.usefixtures("close_refused_sockets")
def test_kafka_python_group_keeps_consuming_across_leader_and_coordinator_moves(
    brokers: kafkalite.BrokerThread, topic: str
) -> None:
    group = f"group-{topic}"
    brokers.create_topic(topic, 1, replication_factor=3)
    produce_range(brokers, topic, range(100))
    consumer = KafkaConsumer(
        bootstrap_servers=brokers.bootstrap_servers.split(","), group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=100,
    )
    received: list[int] = []
    uncommitted: set[int] = set()
    steps = moves(brokers, topic, group)
    tp = KTopicPartition(topic, 0)
    try:
        consumer.subscribe([topic])
        for target in (50, 150, 200):
            deadline = time.monotonic() + TIMEOUT
            while len(set(received)) < target:
                assert time.monotonic() < deadline, f"stuck at {len(set(received))} of {target}"
                for records in consumer.poll(timeout_ms=200, max_records=10).values():
                    for record in records:
                        received.append(int(record.value))
                        try:
                            consumer.commit()
                        except Exception:  # NOT_COORDINATOR while it moves: may come again
                            uncommitted.add(received[-1])
            next(steps, None)
        committed = consumer.committed(tp)
    finally:
        consumer.close()
    check_once_each(received, uncommitted)
    assert committed == 200


# -- acks=all through a leader's hard stop and restart, then another broker's --------------

RECORDS = 20_000


class Acks:
    """What the producer was told: acknowledged values in offset order, and errors."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_offset: dict[int, int] = {}
        self.errors: list[str] = []
        # The producer waits at these records until a failure is over, so that each failure
        # happens while it sends (and it never finishes before them).
        self.gates = {RECORDS // 2: threading.Event(), RECORDS * 3 // 4: threading.Event()}

    def pace(self, n: int, poll: Any = None) -> None:
        """Before record *n*: wait at a gate (polling *poll* for deliveries meanwhile), and
        pause a little every 20 records, so that the failures find records in flight."""
        gate = self.gates.get(n)
        while gate is not None and not gate.wait(0.01):
            if poll is not None:
                poll(0)
        if n % 20 == 0:
            time.sleep(0.001)

    def add(self, offset: int, value: int) -> None:
        with self.lock:
            self.by_offset[offset] = value

    def count(self) -> int:
        with self.lock:
            return len(self.by_offset)

    def values(self) -> list[int]:
        return [self.by_offset[o] for o in sorted(self.by_offset)]


def through_two_failures(brokers: kafkalite.BrokerThread, topic: str, acks: Acks, done: threading.Event) -> list[int]:
    """While the producer runs: hard-stop the leader (the ISR shrinks to 2), start it again
    (the ISR grows back to 3), then hard-stop and start another broker. Returns the leader
    epochs seen."""
    leader, isr, epoch = partition(brokers, topic)
    epochs = [epoch]
    assert sorted(isr) == [0, 1, 2]
    for step, (victim, gate) in enumerate(zip((leader, None), acks.gates.values())):
        wait_until(lambda: acks.count() >= RECORDS * (step + 1) // 4, TIMEOUT, "records acknowledged")
        assert not done.is_set()
        if victim is None:  # the second time: a broker other than the first one
            victim = next(n for n in (0, 1, 2) if n != leader)
        brokers.stop_node(victim, clean=False)
        new_leader, isr, epoch = partition(brokers, topic)
        assert victim not in isr and len(isr) == 2 and new_leader != victim
        epochs.append(epoch)
        # acks=all goes on with two in sync (min.insync.replicas=2) up to the gate
        wait_until(lambda: acks.count() >= RECORDS * (step + 2) // 4, TIMEOUT, "acknowledged with one broker down")
        brokers.start_node(victim)
        wait_until(lambda: len(partition(brokers, topic)[1]) == 3, TIMEOUT, f"broker {victim} back in the ISR")
        gate.set()
    return epochs


def read_back(brokers: kafkalite.BrokerThread, topic: str, count: int) -> list[int]:
    consumer = Consumer({"bootstrap.servers": brokers.bootstrap_servers, "group.id": f"check-{topic}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 50})
    values: list[int] = []
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + TIMEOUT
        while len(values) < count and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.2):
                assert msg.error() is None, msg.error()
                values.append(int(msg.value()))
    finally:
        consumer.close()
    return values


def test_confluent_acks_all_idempotent_survives_a_leader_and_another_broker_stopping(
    brokers: kafkalite.BrokerThread, topic: str
) -> None:
    brokers.create_topic(topic, 1, replication_factor=3, configs={"min.insync.replicas": "2"})
    acks, done = Acks(), threading.Event()
    producer = Producer({"bootstrap.servers": brokers.bootstrap_servers, "acks": "all",
                         "enable.idempotence": True, "linger.ms": 5})

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            acks.errors.append(str(err))
        else:
            acks.add(msg.offset(), int(msg.value()))

    def produce() -> None:
        for n in range(RECORDS):
            acks.pace(n, producer.poll)
            while True:
                try:
                    producer.produce(topic, str(n).encode(), on_delivery=on_delivery)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
            producer.poll(0)
        producer.flush(60)
        done.set()

    sender = threading.Thread(target=produce, daemon=True)
    sender.start()
    epochs = through_two_failures(brokers, topic, acks, done)
    sender.join(90)
    assert done.is_set() and acks.errors == []
    assert acks.values() == list(range(RECORDS))  # each once, in order: idempotence
    assert read_back(brokers, topic, RECORDS) == acks.values()
    assert epochs == sorted(set(epochs)) and len(epochs) == 3  # each leader change a new epoch


def test_kafka_python_acks_all_idempotent_survives_a_leader_and_another_broker_stopping(
    brokers: kafkalite.BrokerThread, topic: str, close_refused_sockets: None
) -> None:
    brokers.create_topic(topic, 1, replication_factor=3, configs={"min.insync.replicas": "2"})
    acks, done = Acks(), threading.Event()
    producer = KafkaProducer(bootstrap_servers=brokers.bootstrap_servers.split(","), acks="all",
                             enable_idempotence=True, linger_ms=5)

    def produce() -> None:
        for n in range(RECORDS):
            acks.pace(n)
            future = producer.send(topic, str(n).encode())
            future.add_callback(lambda meta, n=n: acks.add(meta.offset, n))
            future.add_errback(lambda exc: acks.errors.append(repr(exc)))
        producer.flush(60)
        done.set()

    sender = threading.Thread(target=produce, daemon=True)
    sender.start()
    try:
        epochs = through_two_failures(brokers, topic, acks, done)
        sender.join(90)
    finally:
        producer.close(timeout=5)
    assert done.is_set() and acks.errors == []
    assert acks.values() == list(range(RECORDS))
    consumer = KafkaConsumer(bootstrap_servers=brokers.bootstrap_servers.split(","), enable_auto_commit=False,
                             consumer_timeout_ms=3000)
    try:
        tp = KTopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values = [int(record.value) for record in consumer]
    finally:
        consumer.close()
    assert values == acks.values()
    assert epochs == sorted(set(epochs)) and len(epochs) == 3


# -- two of three brokers stopped: acks=all refused, acks=1 served -------------------------


def stop_the_followers(brokers: kafkalite.BrokerThread, topic: str) -> None:
    leader = partition(brokers, topic)[0]
    for node in (0, 1, 2):
        if node != leader:
            brokers.stop_node(node, clean=False)
    assert partition(brokers, topic)[:2] == (leader, [leader])


def test_confluent_two_of_three_stopped_acks_all_is_not_enough_replicas_acks_1_succeeds(
    brokers: kafkalite.BrokerThread, topic: str
) -> None:
    brokers.create_topic(topic, 1, replication_factor=3, configs={"min.insync.replicas": "2"})
    stop_the_followers(brokers, topic)
    results: list[Any] = []
    strict = Producer({"bootstrap.servers": brokers.bootstrap_servers, "acks": "all", "retries": 0,
                       "enable.idempotence": False, "message.timeout.ms": 10000})
    strict.produce(topic, b"refused", on_delivery=lambda err, msg: results.append(err))
    started = time.monotonic()
    strict.flush(15)
    assert [e.code() for e in results] == [KafkaError.NOT_ENOUGH_REPLICAS]
    assert time.monotonic() - started < 5  # an answer, not a hang until the timeout
    relaxed = Producer({"bootstrap.servers": brokers.bootstrap_servers, "acks": 1, "enable.idempotence": False})
    relaxed.produce(topic, b"kept", on_delivery=lambda err, msg: results.append((err, msg.offset())))
    relaxed.flush(15)
    assert results[1] == (None, 0)


def test_kafka_python_two_of_three_stopped_acks_all_is_not_enough_replicas_acks_1_succeeds(
    brokers: kafkalite.BrokerThread, topic: str, close_refused_sockets: None
) -> None:
    from kafka.errors import NotEnoughReplicasError

    brokers.create_topic(topic, 1, replication_factor=3, configs={"min.insync.replicas": "2"})
    stop_the_followers(brokers, topic)
    # kafka-python 3 picks a bootstrap server at random and, refused, waits out that server's
    # growing reconnect backoff instead of trying another: with two of three stopped it can
    # miss its bootstrap timeout. The running broker is listed (bootstrapping past a stopped
    # broker has its own test above).
    live = [f"{n['host']}:{n['port']}" for n in brokers.nodes() if n["live"] and n["host"]]
    strict = KafkaProducer(bootstrap_servers=live, acks="all", retries=0)
    relaxed = KafkaProducer(bootstrap_servers=live, acks=1)
    try:
        with pytest.raises(NotEnoughReplicasError):
            strict.send(topic, b"refused").get(TIMEOUT)
        assert relaxed.send(topic, b"kept").get(TIMEOUT).offset == 0
    finally:
        strict.close(timeout=5)
        relaxed.close(timeout=5)


# -- the whole process killed (kill -9) and started again ----------------------------------


def free_ports(count: int) -> int:
    """A port P with P..P+count-1 free (node i of `--brokers` listens on P+i)."""
    import socket

    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        try:
            held = []
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
        return base
    raise RuntimeError("no free run of ports")


def test_whole_process_kill_9_loses_nothing_acknowledged_with_acks_all(tmp_path, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    from .conftest import start_broker, stop_broker

    data, port = str(tmp_path / "data"), free_ports(3)
    args = ("--brokers", "3", "--data-dir", data, "--port", str(port))
    proc, bootstrap = start_broker(*args)
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    acks, done, killed = Acks(), threading.Event(), threading.Event()
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        new = NewTopic(topic, num_partitions=1, replication_factor=3, config={"min.insync.replicas": "2"})
        admin.create_topics([new])[topic].result(TIMEOUT)
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 5, "message.timeout.ms": 60000})

        def produce() -> None:
            for n in range(5000):
                producer.produce(topic, str(n).encode(), on_delivery=lambda err, msg: (
                    acks.errors.append(str(err)) if err else acks.add(msg.offset(), int(msg.value()))))
                producer.poll(0)
                if n == 2500:  # the second half goes out once the process was killed
                    while not killed.wait(0.01):
                        producer.poll(0)
            producer.flush(90)
            done.set()

        sender = threading.Thread(target=produce, daemon=True)
        sender.start()
        wait_until(lambda: acks.count() >= 1000, TIMEOUT, "the first acknowledgements")
        proc.kill()  # kill -9 of the whole process: every broker at once
        stop_broker(proc)
        before = set(acks.values())
        killed.set()
        assert 1000 <= len(before) <= 2501
        proc, again = start_broker(*args)
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        assert again == bootstrap
        sender.join(120)
        assert done.is_set() and acks.errors == []
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "check", "enable.auto.commit": False})
        values: list[int] = []
        try:
            consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            deadline = time.monotonic() + TIMEOUT
            while len(values) < 5000 and time.monotonic() < deadline:
                values += [int(m.value()) for m in consumer.consume(1000, 0.2) if m.error() is None]
        finally:
            consumer.close()
        assert before <= set(values)  # acknowledged before the kill: still there
        assert values == list(range(5000))  # and the idempotent producer's retries: once each
    finally:
        stop_broker(proc)
