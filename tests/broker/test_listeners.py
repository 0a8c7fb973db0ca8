"""Listener strings as Kafka parses them (listeners, advertised.listeners, the protocol map)
and the BrokerConfig rules around them."""

from __future__ import annotations

import pytest

from kafkalite.broker.listeners import (
    Listener,
    ListenerConfigError,
    parse_advertised,
    parse_listeners,
    parse_protocol_map,
)
from kafkalite.broker.settings import BrokerConfig


def test_the_four_protocol_names_need_no_map() -> None:
    listeners = parse_listeners("PLAINTEXT://h:9092,SSL://h:9093,SASL_PLAINTEXT://:9094,SASL_SSL://0.0.0.0:9095")
    assert listeners == (
        Listener("PLAINTEXT", "PLAINTEXT", "h", 9092),
        Listener("SSL", "SSL", "h", 9093),
        Listener("SASL_PLAINTEXT", "SASL_PLAINTEXT", "", 9094),
        Listener("SASL_SSL", "SASL_SSL", "0.0.0.0", 9095),
    )
    assert [(l.uses_tls, l.uses_sasl) for l in listeners] == [(False, False), (True, False), (False, True), (True, True)]


def test_custom_names_take_their_protocol_from_the_map_and_are_upper_cased() -> None:
    protocols = parse_protocol_map("internal:sasl_ssl, EXTERNAL:PLAINTEXT")
    assert protocols == {"INTERNAL": "SASL_SSL", "EXTERNAL": "PLAINTEXT"}
    listeners = parse_listeners("internal://127.0.0.1:0,EXTERNAL://[::1]:19092", protocols)
    assert listeners == (Listener("INTERNAL", "SASL_SSL", "127.0.0.1", 0), Listener("EXTERNAL", "PLAINTEXT", "::1", 19092))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("FOO://h:1", "FOO has no security protocol"),
        ("PLAINTEXT://h", "is not NAME://HOST:PORT"),
        ("PLAINTEXT://h:70000", "out of range"),
        ("PLAINTEXT://h:1,PLAINTEXT://h:2", "each listener name must appear once"),
        ("PLAINTEXT://h:1,SSL://h:1", "a port of its own"),
        ("", "no listener given"),
    ],
)
def test_listener_strings_kafka_refuses(spec: str, message: str) -> None:
    with pytest.raises(ListenerConfigError, match=message):
        parse_listeners(spec)


def test_port_zero_may_repeat() -> None:
    assert len(parse_listeners("PLAINTEXT://h:0,SSL://h:0")) == 2


def test_protocol_map_errors() -> None:
    with pytest.raises(ListenerConfigError, match="unknown security protocol"):
        parse_protocol_map("A:TLS")
    with pytest.raises(ListenerConfigError, match="appears twice"):
        parse_protocol_map("A:SSL,a:PLAINTEXT")
    with pytest.raises(ListenerConfigError, match="NAME:PROTOCOL"):
        parse_protocol_map("A")


def test_advertised_listeners_name_listeners_and_need_a_port() -> None:
    listeners = parse_listeners("PLAINTEXT://:9092,SASL_SSL://:9094")
    assert parse_advertised("SASL_SSL://kafka.example:19094", listeners) == {"SASL_SSL": ("kafka.example", 19094)}
    with pytest.raises(ListenerConfigError, match="not one of the listeners"):
        parse_advertised("SSL://h:1", listeners)
    with pytest.raises(ListenerConfigError, match="needs a port"):
        parse_advertised("PLAINTEXT://h:0", listeners)


def test_host_and_port_are_the_one_plaintext_listener() -> None:
    config = BrokerConfig(host="127.0.0.1", port=0)
    assert config.listener_list == (Listener("PLAINTEXT", "PLAINTEXT", "127.0.0.1", 0),)


def test_config_rules_for_listeners() -> None:
    with pytest.raises(ValueError, match="needs ssl_certfile and ssl_keyfile"):
        BrokerConfig(listeners="SSL://:0")
    with pytest.raises(ValueError, match="needs ssl_cafile"):
        BrokerConfig(ssl_client_auth="required")
    with pytest.raises(ValueError, match="use advertised_listeners"):
        BrokerConfig(listeners="PLAINTEXT://:0", advertised_host="x")
    with pytest.raises(ValueError, match="space the listeners' ports"):
        BrokerConfig(listeners="PLAINTEXT://:9092,SASL_PLAINTEXT://:9093", brokers=2)
    BrokerConfig(listeners="PLAINTEXT://:9092,SASL_PLAINTEXT://:9192", brokers=2)
    with pytest.raises(ValueError, match="not supported"):
        BrokerConfig(sasl_mechanisms=["GSSAPI"])
    with pytest.raises(ValueError, match="at least one SASL mechanism"):
        BrokerConfig(listeners="SASL_PLAINTEXT://:0", sasl_mechanisms=[])


def test_users_and_mechanisms_are_normalised() -> None:
    config = BrokerConfig(users={"bob": "b", "alice": "a"}, sasl_mechanisms="plain, scram-sha-512", super_users=["alice"])
    assert config.users == (("alice", "a"), ("bob", "b"))
    assert config.sasl_mechanisms == ("PLAIN", "SCRAM-SHA-512")
    assert config.super_users == ("User:alice",)
    hash(config)  # still a frozen, hashable value
