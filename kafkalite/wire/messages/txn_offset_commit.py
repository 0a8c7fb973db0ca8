"""TxnOffsetCommit (key 28): versions 0-4, flexible from 3.

Version notes:
* v1: same layout; on a quota violation the broker answers first and throttles afterwards
* v2: committed_leader_epoch per partition in the request
* v3: flexible versions; generation_id, member_id and group_instance_id in the request, so
  the coordinator can fence zombie members (KIP-447); ILLEGAL_GENERATION,
  FENCED_INSTANCE_ID and UNKNOWN_MEMBER_ID may be returned
* v4: same layout; TRANSACTION_ABORTABLE may be returned (KIP-890)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 28

TxnOffsetCommitRequestPartition = struct(
    "TxnOffsetCommitRequestPartition",
    field("partition_index", "int32", "0+"),
    field("committed_offset", "int64", "0+"),
    field("committed_leader_epoch", "int32", "2+", default=-1),
    field("committed_metadata", "string", "0+", nullable="0+"),
)

TxnOffsetCommitRequestTopic = struct(
    "TxnOffsetCommitRequestTopic",
    field("name", "string", "0+"),
    field("partitions", array(TxnOffsetCommitRequestPartition), "0+"),
)

TxnOffsetCommitRequest = message(
    "TxnOffsetCommitRequest",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("transactional_id", "string", "0+"),
        field("group_id", "string", "0+"),
        field("producer_id", "int64", "0+"),
        field("producer_epoch", "int16", "0+"),
        field("generation_id", "int32", "3+", default=-1),
        field("member_id", "string", "3+", default=""),
        field("group_instance_id", "string", "3+", nullable="3+", default=None),
        field("topics", array(TxnOffsetCommitRequestTopic), "0+"),
    ],
)

TxnOffsetCommitResponsePartition = struct(
    "TxnOffsetCommitResponsePartition",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
)

TxnOffsetCommitResponseTopic = struct(
    "TxnOffsetCommitResponseTopic",
    field("name", "string", "0+"),
    field("partitions", array(TxnOffsetCommitResponsePartition), "0+"),
)

TxnOffsetCommitResponse = message(
    "TxnOffsetCommitResponse",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("topics", array(TxnOffsetCommitResponseTopic), "0+"),
    ],
)
