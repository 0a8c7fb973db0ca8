"""What the transaction coordinator needs of the broker: three narrow ports.

* `TransactionStateTopic`: ``__transaction_state``, where every change of a transactional
  id is a record (`kafkalite.transactions.records`), and from which the coordinator rebuilds
  its state at start. Creating the topic is the broker's job; as in Kafka it happens when a
  transactional producer first needs it (FindCoordinator, InitProducerId).
* `TransactionMarkers`: the COMMIT / ABORT control batches ending a transaction in each of
  its partitions (and in the ``__consumer_offsets`` partitions holding its offset commits).
* `ProducerIds`: the broker's producer id counter, shared with idempotent producers.

The coordinator knows nothing of `Broker`, topics or logs beyond these.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from kafkalite.wire.batch import BatchHeader
from kafkalite.wire.error_codes import ErrorCode

TRANSACTION_STATE_TOPIC = "__transaction_state"
#: Kafka's transaction.state.log.num.partitions.
DEFAULT_NUM_PARTITIONS = 50
#: Kafka's transaction.state.log.min.isr and transaction.state.log.segment.bytes.
DEFAULT_MIN_INSYNC_REPLICAS = 2
DEFAULT_SEGMENT_BYTES = 100 * 1024 * 1024


def transaction_state_topic_configs(
    min_insync_replicas: int = DEFAULT_MIN_INSYNC_REPLICAS, segment_bytes: int = DEFAULT_SEGMENT_BYTES
) -> dict[str, str]:
    """The topic configs Kafka enforces on __transaction_state: compacted, uncompressed, no
    unclean election, min.insync.replicas from transaction.state.log.min.isr (a broker with
    fewer replicas than that should pass its replication factor, or every write fails)."""
    return {
        "unclean.leader.election.enable": "false",
        "compression.type": "uncompressed",
        "cleanup.policy": "compact",
        "min.insync.replicas": str(min_insync_replicas),
        "segment.bytes": str(segment_bytes),
    }


TRANSACTION_STATE_TOPIC_CONFIGS = transaction_state_topic_configs()


class TransactionStateTopic(Protocol):
    """The coordinator's view of ``__transaction_state``."""

    def exists(self) -> bool:
        """Whether the topic has been created (a fresh broker has none until it is needed)."""

    def partition_count(self) -> int:
        """The topic's partition count, creating the topic first if it does not exist yet.

        Raises:
            KafkaStorageError: the topic could not be created.
        """

    def leader(self, partition: int) -> int | None:
        """The node leading *partition*, or None when none can serve it."""

    def leader_epoch(self, partition: int) -> int:
        """The leader epoch of *partition*: the coordinator epoch written in markers, which
        partitions use to refuse markers from a coordinator that has since been replaced."""

    def append(self, partition: int, batch: bytes) -> tuple[ErrorCode, int]:
        """Append a record batch to *partition* (waking fetches): (NONE, its base offset), or
        (why it failed: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
        NOT_ENOUGH_REPLICAS, KAFKA_STORAGE_ERROR..., -1)."""

    def batches(self, partition: int) -> Iterable[tuple[BatchHeader, memoryview]]:
        """Every batch of *partition* from its log start (raises KafkaStorageError)."""


class TransactionMarkers(Protocol):
    """Writes transaction markers, as Kafka's WriteTxnMarkers does on each partition leader."""

    def write_markers(
        self,
        producer_id: int,
        producer_epoch: int,
        coordinator_epoch: int,
        commit: bool,
        partitions: list[tuple[str, int]],
    ) -> dict[tuple[str, int], ErrorCode]:
        """Append one COMMIT (or ABORT) control batch for the producer to each partition, now.

        Returns an error per partition, as WriteTxnMarkers answers: NONE once written;
        UNKNOWN_TOPIC_OR_PARTITION only for a partition that does not exist (any more: the
        coordinator then drops it, as Kafka does for a partition without a leader endpoint);
        NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, KAFKA_STORAGE_ERROR... to be retried;
        INVALID_PRODUCER_EPOCH or TRANSACTION_COORDINATOR_FENCED when the partition has seen
        a newer producer epoch or coordinator epoch.
        """


class ProducerIds(Protocol):
    """The broker's producer id allocator."""

    def new_producer_id(self) -> int:
        """A producer id never handed out before (raises KafkaStorageError if it cannot be
        persisted)."""


def store_error(error: ErrorCode) -> ErrorCode:
    """Kafka's mapping of a failed append to __transaction_state to the error a transaction
    request answers, so that the client looks for the coordinator again or retries."""
    if error in (
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ErrorCode.REQUEST_TIMED_OUT,
    ):
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if error in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.KAFKA_STORAGE_ERROR):
        return ErrorCode.NOT_COORDINATOR
    if error in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE):
        return ErrorCode.UNKNOWN_SERVER_ERROR
    return error
