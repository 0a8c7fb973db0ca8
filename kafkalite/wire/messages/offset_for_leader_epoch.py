"""OffsetForLeaderEpoch (key 23): versions 0-4, flexible from 4.

Version notes:

* v0: per partition, the requested leader_epoch; the response has the end offset only
  (removed in Kafka 4.0, as v1).
* v1: the response carries the leader_epoch the end offset belongs to (KIP-279).
* v2: current_leader_epoch in the request, for fencing (KIP-320); throttle_time_ms in the
  response.
* v3: replica_id in the request; its default -2 marks a debugging consumer that may see
  offsets beyond the high watermark, -1 an ordinary consumer.
* v4: flexible versions.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 23

OffsetForLeaderPartition = struct(
    "OffsetForLeaderPartition",
    field("partition", "int32", "0+"),
    field("current_leader_epoch", "int32", "2+", default=-1),
    field("leader_epoch", "int32", "0+"),
)

OffsetForLeaderTopic = struct(
    "OffsetForLeaderTopic",
    field("topic", "string", "0+"),
    field("partitions", array(OffsetForLeaderPartition), "0+"),
)

OffsetForLeaderEpochRequest = message(
    "OffsetForLeaderEpochRequest",
    api_key=API_KEY,
    valid="0-4",
    flexible="4+",
    fields=[
        field("replica_id", "int32", "3+", default=-2),
        field("topics", array(OffsetForLeaderTopic), "0+"),
    ],
)

EpochEndOffset = struct(
    "EpochEndOffset",
    field("error_code", "int16", "0+"),
    field("partition", "int32", "0+"),
    field("leader_epoch", "int32", "1+", default=-1),
    field("end_offset", "int64", "0+", default=-1),
)

OffsetForLeaderTopicResult = struct(
    "OffsetForLeaderTopicResult",
    field("topic", "string", "0+"),
    field("partitions", array(EpochEndOffset), "0+"),
)

OffsetForLeaderEpochResponse = message(
    "OffsetForLeaderEpochResponse",
    api_key=API_KEY,
    valid="0-4",
    flexible="4+",
    fields=[
        field("throttle_time_ms", "int32", "2+"),
        field("topics", array(OffsetForLeaderTopicResult), "0+"),
    ],
)
