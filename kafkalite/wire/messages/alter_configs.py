"""AlterConfigs (key 33): versions 0-2, flexible from 2.

Version notes:
* v1: same layout; on a quota violation the broker answers first and throttles afterwards
* v2: flexible versions
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 33

AlterableConfig = struct(
    "AlterableConfig",
    field("name", "string", "0+"),
    field("value", "string", "0+", nullable="0+"),
)

AlterConfigsResource = struct(
    "AlterConfigsResource",
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("configs", array(AlterableConfig), "0+"),
)

AlterConfigsRequest = message(
    "AlterConfigsRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("resources", array(AlterConfigsResource), "0+"),
        field("validate_only", "bool", "0+"),
    ],
)

AlterConfigsResourceResponse = struct(
    "AlterConfigsResourceResponse",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
)

AlterConfigsResponse = message(
    "AlterConfigsResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("responses", array(AlterConfigsResourceResponse), "0+"),
    ],
)
