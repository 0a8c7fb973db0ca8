"""ACLs with confluent-kafka: what an application sees when the authorizer refuses it."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from .acl_broker import ANONYMOUS, REASON, acl_broker, broker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.kafkalite_only(reason=REASON)

TIMEOUT = 20


def consume_one(c: Consumer, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = c.poll(0.5)
        if message is not None:
            return message
    return None


def test_read_without_write_refuses_the_producer_and_serves_the_consumer(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.produce(topic_name, b"written before the ACLs")
    broker.acls.add(principal=ANONYMOUS, resource="topic", name=topic_name, operation="READ")
    broker.acls.add(principal=ANONYMOUS, resource="group", name=f"{topic_name}-g", operation="READ")

    errors = []
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "message.timeout.ms": 5000})
    p.produce(topic_name, b"refused", on_delivery=lambda err, msg: errors.append(err))
    p.flush(TIMEOUT)
    assert [e.code() for e in errors] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    assert broker.values(topic_name) == [b"written before the ACLs"]

    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": f"{topic_name}-g",
                  "auto.offset.reset": "earliest"})
    try:
        c.subscribe([topic_name])
        message = consume_one(c)
        assert message is not None and message.error() is None
        assert message.value() == b"written before the ACLs"
        c.commit(asynchronous=False)
    finally:
        c.close()
    assert broker.committed(f"{topic_name}-g", topic_name) == 1


def test_a_group_without_read_gets_group_authorization_failed(broker, topic_name) -> None:
    broker.create_topic(topic_name, 1)
    broker.acls.add(principal=ANONYMOUS, resource="topic", name=topic_name, operation="READ")
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": f"{topic_name}-g",
                  "auto.offset.reset": "earliest"})
    try:
        c.subscribe([topic_name])
        message = consume_one(c)
    finally:
        c.close()
    assert message is not None and message.error() is not None
    assert message.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_list_topics_shows_only_describable_topics(broker, topic_name) -> None:
    broker.create_topic(f"{topic_name}-seen", 1)
    broker.create_topic(f"{topic_name}-hidden", 1)
    broker.acls.add(principal=ANONYMOUS, resource="topic", name=f"{topic_name}-s", operation="DESCRIBE",
                    pattern="PREFIXED")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    topics = admin.list_topics(timeout=TIMEOUT).topics
    assert f"{topic_name}-seen" in topics
    assert f"{topic_name}-hidden" not in topics


def test_admin_creates_describes_and_deletes_acls(broker, topic_name) -> None:
    broker.acls.add(principal=ANONYMOUS, resource="cluster", operation="ALTER")  # implies DESCRIBE
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    read = AclBinding(ResourceType.TOPIC, topic_name, ResourcePatternType.LITERAL, "User:bob", "*",
                      AclOperation.READ, AclPermissionType.ALLOW)
    deny = AclBinding(ResourceType.GROUP, "app-", ResourcePatternType.PREFIXED, "User:eve", "*",
                      AclOperation.ALL, AclPermissionType.DENY)
    for future in admin.create_acls([read, deny], request_timeout=TIMEOUT).values():
        assert future.result() is None

    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    found = admin.describe_acls(everything, request_timeout=TIMEOUT).result()
    assert read in found and deny in found

    topic_filter = AclBindingFilter(ResourceType.TOPIC, topic_name, ResourcePatternType.MATCH, None, None,
                                    AclOperation.ANY, AclPermissionType.ANY)
    (deleted,) = admin.delete_acls([topic_filter], request_timeout=TIMEOUT).values()
    assert deleted.result() == [read]
    assert len(broker.acls.list(resource="topic")) == 0


def test_admin_without_alter_on_the_cluster_is_refused(broker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    binding = AclBinding(ResourceType.TOPIC, "t", ResourcePatternType.LITERAL, "User:bob", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)
    (future,) = admin.create_acls([binding], request_timeout=TIMEOUT).values()
    with pytest.raises(Exception) as caught:
        future.result()
    assert caught.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
