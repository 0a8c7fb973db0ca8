"""kafkalite acls: add, list and remove through CreateAcls / DescribeAcls / DeleteAcls."""

from __future__ import annotations

import pytest

from kafkalite.testing.thread import BrokerThread
from tests.tools.conftest import Run


@pytest.mark.kafkalite(acls=True, super_users=["User:ANONYMOUS"])
def test_add_list_remove(kafkalite_broker: BrokerThread, cli: Run) -> None:
    bs = ("--bootstrap-server", kafkalite_broker.bootstrap_servers)
    status, out, err = cli("acls", "add", *bs, "--allow-principal", "User:bob", "--operation", "Read",
                           "--operation", "DescribeConfigs", "--topic", "orders")
    assert status == 0, err
    assert out.count("Added ACL") == 2
    status, out, err = cli("acls", *bs, "--add", "--deny-principal", "User:eve", "--operation", "All",
                           "--group", "app-", "--resource-pattern-type", "prefixed")
    assert status == 0, err
    acls = kafkalite_broker.acls.list()
    assert sorted((a.resource_name, a.principal, a.operation.name, a.permission.name, a.pattern_type.name)
                  for a in acls) == [
        ("app-", "User:eve", "ALL", "DENY", "PREFIXED"),
        ("orders", "User:bob", "DESCRIBE_CONFIGS", "ALLOW", "LITERAL"),
        ("orders", "User:bob", "READ", "ALLOW", "LITERAL"),
    ]

    status, out, err = cli("acls", "list", *bs, "--topic", "orders")
    assert status == 0, err
    assert out.splitlines()[:3] == [
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:",
        "\t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)",
        "\t(principal=User:bob, host=*, operation=DESCRIBE_CONFIGS, permissionType=ALLOW)",
    ]
    status, out, _ = cli("acls", "list", *bs, "--principal", "User:eve")
    assert "name=app-, patternType=PREFIXED" in out and "orders" not in out

    status, out, err = cli("acls", "remove", *bs, "--allow-principal", "User:bob", "--operation", "Read",
                           "--topic", "orders")
    assert status == 0, err
    assert "Removed ACL (principal=User:bob, host=*, operation=READ" in out
    assert len(kafkalite_broker.acls.list()) == 2


def test_without_the_authorizer_the_broker_says_security_disabled(kafkalite_broker: BrokerThread, cli: Run) -> None:
    status, _, err = cli("acls", "add", "--bootstrap-server", kafkalite_broker.bootstrap_servers,
                         "--allow-principal", "User:bob", "--operation", "Read", "--topic", "t")
    assert status == 1
    assert "SECURITY_DISABLED" in err


def test_an_unknown_operation_is_refused_before_sending(kafkalite_broker: BrokerThread, cli: Run) -> None:
    status, _, err = cli("acls", "add", "--bootstrap-server", kafkalite_broker.bootstrap_servers,
                         "--allow-principal", "User:bob", "--operation", "Fly", "--topic", "t")
    assert status == 1
    assert "unknown operation 'Fly'" in err
