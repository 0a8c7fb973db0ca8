"""Client quotas (KIP-546 admin APIs, byte-rate throttling) with real clients.

Neither confluent-kafka nor kafka-python 3.0.12 has DescribeClientQuotas / AlterClientQuotas
in its admin client, so quotas are set and read with raw requests through kafkalite's codec
(`wire_client.WireClient`), the same bytes to kafkalite and to Kafka. The producers are the
real clients.

How fast a throttled producer goes: Kafka measures a client's bytes over quota.window.num (11)
windows of 1 s, counting at least 10 whole windows from the first byte, and throttles once
that rate is above the quota. A producer that pushes as fast as it can for 3 s therefore gets
about quota x 10 s through (its rate over the 10-window span is the quota), then waits: the
tests check the bytes that got through within 20 % of that.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable, Iterator

import pytest
from confluent_kafka import Producer
from kafka import KafkaProducer

from kafkalite.wire.messages.alter_client_quotas import AlterClientQuotasRequest, EntityData, EntryData, OpData
from kafkalite.wire.messages.describe_client_quotas import ComponentData, DescribeClientQuotasRequest

from .conftest import eventually
from .wire_client import WireClient

QUOTA = 100_000  # bytes per second
RUN_S = 3.0
SPAN_S = 10.5  # the quota window a 3 s run is measured over: 10 whole windows and a part
VALUE = b"q" * 1000


def alter(bootstrap: str, entity: list[tuple[str, str | None]], ops: dict[str, float | None], validate_only: bool = False):
    request = AlterClientQuotasRequest(
        entries=[
            EntryData(
                entity=[EntityData(entity_type=t, entity_name=n) for t, n in entity],
                ops=[OpData(key=k, value=0.0 if v is None else v, remove=v is None) for k, v in ops.items()],
            )
        ],
        validate_only=validate_only,
    )
    with WireClient(bootstrap) as client:
        (entry,) = client.request(request, 1).entries
    return entry.error_code, entry.error_message


def describe(bootstrap: str, client_id: str) -> dict[str, float]:
    request = DescribeClientQuotasRequest(
        components=[ComponentData(entity_type="client-id", match_type=0, match=client_id)], strict=True
    )
    with WireClient(bootstrap) as client:
        response = client.request(request, 1)
    assert response.error_code == 0, response.error_message
    return {v.key: v.value for entry in response.entries for v in entry.values}


@pytest.fixture
def client_id() -> Iterator[str]:
    yield f"quota-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def quota_on(bootstrap: str, client_id: str) -> Iterator[str]:
    """A producer_byte_rate quota on the test's own client id, removed afterwards."""
    assert alter(bootstrap, [("client-id", client_id)], {"producer_byte_rate": QUOTA}) == (0, None)
    eventually(lambda: _assert_equal(describe(bootstrap, client_id), {"producer_byte_rate": QUOTA}))
    try:
        yield client_id
    finally:
        alter(bootstrap, [("client-id", client_id)], {"producer_byte_rate": None})


def _assert_equal(got: object, want: object) -> None:
    assert got == want


def test_alter_and_describe_client_quotas(bootstrap: str, client_id: str) -> None:
    entity = [("client-id", client_id)]
    assert alter(bootstrap, entity, {"producer_byte_rate": 2048, "request_percentage": 12.5}, validate_only=True) == (0, None)
    assert describe(bootstrap, client_id) == {}
    assert alter(bootstrap, entity, {"producer_byte_rate": 2048, "request_percentage": 12.5}) == (0, None)
    eventually(lambda: _assert_equal(describe(bootstrap, client_id), {"producer_byte_rate": 2048, "request_percentage": 12.5}))
    assert alter(bootstrap, entity, {"no_such_quota": 1}) == (42, "Invalid configuration key no_such_quota")
    assert alter(bootstrap, entity, {"consumer_byte_rate": -1}) == (42, "Quota consumer_byte_rate must be greater than 0")
    assert alter(bootstrap, entity, {"consumer_byte_rate": 1.5}) == (42, "consumer_byte_rate cannot be a fractional value.")
    assert alter(bootstrap, [("group", "g")], {"consumer_byte_rate": 1}) == (42, "Unhandled client quota entity type: group")
    assert alter(bootstrap, entity, {"producer_byte_rate": None, "request_percentage": None}) == (0, None)
    eventually(lambda: _assert_equal(describe(bootstrap, client_id), {}))


def _check_rate(delivered: int, throttled: bool) -> None:
    rate = delivered / SPAN_S
    assert throttled, "the producer was never throttled"
    assert 0.8 * QUOTA <= rate <= 1.2 * QUOTA, f"{delivered} bytes in {RUN_S} s: {rate:.0f} B/s over the quota window, quota {QUOTA}"


def _run(produce: Callable[[], None], delivered: Callable[[], int]) -> int:
    start = time.monotonic()
    while time.monotonic() - start < RUN_S:
        produce()
    return delivered()


def test_quota_slows_a_confluent_producer(bootstrap: str, quota_on: str, topic_name: str) -> None:
    throttles: list[int] = []
    producer = Producer({
        "bootstrap.servers": bootstrap, "client.id": quota_on, "linger.ms": 5,
        "queue.buffering.max.kbytes": 64, "statistics.interval.ms": 0,
        "throttle_cb": lambda event: throttles.append(event.throttle_time),
    })
    producer.produce(topic_name, b"warm-up")  # the topic exists before the clock starts
    assert producer.flush(30) == 0
    got = [0]

    def on_delivery(err, msg) -> None:
        if err is None:
            got[0] += len(msg.value())

    def produce() -> None:
        try:
            producer.produce(topic_name, VALUE, on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.005)
        producer.poll(0)

    delivered = _run(produce, lambda: got[0])
    producer.purge()
    producer.flush(30)
    _check_rate(delivered, any(t > 0 for t in throttles))


def test_quota_slows_a_kafka_python_producer(bootstrap: str, quota_on: str, topic_name: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=quota_on, linger_ms=5, request_timeout_ms=30000)
    try:
        producer.send(topic_name, b"warm-up").get(timeout=30)
        got, sent = [0], [0]

        def on_delivery(_metadata) -> None:
            got[0] += len(VALUE)

        def produce() -> None:
            # At most 64 kB waiting, as the confluent test's queue: kafka-python 3 has no
            # bound on its buffer of its own.
            if sent[0] - got[0] >= 64 * len(VALUE):
                time.sleep(0.005)
                return
            producer.send(topic_name, VALUE).add_callback(on_delivery)
            sent[0] += len(VALUE)

        delivered = _run(produce, lambda: got[0])
        throttled = describe_throttle(producer)
    finally:
        producer.flush(timeout=30)  # what is still queued goes at the quota's pace
        producer.close()
    _check_rate(delivered, throttled)


def describe_throttle(producer: KafkaProducer) -> bool:
    """Whether kafka-python recorded a produce throttle time above 0."""
    metrics = producer.metrics()
    values = [v for group in metrics.values() for name, v in group.items() if "throttle-time" in name]
    return any(v and v > 0 for v in values)


def test_request_percentage_throttles_a_confluent_producer_at_most_a_window(
    bootstrap: str, client_id: str, topic_name: str
) -> None:
    # 0.001 % of a thread's time is 10 µs a second: every request is over it, and the
    # request-time throttle is at most one quota window (1 s), as Kafka bounds it.
    assert alter(bootstrap, [("client-id", client_id)], {"request_percentage": 0.001}) == (0, None)
    try:
        eventually(lambda: _assert_equal(describe(bootstrap, client_id), {"request_percentage": 0.001}))
        throttles: list[int] = []
        producer = Producer({
            "bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 0,
            "throttle_cb": lambda event: throttles.append(event.throttle_time),
        })
        for i in range(3):
            producer.produce(topic_name, str(i).encode())
            assert producer.flush(30) == 0
        producer.poll(0)
        assert throttles and all(0 <= t <= 1000 for t in throttles), throttles
        assert any(t > 0 for t in throttles), throttles
    finally:
        alter(bootstrap, [("client-id", client_id)], {"request_percentage": None})
