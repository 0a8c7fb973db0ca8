"""A broker reopened on its data dir has the same cluster, topics, offsets and producers."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalite.broker.state import Broker, InconsistentClusterId
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.producers import SequenceVerdict
from kafkalite.wire.records import build_batch


def open_broker(path: Path, **kw) -> Broker:
    return Broker.create(BrokerConfig(data_dir=path, **kw))


def test_topics_ids_configs_and_offsets_survive_a_restart(tmp_path: Path) -> None:
    first = open_broker(tmp_path)
    topic = first.create_topic("orders", 3, configs={"retention.ms": "1000"})
    first.log_for("orders", 1).append(build_batch([(b"k", b"v"), (b"k", b"w")]))
    cluster_id = first.cluster.cluster_id
    first.close()

    again = open_broker(tmp_path)
    assert again.cluster.cluster_id == cluster_id
    restored = again.cluster.topic("orders")
    assert restored.topic_id == topic.topic_id
    assert len(restored.partitions) == 3
    assert restored.configs == {"retention.ms": "1000"}
    assert again.log_for("orders", 1).log_end_offset == 2
    again.close()


def test_deleted_topics_stay_deleted(tmp_path: Path) -> None:
    first = open_broker(tmp_path)
    first.create_topic("gone", 1)
    first.delete_topic("gone")
    first.close()
    again = open_broker(tmp_path)
    assert again.cluster.topic("gone") is None
    assert not (tmp_path / "gone-0").exists()
    again.close()


def test_producer_ids_are_never_reissued_and_sequences_are_rebuilt(tmp_path: Path) -> None:
    first = open_broker(tmp_path)
    first.create_topic("t", 1)
    pid = first.new_producer_id()
    first.log_for("t", 0).append(build_batch([(None, b"a")], producer_id=pid, producer_epoch=0, base_sequence=0))
    first.producers.record("t", 0, pid, 0, 0, 0, 0, 0, 0)
    first.close()

    again = open_broker(tmp_path)
    assert again.new_producer_id() > pid
    # The sequence state came back from the log: a retry of sequence 0 is a duplicate.
    assert again.producers.check("t", 0, pid, 0, 0, 0).verdict is SequenceVerdict.DUPLICATE
    assert again.producers.check("t", 0, pid, 0, 1, 1).verdict is SequenceVerdict.APPEND
    again.close()


def test_a_data_dir_of_another_cluster_is_refused(tmp_path: Path) -> None:
    open_broker(tmp_path, cluster_id="one").close()
    with pytest.raises(InconsistentClusterId):
        open_broker(tmp_path, cluster_id="two")
