"""The transaction state table: every legal move, Kafka's valid previous states, and an
error naming state and event for every other move."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from kafkalite.transactions.state import (
    TRANSITIONS,
    VALID_PREVIOUS_STATES,
    IllegalTransition,
    TxnEvent,
    TxnState,
    next_state,
)

S, E = TxnState, TxnEvent

LEGAL = [
    (S.EMPTY, E.INIT_PRODUCER_ID, S.EMPTY),
    (S.COMPLETE_COMMIT, E.INIT_PRODUCER_ID, S.EMPTY),
    (S.COMPLETE_ABORT, E.INIT_PRODUCER_ID, S.EMPTY),
    (S.EMPTY, E.ADD_PARTITIONS, S.ONGOING),
    (S.ONGOING, E.ADD_PARTITIONS, S.ONGOING),
    (S.COMPLETE_COMMIT, E.ADD_PARTITIONS, S.ONGOING),
    (S.COMPLETE_ABORT, E.ADD_PARTITIONS, S.ONGOING),
    (S.ONGOING, E.COMMIT, S.PREPARE_COMMIT),
    (S.ONGOING, E.ABORT, S.PREPARE_ABORT),
    (S.PREPARE_EPOCH_FENCE, E.ABORT, S.PREPARE_ABORT),
    (S.ONGOING, E.FENCE_EPOCH, S.PREPARE_EPOCH_FENCE),
    (S.PREPARE_COMMIT, E.MARKERS_WRITTEN, S.COMPLETE_COMMIT),
    (S.PREPARE_ABORT, E.MARKERS_WRITTEN, S.COMPLETE_ABORT),
    (S.EMPTY, E.EXPIRE, S.DEAD),
    (S.COMPLETE_COMMIT, E.EXPIRE, S.DEAD),
    (S.COMPLETE_ABORT, E.EXPIRE, S.DEAD),
]


@pytest.mark.parametrize(("state", "event", "target"), LEGAL, ids=lambda v: getattr(v, "name", v))
def test_legal_transition(state: TxnState, event: TxnEvent, target: TxnState) -> None:
    assert next_state(state, event) is target


def test_the_table_has_exactly_the_legal_moves() -> None:
    assert TRANSITIONS == {(s, e): t for s, e, t in LEGAL}


def test_the_table_enters_each_state_from_kafkas_valid_previous_states() -> None:
    entered_from: dict[TxnState, set[TxnState]] = {s: set() for s in TxnState}
    for (source, _event), target in TRANSITIONS.items():
        entered_from[target].add(source)
    assert entered_from == {s: set(v) for s, v in VALID_PREVIOUS_STATES.items()}


ILLEGAL = [(s, e) for s, e in itertools.product(TxnState, TxnEvent) if (s, e) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "event"), ILLEGAL, ids=lambda v: v.name)
def test_illegal_transition_names_state_and_event(state: TxnState, event: TxnEvent) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state(state, event, "tx-1")
    message = str(info.value)
    assert state.kafka_name in message and event.value in message and "tx-1" in message
    assert info.value.state is state and info.value.event is event


def test_dead_is_final() -> None:
    for event in TxnEvent:
        with pytest.raises(IllegalTransition):
            next_state(S.DEAD, event)


def test_no_commit_or_abort_without_an_open_transaction() -> None:
    for state in (S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT, S.PREPARE_COMMIT, S.PREPARE_ABORT):
        for event in (E.COMMIT, E.ABORT):
            assert (state, event) not in TRANSITIONS


@pytest.mark.parametrize(
    ("state", "state_id", "name"),
    [
        (S.EMPTY, 0, "Empty"),
        (S.ONGOING, 1, "Ongoing"),
        (S.PREPARE_COMMIT, 2, "PrepareCommit"),
        (S.PREPARE_ABORT, 3, "PrepareAbort"),
        (S.COMPLETE_COMMIT, 4, "CompleteCommit"),
        (S.COMPLETE_ABORT, 5, "CompleteAbort"),
        (S.DEAD, 6, "Dead"),
        (S.PREPARE_EPOCH_FENCE, 7, "PrepareEpochFence"),
    ],
)
def test_state_ids_and_names_are_kafkas(state: TxnState, state_id: int, name: str) -> None:
    assert state.value == state_id
    assert state.kafka_name == name
    assert TxnState.from_name(name) is state
    assert TxnState.from_id(state_id) is state


def test_unknown_names_and_ids_are_none() -> None:
    assert TxnState.from_name("ongoing") is None  # Kafka's names compare exactly
    assert TxnState.from_name("Nope") is None
    assert TxnState.from_id(8) is None and TxnState.from_id(-1) is None


def test_expiration_is_allowed_only_without_an_open_transaction() -> None:
    assert {s for s in TxnState if s.is_expiration_allowed} == {S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}


@pytest.mark.parametrize("module", ["state.py", "metadata.py", "records.py", "requests.py"])
def test_pure_transaction_modules_import_neither_trio_nor_storage(module: str) -> None:
    path = Path(__file__).resolve().parents[2] / "kafkalite" / "transactions" / module
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(("trio", "kafkalite.storage", "kafkalite.timers")), (module, name)
