"""LeaveGroup (key 13): versions 0-5, flexible from 4.

Version notes:

* v1: the response gains throttle_time_ms.
* v2: unchanged on the wire (quota throttling happens after the response is sent).
* v3: batch leave (KIP-345): the single member_id becomes a members list of
  (member_id, group_instance_id), and the response answers each member.
* v4: first flexible version.
* v5: a reason per leaving member (KIP-800); the response is unchanged.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 13

MemberIdentity = struct(
    "MemberIdentity",
    field("member_id", "string", "3+"),
    field("group_instance_id", "string", "3+", nullable="3+", default=None),
    field("reason", "string", "5+", nullable="5+", default=None),
)

LeaveGroupRequest = message(
    "LeaveGroupRequest",
    api_key=API_KEY,
    valid="0-5",
    flexible="4+",
    fields=[
        field("group_id", "string", "0+"),
        field("member_id", "string", "0-2"),
        field("members", array(MemberIdentity), "3+"),
    ],
)

MemberResponse = struct(
    "MemberResponse",
    field("member_id", "string", "3+"),
    field("group_instance_id", "string", "3+", nullable="3+"),
    field("error_code", "int16", "3+"),
)

LeaveGroupResponse = message(
    "LeaveGroupResponse",
    api_key=API_KEY,
    valid="0-5",
    flexible="4+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("error_code", "int16", "0+"),
        field("members", array(MemberResponse), "3+"),
    ],
)
