"""The in-process kafkalite broker with its authorizer on, that the ACL compat tests script
(`broker.acls`). Clients connect on PLAINTEXT, so their principal is User:ANONYMOUS."""

from __future__ import annotations

from typing import Iterator

import pytest

import kafkalite

ANONYMOUS = "User:ANONYMOUS"
#: Why these tests run against kafkalite only.
REASON = ("the reference Kafka runs without an authorizer (its listener and authorizer settings belong "
          "to the SASL/TLS work), and broker.acls is kafkalite's own test API")


@pytest.fixture(scope="module")
def acl_broker() -> Iterator[kafkalite.BrokerThread]:
    with kafkalite.run_in_thread(partitions=1, acls=True) as broker:
        yield broker


@pytest.fixture
def broker(acl_broker: kafkalite.BrokerThread) -> Iterator[kafkalite.BrokerThread]:
    """The module's broker, with no ACL before or after the test (ANONYMOUS may do nothing)."""
    acl_broker.acls.clear()
    yield acl_broker
    acl_broker.acls.clear()
