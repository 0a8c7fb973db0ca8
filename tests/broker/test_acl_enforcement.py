"""The authorizer in front of the handlers: each API's error for what the ACLs refuse
(principal User:ANONYMOUS on an in-memory connection)."""

from __future__ import annotations

import pytest
import trio

from kafkalite.broker.acls import AclBinding, AclOperation
from kafkalite.broker.cluster import CLUSTER_OPERATIONS
from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest
from kafkalite.wire.messages.delete_groups import DeleteGroupsRequest
from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest
from kafkalite.wire.messages.describe_cluster import DescribeClusterRequest
from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource
from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest
from kafkalite.wire.messages.end_txn import EndTxnRequest
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.init_producer_id import InitProducerIdRequest
from kafkalite.wire.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from kafkalite.wire.messages.list_groups import ListGroupsRequest
from kafkalite.wire.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)

from .conftest import Client, make_broker
from .test_produce_fetch import batch, fetch_request, produce_request

ANON = "User:ANONYMOUS"


@pytest.fixture
def broker() -> Broker:
    broker = make_broker(acls=True)
    broker.create_topic("t", 1)
    broker.create_topic("u", 1)
    return broker


def allow(broker: Broker, resource: str, name: str, operation: str, permission: str = "ALLOW") -> None:
    broker.acls.add([AclBinding(resource_type=resource, resource_name=name, pattern_type="LITERAL", principal=ANON,
                                host="*", operation=operation, permission=permission)])


async def test_produce_to_a_topic_without_write_is_topic_authorization_failed(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "t", "READ")
    response = await client.request(produce_request("t", batch(b"v")), 9)
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.TOPIC_AUTHORIZATION_FAILED
    assert broker.log_for("t", 0).log_end_offset == 0  # nothing written


async def test_produce_writes_the_allowed_topics_and_refuses_the_others(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "t", "WRITE")
    request = produce_request("t", batch(b"v"))
    other = produce_request("u", batch(b"w")).topic_data
    request = type(request)(acks=-1, timeout_ms=1000, topic_data=request.topic_data + other)
    response = await client.request(request, 9)
    codes = {t.name: t.partition_responses[0].error_code for t in response.responses}
    assert codes == {"t": ErrorCode.NONE, "u": ErrorCode.TOPIC_AUTHORIZATION_FAILED}
    assert broker.log_for("t", 0).log_end_offset == 1
    assert broker.log_for("u", 0).log_end_offset == 0


async def test_fetch_needs_read(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "t", "DESCRIBE")
    response = await client.request(fetch_request("t", 0), 12)
    assert response.responses[0].partitions[0].error_code == ErrorCode.TOPIC_AUTHORIZATION_FAILED
    allow(broker, "TOPIC", "t", "READ")
    response = await client.request(fetch_request("t", 0), 12)
    assert response.responses[0].partitions[0].error_code == ErrorCode.NONE


async def test_list_offsets_needs_describe(broker: Broker, client: Client) -> None:
    request = ListOffsetsRequest(replica_id=-1, topics=[
        ListOffsetsTopic(name="t", partitions=[ListOffsetsPartition(partition_index=0, timestamp=-1)])
    ])
    response = await client.request(request, 7)
    assert response.topics[0].partitions[0].error_code == ErrorCode.TOPIC_AUTHORIZATION_FAILED
    allow(broker, "TOPIC", "t", "WRITE")  # WRITE implies DESCRIBE
    response = await client.request(request, 7)
    assert response.topics[0].partitions[0].error_code == ErrorCode.NONE


async def test_metadata_hides_undescribable_topics_and_refuses_named_ones(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "t", "READ")
    response = await client.request(MetadataRequest(topics=None), 12)
    assert [t.name for t in response.topics] == ["t"]
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="u")]), 12)
    assert [(t.name, t.error_code) for t in response.topics] == [("u", ErrorCode.TOPIC_AUTHORIZATION_FAILED)]


async def test_metadata_auto_create_needs_create(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "new", "DESCRIBE")
    request = MetadataRequest(topics=[MetadataRequestTopic(name="new")], allow_auto_topic_creation=True)
    response = await client.request(request, 12)
    assert response.topics[0].error_code == ErrorCode.TOPIC_AUTHORIZATION_FAILED
    assert broker.cluster.topic("new") is None
    allow(broker, "CLUSTER", "kafka-cluster", "CREATE")
    response = await client.request(request, 12)
    assert response.topics[0].error_code == ErrorCode.NONE


async def test_metadata_authorized_operations_come_from_the_acls(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "t", "READ")
    allow(broker, "CLUSTER", "kafka-cluster", "DESCRIBE")
    request = MetadataRequest(topics=[MetadataRequestTopic(name="t")], include_cluster_authorized_operations=True,
                              include_topic_authorized_operations=True)
    response = await client.request(request, 10)
    assert response.topics[0].topic_authorized_operations == (1 << AclOperation.READ) | (1 << AclOperation.DESCRIBE)
    assert response.cluster_authorized_operations == 1 << AclOperation.DESCRIBE
    response = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 10)
    assert response.topics[0].topic_authorized_operations == -(2**31)  # not asked


async def test_describe_cluster_operations(broker: Broker, client: Client) -> None:
    response = await client.request(DescribeClusterRequest(include_cluster_authorized_operations=True), 0)
    assert response.cluster_authorized_operations == 0
    allow(broker, "CLUSTER", "kafka-cluster", "ALL")
    response = await client.request(DescribeClusterRequest(include_cluster_authorized_operations=True), 0)
    assert response.cluster_authorized_operations == CLUSTER_OPERATIONS


def join(group: str) -> JoinGroupRequest:
    return JoinGroupRequest(group_id=group, session_timeout_ms=10000, rebalance_timeout_ms=10000, member_id="",
                            protocol_type="consumer", protocols=[JoinGroupRequestProtocol(name="range", metadata=b"")])


async def test_group_apis_need_read_on_the_group(broker: Broker, client: Client) -> None:
    response = await client.request(FindCoordinatorRequest(key="g", key_type=0), 3)
    assert response.error_code == ErrorCode.GROUP_AUTHORIZATION_FAILED
    response = await client.request(join("g"), 5)
    assert response.error_code == ErrorCode.GROUP_AUTHORIZATION_FAILED
    allow(broker, "GROUP", "g", "READ")
    response = await client.request(FindCoordinatorRequest(key="g", key_type=0), 3)
    assert response.error_code == ErrorCode.NONE


async def test_offset_commit_checks_the_group_then_each_topic(broker: Broker, client: Client) -> None:
    request = OffsetCommitRequest(group_id="g", generation_id_or_member_epoch=-1, member_id="", topics=[
        OffsetCommitRequestTopic(name=n, partitions=[OffsetCommitRequestPartition(partition_index=0, committed_offset=0)])
        for n in ("t", "u")
    ])
    response = await client.request(request, 8)
    assert {p.error_code for t in response.topics for p in t.partitions} == {ErrorCode.GROUP_AUTHORIZATION_FAILED}
    allow(broker, "GROUP", "g", "READ")
    allow(broker, "TOPIC", "t", "READ")
    response = await client.request(request, 8)
    codes = {t.name: t.partitions[0].error_code for t in response.topics}
    assert codes == {"t": ErrorCode.NONE, "u": ErrorCode.TOPIC_AUTHORIZATION_FAILED}


async def test_describe_and_delete_groups_answer_per_group(broker: Broker, client: Client) -> None:
    allow(broker, "GROUP", "a", "DESCRIBE")
    response = await client.request(DescribeGroupsRequest(groups=["a", "b"], include_authorized_operations=True), 5)
    codes = {g.group_id: g.error_code for g in response.groups}
    assert codes == {"a": ErrorCode.NONE, "b": ErrorCode.GROUP_AUTHORIZATION_FAILED}
    assert [g.authorized_operations for g in response.groups if g.group_id == "a"] == [1 << AclOperation.DESCRIBE]
    response = await client.request(DeleteGroupsRequest(groups_names=["a"]), 2)
    assert response.results[0].error_code == ErrorCode.GROUP_AUTHORIZATION_FAILED


async def test_list_groups_shows_only_describable_groups(broker: Broker, client: Client) -> None:
    for group in ("a", "b"):
        allow(broker, "GROUP", group, "READ")
        await client.request(join(group), 5)
    broker.acls.remove([a for a in broker.acls if a.resource_name == "b"])
    response = await client.request(ListGroupsRequest(), 4)
    assert [g.group_id for g in response.groups] == ["a"]
    allow(broker, "CLUSTER", "kafka-cluster", "DESCRIBE")
    response = await client.request(ListGroupsRequest(), 4)
    assert sorted(g.group_id for g in response.groups) == ["a", "b"]


async def test_create_and_delete_topics_per_topic(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "x", "CREATE")
    request = CreateTopicsRequest(timeout_ms=1000, topics=[
        CreatableTopic(name=n, num_partitions=1, replication_factor=1) for n in ("x", "y")
    ])
    response = await client.request(request, 5)
    assert {t.name: t.error_code for t in response.topics} == {"x": ErrorCode.NONE, "y": ErrorCode.TOPIC_AUTHORIZATION_FAILED}
    assert broker.cluster.topic("y") is None
    response = await client.request(DeleteTopicsRequest(topic_names=["t"], timeout_ms=1000), 4)
    assert response.responses[0].error_code == ErrorCode.TOPIC_AUTHORIZATION_FAILED
    assert broker.cluster.topic("t") is not None


async def test_describe_configs_needs_describe_configs(broker: Broker, client: Client) -> None:
    request = DescribeConfigsRequest(resources=[
        DescribeConfigsResource(resource_type=2, resource_name="t", configuration_keys=None),
    ])
    response = await client.request(request, 4)
    assert response.results[0].error_code == ErrorCode.TOPIC_AUTHORIZATION_FAILED
    allow(broker, "TOPIC", "t", "ALTER_CONFIGS")  # implies DESCRIBE_CONFIGS
    response = await client.request(request, 4)
    assert response.results[0].error_code == ErrorCode.NONE


async def test_idempotent_producer_needs_idempotent_write_or_write_on_some_topic(broker: Broker, client: Client) -> None:
    request = InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000)
    response = await client.request(request, 4)
    assert response.error_code == ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    allow(broker, "TOPIC", "t", "WRITE")
    response = await client.request(request, 4)
    assert response.error_code == ErrorCode.NONE


async def test_transactional_apis_need_write_on_the_transactional_id(broker: Broker, client: Client) -> None:
    response = await client.request(InitProducerIdRequest(transactional_id="tx", transaction_timeout_ms=60000), 4)
    assert response.error_code == ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    response = await client.request(EndTxnRequest(transactional_id="tx", producer_id=1, producer_epoch=0, committed=True), 3)
    assert response.error_code == ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    response = await client.request(FindCoordinatorRequest(key="tx", key_type=1), 3)
    assert response.error_code == ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    allow(broker, "TRANSACTIONAL_ID", "tx", "WRITE")
    response = await client.request(InitProducerIdRequest(transactional_id="tx", transaction_timeout_ms=60000), 4)
    assert response.error_code == ErrorCode.NONE


async def test_super_user_is_never_refused(client: Client, broker: Broker) -> None:
    import attrs

    broker.config = attrs.evolve(broker.config, super_users=(ANON,))
    response = await client.request(produce_request("t", batch(b"v")), 9)
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.NONE


def _every_checked_version() -> list:
    from kafkalite.broker.authorizer import CHECKS
    from kafkalite.handlers import SERVED

    return [
        pytest.param(api_key, version, id=f"{SERVED[api_key][0]}-v{version}")
        for api_key in sorted(CHECKS)
        for version in range(SERVED[api_key][1], SERVED[api_key][2] + 1)
    ]


@pytest.mark.parametrize(("api_key", "version"), _every_checked_version())
async def test_every_checked_api_and_version_answers_a_refused_request(broker: Broker, client: Client, api_key, version) -> None:
    # With no ACL, ANONYMOUS may do nothing: each API answers its request (one naming topic
    # t, group g, transactional id tx where it has room for them) with a response it can
    # encode, never by closing the connection.
    from kafkalite.server.dispatch import handler_for

    spec = handler_for(api_key)
    request = _named_request(spec.request_cls, version)
    with trio.fail_after(5):
        response = await client.request(request, version)
    assert response is not None


def _named_request(cls: type, version: int):
    """A request of *cls* with every string "t"/"g"/"tx"-like and one entry per list."""
    from kafkalite.wire.schema import Array

    def build(struct_cls: type):
        values = {}
        for spec in struct_cls.__kafka_fields__:
            if version not in spec.versions:
                continue
            kind = spec.type
            if isinstance(kind, Array):
                element = kind.element
                if isinstance(element, str):
                    values[spec.name] = ["t"] if element == "string" else [0] if element.startswith("int") else []
                else:
                    values[spec.name] = [build(element)]
            elif spec.name == "acks":
                values[spec.name] = -1  # acks=0 is never answered
            elif kind == "string":
                values[spec.name] = "g" if "group" in spec.name else "tx" if "transactional" in spec.name else "t"
            elif isinstance(kind, type):
                values[spec.name] = build(kind)
        return struct_cls(**values)

    return build(cls)


async def test_describe_configs_answers_each_resource_kind_its_own_error(broker: Broker, client: Client) -> None:
    allow(broker, "TOPIC", "u", "DESCRIBE_CONFIGS")
    request = DescribeConfigsRequest(resources=[
        DescribeConfigsResource(resource_type=2, resource_name="t", configuration_keys=None),
        DescribeConfigsResource(resource_type=4, resource_name="0", configuration_keys=None),
        DescribeConfigsResource(resource_type=2, resource_name="u", configuration_keys=None),
    ])
    response = await client.request(request, 4)
    codes = {(r.resource_type, r.resource_name): r.error_code for r in response.results}
    assert codes == {(2, "t"): ErrorCode.TOPIC_AUTHORIZATION_FAILED, (4, "0"): ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
                     (2, "u"): ErrorCode.NONE}


async def test_batched_find_coordinator_answers_each_key(broker: Broker, client: Client) -> None:
    allow(broker, "GROUP", "a", "DESCRIBE")
    response = await client.request(FindCoordinatorRequest(key_type=0, coordinator_keys=["a", "b"]), 4)
    codes = {c.key: c.error_code for c in response.coordinators}
    assert codes == {"a": ErrorCode.NONE, "b": ErrorCode.GROUP_AUTHORIZATION_FAILED}


async def test_offset_fetch_of_several_groups_answers_each_group(broker: Broker, client: Client) -> None:
    from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestGroup

    allow(broker, "GROUP", "a", "DESCRIBE")
    request = OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id=g, topics=None) for g in ("a", "b")],
                                 require_stable=False)
    response = await client.request(request, 8)
    codes = {g.group_id: g.error_code for g in response.groups}
    assert codes == {"a": ErrorCode.NONE, "b": ErrorCode.GROUP_AUTHORIZATION_FAILED}


@pytest.mark.parametrize("version", [7, 8])
async def test_offset_fetch_of_all_topics_hides_undescribable_ones(broker: Broker, client: Client, version: int) -> None:
    from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestGroup

    allow(broker, "GROUP", "g", "READ")
    allow(broker, "TOPIC", "t", "READ")
    allow(broker, "TOPIC", "u", "READ")
    commit = OffsetCommitRequest(group_id="g", generation_id_or_member_epoch=-1, member_id="", topics=[
        OffsetCommitRequestTopic(name=n, partitions=[OffsetCommitRequestPartition(partition_index=0, committed_offset=1)])
        for n in ("t", "u")
    ])
    response = await client.request(commit, 8)
    assert {p.error_code for t in response.topics for p in t.partitions} == {ErrorCode.NONE}
    broker.acls.remove([a for a in broker.acls if a.resource_name == "u"])
    if version < 8:
        response = await client.request(OffsetFetchRequest(group_id="g", topics=None), version)
        assert [t.name for t in response.topics] == ["t"]
    else:
        request = OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="g", topics=None)])
        response = await client.request(request, version)
        assert [t.name for t in response.groups[0].topics] == ["t"]


async def test_offset_fetch_v8_of_named_topics_refuses_undescribable_ones(broker: Broker, client: Client) -> None:
    from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopics

    allow(broker, "GROUP", "g", "DESCRIBE")
    allow(broker, "TOPIC", "t", "DESCRIBE")
    request = OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id="g", topics=[
        OffsetFetchRequestTopics(name=n, partition_indexes=[0]) for n in ("t", "u")
    ])])
    response = await client.request(request, 9)
    codes = {t.name: t.partitions[0].error_code for t in response.groups[0].topics}
    assert codes == {"t": ErrorCode.NONE, "u": ErrorCode.TOPIC_AUTHORIZATION_FAILED}


async def test_fetch_by_an_unknown_topic_id_is_unknown_topic_id_not_an_authorization_error(
    broker: Broker, client: Client
) -> None:
    import uuid

    from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic

    request = FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, topics=[
        FetchTopic(topic_id=uuid.uuid4(), partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1024)])
    ])
    response = await client.request(request, 13)
    assert response.responses[0].partitions[0].error_code == ErrorCode.UNKNOWN_TOPIC_ID
