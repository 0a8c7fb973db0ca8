"""DescribeAcls (key 29): versions 0-3, flexible from 2.

Version notes:

* v1: pattern_type_filter in the request, pattern_type per resource in the response.
* v2: first flexible version.
* v3: unchanged on the wire (USER resources may be asked for).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 29

DescribeAclsRequest = message(
    "DescribeAclsRequest",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("resource_type_filter", "int8", "0+"),
        field("resource_name_filter", "string", "0+", nullable="0+"),
        field("pattern_type_filter", "int8", "1+", default=3),
        field("principal_filter", "string", "0+", nullable="0+"),
        field("host_filter", "string", "0+", nullable="0+"),
        field("operation", "int8", "0+"),
        field("permission_type", "int8", "0+"),
    ],
)

AclDescription = struct(
    "AclDescription",
    field("principal", "string", "0+"),
    field("host", "string", "0+"),
    field("operation", "int8", "0+"),
    field("permission_type", "int8", "0+"),
)

DescribeAclsResource = struct(
    "DescribeAclsResource",
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("pattern_type", "int8", "1+", default=3),
    field("acls", array(AclDescription), "0+"),
)

DescribeAclsResponse = message(
    "DescribeAclsResponse",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+"),
        field("resources", array(DescribeAclsResource), "0+"),
    ],
)
