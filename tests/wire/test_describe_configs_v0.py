"""DescribeConfigs v0, which the independent codec (kio, from Kafka 4's definitions) lacks:
its bytes built field by field from the v0 layout, decoded and re-encoded by kafkalite."""

from __future__ import annotations

import struct

from kafkalite.wire.messages.describe_configs import (
    DescribeConfigsRequest,
    DescribeConfigsResource,
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
)
from kafkalite.wire.schema import decode, encode


def string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    data = value.encode()
    return struct.pack(">h", len(data)) + data


# Request v0: resources [resource_type int8, resource_name string, configuration_keys [string]
# nullable]; no include_synonyms.
REQUEST_V0 = (
    struct.pack(">i", 2)
    + struct.pack(">b", 2) + string("t") + struct.pack(">i", 1) + string("retention.ms")
    + struct.pack(">b", 4) + string("0") + struct.pack(">i", -1)
)

# Response v0: throttle_time_ms int32, results [error_code int16, error_message string nullable,
# resource_type int8, resource_name string, configs [name string, value string nullable,
# read_only bool, is_default bool, is_sensitive bool]]: no config_source, no synonyms.
RESPONSE_V0 = (
    struct.pack(">i", 0)
    + struct.pack(">i", 1)
    + struct.pack(">h", 0) + string(None) + struct.pack(">b", 2) + string("t")
    + struct.pack(">i", 2)
    + string("retention.ms") + string("1000") + bytes([0, 0, 0])
    + string("segment.bytes") + string("1073741824") + bytes([0, 1, 0])
)


def test_request_v0_round_trips() -> None:
    request, end = decode(DescribeConfigsRequest, 0, REQUEST_V0)
    assert end == len(REQUEST_V0)
    assert request.resources == [
        DescribeConfigsResource(resource_type=2, resource_name="t", configuration_keys=["retention.ms"]),
        DescribeConfigsResource(resource_type=4, resource_name="0", configuration_keys=None),
    ]
    assert request.include_synonyms is False
    assert encode(request, 0) == REQUEST_V0


def test_response_v0_round_trips_with_is_default() -> None:
    response, end = decode(DescribeConfigsResponse, 0, RESPONSE_V0)
    assert end == len(RESPONSE_V0)
    [result] = response.results
    assert isinstance(result, DescribeConfigsResult) and result.error_message is None
    retention, segment = result.configs
    assert isinstance(retention, DescribeConfigsResourceResult)
    assert (retention.name, retention.value, retention.is_default) == ("retention.ms", "1000", False)
    assert (segment.name, segment.is_default) == ("segment.bytes", True)
    assert encode(response, 0) == RESPONSE_V0
