"""DeleteRecords (key 21): versions 0-2, flexible from 2.

Version notes:

* v1: no field changes (throttling happens after the response is sent).
* v2: flexible versions.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 21

DeleteRecordsPartition = struct(
    "DeleteRecordsPartition",
    field("partition_index", "int32", "0+"),
    field("offset", "int64", "0+"),
)

DeleteRecordsTopic = struct(
    "DeleteRecordsTopic",
    field("name", "string", "0+"),
    field("partitions", array(DeleteRecordsPartition), "0+"),
)

DeleteRecordsRequest = message(
    "DeleteRecordsRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("topics", array(DeleteRecordsTopic), "0+"),
        field("timeout_ms", "int32", "0+"),
    ],
)

DeleteRecordsPartitionResult = struct(
    "DeleteRecordsPartitionResult",
    field("partition_index", "int32", "0+"),
    field("low_watermark", "int64", "0+"),
    field("error_code", "int16", "0+"),
)

DeleteRecordsTopicResult = struct(
    "DeleteRecordsTopicResult",
    field("name", "string", "0+"),
    field("partitions", array(DeleteRecordsPartitionResult), "0+"),
)

DeleteRecordsResponse = message(
    "DeleteRecordsResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("topics", array(DeleteRecordsTopicResult), "0+"),
    ],
)
