"""DescribeQuorum (key 55): versions 0-2, flexible from 0.

Version notes:
* v0: first version (KIP-595): leader, epoch, high watermark, voters and observers with
  their log end offsets; flexible from the start
* v1: last fetch and last caught-up timestamps per replica (KIP-836)
* v2: error messages, each replica's directory id, and the voters' nodes with their
  listeners (KIP-853)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 55

DescribeQuorumPartitionRequest = struct(
    "DescribeQuorumPartitionRequest",
    field("partition_index", "int32", "0+"),
)

DescribeQuorumTopicRequest = struct(
    "DescribeQuorumTopicRequest",
    field("topic_name", "string", "0+"),
    field("partitions", array(DescribeQuorumPartitionRequest), "0+"),
)

DescribeQuorumRequest = message(
    "DescribeQuorumRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="0+",
    fields=[
        field("topics", array(DescribeQuorumTopicRequest), "0+"),
    ],
)

ReplicaState = struct(
    "ReplicaState",
    field("replica_id", "int32", "0+"),
    field("replica_directory_id", "uuid", "2+"),
    field("log_end_offset", "int64", "0+"),
    field("last_fetch_timestamp", "int64", "1+", default=-1),
    field("last_caught_up_timestamp", "int64", "1+", default=-1),
)

DescribeQuorumPartition = struct(
    "DescribeQuorumPartition",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "2+", nullable="2+", default=""),
    field("leader_id", "int32", "0+"),
    field("leader_epoch", "int32", "0+"),
    field("high_watermark", "int64", "0+"),
    field("current_voters", array(ReplicaState), "0+"),
    field("observers", array(ReplicaState), "0+"),
)

DescribeQuorumTopic = struct(
    "DescribeQuorumTopic",
    field("topic_name", "string", "0+"),
    field("partitions", array(DescribeQuorumPartition), "0+"),
)

DescribeQuorumListener = struct(
    "DescribeQuorumListener",
    field("name", "string", "2+"),
    field("host", "string", "2+"),
    field("port", "uint16", "2+"),
)

DescribeQuorumNode = struct(
    "DescribeQuorumNode",
    field("node_id", "int32", "2+"),
    field("listeners", array(DescribeQuorumListener), "2+"),
)

DescribeQuorumResponse = message(
    "DescribeQuorumResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="0+",
    fields=[
        field("error_code", "int16", "0+"),
        field("error_message", "string", "2+", nullable="2+", default=""),
        field("topics", array(DescribeQuorumTopic), "0+"),
        field("nodes", array(DescribeQuorumNode), "2+"),
    ],
)
