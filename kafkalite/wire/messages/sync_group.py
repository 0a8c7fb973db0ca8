"""SyncGroup (key 14): versions 0-5, flexible from 4.

Version notes:

* v1: the response gains throttle_time_ms.
* v2: unchanged on the wire (quota throttling happens after the response is sent).
* v3: group_instance_id in the request (static membership, KIP-345).
* v4: first flexible version.
* v5: protocol_type and protocol_name in both directions (KIP-559); the broker rejects a
  request whose values disagree with the group's.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 14

SyncGroupRequestAssignment = struct(
    "SyncGroupRequestAssignment",
    field("member_id", "string", "0+"),
    field("assignment", "bytes", "0+"),
)

SyncGroupRequest = message(
    "SyncGroupRequest",
    api_key=API_KEY,
    valid="0-5",
    flexible="4+",
    fields=[
        field("group_id", "string", "0+"),
        field("generation_id", "int32", "0+"),
        field("member_id", "string", "0+"),
        field("group_instance_id", "string", "3+", nullable="3+", default=None),
        field("protocol_type", "string", "5+", nullable="5+", default=None),
        field("protocol_name", "string", "5+", nullable="5+", default=None),
        field("assignments", array(SyncGroupRequestAssignment), "0+"),
    ],
)

SyncGroupResponse = message(
    "SyncGroupResponse",
    api_key=API_KEY,
    valid="0-5",
    flexible="4+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("error_code", "int16", "0+"),
        field("protocol_type", "string", "5+", nullable="5+", default=None),
        field("protocol_name", "string", "5+", nullable="5+", default=None),
        field("assignment", "bytes", "0+"),
    ],
)
