"""DeleteAcls (key 31): versions 0-3, flexible from 2.

Version notes:

* v1: pattern_type_filter per filter, pattern_type per matching ACL.
* v2: first flexible version.
* v3: unchanged on the wire (USER resources may be named).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 31

DeleteAclsFilter = struct(
    "DeleteAclsFilter",
    field("resource_type_filter", "int8", "0+"),
    field("resource_name_filter", "string", "0+", nullable="0+"),
    field("pattern_type_filter", "int8", "1+", default=3),
    field("principal_filter", "string", "0+", nullable="0+"),
    field("host_filter", "string", "0+", nullable="0+"),
    field("operation", "int8", "0+"),
    field("permission_type", "int8", "0+"),
)

DeleteAclsRequest = message(
    "DeleteAclsRequest",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("filters", array(DeleteAclsFilter), "0+"),
    ],
)

DeleteAclsMatchingAcl = struct(
    "DeleteAclsMatchingAcl",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("pattern_type", "int8", "1+", default=3),
    field("principal", "string", "0+"),
    field("host", "string", "0+"),
    field("operation", "int8", "0+"),
    field("permission_type", "int8", "0+"),
)

DeleteAclsFilterResult = struct(
    "DeleteAclsFilterResult",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
    field("matching_acls", array(DeleteAclsMatchingAcl), "0+"),
)

DeleteAclsResponse = message(
    "DeleteAclsResponse",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("filter_results", array(DeleteAclsFilterResult), "0+"),
    ],
)
