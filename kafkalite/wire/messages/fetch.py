"""Fetch (key 1): versions 0-18, flexible from 12.

Version notes:

* v0: message format v0 in the response (Kafka 3 down-converted stored batches to it).
* v1: throttle_time_ms in the response.
* v2: message format v1 (timestamps) in the response.
* v3: max_bytes in the request (KIP-74: partitions filled in order, the first batch whole).
* v4: isolation_level in the request; last_stable_offset and aborted_transactions per
  partition in the response (transactional reads). Batches use message format v2.
* v5: log_start_offset per partition, in the request (from followers) and the response.
* v6: no field changes (KAFKA_STORAGE_ERROR may be returned).
* v7: fetch sessions (KIP-227): session_id, session_epoch and forgotten_topics_data in the
  request; a top-level error_code and session_id in the response.
* v8: no field changes (throttling happens after the response is sent).
* v9: current_leader_epoch per partition in the request (KIP-320).
* v10: no field changes (zstd-compressed batches allowed).
* v11: rack_id in the request, preferred_read_replica in the response (KIP-392).
* v12: flexible versions; last_fetched_epoch in the request; tagged cluster_id in the
  request; tagged diverging_epoch, current_leader and snapshot_id in the response.
* v13: topics are named by topic_id instead of by name (KIP-516).
* v14: no field changes (OFFSET_MOVED_TO_TIERED_STORAGE may be returned, KIP-405).
* v15: replica_id moves into the tagged replica_state, with a replica_epoch (KIP-903).
* v16: tagged node_endpoints in the response (KIP-951).
* v17: tagged replica_directory_id per partition in the request (KIP-853, followers only).
* v18: tagged high_watermark per partition in the request (KIP-1166, followers only).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 1

ReplicaState = struct(
    "ReplicaState",
    field("replica_id", "int32", "15+", default=-1),
    field("replica_epoch", "int64", "15+", default=-1),
)

FetchPartition = struct(
    "FetchPartition",
    field("partition", "int32", "0+"),
    field("current_leader_epoch", "int32", "9+", default=-1),
    field("fetch_offset", "int64", "0+"),
    field("last_fetched_epoch", "int32", "12+", default=-1),
    field("log_start_offset", "int64", "5+", default=-1),
    field("partition_max_bytes", "int32", "0+"),
    field("replica_directory_id", "uuid", "17+", tag=0),
    field("high_watermark", "int64", "18+", tag=1, default=2**63 - 1),
)

FetchTopic = struct(
    "FetchTopic",
    field("topic", "string", "0-12"),
    field("topic_id", "uuid", "13+"),
    field("partitions", array(FetchPartition), "0+"),
)

ForgottenTopic = struct(
    "ForgottenTopic",
    field("topic", "string", "7-12"),
    field("topic_id", "uuid", "13+"),
    field("partitions", array("int32"), "7+"),
)

FetchRequest = message(
    "FetchRequest",
    api_key=API_KEY,
    valid="0-18",
    flexible="12+",
    fields=[
        field("cluster_id", "string", "12+", nullable="12+", tag=0, default=None),
        field("replica_id", "int32", "0-14", default=-1),
        field("replica_state", ReplicaState, "15+", tag=1),
        field("max_wait_ms", "int32", "0+"),
        field("min_bytes", "int32", "0+"),
        field("max_bytes", "int32", "3+", default=0x7FFFFFFF),
        field("isolation_level", "int8", "4+", default=0),
        field("session_id", "int32", "7+", default=0),
        field("session_epoch", "int32", "7+", default=-1),
        field("topics", array(FetchTopic), "0+"),
        field("forgotten_topics_data", array(ForgottenTopic), "7+"),
        field("rack_id", "string", "11+", default=""),
    ],
)

EpochEndOffset = struct(
    "EpochEndOffset",
    field("epoch", "int32", "12+", default=-1),
    field("end_offset", "int64", "12+", default=-1),
)

LeaderIdAndEpoch = struct(
    "LeaderIdAndEpoch",
    field("leader_id", "int32", "12+", default=-1),
    field("leader_epoch", "int32", "12+", default=-1),
)

SnapshotId = struct(
    "SnapshotId",
    field("end_offset", "int64", "0+", default=-1),
    field("epoch", "int32", "0+", default=-1),
)

AbortedTransaction = struct(
    "AbortedTransaction",
    field("producer_id", "int64", "4+"),
    field("first_offset", "int64", "4+"),
)

PartitionData = struct(
    "PartitionData",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
    field("high_watermark", "int64", "0+"),
    field("last_stable_offset", "int64", "4+", default=-1),
    field("log_start_offset", "int64", "5+", default=-1),
    field("diverging_epoch", EpochEndOffset, "12+", tag=0),
    field("current_leader", LeaderIdAndEpoch, "12+", tag=1),
    field("snapshot_id", SnapshotId, "12+", tag=2),
    field("aborted_transactions", array(AbortedTransaction), "4+", nullable="4+"),
    field("preferred_read_replica", "int32", "11+", default=-1),
    field("records", "records", "0+", nullable="0+"),
)

FetchableTopicResponse = struct(
    "FetchableTopicResponse",
    field("topic", "string", "0-12"),
    field("topic_id", "uuid", "13+"),
    field("partitions", array(PartitionData), "0+"),
)

NodeEndpoint = struct(
    "NodeEndpoint",
    field("node_id", "int32", "16+"),
    field("host", "string", "16+"),
    field("port", "int32", "16+"),
    field("rack", "string", "16+", nullable="16+", default=None),
)

FetchResponse = message(
    "FetchResponse",
    api_key=API_KEY,
    valid="0-18",
    flexible="12+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("error_code", "int16", "7+"),
        field("session_id", "int32", "7+", default=0),
        field("responses", array(FetchableTopicResponse), "0+"),
        field("node_endpoints", array(NodeEndpoint), "16+", tag=0),
    ],
)
