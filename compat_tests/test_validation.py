"""Kafka's record validation on produce (LogValidator), as real clients see it: a record a
topic refuses fails that send alone (INVALID_RECORD / INVALID_TIMESTAMP, KIP-467 record
errors), the sends around it succeed; a topic's compression.type recompresses what it stores.

Each refused record is sent in its own batch (flushed alone): Kafka refuses a whole batch when
any of its records fails, so the records around it must travel in other batches.
"""

from __future__ import annotations

import time

import kafka.errors
import pytest
from confluent_kafka import KafkaError
from kafka import KafkaAdminClient
from kafka import TopicPartition as KpTopicPartition

from . import test_produce_consume_confluent as ck
from . import test_produce_consume_kafka_python as kp

TIMEOUT = 15


# -- confluent-kafka ---------------------------------------------------------------------------


def _send_one(p, topic: str, key, value, **kwargs):
    """Produce one record and flush; return the delivery error (None when delivered)."""
    outcome: list = []
    p.produce(topic, key=key, value=value, on_delivery=lambda err, msg: outcome.append(err), **kwargs)
    assert p.flush(TIMEOUT) == 0
    (err,) = outcome
    return err


def _read_values_confluent(bootstrap: str, topic: str, count: int) -> list[bytes]:
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    c = ck.consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        return [m.value() for m in ck.consume(c, count)]
    finally:
        c.close()


def test_confluent_null_key_on_compacted_topic_fails_only_that_send(bootstrap: str, topic_name: str) -> None:
    ck.create_topic(bootstrap, topic_name, config={"cleanup.policy": "compact"})
    p = ck.producer(bootstrap, **{"linger.ms": 0})
    assert _send_one(p, topic_name, b"k1", b"first") is None
    err = _send_one(p, topic_name, None, b"no key")
    assert err is not None and err.code() == KafkaError.INVALID_RECORD, err
    assert _send_one(p, topic_name, b"k2", b"second") is None
    assert _read_values_confluent(bootstrap, topic_name, 2) == [b"first", b"second"]


def test_confluent_record_outside_the_timestamp_window_is_invalid_timestamp(bootstrap: str, topic_name: str) -> None:
    ck.create_topic(bootstrap, topic_name, config={"message.timestamp.before.max.ms": "3600000"})
    p = ck.producer(bootstrap, **{"linger.ms": 0})
    old = int(time.time() * 1000) - 7_200_000
    err = _send_one(p, topic_name, b"k", b"old", timestamp=old)
    assert err is not None and err.code() == KafkaError.INVALID_TIMESTAMP, err
    assert _send_one(p, topic_name, b"k", b"now") is None
    assert _read_values_confluent(bootstrap, topic_name, 1) == [b"now"]


def test_confluent_zstd_topic_reads_back_a_gzip_batch(bootstrap: str, topic_name: str) -> None:
    ck.create_topic(bootstrap, topic_name, config={"compression.type": "zstd"})
    p = ck.producer(bootstrap, **{"compression.type": "gzip"})
    ck.produce_all(p, topic_name, [(b"k%d" % i, b"value %d" % i * 20) for i in range(20)])
    assert _read_values_confluent(bootstrap, topic_name, 20) == [b"value %d" % i * 20 for i in range(20)]


# -- kafka-python ------------------------------------------------------------------------------


@pytest.fixture
def kp_admin(bootstrap: str):
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        yield client
    finally:
        client.close()


def _kp_values(bootstrap: str, topic: str, count: int) -> list[bytes]:
    c = kp.consumer(bootstrap)
    try:
        tp = KpTopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        return [r.value for r in kp.consume(c, count)]
    finally:
        c.close()


def test_kafka_python_null_key_on_compacted_topic_fails_only_that_send(kp_admin, bootstrap: str, topic_name: str) -> None:
    kp.create(kp_admin, topic_name, configs={"cleanup.policy": "compact"})
    p = kp.producer(bootstrap, retries=0)
    try:
        p.send(topic_name, key=b"k1", value=b"first").get(TIMEOUT)
        with pytest.raises(kafka.errors.InvalidRecordError):
            p.send(topic_name, key=None, value=b"no key").get(TIMEOUT)
        p.send(topic_name, key=b"k2", value=b"second").get(TIMEOUT)
    finally:
        p.close()
    assert _kp_values(bootstrap, topic_name, 2) == [b"first", b"second"]


def test_kafka_python_zstd_topic_reads_back_a_gzip_batch(kp_admin, bootstrap: str, topic_name: str) -> None:
    kp.create(kp_admin, topic_name, configs={"compression.type": "zstd"})
    p = kp.producer(bootstrap, compression_type="gzip")
    try:
        for i in range(10):
            p.send(topic_name, key=b"k", value=b"v%d" % i)
        p.flush(TIMEOUT)
    finally:
        p.close()
    assert _kp_values(bootstrap, topic_name, 10) == [b"v%d" % i for i in range(10)]
