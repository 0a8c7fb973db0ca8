"""OffsetDelete (key 47): version 0 only, never flexible.

Version notes:

* v0: deletes committed offsets of a group for the given partitions (KIP-496); the group
  must be empty or not subscribed to those topics.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 47

OffsetDeleteRequestPartition = struct(
    "OffsetDeleteRequestPartition",
    field("partition_index", "int32", "0+"),
)

OffsetDeleteRequestTopic = struct(
    "OffsetDeleteRequestTopic",
    field("name", "string", "0+"),
    field("partitions", array(OffsetDeleteRequestPartition), "0+"),
)

OffsetDeleteRequest = message(
    "OffsetDeleteRequest",
    api_key=API_KEY,
    valid="0",
    flexible="none",
    fields=[
        field("group_id", "string", "0+"),
        field("topics", array(OffsetDeleteRequestTopic), "0+"),
    ],
)

OffsetDeleteResponsePartition = struct(
    "OffsetDeleteResponsePartition",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
)

OffsetDeleteResponseTopic = struct(
    "OffsetDeleteResponseTopic",
    field("name", "string", "0+"),
    field("partitions", array(OffsetDeleteResponsePartition), "0+"),
)

OffsetDeleteResponse = message(
    "OffsetDeleteResponse",
    api_key=API_KEY,
    valid="0",
    flexible="none",
    fields=[
        field("error_code", "int16", "0+"),
        field("throttle_time_ms", "int32", "0+"),
        field("topics", array(OffsetDeleteResponseTopic), "0+"),
    ],
)
