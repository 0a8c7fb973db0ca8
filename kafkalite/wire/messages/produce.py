"""Produce (key 0): versions 0-13, flexible from 9.

Version notes:

* v1: throttle_time_ms in the response.
* v2: log_append_time_ms per partition in the response.
* v3: transactional_id in the request; record batches use message format v2.
* v4: no field changes (KAFKA_STORAGE_ERROR may be returned).
* v5: log_start_offset per partition in the response.
* v6: no field changes (throttling happens after the response is sent).
* v7: no field changes (zstd-compressed batches allowed, KIP-110).
* v8: record_errors and error_message per partition in the response (KIP-467).
* v9: flexible versions.
* v10: tagged current_leader per partition and node_endpoints in the response (KIP-951).
* v11: no field changes (TRANSACTION_ABORTABLE may be returned, KIP-890).
* v12: no field changes (the producer may use transactions v2, KIP-890 part 2).
* v13: topics are named by topic_id instead of by name, in request and response (KIP-516).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 0

PartitionProduceData = struct(
    "PartitionProduceData",
    field("index", "int32", "0+"),
    field("records", "records", "0+", nullable="0+"),
)

TopicProduceData = struct(
    "TopicProduceData",
    field("name", "string", "0-12", default=""),
    field("topic_id", "uuid", "13+"),
    field("partition_data", array(PartitionProduceData), "0+"),
)

ProduceRequest = message(
    "ProduceRequest",
    api_key=API_KEY,
    valid="0-13",
    flexible="9+",
    fields=[
        field("transactional_id", "string", "3+", nullable="3+", default=None),
        field("acks", "int16", "0+"),
        field("timeout_ms", "int32", "0+"),
        field("topic_data", array(TopicProduceData), "0+"),
    ],
)

BatchIndexAndErrorMessage = struct(
    "BatchIndexAndErrorMessage",
    field("batch_index", "int32", "8+"),
    field("batch_index_error_message", "string", "8+", nullable="8+", default=None),
)

LeaderIdAndEpoch = struct(
    "LeaderIdAndEpoch",
    field("leader_id", "int32", "10+", default=-1),
    field("leader_epoch", "int32", "10+", default=-1),
)

PartitionProduceResponse = struct(
    "PartitionProduceResponse",
    field("index", "int32", "0+"),
    field("error_code", "int16", "0+"),
    field("base_offset", "int64", "0+"),
    field("log_append_time_ms", "int64", "2+", default=-1),
    field("log_start_offset", "int64", "5+", default=-1),
    field("record_errors", array(BatchIndexAndErrorMessage), "8+"),
    field("error_message", "string", "8+", nullable="8+", default=None),
    field("current_leader", LeaderIdAndEpoch, "10+", tag=0),
)

TopicProduceResponse = struct(
    "TopicProduceResponse",
    field("name", "string", "0-12", default=""),
    field("topic_id", "uuid", "13+"),
    field("partition_responses", array(PartitionProduceResponse), "0+"),
)

NodeEndpoint = struct(
    "NodeEndpoint",
    field("node_id", "int32", "10+"),
    field("host", "string", "10+"),
    field("port", "int32", "10+"),
    field("rack", "string", "10+", nullable="10+", default=None),
)

ProduceResponse = message(
    "ProduceResponse",
    api_key=API_KEY,
    valid="0-13",
    flexible="9+",
    fields=[
        field("responses", array(TopicProduceResponse), "0+"),
        field("throttle_time_ms", "int32", "1+", default=0),
        field("node_endpoints", array(NodeEndpoint), "10+", tag=0),
    ],
)
