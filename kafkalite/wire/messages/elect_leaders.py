"""ElectLeaders (key 43): versions 0-2, flexible from 2.

Version notes:

* v1: election_type in the request (0 preferred, 1 unclean; v0 elects the preferred
  replica), a top-level error_code in the response.
* v2: first flexible version.
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 43

ElectLeadersTopicPartitions = struct(
    "ElectLeadersTopicPartitions",
    field("topic", "string", "0+"),
    field("partitions", array("int32"), "0+"),
)

ElectLeadersRequest = message(
    "ElectLeadersRequest",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("election_type", "int8", "1+", default=0),
        # null: every partition of every topic
        field("topic_partitions", array(ElectLeadersTopicPartitions), "0+", nullable="0+"),
        field("timeout_ms", "int32", "0+", default=60000),
    ],
)

PartitionResult = struct(
    "PartitionResult",
    field("partition_id", "int32", "0+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
)

ReplicaElectionResult = struct(
    "ReplicaElectionResult",
    field("topic", "string", "0+"),
    field("partition_result", array(PartitionResult), "0+"),
)

ElectLeadersResponse = message(
    "ElectLeadersResponse",
    api_key=API_KEY,
    valid="0-2",
    flexible="2+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "1+", default=0),
        field("replica_election_results", array(ReplicaElectionResult), "0+"),
    ],
)
