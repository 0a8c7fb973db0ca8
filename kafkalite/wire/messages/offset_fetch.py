"""OffsetFetch (key 9): versions 0-10, flexible from 6.

Version notes:

* v0: offsets read from ZooKeeper by Kafka (removed in Kafka 4.0).
* v1: offsets come from the __consumer_offsets topic instead of ZooKeeper.
* v2: a null topics array asks for every topic of the group; the response gains a
  top-level error_code for group and coordinator errors.
* v3: the response gains throttle_time_ms.
* v4: unchanged on the wire (quota throttling happens after the response is sent).
* v5: the response carries committed_leader_epoch per partition.
* v6: first flexible version.
* v7: require_stable (KIP-447): pending transactional commits answer
  UNSTABLE_OFFSET_COMMIT instead of a possibly stale offset.
* v8: several groups per request (KIP-709): request and response move into a groups
  array, and the single-group fields are gone.
* v9: member_id and member_epoch per group, for the KIP-848 consumer protocol.
* v10: topics are named by topic id instead of name, in the request and the response
  (KIP-848); an unknown id answers UNKNOWN_TOPIC_ID.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 9

OffsetFetchRequestTopic = struct(
    "OffsetFetchRequestTopic",
    field("name", "string", "0-7"),
    field("partition_indexes", array("int32"), "0-7"),
)

OffsetFetchRequestTopics = struct(
    "OffsetFetchRequestTopics",
    field("name", "string", "8-9"),
    field("topic_id", "uuid", "10+"),
    field("partition_indexes", array("int32"), "8+"),
)

OffsetFetchRequestGroup = struct(
    "OffsetFetchRequestGroup",
    field("group_id", "string", "8+"),
    field("member_id", "string", "9+", nullable="9+", default=None),
    field("member_epoch", "int32", "9+", default=-1),
    field("topics", array(OffsetFetchRequestTopics), "8+", nullable="8+"),
)

OffsetFetchRequest = message(
    "OffsetFetchRequest",
    api_key=API_KEY,
    valid="0-10",
    flexible="6+",
    fields=[
        field("group_id", "string", "0-7"),
        field("topics", array(OffsetFetchRequestTopic), "0-7", nullable="2-7"),
        field("groups", array(OffsetFetchRequestGroup), "8+"),
        field("require_stable", "bool", "7+", default=False),
    ],
)

OffsetFetchResponsePartition = struct(
    "OffsetFetchResponsePartition",
    field("partition_index", "int32", "0-7"),
    field("committed_offset", "int64", "0-7"),
    field("committed_leader_epoch", "int32", "5-7", default=-1),
    field("metadata", "string", "0-7", nullable="0-7"),
    field("error_code", "int16", "0-7"),
)

OffsetFetchResponseTopic = struct(
    "OffsetFetchResponseTopic",
    field("name", "string", "0-7"),
    field("partitions", array(OffsetFetchResponsePartition), "0-7"),
)

OffsetFetchResponsePartitions = struct(
    "OffsetFetchResponsePartitions",
    field("partition_index", "int32", "8+"),
    field("committed_offset", "int64", "8+"),
    field("committed_leader_epoch", "int32", "8+", default=-1),
    field("metadata", "string", "8+", nullable="8+"),
    field("error_code", "int16", "8+"),
)

OffsetFetchResponseTopics = struct(
    "OffsetFetchResponseTopics",
    field("name", "string", "8-9"),
    field("topic_id", "uuid", "10+"),
    field("partitions", array(OffsetFetchResponsePartitions), "8+"),
)

OffsetFetchResponseGroup = struct(
    "OffsetFetchResponseGroup",
    field("group_id", "string", "8+"),
    field("topics", array(OffsetFetchResponseTopics), "8+"),
    field("error_code", "int16", "8+", default=0),
)

OffsetFetchResponse = message(
    "OffsetFetchResponse",
    api_key=API_KEY,
    valid="0-10",
    flexible="6+",
    fields=[
        field("throttle_time_ms", "int32", "3+"),
        field("topics", array(OffsetFetchResponseTopic), "0-7"),
        field("error_code", "int16", "2-7", default=0),
        field("groups", array(OffsetFetchResponseGroup), "8+"),
    ],
)
