"""What the group coordinator needs of the broker: a narrow port to ``__consumer_offsets``.

The coordinator persists offsets and group metadata as records of that internal topic and
rebuilds them from it at start. It reaches the topic only through `OffsetsTopic`, which the
broker implements: the coordinator knows nothing of `Broker`, topics or logs beyond this.
Creating the topic is the broker's job; as in Kafka, it happens when a group first needs it.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from kafkalite.wire.batch import BatchHeader
from kafkalite.wire.error_codes import ErrorCode

OFFSETS_TOPIC = "__consumer_offsets"
#: Topic configs Kafka gives __consumer_offsets.
OFFSETS_TOPIC_CONFIGS = {
    "cleanup.policy": "compact",
    "compression.type": "producer",
    "segment.bytes": "104857600",
}


class OffsetsTopic(Protocol):
    """The coordinator's view of ``__consumer_offsets``."""

    def exists(self) -> bool:
        """Whether the topic has been created (a fresh broker has none until a group needs it)."""

    def partition_count(self) -> int:
        """The topic's partition count, creating the topic first if it does not exist yet.

        Raises:
            KafkaStorageError: the topic could not be created.
        """

    def leader(self, partition: int) -> int | None:
        """The node leading *partition*, or None when none can serve it."""

    def append(self, partition: int, batch: bytes) -> tuple[ErrorCode, int]:
        """Append a record batch to *partition* (waking fetches): (NONE, its base offset), or
        (why it failed, -1)."""

    def batches(self, partition: int) -> Iterable[tuple[BatchHeader, memoryview]]:
        """Every batch of *partition* from its log start (raises KafkaStorageError)."""


def store_error(error: ErrorCode) -> ErrorCode:
    """Kafka's mapping of a failed append to the error a group request answers."""
    if error in (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT):
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if error in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.KAFKA_STORAGE_ERROR):
        return ErrorCode.NOT_COORDINATOR
    return error
