"""ConsumerGroupDescribe (key 69): versions 0-1, flexible in every version (KIP-848).

Version notes:

* v0: groups of the consumer group protocol, with member epochs and current and target
  assignments.
* v1: member_type per member (-1 unknown, 0 classic, 1 consumer); the Kafka definitions in
  ../shared stop at v0, so v1 is checked against kio only.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 69

ConsumerGroupDescribeRequest = message(
    "ConsumerGroupDescribeRequest",
    api_key=API_KEY,
    valid="0-1",
    flexible="0+",
    fields=[
        field("group_ids", array("string"), "0+"),
        field("include_authorized_operations", "bool", "0+"),
    ],
)

DescribedTopicPartitions = struct(
    "DescribedTopicPartitions",
    field("topic_id", "uuid", "0+"),
    field("topic_name", "string", "0+"),
    field("partitions", array("int32"), "0+"),
)

DescribedAssignment = struct(
    "DescribedAssignment",
    field("topic_partitions", array(DescribedTopicPartitions), "0+"),
)

DescribedConsumerGroupMember = struct(
    "DescribedConsumerGroupMember",
    field("member_id", "string", "0+"),
    field("instance_id", "string", "0+", nullable="0+", default=None),
    field("rack_id", "string", "0+", nullable="0+", default=None),
    field("member_epoch", "int32", "0+"),
    field("client_id", "string", "0+"),
    field("client_host", "string", "0+"),
    field("subscribed_topic_names", array("string"), "0+"),
    field("subscribed_topic_regex", "string", "0+", nullable="0+", default=None),
    field("assignment", DescribedAssignment, "0+"),
    field("target_assignment", DescribedAssignment, "0+"),
    field("member_type", "int8", "1+", default=-1),
)

DescribedConsumerGroup = struct(
    "DescribedConsumerGroup",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+", default=None),
    field("group_id", "string", "0+"),
    field("group_state", "string", "0+"),
    field("group_epoch", "int32", "0+"),
    field("assignment_epoch", "int32", "0+"),
    field("assignor_name", "string", "0+"),
    field("members", array(DescribedConsumerGroupMember), "0+"),
    # INT32_MIN: the client did not ask for authorized operations.
    field("authorized_operations", "int32", "0+", default=-2147483648),
)

ConsumerGroupDescribeResponse = message(
    "ConsumerGroupDescribeResponse",
    api_key=API_KEY,
    valid="0-1",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("groups", array(DescribedConsumerGroup), "0+"),
    ],
)
