"""The controller quorum inside the broker: records of every change, the wait of metadata
handlers, DescribeQuorum, the vote state across restarts, the layout of the voters' logs."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from kafkalite.wire import metadata_records as r
from kafkalite.broker.quorum.quorum import MetadataQuorumUnavailable, controller_ids
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.wire.messages.alter_configs import AlterableConfig, AlterConfigsRequest, AlterConfigsResource
from kafkalite.wire.messages.create_partitions import CreatePartitionsRequest, CreatePartitionsTopic
from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest
from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest
from kafkalite.wire.messages.describe_quorum import (
    DescribeQuorumPartitionRequest,
    DescribeQuorumRequest,
    DescribeQuorumTopicRequest,
)
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.records import decode_records

from .conftest import Client, make_broker


def _records(broker: Broker, voter_id: int) -> list[object]:
    voter = broker.quorum.raft.voters[voter_id]
    out = []
    for header, view in voter.log.batches_from(0):
        if not header.is_control:
            out += [r.decode_record(rec.value)[0] for rec in decode_records(view, 0)]
    return out


def _describe() -> DescribeQuorumRequest:
    return DescribeQuorumRequest(topics=[DescribeQuorumTopicRequest(
        topic_name="__cluster_metadata", partitions=[DescribeQuorumPartitionRequest(partition_index=0)]
    )])


@pytest.fixture
def broker() -> Broker:
    return make_broker(controllers=3, request_timeout_ms=2000)


def test_voter_ids_combined_with_one_broker_else_dedicated() -> None:
    assert controller_ids(BrokerConfig(memory=True, node_id=5)) == [5]
    assert controller_ids(BrokerConfig(memory=True, controllers=3)) == [3000, 3001, 3002]
    assert controller_ids(BrokerConfig(memory=True, brokers=3)) == [3000]


def test_broker_ids_may_not_reach_the_controller_ids() -> None:
    with pytest.raises(ValueError, match="overlap the controller ids"):
        BrokerConfig(memory=True, brokers=3, node_id=2998)


def test_every_topic_change_is_a_committed_record_on_every_live_voter(broker: Broker) -> None:
    topic = broker.create_topic("orders", 2, configs={"retention.ms": "1000"})
    broker.add_partitions("orders", 3)
    broker.set_topic_configs("orders", {})
    broker.delete_topic("orders")
    kinds = [(type(v).__name__, getattr(v, "name", None)) for v in _records(broker, 3000)]
    assert kinds == [
        ("TopicRecord", "orders"), ("PartitionRecord", None), ("PartitionRecord", None),
        ("ConfigRecord", "retention.ms"), ("PartitionRecord", None), ("ConfigRecord", "retention.ms"),
        ("RemoveTopicRecord", None),
    ]
    assert _records(broker, 3001) == _records(broker, 3000) == _records(broker, 3002)
    removed_config = _records(broker, 3000)[5]
    assert removed_config.value is None and removed_config.resource_name == "orders"
    assert _records(broker, 3000)[-1].topic_id == topic.topic_id
    assert broker.quorum.raft.high_watermark == broker.quorum.raft.voters[3000].end_offset


def test_a_partition_change_is_committed_through_the_quorum_or_refused(broker: Broker) -> None:
    broker.create_topic("t", 1)
    topic = broker.cluster.topics["t"]
    p = topic.partitions[0]
    assert broker.cluster.change_partition(topic, p, isr=[0], leader=0, reason="same") is True
    broker.quorum.stop_voter(3000, clean=True)
    broker.quorum.stop_voter(3001, clean=False)
    assert broker.cluster.change_partition(topic, p, replicas=[0], isr=[], reason="test") is False
    assert p.partition_epoch == 0  # nothing changed
    broker.quorum.start_voter(3001)
    assert broker.cluster.change_partition(topic, p, isr=[], reason="test") is True
    change = _records(broker, 3001)[-1]
    assert isinstance(change, r.PartitionChangeRecord) and change.isr == [] and change.leader == -2


def test_without_a_majority_a_change_raises_and_changes_nothing(broker: Broker) -> None:
    broker.quorum.stop_voter(3001, clean=True)
    broker.quorum.stop_voter(3002, clean=True)
    assert broker.quorum.active_controller is None and not broker.quorum.has_majority()
    with pytest.raises(MetadataQuorumUnavailable, match="1 of 3 controllers live"):
        broker.create_topic("t", 1)
    assert "t" not in broker.cluster.topics and broker.log_for("t", 0) is None


def test_reset_starts_the_stopped_voters(broker: Broker) -> None:
    broker.quorum.stop_voter(3000, clean=True)
    broker.quorum.stop_voter(3001, clean=True)
    broker.reset()
    assert broker.quorum.has_majority() and all(v.alive for v in broker.quorum.raft.voters.values())


async def test_create_topics_waits_its_timeout_then_answers_request_timed_out(
    broker: Broker, client: Client, autojump_clock
) -> None:
    broker.quorum.stop_voter(3000, clean=False)
    broker.quorum.stop_voter(3001, clean=False)
    started = trio.current_time()
    response = await client.request(
        CreateTopicsRequest(topics=[CreatableTopic(name="t", num_partitions=1, replication_factor=1)], timeout_ms=1500), 7
    )
    assert trio.current_time() - started == pytest.approx(1.5)
    assert response.topics[0].error_code == 7 and "controllers live" in response.topics[0].error_message
    # validate_only needs no quorum: it commits nothing
    checked = await client.request(
        CreateTopicsRequest(topics=[CreatableTopic(name="t", num_partitions=1, replication_factor=1)],
                            timeout_ms=1500, validate_only=True), 7
    )
    assert checked.topics[0].error_code == 0


async def test_a_waiting_create_goes_through_once_a_voter_starts(
    broker: Broker, client: Client, nursery: trio.Nursery, autojump_clock
) -> None:
    broker.quorum.stop_voter(3000, clean=True)
    broker.quorum.stop_voter(3001, clean=True)

    async def start_one_later() -> None:
        await trio.sleep(1)
        broker.quorum.start_voter(3000)

    nursery.start_soon(start_one_later)
    started = trio.current_time()
    response = await client.request(
        CreateTopicsRequest(topics=[CreatableTopic(name="t", num_partitions=1, replication_factor=1)], timeout_ms=30000), 7
    )
    assert response.topics[0].error_code == 0
    assert trio.current_time() - started == pytest.approx(1)
    # 3000 stopped before the election of epoch 2 (3001 led it): 3002 has the newer log and wins
    assert broker.quorum.active_controller == 3002 and broker.quorum.raft.epoch == 3


async def test_other_metadata_changes_answer_request_timed_out_without_a_quorum(
    broker: Broker, client: Client, autojump_clock
) -> None:
    broker.create_topic("t", 1)
    broker.quorum.stop_voter(3000, clean=True)
    broker.quorum.stop_voter(3002, clean=True)
    deleted = await client.request(DeleteTopicsRequest(topic_names=["t"], timeout_ms=100), 4)
    assert deleted.responses[0].error_code == 7 and "t" in broker.cluster.topics
    grown = await client.request(
        CreatePartitionsRequest(topics=[CreatePartitionsTopic(name="t", count=2)], timeout_ms=100), 3
    )
    assert grown.results[0].error_code == 7
    started = trio.current_time()
    altered = await client.request(AlterConfigsRequest(resources=[AlterConfigsResource(
        resource_type=2, resource_name="t", configs=[AlterableConfig(name="retention.ms", value="1")]
    )]), 2)
    assert altered.responses[0].error_code == 7
    assert trio.current_time() - started == pytest.approx(2)  # request_timeout_ms
    assert broker.cluster.topics["t"].configs == {}
    auto = await client.request(MetadataRequest(topics=[MetadataRequestTopic(name="new-one")], allow_auto_topic_creation=True), 12)
    assert auto.topics[0].error_code == 5  # LEADER_NOT_AVAILABLE: nobody can create it yet


async def test_describe_quorum_shows_the_leader_and_a_stopped_voter_lagging(broker: Broker, client: Client) -> None:
    broker.quorum.raft  # the first election
    broker.quorum.stop_voter(3002, clean=True)
    broker.create_topic("t", 1)
    response = await client.request(_describe(), 2)
    partition = response.topics[0].partitions[0]
    assert (partition.leader_id, partition.leader_epoch) == (3000, 1)
    ends = {v.replica_id: v.log_end_offset for v in partition.current_voters}
    assert ends[3000] == ends[3001] == partition.high_watermark > ends[3002]
    stopped = next(v for v in partition.current_voters if v.replica_id == 3002)
    # what it last fetched, at the first election: caught up then, not since
    assert stopped.last_fetch_timestamp == stopped.last_caught_up_timestamp > 0
    assert [o.replica_id for o in partition.observers] == [0]  # the broker
    assert [n.node_id for n in response.nodes] == [3000, 3001, 3002]


async def test_describe_quorum_without_a_leader_times_out(broker: Broker, client: Client, autojump_clock) -> None:
    broker.quorum.stop_voter(3000, clean=True)
    broker.quorum.stop_voter(3001, clean=True)
    response = await client.request(_describe(), 2)
    assert response.error_code == 7 and response.topics == []


def test_the_vote_state_and_log_survive_a_restart(tmp_path: Path) -> None:
    config = BrokerConfig(data_dir=tmp_path, controllers=3)
    broker = Broker.create(config)
    broker.create_topic("t", 1)
    broker.quorum.stop_voter(3000, clean=True)  # 3001 leads epoch 2
    end = broker.quorum.raft.voters[3001].end_offset
    broker.close()
    assert (tmp_path / "controller-3001" / "__cluster_metadata-0" / "quorum-state").exists()
    again = Broker.create(config)
    try:
        leader = again.quorum.raft.leader
        assert leader is not None and leader.epoch == 3 and leader.voter_id == 3001
        assert leader.end_offset == end + 1  # its log, and the new epoch's LeaderChange
        assert again.quorum.raft.voters[3000].end_offset == leader.end_offset  # caught up
    finally:
        again.close()


def test_a_combined_voter_keeps_its_log_in_the_data_dir(tmp_path: Path) -> None:
    broker = Broker.create(BrokerConfig(data_dir=tmp_path))
    try:
        broker.create_topic("t", 1)
        assert broker.quorum.voter_ids == [0] and broker.quorum.active_controller == 0
        assert (tmp_path / "__cluster_metadata-0" / "00000000000000000000.log").stat().st_size > 0
    finally:
        broker.close()


async def test_find_coordinator_without_its_topic_nor_a_quorum_is_coordinator_not_available(
    broker: Broker, client: Client
) -> None:
    from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest

    broker.quorum.stop_voter(3000, clean=True)
    broker.quorum.stop_voter(3001, clean=True)
    for key_type in (0, 1):
        response = await client.request(FindCoordinatorRequest(key="k", key_type=key_type), 2)
        assert response.error_code == 15  # COORDINATOR_NOT_AVAILABLE: retried by clients
    broker.quorum.start_voter(3001)
    response = await client.request(FindCoordinatorRequest(key="k", key_type=1), 2)
    assert response.error_code == 0 and "__transaction_state" in broker.cluster.topics


def test_broker_thread_stops_and_starts_controllers() -> None:
    from kafkalite import run_in_thread

    with run_in_thread() as combined:
        assert combined.controller_ids == [0]
        # The combined node is one process: its broker and its controller stop and start together.
        assert combined.stop_node(0)
        assert not combined.call(lambda: combined.broker.quorum.voter_alive(0))
        assert combined.start_node(0)
        assert combined.call(lambda: combined.broker.quorum.voter_alive(0))
    with run_in_thread(controllers=3) as broker:
        broker.stop_node(3001, clean=False)
        broker.stop_node(3001)  # already stopped: nothing happens
        assert broker.call(lambda: broker.broker.quorum.active_controller) == 3000
        broker.start_node(3001)
        assert broker.call(lambda: broker.broker.quorum.raft.voters[3001].alive)


def test_brokers_register_unfenced_with_their_epoch_and_can_be_fenced(broker: Broker) -> None:
    broker.quorum.register_brokers()
    registration, unfence = _records(broker, 3000)[:2]
    assert isinstance(registration, r.RegisterBrokerRecord) and registration.broker_id == 0
    assert [(e.name, e.port, e.security_protocol) for e in registration.end_points] == [("PLAINTEXT", 9092, 0)]
    epoch = broker.quorum.broker_epochs[0]
    assert registration.broker_epoch == epoch == 1  # the offset of its registration
    assert (unfence.id, unfence.epoch) == (0, epoch)
    assert broker.quorum.fence_broker(0)
    fenced = _records(broker, 3000)[-1]
    assert isinstance(fenced, r.FenceBrokerRecord) and (fenced.id, fenced.epoch) == (0, epoch)
    broker.quorum.stop_voter(3000)
    broker.quorum.stop_voter(3001)
    assert not broker.quorum.fence_broker(0)  # not committed without a majority


async def test_incremental_alter_configs_waits_except_for_logger_levels(
    broker: Broker, client: Client, autojump_clock
) -> None:
    from kafkalite.wire.messages import incremental_alter_configs as iac

    broker.create_topic("t", 1)
    broker.quorum.stop_voter(3000, clean=True)
    broker.quorum.stop_voter(3001, clean=True)

    def resource(kind: int, name: str, config: str, value: str) -> object:
        return iac.AlterConfigsResource(
            resource_type=kind, resource_name=name,
            configs=[iac.AlterableConfig(name=config, config_operation=0, value=value)],
        )

    started = trio.current_time()
    loggers = await client.request(iac.IncrementalAlterConfigsRequest(
        resources=[resource(8, "0", "kafkalite.quorum", "DEBUG")]
    ), 1)
    assert loggers.responses[0].error_code == 0 and trio.current_time() == started  # no wait
    topic = await client.request(iac.IncrementalAlterConfigsRequest(
        resources=[resource(2, "t", "retention.ms", "1000")]
    ), 1)
    assert topic.responses[0].error_code == 7 and trio.current_time() - started == pytest.approx(2)
