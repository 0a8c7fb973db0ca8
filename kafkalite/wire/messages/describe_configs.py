"""DescribeConfigs (key 32): versions 0-4, flexible from 4.

Version notes:
* v0: is_default in the response, no synonyms (Kafka 4 no longer serves it, KIP-896)
* v1: include_synonyms in the request; config_source and synonyms in the response, which
  replace is_default
* v2: same layout; on a quota violation the broker answers first and throttles afterwards
* v3: include_documentation in the request; config_type and documentation in the response
* v4: flexible versions
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 32

DescribeConfigsResource = struct(
    "DescribeConfigsResource",
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("configuration_keys", array("string"), "0+", nullable="0+"),
)

DescribeConfigsRequest = message(
    "DescribeConfigsRequest",
    api_key=API_KEY,
    valid="0-4",
    flexible="4+",
    fields=[
        field("resources", array(DescribeConfigsResource), "0+"),
        field("include_synonyms", "bool", "1+", default=False),
        field("include_documentation", "bool", "3+", default=False),
    ],
)

DescribeConfigsSynonym = struct(
    "DescribeConfigsSynonym",
    field("name", "string", "1+"),
    field("value", "string", "1+", nullable="0+"),
    field("source", "int8", "1+"),
)

DescribeConfigsResourceResult = struct(
    "DescribeConfigsResourceResult",
    field("name", "string", "0+"),
    field("value", "string", "0+", nullable="0+"),
    field("read_only", "bool", "0+"),
    field("is_default", "bool", "0"),
    # Kafka's -1 is a placeholder: in v0 the effective source depends on the resource.
    field("config_source", "int8", "1+", default=-1),
    field("is_sensitive", "bool", "0+"),
    field("synonyms", array(DescribeConfigsSynonym), "1+"),
    field("config_type", "int8", "3+", default=0),
    field("documentation", "string", "3+", nullable="0+"),
)

DescribeConfigsResult = struct(
    "DescribeConfigsResult",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
    field("resource_type", "int8", "0+"),
    field("resource_name", "string", "0+"),
    field("configs", array(DescribeConfigsResourceResult), "0+"),
)

DescribeConfigsResponse = message(
    "DescribeConfigsResponse",
    api_key=API_KEY,
    valid="0-4",
    flexible="4+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("results", array(DescribeConfigsResult), "0+"),
    ],
)
