"""The transaction state machine, as a table.

A transactional id is always in one of Kafka's eight ``TransactionState``s. Their ids are
what ``__transaction_state`` stores (``TransactionStatus``, an int8) and their names are what
ListTransactions and DescribeTransactions report. Kafka writes the machine as, per target
state, the set of states it may be entered from; here the same moves are a table of
``(state, event) -> next state``, one event per kind of change the coordinator prepares::

    Empty, CompleteCommit, CompleteAbort -- INIT_PRODUCER_ID -> Empty     (epoch bump / new id)
    Empty, Ongoing, Complete* ------------- ADD_PARTITIONS ---> Ongoing   (partitions or offsets)
    Ongoing ------------------------------- COMMIT -----------> PrepareCommit
    Ongoing, PrepareEpochFence ------------ ABORT ------------> PrepareAbort
    Ongoing ------------------------------- FENCE_EPOCH ------> PrepareEpochFence
    PrepareCommit ------------------------- MARKERS_WRITTEN --> CompleteCommit
    PrepareAbort -------------------------- MARKERS_WRITTEN --> CompleteAbort
    Empty, CompleteCommit, CompleteAbort -- EXPIRE -----------> Dead

`VALID_PREVIOUS_STATES` keeps Kafka's own formulation; a test checks the two agree. Every
other (state, event) pair is a coordinator bug, not a client error, and raises
`IllegalTransition` naming both. Pure: no trio, no storage.
"""

from __future__ import annotations

import enum


class TxnState(enum.IntEnum):
    """The states, valued by the id Kafka writes in ``__transaction_state``."""

    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def kafka_name(self) -> str:
        """The name ListTransactions / DescribeTransactions report (``"PrepareCommit"``)."""
        return _NAMES[self]

    @classmethod
    def from_name(cls, name: str) -> TxnState | None:
        """The state Kafka calls *name* (exact match, as Kafka's ``fromName``), or None."""
        return _BY_NAME.get(name)

    @classmethod
    def from_id(cls, state_id: int) -> TxnState | None:
        """The state stored as *state_id*, or None for an id Kafka does not define."""
        try:
            return cls(state_id)
        except ValueError:
            return None

    @property
    def is_expiration_allowed(self) -> bool:
        """Whether an idle transactional id in this state may expire (Kafka's flag)."""
        return (self, TxnEvent.EXPIRE) in TRANSITIONS


_NAMES = {
    TxnState.EMPTY: "Empty",
    TxnState.ONGOING: "Ongoing",
    TxnState.PREPARE_COMMIT: "PrepareCommit",
    TxnState.PREPARE_ABORT: "PrepareAbort",
    TxnState.COMPLETE_COMMIT: "CompleteCommit",
    TxnState.COMPLETE_ABORT: "CompleteAbort",
    TxnState.DEAD: "Dead",
    TxnState.PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
_BY_NAME = {name: state for state, name in _NAMES.items()}


class TxnEvent(enum.Enum):
    """What moves a transactional id from one state to another."""

    #: InitProducerId: the epoch is bumped (or a new producer id issued); no transaction open.
    INIT_PRODUCER_ID = "init producer id"
    #: AddPartitionsToTxn / AddOffsetsToTxn: a transaction begins or grows.
    ADD_PARTITIONS = "add partitions"
    #: EndTxn with commit.
    COMMIT = "commit"
    #: EndTxn with abort, or the coordinator aborting (after an epoch fence).
    ABORT = "abort"
    #: The coordinator fences the producer of an open transaction before aborting it
    #: (a new incarnation called InitProducerId, or the transaction timed out).
    FENCE_EPOCH = "fence epoch"
    #: Every partition has its COMMIT / ABORT marker.
    MARKERS_WRITTEN = "markers written"
    #: transactional.id.expiration.ms passed without use: the id is removed.
    EXPIRE = "expire"


S, E = TxnState, TxnEvent

#: (state, event) -> next state. A missing key is an illegal move.
TRANSITIONS: dict[tuple[TxnState, TxnEvent], TxnState] = {
    (S.EMPTY, E.INIT_PRODUCER_ID): S.EMPTY,
    (S.COMPLETE_COMMIT, E.INIT_PRODUCER_ID): S.EMPTY,
    (S.COMPLETE_ABORT, E.INIT_PRODUCER_ID): S.EMPTY,
    (S.EMPTY, E.ADD_PARTITIONS): S.ONGOING,
    (S.ONGOING, E.ADD_PARTITIONS): S.ONGOING,
    (S.COMPLETE_COMMIT, E.ADD_PARTITIONS): S.ONGOING,
    (S.COMPLETE_ABORT, E.ADD_PARTITIONS): S.ONGOING,
    (S.ONGOING, E.COMMIT): S.PREPARE_COMMIT,
    (S.ONGOING, E.ABORT): S.PREPARE_ABORT,
    (S.PREPARE_EPOCH_FENCE, E.ABORT): S.PREPARE_ABORT,
    (S.ONGOING, E.FENCE_EPOCH): S.PREPARE_EPOCH_FENCE,
    (S.PREPARE_COMMIT, E.MARKERS_WRITTEN): S.COMPLETE_COMMIT,
    (S.PREPARE_ABORT, E.MARKERS_WRITTEN): S.COMPLETE_ABORT,
    (S.EMPTY, E.EXPIRE): S.DEAD,
    (S.COMPLETE_COMMIT, E.EXPIRE): S.DEAD,
    (S.COMPLETE_ABORT, E.EXPIRE): S.DEAD,
}

#: Kafka's own formulation: each state and the states it may be entered from.
VALID_PREVIOUS_STATES: dict[TxnState, frozenset[TxnState]] = {
    S.EMPTY: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.ONGOING: frozenset({S.ONGOING, S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_COMMIT: frozenset({S.ONGOING}),
    S.PREPARE_ABORT: frozenset({S.ONGOING, S.PREPARE_EPOCH_FENCE}),
    S.COMPLETE_COMMIT: frozenset({S.PREPARE_COMMIT}),
    S.COMPLETE_ABORT: frozenset({S.PREPARE_ABORT}),
    S.DEAD: frozenset({S.EMPTY, S.COMPLETE_ABORT, S.COMPLETE_COMMIT}),
    S.PREPARE_EPOCH_FENCE: frozenset({S.ONGOING}),
}

del S, E


class IllegalTransition(Exception):
    """A (state, event) pair that is not in `TRANSITIONS`: a coordinator bug."""

    def __init__(self, transactional_id: str, state: TxnState, event: TxnEvent) -> None:
        super().__init__(
            f"transactional id {transactional_id!r}: no transition from state {state.kafka_name} "
            f"on event {event.value!r}"
        )
        self.state = state
        self.event = event


def next_state(state: TxnState, event: TxnEvent, transactional_id: str = "") -> TxnState:
    """The state *event* moves a transactional id in *state* to.

    Raises:
        IllegalTransition: the table has no such move.
    """
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(transactional_id, state, event) from None
