"""Values the transaction coordinator answers with, for the admin APIs (KIP-664)."""

from __future__ import annotations

import attrs

from kafkalite.transactions.state import TxnState
from kafkalite.wire.error_codes import ErrorCode


@attrs.frozen
class TransactionListing:
    """One transactional id as ListTransactions shows it."""

    transactional_id: str
    producer_id: int
    state: TxnState


@attrs.frozen
class TransactionList:
    """A ListTransactions answer: the ids that passed the filters, and the state names in
    the filter that Kafka does not know (reported back, as Kafka does)."""

    error: ErrorCode
    transactions: tuple[TransactionListing, ...] = ()
    unknown_state_filters: tuple[str, ...] = ()


@attrs.frozen
class TransactionDescription:
    """One transactional id as DescribeTransactions shows it (fields as Kafka fills them;
    with an error, only the id is meaningful)."""

    transactional_id: str
    error: ErrorCode
    state: TxnState | None = None
    producer_id: int = -1
    producer_epoch: int = -1
    transaction_timeout_ms: int = 0
    transaction_start_time_ms: int = -1
    #: (topic, sorted partitions) of the open transaction, topics sorted.
    topics: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def state_name(self) -> str:
        """The state's Kafka name, or "" with an error."""
        return "" if self.state is None else self.state.kafka_name
