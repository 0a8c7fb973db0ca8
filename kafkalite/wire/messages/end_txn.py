"""EndTxn (key 26): versions 0-4, flexible from 3.

Version notes:
* v1: same layout; on a quota violation the broker answers first and throttles afterwards
* v2: same layout; PRODUCER_FENCED may be returned
* v3: flexible versions
* v4: same layout; TRANSACTION_ABORTABLE may be returned (KIP-890)
* v5 (not declared valid; unstable in Kafka): the epoch is bumped on every transaction, and
  the response returns the producer_id and producer_epoch (KIP-890 part 2)
"""

from kafkalite.wire.schema import field, message

API_KEY = 26

EndTxnRequest = message(
    "EndTxnRequest",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("transactional_id", "string", "0+"),
        field("producer_id", "int64", "0+"),
        field("producer_epoch", "int16", "0+"),
        field("committed", "bool", "0+"),
    ],
)

EndTxnResponse = message(
    "EndTxnResponse",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("producer_id", "int64", "5+", default=-1),
        field("producer_epoch", "int16", "5+", default=-1),
    ],
)
