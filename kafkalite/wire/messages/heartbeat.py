"""Heartbeat (key 12): versions 0-4, flexible from 4.

Version notes:

* v1: the response gains throttle_time_ms.
* v2: unchanged on the wire (quota throttling happens after the response is sent).
* v3: group_instance_id in the request (static membership, KIP-345).
* v4: first flexible version.
"""

from kafkalite.wire.schema import field, message

API_KEY = 12

HeartbeatRequest = message(
    "HeartbeatRequest",
    api_key=API_KEY,
    valid="0-4",
    flexible="4+",
    fields=[
        field("group_id", "string", "0+"),
        field("generation_id", "int32", "0+"),
        field("member_id", "string", "0+"),
        field("group_instance_id", "string", "3+", nullable="3+", default=None),
    ],
)

HeartbeatResponse = message(
    "HeartbeatResponse",
    api_key=API_KEY,
    valid="0-4",
    flexible="4+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("error_code", "int16", "0+"),
    ],
)
