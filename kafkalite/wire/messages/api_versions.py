"""ApiVersions (key 18): versions 0-4, flexible from 3.

The response header is always v0, even for flexible versions (see `kafkalite.wire.headers`).
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 18

ApiVersionsRequest = message(
    "ApiVersionsRequest",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("client_software_name", "string", "3+"),
        field("client_software_version", "string", "3+"),
    ],
)

ApiVersion = struct(
    "ApiVersion",
    field("api_key", "int16", "0+"),
    field("min_version", "int16", "0+"),
    field("max_version", "int16", "0+"),
)

SupportedFeatureKey = struct(
    "SupportedFeatureKey",
    field("name", "string", "3+"),
    field("min_version", "int16", "3+"),
    field("max_version", "int16", "3+"),
)

FinalizedFeatureKey = struct(
    "FinalizedFeatureKey",
    field("name", "string", "3+"),
    field("max_version_level", "int16", "3+"),
    field("min_version_level", "int16", "3+"),
)

ApiVersionsResponse = message(
    "ApiVersionsResponse",
    api_key=API_KEY,
    valid="0-4",
    flexible="3+",
    fields=[
        field("error_code", "int16", "0+"),
        field("api_keys", array(ApiVersion), "0+"),
        field("throttle_time_ms", "int32", "1+"),
        field("supported_features", array(SupportedFeatureKey), "3+", tag=0),
        field("finalized_features_epoch", "int64", "3+", tag=1, default=-1),
        field("finalized_features", array(FinalizedFeatureKey), "3+", tag=2),
        field("zk_migration_ready", "bool", "3+", tag=3),
    ],
)
