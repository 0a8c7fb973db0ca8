"""JoinGroup (key 11): versions 0-9, flexible from 6.

Version notes:

* v1: rebalance_timeout_ms, separate from the session timeout.
* v2: the response gains throttle_time_ms.
* v3: unchanged on the wire (quota throttling happens after the response is sent).
* v4: a first join with an empty member_id is answered MEMBER_ID_REQUIRED with a fresh
  member_id, and the client joins again with it (KIP-394).
* v5: group_instance_id in the request and for each member of the response (static
  membership, KIP-345).
* v6: first flexible version.
* v7: the response names the protocol_type, and protocol_name becomes nullable (KIP-559).
* v8: reason in the request (KIP-800).
* v9: skip_assignment in the response.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 11

JoinGroupRequestProtocol = struct(
    "JoinGroupRequestProtocol",
    field("name", "string", "0+"),
    field("metadata", "bytes", "0+"),
)

JoinGroupRequest = message(
    "JoinGroupRequest",
    api_key=API_KEY,
    valid="0-9",
    flexible="6+",
    fields=[
        field("group_id", "string", "0+"),
        field("session_timeout_ms", "int32", "0+"),
        # Absent before v1: the session timeout stands in for it (-1 is only a placeholder).
        field("rebalance_timeout_ms", "int32", "1+", default=-1),
        field("member_id", "string", "0+"),
        field("group_instance_id", "string", "5+", nullable="5+", default=None),
        field("protocol_type", "string", "0+"),
        field("protocols", array(JoinGroupRequestProtocol), "0+"),
        field("reason", "string", "8+", nullable="8+", default=None),
    ],
)

JoinGroupResponseMember = struct(
    "JoinGroupResponseMember",
    field("member_id", "string", "0+"),
    field("group_instance_id", "string", "5+", nullable="5+", default=None),
    field("metadata", "bytes", "0+"),
)

JoinGroupResponse = message(
    "JoinGroupResponse",
    api_key=API_KEY,
    valid="0-9",
    flexible="6+",
    fields=[
        field("throttle_time_ms", "int32", "2+"),
        field("error_code", "int16", "0+"),
        field("generation_id", "int32", "0+", default=-1),
        field("protocol_type", "string", "7+", nullable="7+", default=None),
        field("protocol_name", "string", "0+", nullable="7+"),
        field("leader", "string", "0+"),
        field("skip_assignment", "bool", "9+", default=False),
        field("member_id", "string", "0+"),
        field("members", array(JoinGroupResponseMember), "0+"),
    ],
)
