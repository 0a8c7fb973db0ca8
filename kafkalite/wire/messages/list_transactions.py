"""ListTransactions (key 66): versions 0-2, flexible in every version (KIP-664).

Version notes:

* v1: duration_filter: only transactions running longer than this many ms (-1: all) (KIP-994).
* v2: transactional_id_pattern: only ids matching this regular expression (null or empty: all)
  (KIP-1152).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 66

ListTransactionsRequest = message(
    "ListTransactionsRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="0+",
    fields=[
        field("state_filters", array("string"), "0+"),
        field("producer_id_filters", array("int64"), "0+"),
        field("duration_filter", "int64", "1+", default=-1),
        field("transactional_id_pattern", "string", "2+", nullable="2+", default=None),
    ],
)

TransactionState = struct(
    "TransactionState",
    field("transactional_id", "string", "0+"),
    field("producer_id", "int64", "0+"),
    field("transaction_state", "string", "0+"),
)

ListTransactionsResponse = message(
    "ListTransactionsResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("unknown_state_filters", array("string"), "0+"),
        field("transaction_states", array(TransactionState), "0+"),
    ],
)
