"""DescribeGroups (key 15): versions 0-6, flexible from 5.

Version notes:

* v1: the response gains throttle_time_ms.
* v2: unchanged on the wire (quota throttling happens after the response is sent).
* v3: include_authorized_operations in the request, authorized_operations per group in
  the response (KIP-430).
* v4: group_instance_id for each member (static membership, KIP-345).
* v5: first flexible version.
* v6: error_message per group (KIP-1043); the request is unchanged. The Kafka definitions
  in ../shared stop at v5, so v6 is checked against kio only.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 15

DescribeGroupsRequest = message(
    "DescribeGroupsRequest",
    api_key=API_KEY,
    valid="0-6",
    flexible="5+",
    fields=[
        field("groups", array("string"), "0+"),
        field("include_authorized_operations", "bool", "3+"),
    ],
)

DescribedGroupMember = struct(
    "DescribedGroupMember",
    field("member_id", "string", "0+"),
    field("group_instance_id", "string", "4+", nullable="4+", default=None),
    field("client_id", "string", "0+"),
    field("client_host", "string", "0+"),
    field("member_metadata", "bytes", "0+"),
    field("member_assignment", "bytes", "0+"),
)

DescribedGroup = struct(
    "DescribedGroup",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "6+", nullable="6+", default=None),
    field("group_id", "string", "0+"),
    field("group_state", "string", "0+"),
    field("protocol_type", "string", "0+"),
    field("protocol_data", "string", "0+"),
    field("members", array(DescribedGroupMember), "0+"),
    # INT32_MIN: the client did not ask for authorized operations.
    field("authorized_operations", "int32", "3+", default=-2147483648),
)

DescribeGroupsResponse = message(
    "DescribeGroupsResponse",
    api_key=API_KEY,
    valid="0-6",
    flexible="5+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("groups", array(DescribedGroup), "0+"),
    ],
)
