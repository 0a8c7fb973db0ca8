"""ListPartitionReassignments (key 46): version 0, flexible.

Version notes:
* v0: KIP-455; null topics lists every reassignment in progress
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 46

ListPartitionReassignmentsTopics = struct(
    "ListPartitionReassignmentsTopics",
    field("name", "string", "0+"),
    field("partition_indexes", array("int32"), "0+"),
)

ListPartitionReassignmentsRequest = message(
    "ListPartitionReassignmentsRequest",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("timeout_ms", "int32", "0+", default=60000),
        field("topics", array(ListPartitionReassignmentsTopics), "0+", nullable="0+", default=None),
    ],
)

OngoingPartitionReassignment = struct(
    "OngoingPartitionReassignment",
    field("partition_index", "int32", "0+"),
    field("replicas", array("int32"), "0+"),
    field("adding_replicas", array("int32"), "0+"),
    field("removing_replicas", array("int32"), "0+"),
)

OngoingTopicReassignment = struct(
    "OngoingTopicReassignment",
    field("name", "string", "0+"),
    field("partitions", array(OngoingPartitionReassignment), "0+"),
)

ListPartitionReassignmentsResponse = message(
    "ListPartitionReassignmentsResponse",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+"),
        field("topics", array(OngoingTopicReassignment), "0+"),
    ],
)
