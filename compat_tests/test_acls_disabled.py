"""ACL admin calls against a broker without an authorizer (kafkalite's default, and the
reference Kafka's configuration): SECURITY_DISABLED, from both clients."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from kafka import KafkaAdminClient
from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter
from kafka.admin import ResourceType as KafkaPythonResourceType
from kafka.errors import SecurityDisabledError

TIMEOUT = 20


def test_confluent_create_and_describe_acls_answer_security_disabled(bootstrap: str, topic_name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    binding = AclBinding(ResourceType.TOPIC, topic_name, ResourcePatternType.LITERAL, "User:bob", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)
    (created,) = admin.create_acls([binding], request_timeout=TIMEOUT).values()
    with pytest.raises(Exception) as caught:
        created.result()
    assert caught.value.args[0].code() == KafkaError.SECURITY_DISABLED
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    # librdkafka reports DescribeAcls' SECURITY_DISABLED as no ACLs (the same from both brokers).
    assert admin.describe_acls(everything, request_timeout=TIMEOUT).result() == []


def test_kafka_python_describe_acls_raises_security_disabled(bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        everything = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                               ResourcePatternFilter(KafkaPythonResourceType.ANY, None, ACLResourcePatternType.ANY))
        with pytest.raises(SecurityDisabledError):
            admin.describe_acls(everything)
    finally:
        admin.close()
