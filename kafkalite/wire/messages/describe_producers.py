"""DescribeProducers (key 61): version 0, flexible (KIP-664): the active producers of
partitions, with the start offset of each one's open transaction."""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 61

TopicRequest = struct(
    "TopicRequest",
    field("name", "string", "0+"),
    field("partition_indexes", array("int32"), "0+"),
)

DescribeProducersRequest = message(
    "DescribeProducersRequest",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("topics", array(TopicRequest), "0+"),
    ],
)

ProducerState = struct(
    "ProducerState",
    field("producer_id", "int64", "0+"),
    field("producer_epoch", "int32", "0+"),
    field("last_sequence", "int32", "0+", default=-1),
    field("last_timestamp", "int64", "0+", default=-1),
    field("coordinator_epoch", "int32", "0+"),
    field("current_txn_start_offset", "int64", "0+", default=-1),
)

PartitionResponse = struct(
    "PartitionResponse",
    field("partition_index", "int32", "0+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+", default=None),
    field("active_producers", array(ProducerState), "0+"),
)

TopicResponse = struct(
    "TopicResponse",
    field("name", "string", "0+"),
    field("partitions", array(PartitionResponse), "0+"),
)

DescribeProducersResponse = message(
    "DescribeProducersResponse",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("topics", array(TopicResponse), "0+"),
    ],
)
