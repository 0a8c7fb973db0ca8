"""DeleteTopics (key 20): versions 0-6, flexible from 4.

Version notes:
* v0: topic names and a timeout; per-topic error codes (Kafka 4 removed v0, KIP-896; Kafka
  3.9 served it)
* v1: throttle_time_ms in the response
* v2: same layout; on a quota violation the broker answers first and throttles afterwards
* v3: same layout; TOPIC_DELETION_DISABLED may be returned
* v4: flexible versions
* v5: per-topic error_message in the response; THROTTLING_QUOTA_EXCEEDED may be returned
  (KIP-599)
* v6: the request names topics by name or topic_id (topics replaces topic_names, and a name
  may be null); the response carries topic_id and a name that may be null
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 20

DeleteTopicState = struct(
    "DeleteTopicState",
    field("name", "string", "6+", nullable="6+", default=None),
    field("topic_id", "uuid", "6+"),
)

DeleteTopicsRequest = message(
    "DeleteTopicsRequest",
    api_key=API_KEY,
    valid="0-6",
    flexible="4+",
    fields=[
        field("topics", array(DeleteTopicState), "6+"),
        field("topic_names", array("string"), "0-5"),
        field("timeout_ms", "int32", "0+"),
    ],
)

DeletableTopicResult = struct(
    "DeletableTopicResult",
    field("name", "string", "0+", nullable="6+"),
    field("topic_id", "uuid", "6+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "5+", nullable="5+", default=None),
)

DeleteTopicsResponse = message(
    "DeleteTopicsResponse",
    api_key=API_KEY,
    valid="0-6",
    flexible="4+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("responses", array(DeletableTopicResult), "0+"),
    ],
)
