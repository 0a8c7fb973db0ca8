"""CreateAcls, DescribeAcls and DeleteAcls over an in-memory connection, every version."""

from __future__ import annotations

import pytest

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.create_acls import AclCreation, CreateAclsRequest
from kafkalite.wire.messages.delete_acls import DeleteAclsFilter, DeleteAclsRequest
from kafkalite.wire.messages.describe_acls import DescribeAclsRequest

from .conftest import Client, make_broker

TOPIC, GROUP, CLUSTER, ANY = 2, 3, 4, 1
LITERAL, PREFIXED, MATCH, ANY_PATTERN = 3, 4, 2, 1
READ, WRITE, ALTER, DESCRIBE, ANY_OP = 3, 4, 7, 8, 1
ALLOW, DENY, ANY_PERM = 3, 2, 1


@pytest.fixture
def broker() -> Broker:
    # ANONYMOUS is a super user here, so that the APIs themselves are what is tested.
    return make_broker(acls=True, super_users=("User:ANONYMOUS",))


def creation(name: str, operation: int = READ, *, resource: int = TOPIC, pattern: int = LITERAL,
             principal: str = "User:bob", permission: int = ALLOW) -> AclCreation:
    return AclCreation(resource_type=resource, resource_name=name, resource_pattern_type=pattern,
                       principal=principal, host="*", operation=operation, permission_type=permission)


def describe_all(**kw) -> DescribeAclsRequest:
    values = dict(resource_type_filter=ANY, resource_name_filter=None, pattern_type_filter=ANY_PATTERN,
                  principal_filter=None, host_filter=None, operation=ANY_OP, permission_type=ANY_PERM)
    values.update(kw)
    return DescribeAclsRequest(**values)


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_create_then_describe_then_delete(client: Client, broker: Broker, version: int) -> None:
    response = await client.request(CreateAclsRequest(creations=[
        creation("t"), creation("app-", WRITE, pattern=PREFIXED), creation("g", resource=GROUP, permission=DENY),
    ]), version)
    assert [(r.error_code, r.error_message) for r in response.results] == [(0, None)] * 3
    assert len(broker.acls) == 3

    response = await client.request(describe_all(resource_type_filter=TOPIC), version)
    assert response.error_code == 0 and response.error_message is None
    assert [(r.resource_name, r.pattern_type, [(a.principal, a.operation, a.permission_type) for a in r.acls])
            for r in response.resources] == [("t", LITERAL, [("User:bob", READ, ALLOW)]),
                                            ("app-", PREFIXED, [("User:bob", WRITE, ALLOW)])]
    response = await client.request(describe_all(resource_name_filter="app-x", pattern_type_filter=MATCH), version)
    assert [r.resource_name for r in response.resources] == ["app-"]

    filters = [DeleteAclsFilter(resource_type_filter=TOPIC, resource_name_filter=None, pattern_type_filter=ANY_PATTERN,
                                principal_filter="User:bob", host_filter=None, operation=ANY_OP,
                                permission_type=ANY_PERM)]
    response = await client.request(DeleteAclsRequest(filters=filters), version)
    (result,) = response.filter_results
    assert result.error_code == 0
    assert sorted(m.resource_name for m in result.matching_acls) == ["app-", "t"]
    assert [a.resource_name for a in broker.acls] == ["g"]


async def test_v0_creates_literal_acls(client: Client, broker: Broker) -> None:
    response = await client.request(CreateAclsRequest(creations=[creation("t")]), 0)
    assert response.results[0].error_code == 0
    response = await client.request(describe_all(), 0)
    assert [r.resource_name for r in response.resources] == ["t"]


async def test_creating_an_existing_acl_succeeds_once(client: Client, broker: Broker) -> None:
    for _ in range(2):
        response = await client.request(CreateAclsRequest(creations=[creation("t")]), 3)
        assert response.results[0].error_code == 0
    assert len(broker.acls) == 1


@pytest.mark.parametrize(("bad", "message"), [
    (creation("c", ALTER, resource=CLUSTER), "The only valid name for the CLUSTER resource is kafka-cluster"),
    (creation(""), "Invalid empty resource name"),
    (creation("t", pattern=MATCH), "Invalid patternType MATCH"),
    (creation("t", ANY_OP), "Invalid operation ANY"),
    (creation("t", resource=ANY), "Invalid resourceType ANY"),
])
async def test_invalid_creations_are_invalid_request_and_the_rest_created(client: Client, broker: Broker, bad, message) -> None:
    response = await client.request(CreateAclsRequest(creations=[bad, creation("t")]), 3)
    assert [r.error_code for r in response.results] == [ErrorCode.INVALID_REQUEST, 0]
    assert response.results[0].error_message == message
    assert len(broker.acls) == 1


async def test_without_the_authorizer_the_apis_answer_security_disabled(nursery) -> None:
    import trio.testing

    from kafkalite.server.connection import handle_connection

    broker = make_broker()
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    client = Client(ours)
    response = await client.request(CreateAclsRequest(creations=[creation("t")]), 3)
    assert response.results[0].error_code == ErrorCode.SECURITY_DISABLED
    response = await client.request(describe_all(), 3)
    assert response.error_code == ErrorCode.SECURITY_DISABLED
    assert len(broker.acls) == 0
    await ours.aclose()


async def test_acl_apis_need_alter_and_describe_on_the_cluster(nursery) -> None:
    import trio.testing

    from kafkalite.server.connection import handle_connection

    broker = make_broker(acls=True)
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, 0)
    client = Client(ours)
    response = await client.request(CreateAclsRequest(creations=[creation("t")]), 3)
    assert response.results[0].error_code == ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    response = await client.request(describe_all(), 3)
    assert response.error_code == ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    assert len(broker.acls) == 0
    await ours.aclose()
