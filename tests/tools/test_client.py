"""The tools' client side: addresses, the default partitioner, version negotiation."""

from __future__ import annotations

import os

import pytest
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from kafkalite.testing.thread import BrokerThread
from kafkalite.tools.client import Client, Connection, ToolError, parse_address, parse_bootstrap
from kafkalite.tools.partitioner import murmur2, partition_for_key


def test_parse_address_accepts_host_port_and_bracketed_ipv6() -> None:
    assert parse_address("localhost:9092") == ("localhost", 9092)
    assert parse_address("[::1]:19092") == ("::1", 19092)
    assert parse_bootstrap("a:1, b:2") == [("a", 1), ("b", 2)]


@pytest.mark.parametrize("text", ["localhost", "host:", ":9092", "host:99999", "host:abc"])
def test_parse_address_rejects_what_is_not_host_port(text: str) -> None:
    with pytest.raises(ToolError, match="HOST:PORT"):
        parse_address(text)


def test_murmur2_matches_kafka_python_for_every_tail_length() -> None:
    for length in range(0, 33):
        data = os.urandom(length)
        assert murmur2(data) == kafka_python_murmur2(data) & 0xFFFFFFFF


def test_partition_for_key_matches_the_java_client_on_known_keys() -> None:
    # Values from Kafka's DefaultPartitionerTest / Utils.murmur2 test vectors.
    assert murmur2(b"21") == (-973932308) & 0xFFFFFFFF
    assert murmur2(b"foobar") == (-790332482) & 0xFFFFFFFF
    assert partition_for_key(b"foobar", 3) == (-790332482 & 0x7FFFFFFF) % 3


def test_versions_are_the_highest_both_sides_speak(kafkalite_shared_broker: BrokerThread) -> None:
    host, port = kafkalite_shared_broker.host, kafkalite_shared_broker.port
    with Connection(host, port) as connection:
        connection.negotiate()
        assert connection.version_for(1) == 12  # Fetch: the broker serves 16, the tools name topics up to 12
        assert connection.version_for(3) == 12
        assert connection.version_for(18) == 3


def test_a_closed_port_is_a_clear_error() -> None:
    with pytest.raises(ToolError, match="cannot connect to 127.0.0.1:1"):
        Client("127.0.0.1:1", timeout=1)
