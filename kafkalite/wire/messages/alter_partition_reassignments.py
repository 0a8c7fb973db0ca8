"""AlterPartitionReassignments (key 45): versions 0-1, flexible from 0.

Version notes:
* v0: KIP-455; per partition the target replicas, null to cancel a reassignment in progress
* v1: allow_replication_factor_change in request and response (KIP-860)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 45

ReassignablePartition = struct(
    "ReassignablePartition",
    field("partition_index", "int32", "0+"),
    field("replicas", array("int32"), "0+", nullable="0+", default=None),
)

ReassignableTopic = struct(
    "ReassignableTopic",
    field("name", "string", "0+"),
    field("partitions", array(ReassignablePartition), "0+"),
)

AlterPartitionReassignmentsRequest = message(
    "AlterPartitionReassignmentsRequest",
    api_key=API_KEY,
    valid="0-1",
    flexible="0+",
    fields=[
        field("timeout_ms", "int32", "0+", default=60000),
        field("allow_replication_factor_change", "bool", "1+", default=True),
        field("topics", array(ReassignableTopic), "0+"),
    ],
)

ReassignablePartitionResponse = struct(
    "ReassignablePartitionResponse",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
)

ReassignableTopicResponse = struct(
    "ReassignableTopicResponse",
    field("name", "string", "0+"),
    field("partitions", array(ReassignablePartitionResponse), "0+"),
)

AlterPartitionReassignmentsResponse = message(
    "AlterPartitionReassignmentsResponse",
    api_key=API_KEY,
    valid="0-1",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("allow_replication_factor_change", "bool", "1+", default=True),
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+"),
        field("responses", array(ReassignableTopicResponse), "0+"),
    ],
)
