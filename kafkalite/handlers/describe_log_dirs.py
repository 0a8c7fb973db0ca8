# DescribeLogDirs: v0-5
#
# Version notes:
# * v0: Kafka 4 removed it (KIP-896); Kafka 3.9 served it, and so do we (same layout as v1)
# * v1: same layout
# * v2: flexible versions
# * v3: top-level error_code
# * v4: total_bytes / usable_bytes of the log dir's volume (KIP-827)
# * v5: is_cordoned (KIP-1066); a kafkalite log dir is never cordoned
#
# As Kafka's ReplicaManager.describeLogDirs: one result per log dir, kafkalite's data dir (its
# absolute path), listing the partitions asked for (null topics: every partition on this
# node, internal topics too) that have a replica on the node that received the request. A
# partition or topic that does not exist is left out, not an error; a topic none of whose
# asked partitions is here is left out. partition_size is the size of the partition's segment
# files (the .log files, not the indexes); offset_lag is 0 (the log end offset of a leader is
# its high watermark's); is_future_key false (no AlterReplicaLogDirs). total_bytes and
# usable_bytes come from the data dir's file system; with --memory there is none, so they are
# -1 (Kafka's "unknown") and log_dir names the data dir that would have been used.
"""DescribeLogDirs: the data dir and the size of each partition in it."""

from __future__ import annotations

import os
from pathlib import Path

from kafkalite.broker.replication import node_dir
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_log_dirs import (
    DescribeLogDirsPartition,
    DescribeLogDirsRequest,
    DescribeLogDirsResponse,
    DescribeLogDirsResult,
    DescribeLogDirsTopic,
)


def volume_bytes(directory: Path) -> tuple[int, int]:
    """(total, usable) bytes of the file system holding *directory*, as Java's FileStore.

    usable is what an unprivileged process may still write (statvfs f_bavail).
    """
    st = os.statvfs(directory)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


@handles(ApiKey.DESCRIBE_LOG_DIRS, min_version=0, max_version=5)
async def describe_log_dirs(ctx: RequestContext, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse:
    broker = ctx.broker
    wanted: set[tuple[str, int]] | None = (
        None if req.topics is None else {(t.topic, p) for t in req.topics for p in t.partitions}
    )
    topics = []
    for name in sorted(broker.cluster.topics):
        topic = broker.cluster.topics[name]
        partitions = []
        for p in topic.partitions:
            if ctx.node_id not in p.replicas:
                continue
            if wanted is not None and (name, p.partition_index) not in wanted:
                continue
            log = broker.replicas.log(ctx.node_id, name, p.partition_index)  # this node's copy
            partitions.append(
                DescribeLogDirsPartition(
                    partition_index=p.partition_index,
                    partition_size=log.size_in_bytes if log is not None else 0,
                    offset_lag=0,
                    is_future_key=False,
                )
            )
        if partitions:
            topics.append(DescribeLogDirsTopic(name=name, partitions=partitions))
    data_dir = Path(broker.config.data_dir).absolute()
    if broker.config.brokers > 1:
        data_dir = node_dir(data_dir, ctx.node_id)  # each node's own log dir
    try:
        total, usable = (-1, -1) if broker.store.in_memory else volume_bytes(data_dir)
    except OSError:
        # Kafka answers a log dir it cannot read with KAFKA_STORAGE_ERROR and nothing else.
        result = DescribeLogDirsResult(error_code=ErrorCode.KAFKA_STORAGE_ERROR, log_dir=str(data_dir))
    else:
        result = DescribeLogDirsResult(
            error_code=ErrorCode.NONE,
            log_dir=str(data_dir),
            topics=topics,
            total_bytes=total,
            usable_bytes=usable,
            is_cordoned=False,
        )
    return DescribeLogDirsResponse(throttle_time_ms=0, error_code=ErrorCode.NONE, results=[result])
