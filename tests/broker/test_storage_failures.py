"""A metadata write that fails mid-run is answered KAFKA_STORAGE_ERROR, never fatal.

The broker runs on a real data dir; its ``meta`` folder is replaced by a plain file (so any
write under it fails with ENOTDIR, also as root), a request that must persist metadata is
sent, and then: the answer is KAFKA_STORAGE_ERROR (56) for that request, the state in memory
is what is on disk (a restart finds the same), and every connection keeps being served.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import trio

from kafkalite.broker.cluster import BrokerNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.groups.port import OFFSETS_TOPIC
from kafkalite.server.dispatch import load_handlers
from kafkalite.wire.error_codes import ErrorCode as E
from kafkalite.wire.messages.alter_configs import (
    AlterableConfig,
    AlterConfigsRequest,
    AlterConfigsResource,
)
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.create_partitions import CreatePartitionsRequest, CreatePartitionsTopic
from kafkalite.wire.messages.create_topics import CreatableTopic, CreateTopicsRequest
from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.incremental_alter_configs import (
    AlterableConfig as IncrementalConfig,
    AlterConfigsResource as IncrementalResource,
    IncrementalAlterConfigsRequest,
)
from kafkalite.wire.messages.init_producer_id import InitProducerIdRequest
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

from .conftest import Client
from ..groups.helpers import connect

TOPIC_RESOURCE = 2


def open_broker(data_dir: Path) -> Broker:
    load_handlers()
    broker = Broker.create(BrokerConfig(data_dir=data_dir))
    broker.cluster.set_node(BrokerNode(0, "localhost", 9092))
    return broker


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def broker(data_dir: Path) -> Iterator[Broker]:
    broker = open_broker(data_dir)
    broker.create_topic("t", num_partitions=2)
    yield broker
    broker.close()


class Unwritable:
    """Replace DATA_DIR/meta by a file while in effect; put the folder back after."""

    def __init__(self, data_dir: Path) -> None:
        self.meta = data_dir / "meta"
        self.saved = data_dir.parent / "meta-saved"

    def __enter__(self) -> None:
        shutil.move(self.meta, self.saved)
        self.meta.write_text("not a folder")

    def __exit__(self, *exc: Any) -> None:
        self.meta.unlink()
        shutil.move(self.saved, self.meta)


async def still_serving(broker: Broker, client: Client, nursery: trio.Nursery) -> None:
    """The failed connection and a new one both get answers."""
    for c in (client, connect(broker, nursery)):
        response = await c.request(ApiVersionsRequest(), 2)
        assert response.error_code == 0
        response = await c.request(MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 12)
        assert response.topics[0].error_code == 0


def reopened(broker: Broker, data_dir: Path) -> Broker:
    broker.close()
    return open_broker(data_dir)


async def test_create_topics(broker: Broker, data_dir: Path, nursery: trio.Nursery, caplog) -> None:
    client = connect(broker, nursery)
    request = CreateTopicsRequest(
        topics=[CreatableTopic(name="new", num_partitions=3, replication_factor=1)], timeout_ms=1000
    )
    with Unwritable(data_dir):
        response = await client.request(request, 7)
        assert response.topics[0].error_code == E.KAFKA_STORAGE_ERROR
        assert "cannot save the cluster metadata" in response.topics[0].error_message
        assert broker.cluster.topic("new") is None
        assert broker.log_for("new", 0) is None
        await still_serving(broker, client, nursery)
    assert sum("KAFKA_STORAGE_ERROR" in r.getMessage() for r in caplog.records) == 1
    assert not (data_dir / "new-0").exists()
    response = await client.request(request, 7)
    assert response.topics[0].error_code == E.NONE
    assert len(reopened(broker, data_dir).cluster.topics["new"].partitions) == 3


async def test_delete_topics(broker: Broker, data_dir: Path, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    with Unwritable(data_dir):
        response = await client.request(DeleteTopicsRequest(topic_names=["t"], timeout_ms=1000), 5)
        assert [r.error_code for r in response.responses] == [E.KAFKA_STORAGE_ERROR]
        assert broker.cluster.topic("t") is not None and broker.log_for("t", 1) is not None
        await still_serving(broker, client, nursery)
    assert "t" in reopened(broker, data_dir).cluster.topics


async def test_create_partitions(broker: Broker, data_dir: Path, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    request = CreatePartitionsRequest(
        topics=[CreatePartitionsTopic(name="t", count=4, assignments=None)], timeout_ms=1000, validate_only=False
    )
    with Unwritable(data_dir):
        response = await client.request(request, 3)
        assert [r.error_code for r in response.results] == [E.KAFKA_STORAGE_ERROR]
        assert len(broker.cluster.topics["t"].partitions) == 2
        assert broker.log_for("t", 2) is None
        await still_serving(broker, client, nursery)
    response = await client.request(request, 3)
    assert [r.error_code for r in response.results] == [E.NONE]
    assert len(reopened(broker, data_dir).cluster.topics["t"].partitions) == 4


async def test_alter_configs(broker: Broker, data_dir: Path, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    request = AlterConfigsRequest(
        resources=[
            AlterConfigsResource(
                resource_type=TOPIC_RESOURCE,
                resource_name="t",
                configs=[AlterableConfig(name="retention.ms", value="1000")],
            )
        ],
        validate_only=False,
    )
    with Unwritable(data_dir):
        response = await client.request(request, 2)
        assert [r.error_code for r in response.responses] == [E.KAFKA_STORAGE_ERROR]
        assert broker.cluster.topics["t"].configs == {}
        assert broker.log_for("t", 0).config.retention_ms != 1000
        await still_serving(broker, client, nursery)
    assert reopened(broker, data_dir).cluster.topics["t"].configs == {}


async def test_incremental_alter_configs(broker: Broker, data_dir: Path, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    request = IncrementalAlterConfigsRequest(
        resources=[
            IncrementalResource(
                resource_type=TOPIC_RESOURCE,
                resource_name="t",
                configs=[IncrementalConfig(name="retention.ms", config_operation=0, value="1000")],
            )
        ],
        validate_only=False,
    )
    with Unwritable(data_dir):
        response = await client.request(request, 1)
        assert [r.error_code for r in response.responses] == [E.KAFKA_STORAGE_ERROR]
        assert broker.cluster.topics["t"].configs == {}
        await still_serving(broker, client, nursery)
    response = await client.request(request, 1)
    assert [r.error_code for r in response.responses] == [E.NONE]
    assert reopened(broker, data_dir).cluster.topics["t"].configs == {"retention.ms": "1000"}


async def test_init_producer_id(broker: Broker, data_dir: Path, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    request = InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000)
    with Unwritable(data_dir):
        response = await client.request(request, 4)
        assert (response.error_code, response.producer_id, response.producer_epoch) == (E.KAFKA_STORAGE_ERROR, -1, -1)
        await still_serving(broker, client, nursery)
    response = await client.request(request, 4)
    assert response.error_code == E.NONE
    issued = response.producer_id
    again = reopened(broker, data_dir)
    assert again.new_producer_id() > issued  # the block reserved on disk is never reissued


async def test_metadata_auto_create(broker: Broker, data_dir: Path, nursery: trio.Nursery) -> None:
    client = connect(broker, nursery)
    request = MetadataRequest(topics=[MetadataRequestTopic(name="auto")], allow_auto_topic_creation=True)
    with Unwritable(data_dir):
        response = await client.request(request, 12)
        assert [(t.name, t.error_code) for t in response.topics] == [("auto", E.KAFKA_STORAGE_ERROR)]
        assert broker.cluster.topic("auto") is None
        await still_serving(broker, client, nursery)
    response = await client.request(request, 12)
    assert [(t.name, t.error_code) for t in response.topics] == [("auto", E.NONE)]


async def test_find_coordinator_while_consumer_offsets_cannot_be_created(
    broker: Broker, data_dir: Path, nursery: trio.Nursery
) -> None:
    client = connect(broker, nursery)
    with Unwritable(data_dir):
        response = await client.request(FindCoordinatorRequest(key="g", key_type=0), 3)
        assert response.error_code == E.COORDINATOR_NOT_AVAILABLE
        assert broker.cluster.topic(OFFSETS_TOPIC) is None
        await still_serving(broker, client, nursery)
    response = await client.request(FindCoordinatorRequest(key="g", key_type=0), 3)
    assert response.error_code == E.NONE
    assert len(reopened(broker, data_dir).cluster.topics[OFFSETS_TOPIC].partitions) == 50
