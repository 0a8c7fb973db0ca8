"""CreateTopics (key 19): versions 0-7, flexible from 5.

Version notes:
* v0: topics with partitions, replication factor or manual assignments, and configs;
  per-topic error codes only (Kafka 4 removed v0-1, KIP-896; Kafka 3.9 served them)
* v1: validate_only in the request; per-topic error_message in the response
* v2: throttle_time_ms in the response
* v3: same layout; on a quota violation the broker answers first and throttles afterwards
* v4: same layout; num_partitions and replication_factor may be -1 (broker defaults) even
  without manual assignments (KIP-464)
* v5: flexible versions; the response echoes the created topic's num_partitions,
  replication_factor and configs, with a tagged topic_config_error_code (KIP-525)
* v6: same layout; THROTTLING_QUOTA_EXCEEDED may be returned (KIP-599)
* v7: topic_id of the created topic in the response
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 19

CreatableReplicaAssignment = struct(
    "CreatableReplicaAssignment",
    field("partition_index", "int32", "0+"),
    field("broker_ids", array("int32"), "0+"),
)

CreatableTopicConfig = struct(
    "CreatableTopicConfig",
    field("name", "string", "0+"),
    field("value", "string", "0+", nullable="0+"),
)

CreatableTopic = struct(
    "CreatableTopic",
    field("name", "string", "0+"),
    field("num_partitions", "int32", "0+"),
    field("replication_factor", "int16", "0+"),
    field("assignments", array(CreatableReplicaAssignment), "0+"),
    field("configs", array(CreatableTopicConfig), "0+"),
)

CreateTopicsRequest = message(
    "CreateTopicsRequest",
    api_key=API_KEY,
    valid="0-7",
    flexible="5+",
    fields=[
        field("topics", array(CreatableTopic), "0+"),
        field("timeout_ms", "int32", "0+", default=60000),
        field("validate_only", "bool", "1+", default=False),
    ],
)

CreatableTopicConfigs = struct(
    "CreatableTopicConfigs",
    field("name", "string", "5+"),
    field("value", "string", "5+", nullable="5+"),
    field("read_only", "bool", "5+"),
    field("config_source", "int8", "5+", default=-1),
    field("is_sensitive", "bool", "5+"),
)

CreatableTopicResult = struct(
    "CreatableTopicResult",
    field("name", "string", "0+"),
    field("topic_id", "uuid", "7+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "1+", nullable="0+"),
    field("topic_config_error_code", "int16", "5+", tag=0),
    field("num_partitions", "int32", "5+", default=-1),
    field("replication_factor", "int16", "5+", default=-1),
    field("configs", array(CreatableTopicConfigs), "5+", nullable="5+"),
)

CreateTopicsResponse = message(
    "CreateTopicsResponse",
    api_key=API_KEY,
    valid="0-7",
    flexible="5+",
    fields=[
        field("throttle_time_ms", "int32", "2+"),
        field("topics", array(CreatableTopicResult), "0+"),
    ],
)
