"""Rebuilding every transactional id from ``__transaction_state`` at start.

Records are replayed in log order, partition by partition; the last record of an id wins (a
tombstone removes it), as Kafka's ``TransactionStateManager`` loads a partition. The
metadata comes back with no pending change and no last epoch (Kafka does not persist it).

Transactions found in PrepareCommit or PrepareAbort were decided but not finished when the
broker stopped: their markers may be missing in some partitions. The coordinator finishes
them right after loading (`kafkalite.transactions.core.CoordinatorCore.complete_loaded`),
writing every marker again and then the Complete* record, as Kafka does. (A partition that
already had its marker gets a second one, harmless: that producer has no transaction open
there any more.)
Ongoing transactions stay open: their producer may go on, or their timeout aborts them.
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalite.storage import KafkaStorageError, OffsetOutOfRange
from kafkalite.transactions.metadata import TransactionMetadata
from kafkalite.transactions.port import TRANSACTION_STATE_TOPIC, TransactionStateTopic
from kafkalite.transactions.records import parse_record, value_partitions
from kafkalite.transactions.state import TxnState
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.records import decode_records

log = logging.getLogger("kafkalite.transactions")


def replay_transactions(topic: TransactionStateTopic, num_partitions: int) -> dict[str, TransactionMetadata]:
    """Every transactional id that the records of every partition describe."""
    loaded: dict[str, TransactionMetadata] = {}
    count = 0
    for partition in range(num_partitions):
        try:
            for header, view in topic.batches(partition):
                if header.is_control:
                    continue
                try:
                    records = decode_records(view)
                except DecodeError as exc:
                    log.warning("%s-%d: skipping undecodable batch at %d: %s",
                                TRANSACTION_STATE_TOPIC, partition, header.base_offset, exc)
                    continue
                for record in records:
                    try:
                        replay_record(loaded, record.key, record.value)
                        count += 1
                    except DecodeError as exc:
                        log.warning("%s-%d: skipping undecodable record at %d: %s", TRANSACTION_STATE_TOPIC,
                                    partition, header.base_offset + record.offset_delta, exc)
        except (KafkaStorageError, OffsetOutOfRange) as exc:
            log.error("%s-%d: cannot read transaction state: %s", TRANSACTION_STATE_TOPIC, partition, exc)
    if loaded:
        log.info("loaded %d transactional id(s) from %d record(s) of %s", len(loaded), count, TRANSACTION_STATE_TOPIC)
    return loaded


def replay_record(loaded: dict[str, TransactionMetadata], key: bytes | None, value: bytes | None) -> None:
    """Apply one record of __transaction_state to *loaded*.

    Raises:
        DecodeError: a malformed key or value (an unknown key version is skipped with a
            warning, as Kafka does).
    """
    record = parse_record(key, value)
    if record is None:
        log.warning("%s: skipping a record with an unknown key version", TRANSACTION_STATE_TOPIC)
        return
    if record.value is None:
        loaded.pop(record.transactional_id, None)
        return
    loaded[record.transactional_id] = metadata_from_value(record.transactional_id, record.value)


def metadata_from_value(transactional_id: str, value: Any) -> TransactionMetadata:
    """The metadata a ``TransactionLogValue`` describes."""
    return TransactionMetadata(
        transactional_id=transactional_id,
        producer_id=value.producer_id,
        previous_producer_id=value.previous_producer_id,
        next_producer_id=value.next_producer_id,
        producer_epoch=value.producer_epoch,
        txn_timeout_ms=value.transaction_timeout_ms,
        state=TxnState(value.transaction_status),
        topic_partitions=set(value_partitions(value)),
        txn_start_timestamp=value.transaction_start_timestamp_ms,
        txn_last_update_timestamp=value.transaction_last_update_timestamp_ms,
        client_transaction_version=value.client_transaction_version,
    )
