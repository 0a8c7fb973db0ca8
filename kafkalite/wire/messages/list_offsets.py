"""ListOffsets (key 2): versions 0-11, flexible from 6.

Version notes:

* v0: per partition, max_num_offsets in the request and a list of offsets (old_style_offsets)
  in the response: segment base offsets, newest first (removed in Kafka 4.0).
* v1: one offset per partition (max_num_offsets and old_style_offsets are gone); the
  response carries the timestamp of the returned offset.
* v2: isolation_level in the request, throttle_time_ms in the response.
* v3: no field changes (throttling happens after the response is sent).
* v4: current_leader_epoch in the request and leader_epoch in the response (KIP-320).
* v5: no field changes (OFFSET_NOT_AVAILABLE may be returned).
* v6: flexible versions.
* v7: no field changes (timestamp -3 asks for the offset of the max timestamp, KIP-734).
* v8: no field changes (timestamp -4 asks for the local log start offset, KIP-405).
* v9: no field changes (timestamp -5 asks for the last tiered offset, KIP-1005).
* v10: timeout_ms in the request, for lookups in remote storage (KIP-1075).
* v11: no field changes (timestamp -6 asks for the earliest offset not yet uploaded to
  remote storage, KIP-1023).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 2

ListOffsetsPartition = struct(
    "ListOffsetsPartition",
    field("partition_index", "int32", "0+"),
    field("current_leader_epoch", "int32", "4+", default=-1),
    field("timestamp", "int64", "0+"),
    field("max_num_offsets", "int32", "0", default=1),
)

ListOffsetsTopic = struct(
    "ListOffsetsTopic",
    field("name", "string", "0+"),
    field("partitions", array(ListOffsetsPartition), "0+"),
)

ListOffsetsRequest = message(
    "ListOffsetsRequest",
    api_key=API_KEY,
    valid="0-11",
    flexible="6+",
    fields=[
        field("replica_id", "int32", "0+"),
        field("isolation_level", "int8", "2+"),
        field("topics", array(ListOffsetsTopic), "0+"),
        field("timeout_ms", "int32", "10+"),
    ],
)

ListOffsetsPartitionResponse = struct(
    "ListOffsetsPartitionResponse",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
    field("old_style_offsets", array("int64"), "0"),
    field("timestamp", "int64", "1+", default=-1),
    field("offset", "int64", "1+", default=-1),
    field("leader_epoch", "int32", "4+", default=-1),
)

ListOffsetsTopicResponse = struct(
    "ListOffsetsTopicResponse",
    field("name", "string", "0+"),
    field("partitions", array(ListOffsetsPartitionResponse), "0+"),
)

ListOffsetsResponse = message(
    "ListOffsetsResponse",
    api_key=API_KEY,
    valid="0-11",
    flexible="6+",
    fields=[
        field("throttle_time_ms", "int32", "2+"),
        field("topics", array(ListOffsetsTopicResponse), "0+"),
    ],
)
