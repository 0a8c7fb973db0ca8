"""GROUP configs of a consumer group (KIP-848) take effect: consumer.heartbeat.interval.ms and
consumer.session.timeout.ms override the broker's group.consumer.* settings for that group,
read at each heartbeat as Kafka's GroupConfigManager is read; and the BROKER resource lists
those settings as Kafka 4.4 does."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode as E

from ..groups.helpers import connect, start_broker
from .consumer_group_client import CgMember
from .test_dynamic_configs import DEFAULT, DELETE, OK, SET, STATIC, incremental, rows, synonyms

BROKER, GROUP = 4, 32
GROUP_SOURCE = 8


@pytest.fixture
async def broker(nursery: trio.Nursery) -> Broker:
    b = start_broker(nursery, group_consumer_session_timeout_ms=3000)
    b.create_topic("t", 2)
    return b


async def test_heartbeat_interval_follows_the_groups_config_from_the_next_heartbeat(broker: Broker, nursery) -> None:
    a = CgMember(connect(broker, nursery))
    assert (await a.heartbeat()).heartbeat_interval_ms == 200  # the broker's (kafkalite's default)
    assert await incremental(a.client, "g", ("consumer.heartbeat.interval.ms", SET, "6000"), resource_type=GROUP) == OK
    assert (await a.heartbeat()).heartbeat_interval_ms == 6000
    assert await incremental(a.client, "g", ("consumer.heartbeat.interval.ms", DELETE, None), resource_type=GROUP) == OK
    assert (await a.heartbeat()).heartbeat_interval_ms == 200


async def test_a_group_config_applies_to_its_group_only(broker: Broker, nursery) -> None:
    broker.dynamic.set_group("other", {"consumer.heartbeat.interval.ms": "9000"})
    mine = CgMember(connect(broker, nursery), group_id="g")
    theirs = CgMember(connect(broker, nursery), group_id="other")
    assert (await mine.heartbeat()).heartbeat_interval_ms == 200
    # A config set before the group exists applies from its first heartbeat.
    assert (await theirs.heartbeat()).heartbeat_interval_ms == 9000


async def test_session_timeout_follows_the_groups_config(broker: Broker, nursery, autojump_clock) -> None:
    broker.dynamic.set_group("g", {"consumer.session.timeout.ms": "50000"})
    a, b = CgMember(connect(broker, nursery)), CgMember(connect(broker, nursery))
    await a.heartbeat()
    await b.heartbeat()
    for _ in range(10):  # b is silent 40 s: past the broker's 3 s, within the group's 50 s
        await trio.sleep(4)
        await a.heartbeat()
    assert b.member_id in broker.groups.consumer_group("g").members
    for _ in range(3):  # 52 s in all
        await trio.sleep(4)
        await a.heartbeat()
    assert b.member_id not in broker.groups.consumer_group("g").members
    assert (await b.heartbeat()).error_code == E.UNKNOWN_MEMBER_ID


async def test_session_timeout_is_read_again_at_each_heartbeat(broker: Broker, nursery, autojump_clock) -> None:
    a, b = CgMember(connect(broker, nursery)), CgMember(connect(broker, nursery))
    await a.heartbeat()
    broker.dynamic.set_group("g", {"consumer.session.timeout.ms": "45000"})
    await b.heartbeat()  # b's deadline is now 45 s away
    await trio.sleep(10)
    await a.heartbeat()
    assert b.member_id in broker.groups.consumer_group("g").members
    broker.dynamic.set_group("g", {})
    await b.heartbeat()  # back to the broker's 3 s from this heartbeat on
    await trio.sleep(3.5)
    await a.heartbeat()
    assert b.member_id not in broker.groups.consumer_group("g").members


async def test_broker_lists_its_group_consumer_settings_read_only(broker: Broker, nursery) -> None:
    client = connect(broker, nursery)
    configs = await rows(client, BROKER, "0")
    described = {
        name: (row.value, row.config_source, row.read_only, synonyms(row))
        for name, row in configs.items() if name.startswith("group.consumer.")
    }
    hb, session = "group.consumer.heartbeat.interval.ms", "group.consumer.session.timeout.ms"
    assert described == {
        # kafkalite's own defaults (200 ms) and this broker's setting (3 s), Kafka's behind them
        hb: ("200", STATIC, True, [(hb, "200", STATIC), (hb, "5000", DEFAULT)]),
        session: ("3000", STATIC, True, [(session, "3000", STATIC), (session, "45000", DEFAULT)]),
        **{
            name: (value, DEFAULT, read_only, [(name, value, DEFAULT)])
            for name, value, read_only in [
                ("group.consumer.assignors", "uniform,range", True),
                ("group.consumer.max.size", "2147483647", True),
                ("group.consumer.migration.policy", "bidirectional", True),
                ("group.consumer.min.heartbeat.interval.ms", "5000", True),
                ("group.consumer.max.heartbeat.interval.ms", "15000", True),
                ("group.consumer.min.session.timeout.ms", "45000", True),
                ("group.consumer.max.session.timeout.ms", "60000", True),
                ("group.consumer.min.assignment.interval.ms", "0", True),
                ("group.consumer.max.assignment.interval.ms", "15000", True),
                ("group.consumer.assignment.interval.ms", "1000", False),  # dynamic in Kafka 4.4
            ]
        },
    }
    assert configs["group.consumer.assignors"].config_type == 7  # LIST


async def test_broker_states_the_group_consumer_settings_it_was_started_with(nursery) -> None:
    broker = start_broker(nursery, group_consumer_assignors=("range",), group_consumer_max_size=3,
                          group_consumer_migration_policy="upgrade")
    names = ["group.consumer.assignors", "group.consumer.max.size", "group.consumer.migration.policy"]
    configs = await rows(connect(broker, nursery), BROKER, "0", names)
    assert [(configs[n].value, configs[n].config_source) for n in names] == [
        ("range", STATIC), ("3", STATIC), ("upgrade", STATIC)]


async def test_a_group_without_its_own_value_describes_the_brokers_setting(broker: Broker, nursery) -> None:
    client = connect(broker, nursery)
    assert await incremental(client, "g", ("consumer.heartbeat.interval.ms", SET, "6000"), resource_type=GROUP) == OK
    configs = await rows(client, GROUP, "g")
    session, interval = configs["consumer.session.timeout.ms"], configs["consumer.heartbeat.interval.ms"]
    # The group's value first, then the broker's setting (this broker's 3 s) and Kafka's default.
    assert (session.value, session.config_source, synonyms(session)) == ("3000", STATIC, [
        ("group.consumer.session.timeout.ms", "3000", STATIC), ("group.consumer.session.timeout.ms", "45000", DEFAULT)])
    assert (interval.value, interval.config_source, synonyms(interval)) == ("6000", GROUP_SOURCE, [
        ("consumer.heartbeat.interval.ms", "6000", GROUP_SOURCE),
        ("group.consumer.heartbeat.interval.ms", "200", STATIC),
        ("group.consumer.heartbeat.interval.ms", "5000", DEFAULT),
    ])
