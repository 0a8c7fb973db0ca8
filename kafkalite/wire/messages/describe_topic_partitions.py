"""DescribeTopicPartitions (key 75): version 0, flexible (KIP-966).

Version notes:
* v0: topics by name (an empty list: all topics), a partition limit per response and a
  nullable cursor (topic name, partition index) to page through large topics; partitions
  carry ISR, eligible leader replicas (ELR), last known ELR and offline replicas; the
  response's next_cursor says where the next page starts (null: done)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 75

TopicRequest = struct(
    "TopicRequest",
    field("name", "string", "0+"),
)

Cursor = struct(
    "Cursor",
    field("topic_name", "string", "0+"),
    field("partition_index", "int32", "0+"),
)

DescribeTopicPartitionsRequest = message(
    "DescribeTopicPartitionsRequest",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("topics", array(TopicRequest), "0+"),
        field("response_partition_limit", "int32", "0+", default=2000),
        field("cursor", Cursor, "0+", nullable="0+", default=None),
    ],
)

DescribeTopicPartitionsResponsePartition = struct(
    "DescribeTopicPartitionsResponsePartition",
    field("error_code", "int16", "0+"),
    field("partition_index", "int32", "0+"),
    field("leader_id", "int32", "0+"),
    field("leader_epoch", "int32", "0+", default=-1),
    field("replica_nodes", array("int32"), "0+"),
    field("isr_nodes", array("int32"), "0+"),
    field("eligible_leader_replicas", array("int32"), "0+", nullable="0+", default=None),
    field("last_known_elr", array("int32"), "0+", nullable="0+", default=None),
    field("offline_replicas", array("int32"), "0+"),
)

DescribeTopicPartitionsResponseTopic = struct(
    "DescribeTopicPartitionsResponseTopic",
    field("error_code", "int16", "0+"),
    field("name", "string", "0+", nullable="0+"),
    field("topic_id", "uuid", "0+"),
    field("is_internal", "bool", "0+"),
    field("partitions", array(DescribeTopicPartitionsResponsePartition), "0+"),
    # INT32_MIN: authorized operations not given.
    field("topic_authorized_operations", "int32", "0+", default=-2147483648),
)

DescribeTopicPartitionsResponse = message(
    "DescribeTopicPartitionsResponse",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("topics", array(DescribeTopicPartitionsResponseTopic), "0+"),
        field("next_cursor", Cursor, "0+", nullable="0+", default=None),
    ],
)
