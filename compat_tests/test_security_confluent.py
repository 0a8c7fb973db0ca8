"""confluent-kafka (librdkafka) over SSL with a client certificate, SASL_SSL with SCRAM-SHA-512
and PLAIN, and SASL_PLAINTEXT with OAUTHBEARER (librdkafka's unsecured JWTs): produce,
consume in a group, an admin call; a wrong password fails fast with the authentication error."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from .conftest import eventually
from .security import SecureBroker, secure  # noqa: F401  (the fixture)

SETUPS = [("SASL_SSL", "SCRAM-SHA-512"), ("SASL_SSL", "PLAIN"), ("SSL", None), ("SASL_PLAINTEXT", "OAUTHBEARER")]


def _ids(setup: tuple[str, str | None]) -> str:
    return "-".join(part for part in setup if part)


@pytest.mark.parametrize(("listener", "mechanism"), SETUPS, ids=[_ids(s) for s in SETUPS])
def test_produce_consume_in_a_group_and_admin(secure: SecureBroker, listener: str, mechanism: str | None) -> None:
    topic = f"sec-{listener.lower()}-{(mechanism or 'cert').lower()}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(secure.confluent(listener, mechanism))
    admin.poll(0.5)  # OAUTHBEARER: librdkafka makes its unsecured token on the first poll
    for future in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).values():
        future.result(timeout=15)

    def listed() -> None:
        metadata = admin.list_topics(timeout=10)
        assert topic in metadata.topics and len(metadata.topics[topic].partitions) == 2
        # Metadata answers with the addresses of the listener the client came in on.
        ports = {b.port for b in metadata.brokers.values()}
        assert int(secure.addresses[listener].rsplit(":", 1)[1]) in ports

    eventually(listed)
    producer = Producer(secure.confluent(listener, mechanism))
    producer.poll(0.5)
    for i in range(6):
        producer.produce(topic, key=str(i).encode(), value=f"v{i}".encode())
    assert producer.flush(15) == 0
    consumer = Consumer(secure.confluent(
        listener, mechanism, **{"group.id": f"g-{topic}", "auto.offset.reset": "earliest"}
    ))
    try:
        consumer.subscribe([topic])
        values = set()
        deadline = time.monotonic() + 30
        while len(values) < 6 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.add(message.value())
        assert values == {f"v{i}".encode() for i in range(6)}
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_wrong_password_fails_fast_with_the_authentication_error(secure: SecureBroker, mechanism: str) -> None:
    errors: list[KafkaError] = []
    producer = Producer(secure.confluent(
        "SASL_SSL", mechanism, password="wrong", **{"error_cb": errors.append, "reconnect.backoff.max.ms": 1000}
    ))
    started = time.monotonic()
    producer.produce("never-created", b"x")
    while not errors and time.monotonic() - started < 10:
        producer.poll(0.1)
    assert errors, "no error reported"
    assert time.monotonic() - started < 5
    error = errors[0]
    assert error.code() == KafkaError._AUTHENTICATION
    assert "Authentication failed" in error.str()
    producer.purge()
    producer.flush(0)
