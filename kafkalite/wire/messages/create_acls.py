"""CreateAcls (key 30): versions 0-3, flexible from 2.

Version notes:

* v1: resource_pattern_type (v0 creates LITERAL patterns only).
* v2: first flexible version.
* v3: unchanged on the wire.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 30

AclCreation = struct(
    "AclCreation",
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("resource_pattern_type", "int8", "1+", default=3),
    field("principal", "string", "0+"),
    field("host", "string", "0+"),
    field("operation", "int8", "0+"),
    field("permission_type", "int8", "0+"),
)

CreateAclsRequest = message(
    "CreateAclsRequest",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("creations", array(AclCreation), "0+"),
    ],
)

AclCreationResult = struct(
    "AclCreationResult",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
)

CreateAclsResponse = message(
    "CreateAclsResponse",
    api_key=API_KEY,
    valid="0-3",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("results", array(AclCreationResult), "0+"),
    ],
)
