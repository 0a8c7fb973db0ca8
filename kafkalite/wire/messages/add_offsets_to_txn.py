"""AddOffsetsToTxn (key 25): versions 0-4, flexible from 3.

Version notes:
* v1: same layout; on a quota violation the broker answers first and throttles afterwards
* v2: same layout; PRODUCER_FENCED may be returned
* v3: flexible versions
* v4: same layout; TRANSACTION_ABORTABLE may be returned (KIP-890)
"""

from kafkalite.wire.schema import field, message

API_KEY = 25

AddOffsetsToTxnRequest = message(
    "AddOffsetsToTxnRequest",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("transactional_id", "string", "0+"),
        field("producer_id", "int64", "0+"),
        field("producer_epoch", "int16", "0+"),
        field("group_id", "string", "0+"),
    ],
)

AddOffsetsToTxnResponse = message(
    "AddOffsetsToTxnResponse",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
    ],
)
