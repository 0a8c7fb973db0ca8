"""ElectLeaders from confluent-kafka and kafka-python: on one broker every partition is led
by its preferred replica, so both election types answer ELECTION_NOT_NEEDED (Kafka's and
kafkalite's answers alike); an unknown topic is UNKNOWN_TOPIC_OR_PARTITION."""

from __future__ import annotations

from typing import Iterator

import pytest
from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka import ElectionType as ConfluentElectionType
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient

from .conftest import eventually, wait_for_topic

TIMEOUT = 10
PREFERRED, UNCLEAN = 0, 1
ELECTION_NOT_NEEDED = 84
UNKNOWN_TOPIC_OR_PARTITION = 3


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def kadmin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        yield client
    finally:
        client.close()


def _create(admin: AdminClient, topic: str, partitions: int = 1) -> None:
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result(TIMEOUT)
    wait_for_topic(admin, topic)


@pytest.mark.parametrize("election", [ConfluentElectionType.PREFERRED, ConfluentElectionType.UNCLEAN])
def test_confluent_election_not_needed_on_a_led_partition(admin: AdminClient, topic_name: str, election) -> None:
    _create(admin, topic_name, 2)
    partitions = [TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)]

    def answered() -> dict:
        result = admin.elect_leaders(election, partitions).result(TIMEOUT)
        assert {(tp.topic, tp.partition) for tp in result} == {(topic_name, 0), (topic_name, 1)}
        return result

    result = eventually(answered)
    assert [error.code() for error in result.values()] == [KafkaError.ELECTION_NOT_NEEDED] * 2


def test_confluent_unknown_topic(admin: AdminClient, topic_name: str) -> None:
    result = admin.elect_leaders(ConfluentElectionType.PREFERRED, [TopicPartition(topic_name, 0)]).result(TIMEOUT)
    assert [error.code() for error in result.values()] == [KafkaError.UNKNOWN_TOPIC_OR_PART]


@pytest.mark.parametrize("election", [PREFERRED, UNCLEAN])
def test_kafka_python_election_not_needed(admin: AdminClient, kadmin: KafkaAdminClient, topic_name: str, election) -> None:
    _create(admin, topic_name)
    response = kadmin.elect_leaders(election, {topic_name: [0]}, raise_errors=False)
    results = [
        (result[0], partition[0], partition[1])
        for result in response.replica_election_results for partition in result[1]
    ]
    assert results == [(topic_name, 0, ELECTION_NOT_NEEDED)]


def test_kafka_python_unknown_topic(kadmin: KafkaAdminClient, topic_name: str) -> None:
    response = kadmin.elect_leaders(PREFERRED, {topic_name: [0]}, raise_errors=False)
    results = [
        (result[0], partition[0], partition[1])
        for result in response.replica_election_results for partition in result[1]
    ]
    assert results == [(topic_name, 0, UNKNOWN_TOPIC_OR_PARTITION)]
