"""kafkalite quorum describe, as kafka-metadata-quorum prints it, and dump-log's cluster
metadata decoder, against three controllers with one stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from kafkalite import run_in_thread
from kafkalite.testing.thread import BrokerThread
from tests.tools.conftest import Run


@pytest.fixture(scope="module")
def quorum_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerThread]:
    """Three controllers on disk; 3000 stopped after topic a, before topic b: it lags."""
    data_dir = tmp_path_factory.mktemp("quorum")
    with run_in_thread(controllers=3, memory=False, data_dir=data_dir) as broker:
        broker.create_topic("a")
        broker.stop_node(3000)
        broker.create_topic("b", partitions=2)
        yield broker


def _fields(out: str) -> dict[str, str]:
    return {k: v.strip() for k, v in (line.split(":", 1) for line in out.splitlines())}


def test_status_names_the_leader_epoch_high_watermark_and_the_lag(cli: Run, quorum_broker: BrokerThread) -> None:
    status, out, err = cli("quorum", "describe", "--status", "--bootstrap-server", quorum_broker.bootstrap_servers)
    assert status == 0, err
    fields = _fields(out)
    assert list(fields) == [
        "ClusterId", "LeaderId", "LeaderEpoch", "HighWatermark", "MaxFollowerLag", "MaxFollowerLagTimeMs",
        "CurrentVoters", "CurrentObservers",
    ]
    assert (fields["LeaderId"], fields["LeaderEpoch"]) == ("3001", "2")
    # 3000 missed the election of epoch 2 and topic b (its TopicRecord and 2 PartitionRecords)
    assert fields["MaxFollowerLag"] == "4"
    assert [v["id"] for v in json.loads(fields["CurrentVoters"])] == [3000, 3001, 3002]
    assert [o["id"] for o in json.loads(fields["CurrentObservers"])] == [0]
    assert out.startswith(f"ClusterId:              {quorum_broker.call(lambda: quorum_broker.broker.cluster.cluster_id)}\n")


def test_replication_lists_voters_then_observers_with_their_lag(cli: Run, quorum_broker: BrokerThread) -> None:
    status, out, err = cli("quorum", "describe", "--replication", "--bootstrap-server", quorum_broker.bootstrap_servers)
    assert status == 0, err
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"]
    by_id = {row[0]: row for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == ["3001", "3000", "3002", "0"]
    assert [by_id[i][6] for i in ("3001", "3000", "3002", "0")] == ["Leader", "Follower", "Follower", "Observer"]
    assert by_id["3000"][3] == "4" and by_id["3002"][3] == "0" and by_id["3001"][3] == "0"
    assert by_id["3000"][1] == "AAAAAAAAAAAAAAAAAAAAAA"


def test_dump_log_decodes_the_metadata_log(cli: Run, quorum_broker: BrokerThread) -> None:
    folder = Path(quorum_broker.config.data_dir) / "controller-3001" / "__cluster_metadata-0"
    status, out, err = cli("dump-log", str(folder), "--cluster-metadata-decoder")
    assert status == 0, err
    payloads = [json.loads(line.split(" payload: ", 1)[1]) for line in out.splitlines() if " payload: " in line]
    kinds = [p["type"] for p in payloads]
    assert kinds[:2] == ["REGISTER_BROKER_RECORD", "UNFENCE_BROKER_RECORD"]
    assert kinds.count("TOPIC_RECORD") == 2 and kinds.count("PARTITION_RECORD") == 3
    topic_b = next(p for p in payloads if p["type"] == "TOPIC_RECORD" and p["data"]["name"] == "b")
    assert topic_b["version"] == 0 and set(topic_b["data"]) == {"name", "topicId"}
    changes = [json.loads(line.split(" LeaderChange: ", 1)[1]) for line in out.splitlines() if " LeaderChange: " in line]
    assert [c["leaderId"] for c in changes] == [3000, 3001]
    assert changes[1]["grantingVoters"] == [{"voterId": 3001}, {"voterId": 3002}]


def test_describe_fails_with_kafkas_error_without_a_quorum(cli: Run) -> None:
    with run_in_thread(controllers=3, request_timeout_ms=200) as broker:
        broker.stop_node(3000)
        broker.stop_node(3002)
        status, _, err = cli("quorum", "describe", "--status", "--bootstrap-server", broker.bootstrap_servers)
    assert status == 1 and "REQUEST_TIMED_OUT" in err
