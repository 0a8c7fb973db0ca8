"""AddPartitionsToTxn (key 24): versions 0-5, flexible from 3.

Versions 0-3 are what producers send. v4+ is what Kafka's brokers send each other (several
transactions per request, and verify_only to check without adding, KIP-890).

Version notes:
* v1: same layout; on a quota violation the broker answers first and throttles afterwards
* v2: same layout; PRODUCER_FENCED may be returned
* v3: flexible versions
* v4: transactions list with verify_only in the request; top-level error_code and
  results_by_transaction in the response
* v5: same layout; TRANSACTION_ABORTABLE may be returned (KIP-890)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 24

AddPartitionsToTxnTopic = struct(
    "AddPartitionsToTxnTopic",
    field("name", "string", "0+"),
    field("partitions", array("int32"), "0+"),
)

AddPartitionsToTxnTransaction = struct(
    "AddPartitionsToTxnTransaction",
    field("transactional_id", "string", "4+"),
    field("producer_id", "int64", "4+"),
    field("producer_epoch", "int16", "4+"),
    field("verify_only", "bool", "4+", default=False),
    field("topics", array(AddPartitionsToTxnTopic), "4+"),
)

AddPartitionsToTxnRequest = message(
    "AddPartitionsToTxnRequest",
    api_key=API_KEY,
    valid="0-5",
    flexible="3+",
    fields=[
        field("transactions", array(AddPartitionsToTxnTransaction), "4+"),
        field("v3_and_below_transactional_id", "string", "0-3"),
        field("v3_and_below_producer_id", "int64", "0-3"),
        field("v3_and_below_producer_epoch", "int16", "0-3"),
        field("v3_and_below_topics", array(AddPartitionsToTxnTopic), "0-3"),
    ],
)

AddPartitionsToTxnPartitionResult = struct(
    "AddPartitionsToTxnPartitionResult",
    field("partition_index", "int32", "0+"),
    field("partition_error_code", "int16", "0+"),
)

AddPartitionsToTxnTopicResult = struct(
    "AddPartitionsToTxnTopicResult",
    field("name", "string", "0+"),
    field("results_by_partition", array(AddPartitionsToTxnPartitionResult), "0+"),
)

AddPartitionsToTxnResult = struct(
    "AddPartitionsToTxnResult",
    field("transactional_id", "string", "4+"),
    field("topic_results", array(AddPartitionsToTxnTopicResult), "4+"),
)

AddPartitionsToTxnResponse = message(
    "AddPartitionsToTxnResponse",
    api_key=API_KEY,
    valid="0-5",
    flexible="3+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "4+"),
        field("results_by_transaction", array(AddPartitionsToTxnResult), "4+"),
        field("results_by_topic_v3_and_below", array(AddPartitionsToTxnTopicResult), "0-3"),
    ],
)
