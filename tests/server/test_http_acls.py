"""GET, POST and DELETE /v1/acls: the broker's ACLs over the HTTP control API."""

from __future__ import annotations

from typing import Iterator

import pytest

import kafkalite
from kafkalite.testing.thread import BrokerThread

from .test_http_api import call


@pytest.fixture(scope="module")
def running() -> Iterator[BrokerThread]:
    with kafkalite.run_in_thread(http_port=0, acls=True) as broker:
        yield broker


@pytest.fixture
def broker(running: BrokerThread) -> BrokerThread:
    running.reset()  # also clears the ACLs
    return running


def test_post_adds_an_acl_the_broker_enforces(broker: BrokerThread) -> None:
    status, _h, body = call(broker, "POST", "/v1/acls", {
        "principal": "User:bob", "resource": "topic", "name": "orders", "operation": "read",
    })
    assert status == 201
    assert body == {"resource_type": "TOPIC", "resource_name": "orders", "pattern_type": "LITERAL",
                    "principal": "User:bob", "host": "*", "operation": "READ", "permission": "ALLOW"}
    assert [(a.principal, a.resource_name) for a in broker.acls.list()] == [("User:bob", "orders")]


def test_get_filters_and_delete_removes_what_matches(broker: BrokerThread) -> None:
    broker.acls.add(principal="bob", resource="topic", name="orders", operation="READ")
    broker.acls.add(principal="eve", resource="group", name="app-", pattern="PREFIXED", operation="ALL",
                    permission="DENY")
    status, _h, body = call(broker, "GET", "/v1/acls?resource=group")
    assert status == 200 and [a["principal"] for a in body] == ["User:eve"]
    status, _h, body = call(broker, "GET", "/v1/acls?resource=group&name=app-x&pattern=MATCH")
    assert [a["resource_name"] for a in body] == ["app-"]
    status, _h, body = call(broker, "DELETE", "/v1/acls?principal=bob")
    assert status == 200 and [a["resource_name"] for a in body["removed"]] == ["orders"]
    status, _h, body = call(broker, "GET", "/v1/acls")
    assert [a["principal"] for a in body] == ["User:eve"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"principal": "bob", "resource": "topic", "name": "t", "operation": "FLY"}, "Invalid operation UNKNOWN"),
    ({"principal": "bob", "resource": "cluster", "name": "c", "operation": "ALTER"}, "kafka-cluster"),
    ({"principal": "bob", "resource": "topic", "name": "t"}, "operation"),
    ({"principal": "bob", "resource": "topic", "name": "t", "operation": "READ", "colour": "red"}, "colour"),
])
def test_a_bad_acl_answers_400_and_adds_nothing(broker: BrokerThread, spec, message: str) -> None:
    status, _h, body = call(broker, "POST", "/v1/acls", spec)
    assert status == 400
    assert message in body["error"]
    assert broker.acls.list() == []


def test_an_unknown_filter_parameter_answers_400(broker: BrokerThread) -> None:
    status, _h, body = call(broker, "GET", "/v1/acls?colour=red")
    assert status == 400 and body["field"] == "colour"
