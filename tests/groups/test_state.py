"""The group state table: every legal move, and an error naming state and event for the rest."""

from __future__ import annotations

import itertools

import pytest

from kafkalite.groups.state import (
    TRANSITIONS,
    GroupEvent,
    GroupState,
    IllegalTransition,
    can_rebalance,
    next_state,
)

S, E = GroupState, GroupEvent

LEGAL = [
    (S.EMPTY, E.REBALANCE, S.PREPARING_REBALANCE),
    (S.STABLE, E.REBALANCE, S.PREPARING_REBALANCE),
    (S.COMPLETING_REBALANCE, E.REBALANCE, S.PREPARING_REBALANCE),
    (S.PREPARING_REBALANCE, E.JOIN_COMPLETE, S.COMPLETING_REBALANCE),
    (S.PREPARING_REBALANCE, E.JOIN_COMPLETE_EMPTY, S.EMPTY),
    (S.COMPLETING_REBALANCE, E.ASSIGNMENT_STORED, S.STABLE),
    (S.EMPTY, E.DELETE, S.DEAD),
]


@pytest.mark.parametrize(("state", "event", "target"), LEGAL)
def test_legal_transition(state: GroupState, event: GroupEvent, target: GroupState) -> None:
    assert next_state(state, event) is target


def test_the_table_has_exactly_the_legal_moves() -> None:
    assert TRANSITIONS == {(s, e): t for s, e, t in LEGAL}


ILLEGAL = [(s, e) for s, e in itertools.product(GroupState, GroupEvent) if (s, e) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_illegal_transition_names_state_and_event(state: GroupState, event: GroupEvent) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state(state, event, "g1")
    message = str(info.value)
    assert state.value in message and event.value in message and "g1" in message
    assert info.value.state is state and info.value.event is event


def test_dead_is_final() -> None:
    for event in GroupEvent:
        with pytest.raises(IllegalTransition):
            next_state(S.DEAD, event)


def test_preparing_rebalance_cannot_rebalance_again() -> None:
    assert not can_rebalance(S.PREPARING_REBALANCE)
    assert not can_rebalance(S.DEAD)
    assert all(can_rebalance(s) for s in (S.EMPTY, S.STABLE, S.COMPLETING_REBALANCE))


@pytest.mark.parametrize("name", ["stable", "STABLE", " Stable ", "preparingrebalance"])
def test_state_names_parse_case_insensitively(name: str) -> None:
    assert GroupState.parse(name) in (S.STABLE, S.PREPARING_REBALANCE)


def test_unknown_state_name_parses_to_none() -> None:
    assert GroupState.parse("Rebalancing") is None


def test_state_names_are_kafkas() -> None:
    assert [s.value for s in GroupState] == [
        "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead",
    ]
