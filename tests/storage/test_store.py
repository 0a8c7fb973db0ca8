"""LogStore: partition folders, cluster metadata, memory mode, the dir lock."""

from __future__ import annotations

import json

import pytest

from kafkalite.storage import KafkaStorageError, LogConfig, LogStore, MemoryLog, PartitionLog
from kafkalite.storage.files import FaultyFiles, OsFiles

from .helpers import batch


def test_store_opens_partition_folders_named_topic_partition(tmp_path):
    store = LogStore.open(tmp_path)
    log = store.log("orders", 2, LogConfig())
    assert isinstance(log, PartitionLog) and not isinstance(log, MemoryLog)
    assert store.log("orders", 2, LogConfig()) is log
    log.append(batch(1))
    store.close()
    assert (tmp_path / "orders-2" / f"{0:020d}.log").exists()
    store = LogStore.open(tmp_path)
    assert store.partitions_on_disk() == [("orders", 2)]
    assert store.log("orders", 2, LogConfig()).log_end_offset == 1
    store.close()


def test_store_log_updates_config_of_open_log(tmp_path):
    store = LogStore.open(tmp_path)
    log = store.log("t", 0, LogConfig())
    store.log("t", 0, LogConfig(retention_ms=5))
    assert log.config.retention_ms == 5
    store.close()


def test_drop_deletes_the_folder(tmp_path):
    store = LogStore.open(tmp_path)
    store.log("a-b", 0, LogConfig()).append(batch(1))
    store.drop("a-b", 0)
    assert not (tmp_path / "a-b-0").exists()
    assert store.get("a-b", 0) is None
    assert store.log("a-b", 0, LogConfig()).log_end_offset == 0
    store.close()


def test_metadata_round_trip_and_atomic_file(tmp_path):
    store = LogStore.open(tmp_path)
    assert store.load_metadata() is None
    meta = {"cluster_id": "abc", "topics": [{"name": "t", "id": "x", "partitions": 3}]}
    store.save_metadata(meta)
    assert json.loads((tmp_path / "meta" / "cluster.json").read_text()) == meta
    assert [p.name for p in (tmp_path / "meta").iterdir()] == ["cluster.json"]
    store.close()
    store = LogStore.open(tmp_path)
    assert store.load_metadata() == meta
    assert store.partitions_on_disk() == []
    store.close()


def test_failed_metadata_save_leaves_previous_file_whole(tmp_path):
    faulty = FaultyFiles(OsFiles())
    store = LogStore.open(tmp_path, files=faulty)
    store.save_metadata({"v": 1})
    faulty.failing.add("write_atomic")
    with pytest.raises(KafkaStorageError):
        store.save_metadata({"v": 2})
    assert store.load_metadata() == {"v": 1}
    store.close()


def test_memory_store_keeps_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = LogStore.open(None)
    log = store.log("t", 0, LogConfig())
    assert isinstance(log, MemoryLog)
    log.append(batch(1))
    store.save_metadata({"cluster_id": "m"})
    assert store.load_metadata() == {"cluster_id": "m"}
    assert store.partitions_on_disk() == [("t", 0)]
    store.drop("t", 0)
    assert store.partitions_on_disk() == []
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_second_store_on_same_dir_is_refused(tmp_path):
    store = LogStore.open(tmp_path)
    with pytest.raises(KafkaStorageError, match="in use"):
        LogStore.open(tmp_path)
    store.close()
    LogStore.open(tmp_path).close()


def test_store_retention_covers_every_log(tmp_path):
    store = LogStore.open(tmp_path)
    config = LogConfig(retention_ms=10)
    for p in range(3):
        store.log("t", p, config).append(batch(1, timestamp=0))
    assert store.apply_retention(now_ms=1000) == 3
    assert all(store.log("t", p, config).log_start_offset == 1 for p in range(3))
    store.close()
