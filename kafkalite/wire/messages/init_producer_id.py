"""InitProducerId (key 22): versions 0-5, flexible from 2.

Version notes:

* v1: no field changes (throttling happens after the response is sent).
* v2: flexible versions.
* v3: producer_id and producer_epoch in the request, so a producer can resume after
  INVALID_PRODUCER_EPOCH (KIP-360).
* v4: no field changes (PRODUCER_FENCED may be returned).
* v5: no field changes (TRANSACTION_ABORTABLE may be returned, KIP-890).
"""

from kafkalite.wire.schema import field, message

API_KEY = 22

InitProducerIdRequest = message(
    "InitProducerIdRequest",
    api_key=API_KEY,
    valid="0-5",
    flexible="2+",
    fields=[
        field("transactional_id", "string", "0+", nullable="0+"),
        field("transaction_timeout_ms", "int32", "0+"),
        field("producer_id", "int64", "3+", default=-1),
        field("producer_epoch", "int16", "3+", default=-1),
    ],
)

InitProducerIdResponse = message(
    "InitProducerIdResponse",
    api_key=API_KEY,
    valid="0-5",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("producer_id", "int64", "0+", default=-1),
        field("producer_epoch", "int16", "0+"),
    ],
)
