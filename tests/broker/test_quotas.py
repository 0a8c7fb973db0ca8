"""Client quotas: Kafka's sampled rate and throttle time, the precedence of quota entities,
DescribeClientQuotas / AlterClientQuotas as Kafka's controller answers them, durability, and
throttling on a connection (throttle_time_ms, the mute, a throttled Fetch without records)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from kafkalite.broker.quotas import ClientQuotas, QuotaError, entity_of
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.broker.throttle import Rate, throttle_time_ms
from kafkalite.storage import LogStore
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.alter_client_quotas import AlterClientQuotasRequest, EntityData, EntryData, OpData
from kafkalite.wire.messages.describe_client_quotas import ComponentData, DescribeClientQuotasRequest

from .conftest import Client, make_broker
from .test_produce_fetch import batch, fetch_request, produce_request

U, C = "user", "client-id"


@pytest.fixture(autouse=True)
def topic_t(broker: Broker) -> None:
    broker.create_topic("t", 1)


def store() -> ClientQuotas:
    return ClientQuotas.open(LogStore.open(None))


def entity(**names: str | None) -> tuple:
    return entity_of([("client-id" if k == "client_id" else k, v) for k, v in names.items()])


# -- the rate -----------------------------------------------------------------------------


def test_rate_counts_at_least_samples_minus_one_windows() -> None:
    rate = Rate(samples=11, window_ms=1000)
    rate.record(1000, 0)
    # One event, no time passed: measured over 10 whole windows, not over 1 ms.
    assert rate.window_size_ms(0) == 10_000
    assert rate.measure(0) == pytest.approx(100.0)
    assert rate.window_size_ms(2500) == 10_500


def test_rate_spans_from_the_oldest_sample_once_the_windows_are_full() -> None:
    rate = Rate(samples=3, window_ms=1000)
    for t in range(0, 5000, 500):
        rate.record(100, t)
    # Four sample slots (one for the window's overlapping start): 4000 reused the one of 0,
    # the one of 1000 (last event 1500) is a whole span idle; 2000, 3000 and 4000 remain.
    assert rate.window_size_ms(4500) == 2500
    assert rate.measure(4500) == pytest.approx(600 / 2.5)


def test_rate_forgets_samples_idle_for_the_whole_span() -> None:
    rate = Rate(samples=2, window_ms=1000)
    rate.record(5000, 0)
    assert rate.measure(1999) > 0
    assert rate.measure(2000) == 0


def test_throttle_time_is_the_time_to_fall_back_to_the_quota() -> None:
    assert throttle_time_ms(100.0, 100.0, 10_000) == 0
    assert throttle_time_ms(150.0, 100.0, 10_000) == 5000
    assert throttle_time_ms(100.00005, 100.0, 10_000) == 0  # rounds as Java's Math.round
    assert throttle_time_ms(100.0001, 100.0, 10_000) == 0
    assert throttle_time_ms(100.00015, 100.0, 10_000) == 0
    assert throttle_time_ms(100.006, 100.0, 10_000) == 1


# -- precedence ----------------------------------------------------------------------------


def test_precedence_follows_kafkas_eight_levels() -> None:
    quotas = store()
    levels = [
        entity(client_id=None),
        entity(client_id="c"),
        entity(user=None),
        entity(user=None, client_id=None),
        entity(user=None, client_id="c"),
        entity(user="u"),
        entity(user="u", client_id=None),
        entity(user="u", client_id="c"),
    ]
    for i, e in enumerate(levels):
        quotas.alter(e, {"producer_byte_rate": 1000.0 + i})
        applied = quotas.applied("producer_byte_rate", "u", "c")
        assert applied is not None and applied.entity == e and applied.bound == 1000.0 + i
    # Each key is resolved on its own: a consumer quota lower down still applies.
    quotas.alter(entity(client_id=None), {"consumer_byte_rate": 5.0})
    assert quotas.applied("consumer_byte_rate", "u", "c").entity == entity(client_id=None)
    assert quotas.applied("request_percentage", "u", "c") is None


def test_sharing_follows_the_entity_that_applies() -> None:
    quotas = store()
    quotas.alter(entity(user="u"), {"producer_byte_rate": 10.0})
    quotas.alter(entity(client_id=None), {"producer_byte_rate": 20.0})
    # /users/u: all of u's clients share one rate; /clients/<default>: one per client id.
    assert quotas.applied("producer_byte_rate", "u", "a").share == quotas.applied("producer_byte_rate", "u", "b").share
    assert quotas.applied("producer_byte_rate", "v", "a").share == ("", "a")
    assert quotas.applied("producer_byte_rate", "w", "a").share == ("", "a")


# -- validation and describe ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "ops", "message"),
    [
        ([], {"producer_byte_rate": 1.0}, "Invalid empty client quota entity"),
        ([(U, "a"), (U, "b")], {}, "Invalid client quota entity, duplicate entity entry user"),
        ([("group", "g")], {}, "Unhandled client quota entity type: group"),
        ([(U, "")], {}, "Empty user not supported"),
        ([(U, "a")], {"bogus": 1.0}, "Invalid configuration key bogus"),
        ([(U, "a")], {"producer_byte_rate": -5.0}, "Quota producer_byte_rate must be greater than 0"),
        ([(U, "a")], {"producer_byte_rate": 0.0}, "Quota producer_byte_rate must be greater than 0"),
        ([(U, "a")], {"producer_byte_rate": 1.5}, "producer_byte_rate cannot be a fractional value."),
        ([(U, "a")], {"connection_creation_rate": 1.0}, "Invalid configuration key connection_creation_rate"),
        ([("ip", "1.2.3.4"), (U, "a")], {}, "Invalid quota entity combination, IP entity should not be combined with User or ClientId"),
        ([("ip", "not-an-ip")], {}, "not-an-ip is not a valid IP or resolvable host."),
        ([("ip", None)], {"producer_byte_rate": 1.0}, "Invalid configuration key producer_byte_rate"),
    ],
)
def test_alter_refuses_as_kafka(pairs, ops, message) -> None:
    quotas = store()
    with pytest.raises(QuotaError) as info:
        quotas.alter(entity_of(pairs), ops)
    assert (info.value.code, info.value.message) == (E.INVALID_REQUEST, message)
    assert quotas.entities == {}


def test_fractional_request_percentage_is_allowed_and_removal_drops_the_entity() -> None:
    quotas = store()
    quotas.alter(entity(user="a"), {"request_percentage": 12.5, "producer_byte_rate": 100.0})
    quotas.alter(entity(user="a"), {"request_percentage": None})
    assert quotas.entities == {entity(user="a"): {"producer_byte_rate": 100.0}}
    quotas.alter(entity(user="a"), {"producer_byte_rate": None})
    assert quotas.entities == {}
    assert not quotas.active


def test_validate_only_changes_nothing() -> None:
    quotas = store()
    quotas.alter(entity(user="a"), {"producer_byte_rate": 100.0}, validate_only=True)
    assert quotas.entities == {}


def test_describe_filters_as_kafka() -> None:
    quotas = store()
    for e in (entity(user="a"), entity(user=None), entity(user="a", client_id="c"), entity(client_id="c")):
        quotas.alter(e, {"consumer_byte_rate": 1.0})
    found = lambda comps, strict=False: {e for e, _ in quotas.describe(comps, strict)}  # noqa: E731
    assert found([(U, 0, "a")]) == {entity(user="a"), entity(user="a", client_id="c")}
    assert found([(U, 0, "a")], strict=True) == {entity(user="a")}
    assert found([(U, 1, None)]) == {entity(user=None)}
    assert found([(U, 2, None)]) == {entity(user="a"), entity(user=None), entity(user="a", client_id="c")}
    assert found([(C, 2, None)], strict=True) == {entity(client_id="c")}
    assert len(found([])) == 4 and found([], strict=True) == set()
    for comps, code, message in [
        ([(U, 0, None)], E.INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."),
        ([(U, 1, "a")], E.INVALID_REQUEST, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."),
        ([(U, 3, None)], E.INVALID_REQUEST, "Unknown match type 3"),
        ([(U, 2, None), (U, 1, None)], E.INVALID_REQUEST, "Entity type user cannot appear more than once in the filter."),
        ([("topic", 2, None)], E.UNSUPPORTED_VERSION, "Unsupported entity type topic"),
        ([("", 2, None)], E.INVALID_REQUEST, "Invalid empty entity type."),
    ]:
        with pytest.raises(QuotaError) as info:
            quotas.describe(comps, False)
        assert (info.value.code, info.value.message) == (code, message)


def test_quotas_survive_a_restart_and_go_with_reset(tmp_path: Path) -> None:
    config = BrokerConfig(data_dir=tmp_path)
    broker = Broker.create(config)
    broker.quotas.alter(entity(user="a", client_id=None), {"producer_byte_rate": 2048.0})
    broker.close()
    broker = Broker.create(config)
    assert broker.quotas.entities == {entity(user="a", client_id=None): {"producer_byte_rate": 2048.0}}
    broker.reset()
    broker.close()
    assert Broker.create(config).quotas.entities == {}


# -- the APIs ------------------------------------------------------------------------------


def alter_request(*entries, validate_only=False) -> AlterClientQuotasRequest:
    return AlterClientQuotasRequest(
        entries=[
            EntryData(
                entity=[EntityData(entity_type=t, entity_name=n) for t, n in pairs],
                ops=[OpData(key=k, value=v if v is not None else 0.0, remove=v is None) for k, v in ops],
            )
            for pairs, ops in entries
        ],
        validate_only=validate_only,
    )


@pytest.mark.parametrize("version", [0, 1])
async def test_alter_and_describe_over_the_wire(client: Client, broker: Broker, version: int) -> None:
    response = await client.request(
        alter_request(
            ([(U, "alice")], [("producer_byte_rate", 1024.0)]),
            ([(C, None)], [("bogus", 1.0)]),
            ([(U, "alice")], [("consumer_byte_rate", 1.0)]),
        ),
        version,
    )
    answers = [(e.error_code, e.error_message, [(d.entity_type, d.entity_name) for d in e.entity]) for e in response.entries]
    assert answers == [
        (E.NONE, None, [(U, "alice")]),
        (E.INVALID_REQUEST, "Invalid configuration key bogus", [(C, None)]),
        (E.INVALID_REQUEST, "Ignoring duplicate entity ClientQuotaEntity(entries={user=alice})", [(U, "alice")]),
    ]
    described = await client.request(
        DescribeClientQuotasRequest(components=[ComponentData(entity_type=U, match_type=2, match=None)], strict=False), version
    )
    assert described.error_code == E.NONE
    assert [([(d.entity_type, d.entity_name) for d in e.entity], [(v.key, v.value) for v in e.values]) for e in described.entries] == [
        ([(U, "alice")], [("producer_byte_rate", 1024.0)])
    ]
    refused = await client.request(
        DescribeClientQuotasRequest(components=[ComponentData(entity_type="topic", match_type=2, match=None)], strict=False), version
    )
    assert (refused.error_code, refused.error_message, refused.entries) == (E.UNSUPPORTED_VERSION, "Unsupported entity type topic", None)


async def test_alter_validate_only_over_the_wire(client: Client, broker: Broker) -> None:
    response = await client.request(alter_request(([(C, "app")], [("producer_byte_rate", 10.0)]), validate_only=True), 1)
    assert response.entries[0].error_code == E.NONE
    assert broker.quotas.entities == {}


# -- throttling on a connection -------------------------------------------------------------


async def test_produce_over_the_quota_is_throttled_and_the_connection_muted(
    client: Client, broker: Broker, autojump_clock
) -> None:
    broker.quotas.alter(entity(client_id="test"), {"producer_byte_rate": 1000.0})
    records = batch(b"x" * 20_000)
    first = await client.request(produce_request("t", records), 9)
    assert first.responses[0].partition_responses[0].error_code == E.NONE
    # 20 kB against 1000 B/s measured over 10 windows: ~10 s over the quota.
    assert 9_000 < first.throttle_time_ms < 11_500
    # The answer came at once; the next request is read only once the throttle has passed.
    started = trio.current_time()
    second = await client.request(produce_request("t", batch(b"y")), 9)
    assert trio.current_time() - started == pytest.approx(first.throttle_time_ms / 1000, abs=0.01)
    assert second.throttle_time_ms > 0  # still over: 20 kB in ~20 s at 1000 B/s
    assert broker.throttle.throttled_ms()["producer_byte_rate"] >= first.throttle_time_ms


async def test_old_produce_versions_get_their_answer_late(client: Client, broker: Broker, autojump_clock) -> None:
    broker.quotas.alter(entity(client_id="test"), {"producer_byte_rate": 1000.0})
    started = trio.current_time()
    response = await client.request(produce_request("t", batch(b"x" * 20_000)), 5)
    assert response.throttle_time_ms > 9000
    assert trio.current_time() - started == pytest.approx(response.throttle_time_ms / 1000, abs=0.01)


async def test_within_the_quota_nothing_is_throttled(client: Client, broker: Broker, autojump_clock) -> None:
    broker.quotas.alter(entity(client_id="someone-else"), {"producer_byte_rate": 1000.0})
    response = await client.request(produce_request("t", batch(b"x" * 20_000)), 9)
    assert response.throttle_time_ms == 0


async def test_a_throttled_fetch_answers_no_records(client: Client, broker: Broker, autojump_clock) -> None:
    for _ in range(3):
        await client.request(produce_request("t", batch(b"x" * 4000)), 9)
    broker.quotas.alter(entity(user="ANONYMOUS"), {"consumer_byte_rate": 1000.0})
    # 12 kB over 10 windows at 1000 B/s: over the quota, so nothing is answered.
    first = await client.request(fetch_request("t", 0), 12)
    assert first.throttle_time_ms > 0 and first.responses == [] and first.session_id == 0
    # The throttled bytes were taken back: one 4 kB batch is now within the quota.
    second = await client.request(fetch_request("t", 0, partition_max_bytes=5000), 12)
    assert second.throttle_time_ms == 0
    assert len(bytes(second.responses[0].partitions[0].records)) > 4000


async def test_advancing_the_broker_clock_ends_a_throttle(client: Client, broker: Broker) -> None:
    broker.quotas.alter(entity(client_id="test"), {"producer_byte_rate": 1000.0})
    first = await client.request(produce_request("t", batch(b"x" * 20_000)), 9)
    assert first.throttle_time_ms > 5000
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            async def advance() -> None:
                await trio.sleep(0.05)
                broker.clock.advance(first.throttle_time_ms / 1000)

            nursery.start_soon(advance)
            await client.request(produce_request("t", batch(b"y")), 9)


def test_reset_forgets_quotas_and_rates() -> None:
    broker = make_broker()
    broker.quotas.alter(entity(client_id="c"), {"producer_byte_rate": 1.0})
    broker.reset()
    assert not broker.quotas.active and broker.throttle.throttled_ms() == {}


def test_render_is_kafka_configs_path() -> None:
    from kafkalite.broker.quotas import render

    assert render(entity(user="a", client_id=None)) == "/users/a/clients/<default>"
    assert render(entity(client_id="c")) == "/clients/c"


async def test_acks_0_produce_over_the_quota_is_muted_without_an_answer(
    client: Client, broker: Broker, autojump_clock
) -> None:
    broker.quotas.alter(entity(client_id="test"), {"producer_byte_rate": 1000.0})
    await client.send_raw(client.encode_request(produce_request("t", batch(b"x" * 20_000), acks=0), 9))
    started = trio.current_time()
    # No answer to the acks=0 request; the next request waits out the throttle it earned.
    answer = await client.request(produce_request("t", batch(b"y")), 9)
    waited = trio.current_time() - started
    assert 9 < waited < 11.5
    assert answer.responses[0].partition_responses[0].base_offset == 1
    assert broker.throttle.throttled_ms()["producer_byte_rate"] >= 9000


# -- request time (request_percentage) -------------------------------------------------------


async def test_task_times_count_steps_not_waits() -> None:
    from kafkalite.server.throttle import TaskTimes

    times = TaskTimes()
    trio.lowlevel.add_instrument(times)
    try:
        task = trio.lowlevel.current_task()
        times.start(task)
        await trio.sleep(0.2)  # waiting: not counted
        spent = times.stop(task)
    finally:
        trio.lowlevel.remove_instrument(times)
    assert 0 < spent < 50_000_000


async def test_request_time_over_the_quota_throttles_at_most_one_window(
    client: Client, broker: Broker, autojump_clock
) -> None:
    from kafkalite.wire.messages.metadata import MetadataRequest

    broker.quotas.alter(entity(client_id="test"), {"request_percentage": 0.0001})
    first = await client.request(MetadataRequest(topics=None), 12)
    assert 0 < first.throttle_time_ms <= 1000
    started = trio.current_time()
    await client.request(MetadataRequest(topics=None), 12)
    assert trio.current_time() - started == pytest.approx(first.throttle_time_ms / 1000, abs=0.01)
    assert broker.throttle.throttled_ms()["request_percentage"] > 0


async def test_request_time_of_an_old_version_delays_the_answer(client: Client, broker: Broker, autojump_clock) -> None:
    from kafkalite.wire.messages.metadata import MetadataRequest

    broker.quotas.alter(entity(client_id="test"), {"request_percentage": 0.0001})
    started = trio.current_time()
    answer = await client.request(MetadataRequest(topics=None), 5)  # Metadata clients throttle from v6
    assert 0 < answer.throttle_time_ms <= 1000
    assert trio.current_time() - started == pytest.approx(answer.throttle_time_ms / 1000, abs=0.01)


async def test_a_generous_request_quota_throttles_nothing(client: Client, broker: Broker, autojump_clock) -> None:
    from kafkalite.wire.messages.metadata import MetadataRequest

    broker.quotas.alter(entity(client_id="test"), {"request_percentage": 1000.0})
    for _ in range(3):
        assert (await client.request(MetadataRequest(topics=None), 12)).throttle_time_ms == 0
