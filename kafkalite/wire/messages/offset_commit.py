"""OffsetCommit (key 8): versions 0-10, flexible from 8.

Version notes:

* v0: group id and offsets only (Kafka stored them in ZooKeeper; removed in Kafka 4.0).
* v1: generation and member id join the request; partitions carry a commit timestamp.
* v2: the per-partition timestamp is gone, replaced by a request-wide retention time.
* v3: the response gains throttle_time_ms.
* v4: unchanged on the wire (quota throttling happens after the response is sent).
* v5: retention_time_ms removed: retention is the broker's offsets.retention.minutes.
* v6: committed_leader_epoch per partition.
* v7: group_instance_id (static membership, KIP-345).
* v8: first flexible version.
* v9: unchanged on the wire; usable by the KIP-848 consumer protocol, where
  generation_id_or_member_epoch is the member epoch.
* v10: topics are named by topic id instead of name, in the request and the response
  (KIP-848); an unknown id answers UNKNOWN_TOPIC_ID.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 8

OffsetCommitRequestPartition = struct(
    "OffsetCommitRequestPartition",
    field("partition_index", "int32", "0+"),
    field("committed_offset", "int64", "0+"),
    field("committed_leader_epoch", "int32", "6+", default=-1),
    field("commit_timestamp", "int64", "1", default=-1),
    field("committed_metadata", "string", "0+", nullable="0+"),
)

OffsetCommitRequestTopic = struct(
    "OffsetCommitRequestTopic",
    field("name", "string", "0-9"),
    field("topic_id", "uuid", "10+"),
    field("partitions", array(OffsetCommitRequestPartition), "0+"),
)

OffsetCommitRequest = message(
    "OffsetCommitRequest",
    api_key=API_KEY,
    valid="0-10",
    flexible="8+",
    fields=[
        field("group_id", "string", "0+"),
        field("generation_id_or_member_epoch", "int32", "1+", default=-1),
        field("member_id", "string", "1+"),
        field("group_instance_id", "string", "7+", nullable="7+", default=None),
        field("retention_time_ms", "int64", "2-4", default=-1),
        field("topics", array(OffsetCommitRequestTopic), "0+"),
    ],
)

OffsetCommitResponsePartition = struct(
    "OffsetCommitResponsePartition",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
)

OffsetCommitResponseTopic = struct(
    "OffsetCommitResponseTopic",
    field("name", "string", "0-9"),
    field("topic_id", "uuid", "10+"),
    field("partitions", array(OffsetCommitResponsePartition), "0+"),
)

OffsetCommitResponse = message(
    "OffsetCommitResponse",
    api_key=API_KEY,
    valid="0-10",
    flexible="8+",
    fields=[
        field("throttle_time_ms", "int32", "3+"),
        field("topics", array(OffsetCommitResponseTopic), "0+"),
    ],
)
