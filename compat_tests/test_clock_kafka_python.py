"""The broker clock with kafka-python: a consumer that went silent loses its partitions to
the other one as soon as the test advances the broker's clock past its session, and an
advance past retention.ms moves the earliest offset a consumer sees.

kafkalite only: Kafka has no way for a test to move its clock. The consumers run in child
processes (this module run as ``python -m compat_tests.test_clock_kafka_python consume ...``),
so that one can be stopped with SIGSTOP: still connected, but silent, as a hung process is (a
consumer that merely stops polling keeps heartbeating from its heartbeat thread).
"""

from __future__ import annotations

import sys

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from .clock_scenarios import SESSION_TIMEOUT_MS, silent_consumer_takeover
from .conftest import wait_until

pytestmark = pytest.mark.kafkalite_only(reason="moves the broker's clock (Kafka has no clock control)")


def consume(bootstrap: str, topic: str, group: str, client_id: str) -> None:
    """The child process: consume *topic* in *group*, report each record as it comes."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=client_id,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=200,  # the survivor notices the rebalance at once
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    while True:
        for records in consumer.poll(timeout_ms=100).values():
            for record in records:
                print(f"consumed {record.partition} {record.offset}", flush=True)


def test_advancing_past_the_session_gives_a_silent_consumers_partitions_to_the_other(
    kafkalite_broker, topic_name: str
) -> None:
    silent_consumer_takeover(kafkalite_broker, topic_name, __name__)


def test_advancing_past_retention_moves_the_earliest_offset(kafkalite_broker, topic_name: str) -> None:
    broker = kafkalite_broker
    broker.create_topic(topic_name, partitions=1, configs={"retention.ms": "60000"})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=5000)
    for i in range(3):
        producer.send(topic_name, f"v{i}".encode(), partition=0)
    producer.flush(5)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=5000)
    try:
        tp = TopicPartition(topic_name, 0)
        assert (consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]) == (0, 3)
        broker.clock.advance(61)  # the records' CreateTime is now over a minute in the past
        wait_until(lambda: consumer.beginning_offsets([tp])[tp] == 3, timeout=2,
                   what="retention to delete the records")
        assert consumer.end_offsets([tp])[tp] == 3
    finally:
        consumer.close()


if __name__ == "__main__" and sys.argv[1] == "consume":
    consume(*sys.argv[2:])
