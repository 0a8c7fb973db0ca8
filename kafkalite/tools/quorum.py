"""``kafkalite quorum describe``: the controller quorum, as kafka-metadata-quorum prints it.

    kafkalite quorum describe --status        # leader, epoch, high watermark, voters, lag
    kafkalite quorum describe --replication   # one row per voter and observer

Sends DescribeQuorum for ``__cluster_metadata-0`` to a broker, which (as Kafka's brokers do)
answers for the active controller. ``--status`` prints ClusterId, LeaderId, LeaderEpoch,
HighWatermark, MaxFollowerLag (the largest leader end offset minus a voter's), and
MaxFollowerLagTimeMs (how long ago the most lagging voter was last caught up), CurrentVoters
and CurrentObservers; ``--replication`` NodeId, DirectoryId, LogEndOffset, Lag,
LastFetchTimestamp, LastCaughtUpTimestamp and Status (Leader, Follower, Observer).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, KafkaError

METADATA_TOPIC = "__cluster_metadata"


def build_parser() -> argparse.ArgumentParser:
    p = parser("quorum", "Describe the controller quorum (like kafka-metadata-quorum).")
    add_connection_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    d = sub.add_parser("describe", help="describe the quorum")
    add_connection_options(d, subcommand=True)
    what = d.add_mutually_exclusive_group(required=True)
    what.add_argument("--status", action="store_true", help="leader, epoch, high watermark, voters and lag")
    what.add_argument("--replication", action="store_true", help="each voter's and observer's progress")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        client.metadata([])
        partition, nodes = describe_quorum(client)
        if args.status:
            print(status_text(client.cluster_id or "", partition, nodes))
        else:
            print(replication_text(partition))
    return 0


def describe_quorum(client: Client) -> tuple[Any, list[Any]]:
    """The DescribeQuorum partition of ``__cluster_metadata-0`` and the voters' nodes.

    Raises:
        KafkaError: the broker or the partition answered an error.
    """
    from kafkalite.wire.messages.describe_quorum import (
        DescribeQuorumPartitionRequest,
        DescribeQuorumRequest,
        DescribeQuorumTopicRequest,
    )

    request = DescribeQuorumRequest(topics=[
        DescribeQuorumTopicRequest(topic_name=METADATA_TOPIC, partitions=[DescribeQuorumPartitionRequest(partition_index=0)])
    ])
    response = client.bootstrap_connection.request(request)
    if response.error_code:
        raise KafkaError(response.error_code, "DescribeQuorum", response.error_message or None)
    partition = response.topics[0].partitions[0]
    if partition.error_code:
        raise KafkaError(partition.error_code, f"{METADATA_TOPIC}-0", partition.error_message or None)
    return partition, list(response.nodes)


def _lag_rows(partition: Any) -> list[tuple[Any, str]]:
    rows = [(v, "Leader" if v.replica_id == partition.leader_id else "Follower") for v in partition.current_voters]
    rows.sort(key=lambda row: (row[1] != "Leader", row[0].replica_id))
    return rows + [(o, "Observer") for o in sorted(partition.observers, key=lambda o: o.replica_id)]


def status_text(cluster_id: str, partition: Any, nodes: list[Any]) -> str:
    leader_end = max((v.log_end_offset for v in partition.current_voters), default=0)
    followers = [v for v in partition.current_voters if v.replica_id != partition.leader_id]
    most_behind = max(followers, key=lambda v: leader_end - v.log_end_offset, default=None)
    max_lag = 0 if most_behind is None else leader_end - most_behind.log_end_offset
    if most_behind is None or most_behind.last_caught_up_timestamp < 0:
        lag_time = -1 if most_behind is not None else 0
    else:
        lag_time = max(int(time.time() * 1000) - most_behind.last_caught_up_timestamp, 0)
    endpoints = {n.node_id: [f"{l.name}://{l.host}:{l.port}" for l in n.listeners] for n in nodes}

    def replica(r: Any, with_endpoints: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": r.replica_id, "directoryId": _directory(r.replica_directory_id)}
        if with_endpoints:
            entry["endpoints"] = endpoints.get(r.replica_id, [])
        return entry

    lines = [
        ("ClusterId", cluster_id),
        ("LeaderId", partition.leader_id),
        ("LeaderEpoch", partition.leader_epoch),
        ("HighWatermark", partition.high_watermark),
        ("MaxFollowerLag", max_lag),
        ("MaxFollowerLagTimeMs", lag_time),
        ("CurrentVoters", json.dumps([replica(v, True) for v in partition.current_voters])),
        ("CurrentObservers", json.dumps([replica(o, False) for o in partition.observers])),
    ]
    return "\n".join(f"{name + ':':<24}{value}" for name, value in lines)


def replication_text(partition: Any) -> str:
    leader_end = max((v.log_end_offset for v in partition.current_voters), default=0)
    header = ("NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status")
    rows = [header] + [
        (
            str(r.replica_id), _directory(r.replica_directory_id), str(r.log_end_offset),
            str(max(leader_end - r.log_end_offset, 0)), str(r.last_fetch_timestamp),
            str(r.last_caught_up_timestamp), status,
        )
        for r, status in _lag_rows(partition)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _directory(value: uuid.UUID | None) -> str:
    # Kafka prints directory ids in its base64 form; the zero id (static voters) as AAAAAAAAAAAAAAAAAAAAAA.
    import base64

    raw = (value or uuid.UUID(int=0)).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
