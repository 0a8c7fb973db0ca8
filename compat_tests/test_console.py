"""The web console shows what real clients did: confluent-kafka and kafka-python produce
(compressed batches, keys, headers), consume in groups and commit part of what they read;
the console of a ``kafkalite serve --http-port`` process shows their messages decoded, each
group's CURRENT-OFFSET, LOG-END-OFFSET and LAG, and their requests in the trace under their
client ids. Read with a plain HTTP client (urllib), as a person's browser would fetch it.
"""

from __future__ import annotations

import re
import urllib.request
from html import unescape
from typing import Iterator

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as ConfluentTopicPartition
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata
from kafka import TopicPartition as KafkaTopicPartition

from .conftest import broker_serving

pytestmark = pytest.mark.kafkalite_only(reason="reads kafkalite's web console; Kafka has none")

RECORDS = 12
COMMITTED = 5


@pytest.fixture(scope="module")
def broker() -> Iterator[tuple[str, str]]:
    """(bootstrap, console URL) of a kafkalite of this module's, with the journal on."""
    yield from broker_serving("kafkalite HTTP API on ", "--memory", "--http-port", "0", "--journal-size", "1000")


def page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        return response.read().decode()


def cells(html: str, table_id: str) -> list[list[str]]:
    """The rows of the table *table_id*, each a list of its cells' text."""
    table = html.split(f'<table id="{table_id}"', 1)[1].split("</table>", 1)[0]
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        found.append([unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)])
    return found


def group_row(url: str, group: str) -> list[str]:
    rows = cells(page(f"{url}/groups/{group}"), "offsets")
    assert rows[0][:5] == ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"]
    [row] = rows[1:]
    return row[:5]


def test_confluent_kafka_messages_group_lag_and_requests_show_in_the_console(broker: tuple[str, str]) -> None:
    bootstrap, url = broker
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": "console-confluent",
                         "compression.type": "lz4", "linger.ms": 20})
    for i in range(RECORDS):
        producer.produce("console-confluent", f"confluent <{i}>".encode(), key=f"c{i}".encode(), partition=0,
                         headers=[("origin", b"confluent")])
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "console-confluent-group",
                         "client.id": "console-confluent", "enable.auto.commit": False})
    consumer.commit(offsets=[ConfluentTopicPartition("console-confluent", 0, COMMITTED)], asynchronous=False)
    consumer.close()

    shown = cells(page(f"{url}/topics/console-confluent/partitions/0?offset=3&limit=2"), "messages")
    assert [(row[0], row[2], row[3]) for row in shown[1:]] == [("3", "c3", "confluent <3>"), ("4", "c4", "confluent <4>")]
    assert shown[1][4] == "origin: confluent"
    assert group_row(url, "console-confluent-group") == ["console-confluent", "0", "5", "12", "7"]
    trace = cells(page(f"{url}/trace?client_id=console-confluent&api=Produce"), "trace")
    assert len(trace) > 1 and all(row[4] == "console-confluent" and row[2].startswith("Produce v") for row in trace[1:])


def test_kafka_python_messages_group_lag_and_requests_show_in_the_console(broker: tuple[str, str]) -> None:
    bootstrap, url = broker
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="console-kafka-python", compression_type="gzip",
                             linger_ms=20)
    for i in range(RECORDS):
        producer.send("console-kafka-python", f"kafka-python {i}".encode(), key=f"k{i}".encode(), partition=0)
    producer.flush(15)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="console-kafka-python-group",
                             client_id="console-kafka-python", enable_auto_commit=False)
    consumer.commit({KafkaTopicPartition("console-kafka-python", 0): OffsetAndMetadata(COMMITTED, "", -1)})
    consumer.close()

    shown = cells(page(f"{url}/topics/console-kafka-python/partitions/0?limit=3"), "messages")
    assert [(row[0], row[2], row[3]) for row in shown[1:]] == [
        ("9", "k9", "kafka-python 9"), ("10", "k10", "kafka-python 10"), ("11", "k11", "kafka-python 11"),
    ]
    assert group_row(url, "console-kafka-python-group") == ["console-kafka-python", "0", "5", "12", "7"]
    groups = {row[0]: row for row in cells(page(f"{url}/groups"), "groups")[1:]}
    assert groups["console-kafka-python-group"][1:] == ["classic", "Empty", "0", "7"]
    trace = cells(page(f"{url}/trace?client_id=console-kafka-python&api=OffsetCommit"), "trace")
    assert [row[2].split()[0] for row in trace[1:]] == ["OffsetCommit"] and trace[1][8] == "ok"
