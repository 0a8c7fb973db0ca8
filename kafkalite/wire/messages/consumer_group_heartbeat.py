"""ConsumerGroupHeartbeat (key 68): versions 0-1, flexible in every version (KIP-848).

Version notes:

* v0: the consumer group protocol: join (epoch 0), heartbeat, leave (epoch -1 / -2); the
  coordinator generates the member id.
* v1: subscribed_topic_regex in the request; the client generates its member id (a UUID
  it keeps for its lifetime, Kafka 4.1).

Fields left null mean "unchanged since the last heartbeat".
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 68

ConsumerGroupHeartbeatTopicPartitions = struct(
    "ConsumerGroupHeartbeatTopicPartitions",
    field("topic_id", "uuid", "0+"),
    field("partitions", array("int32"), "0+"),
)

ConsumerGroupHeartbeatRequest = message(
    "ConsumerGroupHeartbeatRequest",
    api_key=API_KEY,
    valid="0-1",
    flexible="0+",
    fields=[
        field("group_id", "string", "0+"),
        field("member_id", "string", "0+"),
        field("member_epoch", "int32", "0+"),
        field("instance_id", "string", "0+", nullable="0+", default=None),
        field("rack_id", "string", "0+", nullable="0+", default=None),
        field("rebalance_timeout_ms", "int32", "0+", default=-1),
        field("subscribed_topic_names", array("string"), "0+", nullable="0+", default=None),
        field("subscribed_topic_regex", "string", "1+", nullable="1+", default=None),
        field("server_assignor", "string", "0+", nullable="0+", default=None),
        field("topic_partitions", array(ConsumerGroupHeartbeatTopicPartitions), "0+", nullable="0+", default=None),
    ],
)

ConsumerGroupHeartbeatAssignment = struct(
    "ConsumerGroupHeartbeatAssignment",
    field("topic_partitions", array(ConsumerGroupHeartbeatTopicPartitions), "0+"),
)

ConsumerGroupHeartbeatResponse = message(
    "ConsumerGroupHeartbeatResponse",
    api_key=API_KEY,
    valid="0-1",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+", default=None),
        field("member_id", "string", "0+", nullable="0+", default=None),
        field("member_epoch", "int32", "0+"),
        field("heartbeat_interval_ms", "int32", "0+"),
        field("assignment", ConsumerGroupHeartbeatAssignment, "0+", nullable="0+", default=None),
    ],
)
