"""The CLI tools, as a user runs them (``python -m kafkalite TOOL``), against a running broker.

Like every compat test they also run against any Kafka cluster (KAFKALITE_TEST_BOOTSTRAP):
the tools speak the protocol, not kafkalite internals.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from .conftest import eventually, wait_for_topic


def kafkalite(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kafkalite", *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )


def create(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    wait_for_topic(bootstrap, topic, partitions)


def test_health(bootstrap: str) -> None:
    result = kafkalite("health", "--bootstrap-server", bootstrap)
    assert result.returncode == 0, result.stderr
    assert "is healthy" in result.stdout


def test_topics_lifecycle(bootstrap: str, topic_name: str) -> None:
    created = kafkalite("topics", "--bootstrap-server", bootstrap, "create", topic_name, "--partitions", "3",
                        "--config", "cleanup.policy=compact")
    assert (created.returncode, created.stdout) == (0, f"Created topic {topic_name}.\n"), created.stderr

    def listed_and_described() -> None:  # Kafka's broker serves the new topic a moment later
        listed = kafkalite("topics", "--bootstrap-server", bootstrap, "list")
        assert topic_name in listed.stdout.splitlines()
        described = kafkalite("topics", "--bootstrap-server", bootstrap, "describe", topic_name)
        header, *partitions = described.stdout.splitlines()
        assert "PartitionCount: 3" in header and "cleanup.policy=compact" in header
        assert [line.split("\t")[2] for line in partitions] == ["Partition: 0", "Partition: 1", "Partition: 2"]

    eventually(listed_and_described)
    deleted = kafkalite("topics", "--bootstrap-server", bootstrap, "delete", topic_name)
    assert deleted.returncode == 0, deleted.stderr


def test_produce_lines_that_a_client_reads_and_consume_what_a_client_wrote(bootstrap: str, topic_name: str) -> None:
    create(bootstrap, topic_name, 1)
    produced = kafkalite("produce", topic_name, "--bootstrap-server", bootstrap, "--key-separator", "=",
                         "--header", "origin=cli", stdin="a=1\nb=2\nno key\n")
    assert produced.returncode == 0, produced.stderr

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic_name])
    seen = []
    try:
        while len(seen) < 3:
            message = consumer.poll(10)
            assert message is not None, f"got only {seen}"
            assert not message.error(), message.error()
            seen.append((message.key(), message.value(), message.headers()))
    finally:
        consumer.close()
    assert seen == [(b"a", b"1", [("origin", b"cli")]), (b"b", b"2", [("origin", b"cli")]),
                    (None, b"no key", [("origin", b"cli")])]

    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic_name, key=b"k", value="from confluent ✓".encode(), headers=[("h", b"v")])
    producer.flush(10)
    consumed = kafkalite("consume", topic_name, "--bootstrap-server", bootstrap, "--offset", "3", "--exit-at-end",
                         "--print-key", "--print-headers", "--print-offset")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == "Offset:3\th:v\tk\tfrom confluent ✓\n"
    assert consumed.stderr == "Processed a total of 1 messages\n"


def test_groups_describe_shows_the_lag_of_a_client_group(bootstrap: str, topic_name: str) -> None:
    create(bootstrap, topic_name, 2)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(6):
        producer.produce(topic_name, value=b"%d" % i, partition=i % 2)
    producer.flush(10)
    group = f"lag-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([topic_name])
    try:
        got = 0
        while got < 6:
            message = consumer.poll(10)
            assert message is not None and not message.error()
            got += 1
        consumer.commit(asynchronous=False)
        for i in range(4):
            producer.produce(topic_name, value=b"late", partition=0)
        producer.flush(10)
        described = kafkalite("groups", "--bootstrap-server", bootstrap, "describe", group)
        assert described.returncode == 0, described.stderr
        rows = [line.split() for line in described.stdout.splitlines() if line.strip()]
        assert rows[0][:6] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"]
        assert [row[:6] for row in rows[1:]] == [
            [group, topic_name, "0", "3", "7", "4"],
            [group, topic_name, "1", "3", "3", "0"],
        ]
        listed = kafkalite("groups", "--bootstrap-server", bootstrap, "list")
        assert group in listed.stdout.split()
    finally:
        consumer.close()
