"""The authorizer's rules, one table: Kafka's StandardAuthorizer decisions."""

from __future__ import annotations

import pytest

from kafkalite.broker.acls import AclBinding, AclFilter, AclOperation, PatternType, ResourceType
from kafkalite.broker.authorizer import allowed, allowed_on_some, authorized_operations
from kafkalite.broker.cluster import CLUSTER_OPERATIONS, GROUP_OPERATIONS, TOPIC_OPERATIONS
from kafkalite.broker.registry import RequestContext
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.wire.headers import RequestHeader

from .conftest import make_broker

Op = AclOperation


def acl(name: str, operation: str, permission: str = "ALLOW", *, resource: str = "TOPIC", pattern: str = "LITERAL",
        principal: str = "User:alice", host: str = "*") -> AclBinding:
    return AclBinding(resource_type=resource, resource_name=name, pattern_type=pattern, principal=principal,
                      host=host, operation=operation, permission=permission)


def context(acls: list[AclBinding], principal: str = "User:alice", peer: str = "10.0.0.1:5555", **config) -> RequestContext:
    broker = make_broker(acls=True, **config)
    broker.acls.add(acls)
    return RequestContext(broker, RequestHeader(3, 12, 1, "test"), 0, peer, principal=principal)


# (ACLs, operation asked, topic "orders", expected)
RULES = [
    ([], Op.READ, False),  # no ACL: closed (allow.everyone.if.no.acl.found is off)
    ([acl("orders", "READ")], Op.READ, True),
    ([acl("orders", "READ")], Op.WRITE, False),
    ([acl("orders", "READ")], Op.DESCRIBE, True),  # READ implies DESCRIBE
    ([acl("orders", "WRITE")], Op.DESCRIBE, True),
    ([acl("orders", "DELETE")], Op.DESCRIBE, True),
    ([acl("orders", "ALTER")], Op.DESCRIBE, True),
    ([acl("orders", "CREATE")], Op.DESCRIBE, False),  # CREATE does not
    ([acl("orders", "ALTER_CONFIGS")], Op.DESCRIBE_CONFIGS, True),
    ([acl("orders", "ALTER_CONFIGS")], Op.DESCRIBE, False),
    ([acl("orders", "DESCRIBE")], Op.READ, False),  # implication goes one way
    ([acl("orders", "ALL")], Op.WRITE, True),
    ([acl("orders", "READ"), acl("orders", "READ", "DENY")], Op.READ, False),  # deny wins
    ([acl("orders", "ALL"), acl("orders", "WRITE", "DENY")], Op.READ, True),
    ([acl("orders", "ALL"), acl("*", "ALL", "DENY")], Op.READ, False),  # wildcard deny
    ([acl("orders", "DESCRIBE"), acl("orders", "READ", "DENY")], Op.DESCRIBE, True),  # DENY READ keeps DESCRIBE
    ([acl("orders", "ALL", "DENY")], Op.DESCRIBE, False),
    ([acl("*", "READ")], Op.READ, True),  # LITERAL "*" is every topic
    ([acl("ord", "READ", pattern="PREFIXED")], Op.READ, True),
    ([acl("orders", "READ", pattern="PREFIXED")], Op.READ, True),  # a prefix may be the whole name
    ([acl("ordersx", "READ", pattern="PREFIXED")], Op.READ, False),
    ([acl("ord", "READ")], Op.READ, False),  # LITERAL is not a prefix
    ([acl("o", "READ", pattern="PREFIXED"), acl("orders", "READ", "DENY")], Op.READ, False),
    ([acl("orders", "READ", principal="User:bob")], Op.READ, False),
    ([acl("orders", "READ", principal="User:*")], Op.READ, True),  # every user
    ([acl("orders", "READ", host="10.0.0.1")], Op.READ, True),
    ([acl("orders", "READ", host="10.0.0.2")], Op.READ, False),
    ([acl("orders", "READ", resource="GROUP")], Op.READ, False),  # another resource type
]


@pytest.mark.parametrize(("acls", "operation", "expected"), RULES, ids=[str(i) for i in range(len(RULES))])
def test_rules(acls: list[AclBinding], operation: AclOperation, expected: bool) -> None:
    assert allowed(context(acls), operation, ResourceType.TOPIC, "orders") is expected


def test_super_user_may_do_everything_even_when_denied() -> None:
    ctx = context([acl("orders", "ALL", "DENY")], super_users=("alice",))
    assert allowed(ctx, Op.WRITE, ResourceType.TOPIC, "orders")


def test_allow_everyone_if_no_acl_found_opens_only_resources_without_acls() -> None:
    ctx = context([acl("orders", "READ", principal="User:bob")], allow_everyone_if_no_acl_found=True)
    assert allowed(ctx, Op.WRITE, ResourceType.TOPIC, "payments")  # no ACL covers it
    assert not allowed(ctx, Op.READ, ResourceType.TOPIC, "orders")  # bob's ACL covers it


def test_authorizer_off_allows_everything() -> None:
    broker = make_broker()
    broker.acls.add([acl("orders", "ALL", "DENY")])
    ctx = RequestContext(broker, RequestHeader(3, 12, 1, "test"), 0, "10.0.0.1:1")
    assert allowed(ctx, Op.READ, ResourceType.TOPIC, "orders")
    assert authorized_operations(ctx, ResourceType.TOPIC, "orders") == TOPIC_OPERATIONS
    assert authorized_operations(ctx, ResourceType.CLUSTER, "kafka-cluster") == CLUSTER_OPERATIONS
    assert authorized_operations(ctx, ResourceType.GROUP, "g") == GROUP_OPERATIONS


def test_authorized_operations_bits_follow_the_acls() -> None:
    ctx = context([acl("orders", "READ")])
    assert authorized_operations(ctx, ResourceType.TOPIC, "orders") == (1 << Op.READ) | (1 << Op.DESCRIBE)


def test_some_topic_writable_by_resource_type() -> None:
    assert allowed_on_some(context([acl("t", "WRITE")]), Op.WRITE, ResourceType.TOPIC)
    assert not allowed_on_some(context([acl("t", "READ")]), Op.WRITE, ResourceType.TOPIC)
    # an allowed prefix wholly denied by a shorter denied prefix does not count
    denied = [acl("tx", "WRITE", pattern="PREFIXED"), acl("t", "WRITE", "DENY", pattern="PREFIXED")]
    assert not allowed_on_some(context(denied), Op.WRITE, ResourceType.TOPIC)
    assert not allowed_on_some(context([acl("t", "WRITE"), acl("*", "WRITE", "DENY")]), Op.WRITE, ResourceType.TOPIC)


FILTERS = [
    (AclFilter(), True),
    (AclFilter(resource_type="GROUP"), False),
    (AclFilter(resource_name="orders"), False),  # ANY pattern: the exact name
    (AclFilter(resource_name="ord"), True),
    (AclFilter(resource_name="orders", pattern_type="MATCH"), True),  # the prefix covers it
    (AclFilter(resource_name="other", pattern_type="MATCH"), False),
    (AclFilter(pattern_type="LITERAL"), False),
    (AclFilter(principal="User:alice", operation="READ", permission="ALLOW"), True),
    (AclFilter(permission="DENY"), False),
    (AclFilter(host="10.0.0.1"), False),
]


@pytest.mark.parametrize(("acl_filter", "expected"), FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_filters_match_as_kafka(acl_filter: AclFilter, expected: bool) -> None:
    assert acl_filter.matches(acl("ord", "READ", pattern="PREFIXED")) is expected


def test_match_filter_finds_the_wildcard_literal() -> None:
    assert AclFilter(resource_name="orders", pattern_type=PatternType.MATCH).matches(acl("*", "READ"))


def test_acls_survive_a_restart(tmp_path) -> None:
    wanted = [acl("orders", "READ"), acl("g", "READ", resource="GROUP", pattern="PREFIXED")]
    broker = Broker.create(BrokerConfig(data_dir=tmp_path, acls=True))
    try:
        broker.acls.add(wanted)
    finally:
        broker.store.close()
    broker = Broker.create(BrokerConfig(data_dir=tmp_path))
    try:
        assert list(broker.acls) == wanted
        broker.reset()  # tests reuse a broker: reset clears the ACLs, on disk too
    finally:
        broker.store.close()
    broker = Broker.create(BrokerConfig(data_dir=tmp_path))
    try:
        assert list(broker.acls) == []
    finally:
        broker.store.close()


@pytest.mark.parametrize(("binding", "problem"), [
    (acl("orders", "READ", resource="ANY"), "Invalid resourceType ANY"),
    (acl("orders", "READ", pattern="MATCH"), "Invalid patternType MATCH"),
    (acl("orders", "ANY"), "Invalid operation ANY"),
    (acl("orders", "READ", "ANY"), "Invalid permissionType ANY"),
    (acl("c", "ALTER", resource="CLUSTER"), "The only valid name for the CLUSTER resource is kafka-cluster"),
    (acl("", "READ"), "Invalid empty resource name"),
    (acl("orders", "READ", principal="alice"), "principalType:principalName"),
])
def test_invalid_bindings_say_why(binding: AclBinding, problem: str) -> None:
    assert problem in (binding.invalid() or "")
