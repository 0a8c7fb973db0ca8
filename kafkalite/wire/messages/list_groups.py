"""ListGroups (key 16): versions 0-5, flexible from 3.

Version notes:

* v1: the response gains throttle_time_ms.
* v2: unchanged on the wire (quota throttling happens after the response is sent).
* v3: first flexible version.
* v4: states_filter in the request, group_state per group in the response (KIP-518).
* v5: types_filter in the request, group_type per group in the response (KIP-848).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 16

ListGroupsRequest = message(
    "ListGroupsRequest",
    api_key=API_KEY,
    valid="0-5",
    flexible="3+",
    fields=[
        field("states_filter", array("string"), "4+"),
        field("types_filter", array("string"), "5+"),
    ],
)

ListedGroup = struct(
    "ListedGroup",
    field("group_id", "string", "0+"),
    field("protocol_type", "string", "0+"),
    field("group_state", "string", "4+"),
    field("group_type", "string", "5+"),
)

ListGroupsResponse = message(
    "ListGroupsResponse",
    api_key=API_KEY,
    valid="0-5",
    flexible="3+",
    fields=[
        field("throttle_time_ms", "int32", "1+"),
        field("error_code", "int16", "0+"),
        field("groups", array(ListedGroup), "0+"),
    ],
)
