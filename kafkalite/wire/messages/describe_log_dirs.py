"""DescribeLogDirs (key 35): versions 0-5, flexible from 2.

Version notes:
* v0: topics and partitions to describe (null: every partition on the broker); per log dir an
  error code, its absolute path and each partition's size, offset lag and is_future_key
  (Kafka 4 removed v0, KIP-896; Kafka 3.9 served it)
* v1: same layout
* v2: flexible versions
* v3: a top-level error_code in the response
* v4: total_bytes and usable_bytes of the log dir's volume (KIP-827)
* v5: is_cordoned per log dir (KIP-1066)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 35

DescribableLogDirTopic = struct(
    "DescribableLogDirTopic",
    field("topic", "string", "0+"),
    field("partitions", array("int32"), "0+"),
)

DescribeLogDirsRequest = message(
    "DescribeLogDirsRequest",
    api_key=API_KEY,
    valid="0-5",
    flexible="2+",
    fields=[
        field("topics", array(DescribableLogDirTopic), "0+", nullable="0+"),
    ],
)

DescribeLogDirsPartition = struct(
    "DescribeLogDirsPartition",
    field("partition_index", "int32", "0+"),
    field("partition_size", "int64", "0+"),
    field("offset_lag", "int64", "0+"),
    field("is_future_key", "bool", "0+"),
)

DescribeLogDirsTopic = struct(
    "DescribeLogDirsTopic",
    field("name", "string", "0+"),
    field("partitions", array(DescribeLogDirsPartition), "0+"),
)

DescribeLogDirsResult = struct(
    "DescribeLogDirsResult",
    field("error_code", "int16", "0+"),
    field("log_dir", "string", "0+"),
    field("topics", array(DescribeLogDirsTopic), "0+"),
    field("total_bytes", "int64", "4+", default=-1),
    field("usable_bytes", "int64", "4+", default=-1),
    field("is_cordoned", "bool", "5+", default=False),
)

DescribeLogDirsResponse = message(
    "DescribeLogDirsResponse",
    api_key=API_KEY,
    valid="0-5",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "3+"),
        field("results", array(DescribeLogDirsResult), "0+"),
    ],
)
