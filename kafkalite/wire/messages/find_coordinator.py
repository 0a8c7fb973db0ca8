"""FindCoordinator (key 10): versions 0-6, flexible from 3.

Version notes:

* v1: key_type (0 group, 1 transaction) in the request; throttle_time_ms and
  error_message in the response.
* v2: unchanged on the wire (quota throttling happens after the response is sent).
* v3: first flexible version.
* v4: batched lookups (KIP-699): coordinator_keys replaces key, and the single-node answer
  becomes a coordinators list with an error per key.
* v5: unchanged on the wire; may answer TRANSACTION_ABORTABLE (KIP-890).
* v6: unchanged on the wire; key_type 2 for share groups (KIP-932).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 10

FindCoordinatorRequest = message(
    "FindCoordinatorRequest",
    api_key=API_KEY,
    valid="0-6",
    flexible="3+",
    fields=[
        field("key", "string", "0-3"),
        field("key_type", "int8", "1+", default=0),
        field("coordinator_keys", array("string"), "4+"),
    ],
)

Coordinator = struct(
    "Coordinator",
    field("key", "string", "4+"),
    field("node_id", "int32", "4+"),
    field("host", "string", "4+"),
    field("port", "int32", "4+"),
    field("error_code", "int16", "4+"),
    field("error_message", "string", "4+", nullable="4+"),
)

FindCoordinatorResponse = message(
    "FindCoordinatorResponse",
    api_key=API_KEY,
    valid="0-6",
    flexible="3+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("error_code", "int16", "0-3"),
        field("error_message", "string", "1-3", nullable="1-3"),
        field("node_id", "int32", "0-3"),
        field("host", "string", "0-3"),
        field("port", "int32", "0-3"),
        field("coordinators", array(Coordinator), "4+"),
    ],
)
