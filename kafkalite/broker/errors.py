"""Map the broker's own exceptions to the Kafka error codes clients receive."""

from __future__ import annotations

from kafkalite.broker.cluster import (
    InvalidPartitions,
    InvalidReplicaAssignment,
    InvalidReplicationFactor,
    InvalidTopicName,
    PolicyViolation,
    TopicAlreadyExists,
    UnknownTopic,
)
from kafkalite.broker.quorum.quorum import MetadataQuorumUnavailable
from kafkalite.broker.topic_configs import InvalidConfig
from kafkalite.wire.error_codes import ErrorCode

_CODES: dict[type[Exception], ErrorCode] = {
    InvalidTopicName: ErrorCode.INVALID_TOPIC_EXCEPTION,
    TopicAlreadyExists: ErrorCode.TOPIC_ALREADY_EXISTS,
    UnknownTopic: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    InvalidPartitions: ErrorCode.INVALID_PARTITIONS,
    InvalidReplicationFactor: ErrorCode.INVALID_REPLICATION_FACTOR,
    InvalidReplicaAssignment: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    InvalidConfig: ErrorCode.INVALID_CONFIG,
    PolicyViolation: ErrorCode.POLICY_VIOLATION,
    # Kafka's broker answers a forwarded request no active controller answered in time so.
    MetadataQuorumUnavailable: ErrorCode.REQUEST_TIMED_OUT,
}

ANSWERABLE = tuple(_CODES)


def error_code_for(exc: Exception) -> ErrorCode:
    """The Kafka error code for one of the `ANSWERABLE` exceptions."""
    for cls in type(exc).__mro__:
        code = _CODES.get(cls)
        if code is not None:
            return code
    raise TypeError(f"no Kafka error code for {type(exc).__name__}") from exc
