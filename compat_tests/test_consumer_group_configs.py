"""Group configs of consumer groups (KIP-848) with confluent-kafka's AdminClient, kafka-python,
raw ConsumerGroupHeartbeat requests and a librdkafka consumer (``group.protocol=consumer``):
a group's consumer.heartbeat.interval.ms and consumer.session.timeout.ms override the broker's
group.consumer.* settings from the group's next heartbeat, and the BROKER resource lists those
settings, read-only, as Kafka 4.4 does. And the ``range`` server assignor's member order
(static members first, by instance id), by raw heartbeats to both brokers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any, Iterator

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

from kafkalite.wire.messages.consumer_group_heartbeat import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatTopicPartitions,
)
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest

from .conftest import eventually, per_broker, start_broker, stop_broker, wait_for_topic
from .wire_client import WireClient

KAFKALITE_DEFAULT_INTERVAL = "kafkalite's default consumer heartbeat interval is 200 ms (Kafka: 5000), see README"


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def topic(admin: AdminClient, topic_name: str) -> str:
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(timeout=30)
    wait_for_topic(admin, topic_name, 2)
    return topic_name


@pytest.fixture
def group_id() -> str:
    return f"cg-configs-{uuid.uuid4().hex[:10]}"


def set_group_configs(admin: AdminClient, group_id: str, **configs: str | None) -> None:
    """SET each config with a value, DELETE each given as None."""
    entries = [
        ConfigEntry(name.replace("_", "."), value,
                    incremental_operation=AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET)
        for name, value in configs.items()
    ]
    resource = ConfigResource(ResourceType.GROUP, group_id, incremental_configs=entries)
    admin.incremental_alter_configs([resource])[resource].result(timeout=30)


def heartbeat(client: WireClient, group_id: str, topic: str, member_id: str, epoch: int,
              instance_id: str | None = None, **fields: Any) -> Any:
    """A joining heartbeat (epoch 0) names the topic, later ones only *fields*; a static
    member names its instance id in each."""
    fields["instance_id"] = instance_id
    if epoch == 0:
        fields = dict(rebalance_timeout_ms=30000, subscribed_topic_names=[topic], topic_partitions=[]) | fields
    return client.request(
        ConsumerGroupHeartbeatRequest(group_id=group_id, member_id=member_id, member_epoch=epoch, **fields), 1
    )


@pytest.mark.deliberate_difference(reason=KAFKALITE_DEFAULT_INTERVAL)
def test_heartbeat_interval_of_the_group_is_in_the_next_heartbeat_response(
    bootstrap: str, admin: AdminClient, topic: str, group_id: str
) -> None:
    broker_interval = per_broker(kafkalite=200, kafka=5000)
    with WireClient(bootstrap) as client:
        member_id = str(uuid.uuid4())

        def joined() -> Any:
            [found] = client.request(FindCoordinatorRequest(key_type=0, coordinator_keys=[group_id]), 4).coordinators
            assert found.error_code == 0, found
            response = heartbeat(client, group_id, topic, member_id, 0)
            assert response.error_code == 0, response
            return response

        first = eventually(joined, timeout=60)
        assert first.heartbeat_interval_ms == broker_interval
        epoch = [first.member_epoch]

        def interval_is(expected: int) -> None:
            response = heartbeat(client, group_id, topic, member_id, epoch[0])
            assert response.error_code == 0, response
            epoch[0] = response.member_epoch
            assert response.heartbeat_interval_ms == expected

        # Kafka's coordinator learns a group config from the metadata log a moment after
        # IncrementalAlterConfigs answered (kafkalite at once): the next heartbeats carry it.
        set_group_configs(admin, group_id, consumer_heartbeat_interval_ms="7000")
        eventually(lambda: interval_is(7000))
        set_group_configs(admin, group_id, consumer_heartbeat_interval_ms=None)
        eventually(lambda: interval_is(broker_interval))
        assert heartbeat(client, group_id, topic, member_id, -1).error_code == 0  # leave


def test_group_configs_are_described_over_the_broker_settings(admin: AdminClient, group_id: str) -> None:
    set_group_configs(admin, group_id, consumer_session_timeout_ms="50000", consumer_heartbeat_interval_ms="6000")
    resource = ConfigResource(ResourceType.GROUP, group_id)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    session = configs["consumer.session.timeout.ms"]
    assert (session.value, session.source) == ("50000", 8)  # GROUP_CONFIG
    assert [s.name for s in session.synonyms.values()] == ["consumer.session.timeout.ms", "group.consumer.session.timeout.ms"]


@pytest.mark.deliberate_difference(reason=KAFKALITE_DEFAULT_INTERVAL)
def test_broker_describes_its_group_consumer_settings(admin: AdminClient) -> None:
    broker_id = str(next(iter(admin.list_topics(timeout=30).brokers)))
    resource = ConfigResource(ResourceType.BROKER, broker_id)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    described = {
        name: (entry.value, entry.source, entry.is_read_only)
        for name, entry in configs.items()
        if name.startswith("group.consumer.") and name != "group.consumer.assignor.offload.enable"
        and not name.startswith("group.consumer.regex")
    }
    static, default = 4, 5
    expected = {
        "group.consumer.heartbeat.interval.ms": per_broker(kafkalite=("200", static, True), kafka=("5000", default, True)),
        "group.consumer.migration.policy": ("bidirectional", default, True),
        "group.consumer.session.timeout.ms": ("45000", default, True),
        "group.consumer.assignors": ("uniform,range", default, True),
        "group.consumer.max.size": ("2147483647", default, True),
        "group.consumer.min.heartbeat.interval.ms": ("5000", default, True),
        "group.consumer.max.heartbeat.interval.ms": ("15000", default, True),
        "group.consumer.min.session.timeout.ms": ("45000", default, True),
        "group.consumer.max.session.timeout.ms": ("60000", default, True),
        "group.consumer.min.assignment.interval.ms": ("0", default, True),
        "group.consumer.max.assignment.interval.ms": ("15000", default, True),
        "group.consumer.assignment.interval.ms": ("1000", default, False),
    }
    assert {name: described.get(name) for name in expected} == expected


@pytest.mark.deliberate_difference(reason=KAFKALITE_DEFAULT_INTERVAL)
def test_kafka_python_sets_a_group_config_and_reads_the_broker_setting_behind_it(
    bootstrap: str, admin: AdminClient, group_id: str
) -> None:
    from kafka.admin import ConfigResource as KpResource, ConfigResourceType, KafkaAdminClient

    broker_id = str(next(iter(admin.list_topics(timeout=30).brokers)))
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        changed = client.alter_configs(
            [KpResource(ConfigResourceType.GROUP, group_id, configs={"consumer.heartbeat.interval.ms": "6000"})],
            incremental=True,
        )
        assert changed == {"group": {group_id: "OK"}}
        row = client.describe_configs([KpResource(ConfigResourceType.GROUP, group_id)], include_synonyms=True)
        interval = row["group"][group_id]["consumer.heartbeat.interval.ms"]
        # Behind the group's value: the broker's setting (kafkalite's own 200 ms), Kafka's default.
        assert (interval["value"], interval["config_source"]) == ("6000", "DYNAMIC_GROUP_CONFIG")
        assert [(s["name"], s["value"], s["source"]) for s in interval["synonyms"]] == [
            ("consumer.heartbeat.interval.ms", "6000", "DYNAMIC_GROUP_CONFIG"),
            *per_broker(kafkalite=[("group.consumer.heartbeat.interval.ms", "200", "STATIC_BROKER_CONFIG")], kafka=[]),
            ("group.consumer.heartbeat.interval.ms", "5000", "DEFAULT_CONFIG"),
        ]
        broker = client.describe_configs([KpResource(ConfigResourceType.BROKER, broker_id)], config_filter="all")
        setting = broker["broker"][broker_id]["group.consumer.heartbeat.interval.ms"]
        assert (setting["value"], setting["config_source"], setting["read_only"]) == per_broker(
            kafkalite=("200", "STATIC_BROKER_CONFIG", True), kafka=("5000", "DEFAULT_CONFIG", True))
    finally:
        client.close()


KILLED_MEMBER = """
import sys
from confluent_kafka import Consumer
consumer = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "group.protocol": "consumer"})
consumer.subscribe([sys.argv[3]])
while True:
    consumer.poll(0.05)
    print("assigned", len(consumer.assignment()), flush=True)
"""


@pytest.fixture
def short_session_broker() -> Iterator[str]:
    proc, bootstrap = start_broker("--memory", "--group-consumer-session-timeout-ms", "3000")
    try:
        yield bootstrap
    finally:
        stop_broker(proc)


@pytest.mark.kafkalite_only(reason="needs a broker of its own with a 3 s consumer session timeout (Kafka's least is 45 s)")
def test_session_timeout_of_the_group_keeps_a_killed_librdkafka_member(short_session_broker: str, topic_name: str) -> None:
    bootstrap = short_session_broker
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(timeout=30)
    wait_for_topic(admin, topic_name, 2)
    group_id = f"cg-session-{uuid.uuid4().hex[:10]}"
    set_group_configs(admin, group_id, consumer_session_timeout_ms="45000")
    member = subprocess.Popen(
        [sys.executable, "-c", KILLED_MEMBER, bootstrap, group_id, topic_name],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert member.stdout is not None
        deadline = time.monotonic() + 60
        while member.stdout.readline().strip() != "assigned 2":
            assert time.monotonic() < deadline, "the member got no assignment"
        os.kill(member.pid, signal.SIGKILL)  # no leave heartbeat: only its session can tell
        time.sleep(6)  # twice the broker's session timeout
        described = admin.describe_consumer_groups([group_id])[group_id].result(timeout=30)
        assert len(described.members) == 1, "the member was removed at the broker's session timeout, not its group's"
    finally:
        member.kill()
        member.wait()
        if member.stdout is not None:
            member.stdout.close()


def test_range_assignor_orders_static_members_by_instance_id(bootstrap: str, topic: str, group_id: str) -> None:
    # Member ids sort the other way round from instance ids; the dynamic member sorts first
    # by member id but comes last. Two partitions, three members: the static ones get them.
    members = [("00000000-0000-0000-0000-00000000000c", "instance-1"),
               ("00000000-0000-0000-0000-00000000000b", "instance-2"),
               ("00000000-0000-0000-0000-00000000000a", None)]
    with WireClient(bootstrap) as client:
        def coordinator_ready() -> None:
            [found] = client.request(FindCoordinatorRequest(key_type=0, coordinator_keys=[group_id]), 4).coordinators
            assert found.error_code == 0, found

        eventually(coordinator_ready, timeout=60)
        epochs: dict[str, int] = {}
        owned: dict[str, list[Any]] = {}  # what each member owns, as it sends it back

        def beat_all() -> None:
            for member_id, instance_id in members:
                epoch = epochs.get(member_id, 0)
                join = dict(server_assignor="range") if epoch == 0 else dict(topic_partitions=owned[member_id])
                response = heartbeat(client, group_id, topic, member_id, epoch, instance_id, **join)
                assert response.error_code == 0, response
                epochs[member_id] = response.member_epoch
                if response.assignment is not None:  # taken (and revoked) at once
                    owned[member_id] = [
                        ConsumerGroupHeartbeatTopicPartitions(topic_id=t.topic_id, partitions=t.partitions)
                        for t in response.assignment.topic_partitions
                    ]

        def settled() -> None:
            beat_all()
            assert len(set(epochs.values())) == 1
            assert {instance: [p for t in owned[member] for p in t.partitions] for member, instance in members} == {
                "instance-1": [0], "instance-2": [1], None: []}

        eventually(settled, timeout=60, interval=0.2)
        for member_id, instance_id in members:  # leave (static members with -2)
            heartbeat(client, group_id, topic, member_id, -2 if instance_id else -1, instance_id)
