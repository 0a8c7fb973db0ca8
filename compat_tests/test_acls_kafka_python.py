"""ACLs with kafka-python: what an application sees when the authorizer refuses it."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import ClusterAuthorizationFailedError, GroupAuthorizationFailedError, TopicAuthorizationFailedError

from .acl_broker import ANONYMOUS, REASON, acl_broker, broker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.kafkalite_only(reason=REASON)

TIMEOUT = 20


def test_read_without_write_refuses_the_producer_and_serves_the_consumer(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.produce(topic_name, b"written before the ACLs")
    broker.acls.add(principal=ANONYMOUS, resource="topic", name=topic_name, operation="READ")
    broker.acls.add(principal=ANONYMOUS, resource="group", name=f"{topic_name}-g", operation="READ")

    p = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, retries=0, max_block_ms=5000)
    try:
        future = p.send(topic_name, b"refused", partition=0)
        with pytest.raises(TopicAuthorizationFailedError):
            future.get(TIMEOUT)
    finally:
        p.close(5)
    assert broker.values(topic_name) == [b"written before the ACLs"]

    c = KafkaConsumer(topic_name, bootstrap_servers=broker.bootstrap_servers, group_id=f"{topic_name}-g",
                      auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=TIMEOUT * 1000)
    try:
        message = next(iter(c))
        assert message.value == b"written before the ACLs"
        c.commit()
    finally:
        c.close()
    assert broker.committed(f"{topic_name}-g", topic_name) == 1


def test_a_group_without_read_gets_group_authorization_failed(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.acls.add(principal=ANONYMOUS, resource="topic", name=topic_name, operation="READ")
    c = KafkaConsumer(topic_name, bootstrap_servers=broker.bootstrap_servers, group_id=f"{topic_name}-g",
                      auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            c.poll(timeout_ms=TIMEOUT * 1000)
    finally:
        c.close()


def test_admin_creates_describes_and_deletes_acls(broker, topic_name) -> None:
    broker.acls.add(principal=ANONYMOUS, resource="cluster", operation="ALTER")  # implies DESCRIBE
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        read = ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                   ResourcePattern(ResourceType.TOPIC, topic_name, ACLResourcePatternType.LITERAL))
        deny = ACL("User:eve", "*", ACLOperation.ALL, ACLPermissionType.DENY,
                   ResourcePattern(ResourceType.GROUP, "app-", ACLResourcePatternType.PREFIXED))
        result = admin.create_acls([read, deny])
        assert result["failed"] == [] and len(result["succeeded"]) == 2

        everything = ACLFilter("User:bob", None, ACLOperation.ANY, ACLPermissionType.ANY,
                               ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        found, error = admin.describe_acls(everything)
        assert error.errno == 0
        assert [(a.principal, a.operation, a.resource_pattern.resource_name) for a in found] == [
            ("User:bob", ACLOperation.READ, topic_name)
        ]

        by_topic = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                             ResourcePatternFilter(ResourceType.TOPIC, topic_name, ACLResourcePatternType.MATCH))
        ((_filter, matched, error),) = admin.delete_acls([by_topic])
        assert error.errno == 0
        assert [(a.principal, a.resource_pattern.resource_name) for a in matched] == [("User:bob", topic_name)]
    finally:
        admin.close()
    assert [a.principal for a in broker.acls.list()] == [ANONYMOUS, "User:eve"]


def test_admin_without_describe_on_the_cluster_is_refused(broker) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        everything = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                               ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        with pytest.raises(ClusterAuthorizationFailedError):
            admin.describe_acls(everything)
    finally:
        admin.close()
