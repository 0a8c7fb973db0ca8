"""Metadata (key 3): versions 0-13, flexible from 9.

Version notes:

* v1: a null topic list (not an empty one) asks for every topic; brokers carry a rack,
  the response names the controller, and topics say whether they are internal.
* v2: cluster_id in the response.
* v3: throttle_time_ms in the response.
* v4: allow_auto_topic_creation in the request.
* v5: offline_replicas per partition.
* v6: no field changes (throttling happens after the response is sent).
* v7: leader_epoch per partition.
* v8: authorized-operations bitfields can be requested for topics and the cluster.
* v9: flexible versions.
* v10: topic_id on request and response topics; a request topic name may be null.
* v11: cluster authorized operations leave Metadata (DescribeCluster serves them).
* v12: topics may be looked up by topic_id; a response topic name may be null.
* v13: a top-level error_code in the response (KIP-1102, e.g. REBOOTSTRAP_REQUIRED).
  The definitions in kafka-message-specs stop at v12; v13 follows Kafka 4.0.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 3

MetadataRequestTopic = struct(
    "MetadataRequestTopic",
    field("topic_id", "uuid", "10+"),
    field("name", "string", "0+", nullable="10+"),
)

MetadataRequest = message(
    "MetadataRequest",
    api_key=API_KEY,
    valid="0-13",
    flexible="9+",
    fields=[
        field("topics", array(MetadataRequestTopic), "0+", nullable="1+"),
        field("allow_auto_topic_creation", "bool", "4+", default=True),
        field("include_cluster_authorized_operations", "bool", "8-10"),
        field("include_topic_authorized_operations", "bool", "8+"),
    ],
)

MetadataResponseBroker = struct(
    "MetadataResponseBroker",
    field("node_id", "int32", "0+"),
    field("host", "string", "0+"),
    field("port", "int32", "0+"),
    field("rack", "string", "1+", nullable="1+", default=None),
)

MetadataResponsePartition = struct(
    "MetadataResponsePartition",
    field("error_code", "int16", "0+"),
    field("partition_index", "int32", "0+"),
    field("leader_id", "int32", "0+"),
    field("leader_epoch", "int32", "7+", default=-1),
    field("replica_nodes", array("int32"), "0+"),
    field("isr_nodes", array("int32"), "0+"),
    field("offline_replicas", array("int32"), "5+"),
)

MetadataResponseTopic = struct(
    "MetadataResponseTopic",
    field("error_code", "int16", "0+"),
    field("name", "string", "0+", nullable="12+"),
    field("topic_id", "uuid", "10+"),
    field("is_internal", "bool", "1+", default=False),
    field("partitions", array(MetadataResponsePartition), "0+"),
    field("topic_authorized_operations", "int32", "8+", default=-2147483648),
)

MetadataResponse = message(
    "MetadataResponse",
    api_key=API_KEY,
    valid="0-13",
    flexible="9+",
    fields=[
        field("throttle_time_ms", "int32", "3+"),
        field("brokers", array(MetadataResponseBroker), "0+"),
        field("cluster_id", "string", "2+", nullable="2+", default=None),
        field("controller_id", "int32", "1+", default=-1),
        field("topics", array(MetadataResponseTopic), "0+"),
        field("cluster_authorized_operations", "int32", "8-10", default=-2147483648),
        field("error_code", "int16", "13+"),
    ],
)
