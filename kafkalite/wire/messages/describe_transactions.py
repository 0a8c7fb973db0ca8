"""DescribeTransactions (key 65): version 0, flexible (KIP-664)."""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 65

DescribeTransactionsRequest = message(
    "DescribeTransactionsRequest",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("transactional_ids", array("string"), "0+"),
    ],
)

TopicData = struct(
    "TopicData",
    field("topic", "string", "0+"),
    field("partitions", array("int32"), "0+"),
)

TransactionState = struct(
    "TransactionState",
    field("error_code", "int16", "0+"),
    field("transactional_id", "string", "0+"),
    field("transaction_state", "string", "0+"),
    field("transaction_timeout_ms", "int32", "0+"),
    field("transaction_start_time_ms", "int64", "0+"),
    field("producer_id", "int64", "0+"),
    field("producer_epoch", "int16", "0+"),
    field("topics", array(TopicData), "0+"),
)

DescribeTransactionsResponse = message(
    "DescribeTransactionsResponse",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("transaction_states", array(TransactionState), "0+"),
    ],
)
