"""The port's constants: the topic's name and the configs Kafka enforces on it."""

from __future__ import annotations

from kafkalite.transactions.port import (
    DEFAULT_NUM_PARTITIONS,
    TRANSACTION_STATE_TOPIC,
    TRANSACTION_STATE_TOPIC_CONFIGS,
    transaction_state_topic_configs,
)


def test_the_topic_is_kafkas() -> None:
    assert TRANSACTION_STATE_TOPIC == "__transaction_state"
    assert DEFAULT_NUM_PARTITIONS == 50


def test_the_topic_is_compacted_uncompressed_and_never_elects_uncleanly() -> None:
    assert TRANSACTION_STATE_TOPIC_CONFIGS == {
        "unclean.leader.election.enable": "false",
        "compression.type": "uncompressed",
        "cleanup.policy": "compact",
        "min.insync.replicas": "2",
        "segment.bytes": "104857600",
    }


def test_min_insync_replicas_follows_the_brokers_setting() -> None:
    assert transaction_state_topic_configs(min_insync_replicas=1)["min.insync.replicas"] == "1"
