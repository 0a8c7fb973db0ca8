"""kafkalite quotas: alter and describe client quotas as kafka-configs.sh does, and the serve
flags of quotas and producer id expiration."""

from __future__ import annotations

from kafkalite.cli import build_parser, config_from_args
from kafkalite.testing.quotas import DEFAULT
from kafkalite.testing.thread import BrokerThread
from tests.tools.conftest import Run


def test_alter_then_describe(cli: Run, kafkalite_shared_broker: BrokerThread) -> None:
    broker = kafkalite_shared_broker
    bs = ("--bootstrap-server", broker.bootstrap_servers)
    status, out, _ = cli("quotas", "alter", *bs, "--entity-type", "clients", "--entity-name", "app",
                         "--add-config", "producer_byte_rate=1024,consumer_byte_rate=2048")
    assert (status, out) == (0, "Completed updating quotas for client-id 'app'.\n")
    status, out, _ = cli("quotas", "alter", *bs, "--entity-type", "users", "--entity-name", "alice",
                         "--entity-type", "clients", "--entity-default", "--add-config", "request_percentage=12.5")
    assert status == 0
    assert broker.quotas.describe() == {
        "/clients/app": {"producer_byte_rate": 1024.0, "consumer_byte_rate": 2048.0},
        "/users/alice/clients/<default>": {"request_percentage": 12.5},
    }
    status, out, _ = cli("quotas", "describe", *bs)
    assert out.splitlines() == [
        "Quota configs for user-principal 'alice', the default client-id are request_percentage=12.5",
        "Quota configs for client-id 'app' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0",
    ]
    status, out, _ = cli("quotas", "describe", *bs, "--entity-type", "clients", "--entity-name", "app")
    assert out == "Quota configs for client-id 'app' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0\n"
    cli("quotas", "alter", *bs, "--entity-type", "clients", "--entity-name", "app", "--delete-config", "producer_byte_rate")
    assert broker.quotas.describe()["/clients/app"] == {"consumer_byte_rate": 2048.0}


def test_refusals_are_kafkas(cli: Run, kafkalite_shared_broker: BrokerThread) -> None:
    bs = ("--bootstrap-server", kafkalite_shared_broker.bootstrap_servers)
    status, _, err = cli("quotas", "alter", *bs, "--entity-type", "clients", "--entity-name", "app", "--add-config", "bogus=1")
    assert status == 1 and "INVALID_REQUEST: Invalid configuration key bogus" in err
    status, _, err = cli("quotas", "alter", *bs, "--entity-type", "clients", "--add-config", "producer_byte_rate=1")
    assert status == 1 and "needs an --entity-name or --entity-default" in err
    assert kafkalite_shared_broker.quotas.describe() == {}


def test_the_python_handle_validates_and_clears(kafkalite_shared_broker: BrokerThread) -> None:
    quotas = kafkalite_shared_broker.quotas
    quotas.set(user="bob", client_id=DEFAULT, producer_byte_rate=100)
    assert quotas.describe() == {"/users/bob/clients/<default>": {"producer_byte_rate": 100.0}}
    try:
        quotas.set(client_id="x", producer_byte_rate=1.5)
    except ValueError as exc:
        assert str(exc) == "producer_byte_rate cannot be a fractional value."
    else:
        raise AssertionError("a fractional byte rate was taken")
    quotas.remove(user="bob", client_id=DEFAULT)
    assert quotas.describe() == {}


def test_serve_flags() -> None:
    args = build_parser().parse_args([
        "serve", "--quota-window-num", "3", "--quota-window-size-seconds", "2",
        "--producer-id-expiration-ms", "5000", "--producer-id-expiration-check-interval-ms", "100",
    ])
    config = config_from_args(args)
    assert (config.quota_window_num, config.quota_window_size_seconds) == (3, 2)
    assert (config.producer_id_expiration_ms, config.producer_id_expiration_check_interval_ms) == (5000, 100)
