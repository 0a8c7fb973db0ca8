"""DescribeCluster (key 60): versions 0-2, flexible from 0.

Version notes:
* v0: first version (KIP-700), flexible from the start
* v1: endpoint_type in request and response, to describe brokers (1) or controllers (2);
  MISMATCHED_ENDPOINT_TYPE and UNSUPPORTED_ENDPOINT_TYPE become possible top-level errors
  (KIP-919)
* v2: include_fenced_brokers in the request, is_fenced per broker in the response (KIP-1073)
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 60

DescribeClusterRequest = message(
    "DescribeClusterRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="0+",
    fields=[
        field("include_cluster_authorized_operations", "bool", "0+"),
        field("endpoint_type", "int8", "1+", default=1),
        field("include_fenced_brokers", "bool", "2+"),
    ],
)

DescribeClusterBroker = struct(
    "DescribeClusterBroker",
    field("broker_id", "int32", "0+"),
    field("host", "string", "0+"),
    field("port", "int32", "0+"),
    field("rack", "string", "0+", nullable="0+", default=None),
    field("is_fenced", "bool", "2+"),
)

DescribeClusterResponse = message(
    "DescribeClusterResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+", default=None),
        field("endpoint_type", "int8", "1+", default=1),
        field("cluster_id", "string", "0+"),
        field("controller_id", "int32", "0+", default=-1),
        field("brokers", array(DescribeClusterBroker), "0+"),
        # INT32_MIN: authorized operations were not requested.
        field("cluster_authorized_operations", "int32", "0+", default=-2147483648),
    ],
)
