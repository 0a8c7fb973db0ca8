"""IncrementalAlterConfigs (key 44): versions 0-1, flexible from 1.

Unlike AlterConfigs, each config carries its own config_operation (0 set, 1 delete,
2 append, 3 subtract), so configs not named are left alone (KIP-339).

Version notes:
* v0: first version
* v1: flexible versions
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 44

AlterableConfig = struct(
    "AlterableConfig",
    field("name", "string", "0+"),
    field("config_operation", "int8", "0+"),
    field("value", "string", "0+", nullable="0+"),
)

AlterConfigsResource = struct(
    "AlterConfigsResource",
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("configs", array(AlterableConfig), "0+"),
)

IncrementalAlterConfigsRequest = message(
    "IncrementalAlterConfigsRequest",
    api_key=API_KEY,
    valid="0-1",
    flexible="1+",
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

IncrementalAlterConfigsResponse = message(
    "IncrementalAlterConfigsResponse",
    api_key=API_KEY,
    valid="0-1",
    flexible="1+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("responses", array(AlterConfigsResourceResponse), "0+"),
    ],
)
