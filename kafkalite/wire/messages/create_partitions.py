"""CreatePartitions (key 37): versions 0-3, flexible from 2.

Version notes:
* v1: same layout; on a quota violation the broker answers first and throttles afterwards
* v2: flexible versions
* v3: same layout; THROTTLING_QUOTA_EXCEEDED may be returned (KIP-599)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 37

CreatePartitionsAssignment = struct(
    "CreatePartitionsAssignment",
    field("broker_ids", array("int32"), "0+"),
)

CreatePartitionsTopic = struct(
    "CreatePartitionsTopic",
    field("name", "string", "0+"),
    field("count", "int32", "0+"),
    field("assignments", array(CreatePartitionsAssignment), "0+", nullable="0+"),
)

CreatePartitionsRequest = message(
    "CreatePartitionsRequest",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("topics", array(CreatePartitionsTopic), "0+"),
        field("timeout_ms", "int32", "0+"),
        field("validate_only", "bool", "0+"),
    ],
)

CreatePartitionsTopicResult = struct(
    "CreatePartitionsTopicResult",
    field("name", "string", "0+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+", default=None),
)

CreatePartitionsResponse = message(
    "CreatePartitionsResponse",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("results", array(CreatePartitionsTopicResult), "0+"),
    ],
)
