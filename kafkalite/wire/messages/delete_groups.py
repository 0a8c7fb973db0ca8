"""DeleteGroups (key 42): versions 0-2, flexible from 2.

Version notes:

* v1: unchanged on the wire (quota throttling happens after the response is sent).
* v2: first flexible version.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 42

DeleteGroupsRequest = message(
    "DeleteGroupsRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("groups_names", array("string"), "0+"),
    ],
)

DeletableGroupResult = struct(
    "DeletableGroupResult",
    field("group_id", "string", "0+"),
    field("error_code", "int16", "0+"),
)

DeleteGroupsResponse = message(
    "DeleteGroupsResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("results", array(DeletableGroupResult), "0+"),
    ],
)
