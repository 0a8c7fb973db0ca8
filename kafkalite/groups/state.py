"""The classic group state machine, as a table.

A consumer group (the "classic" protocol: JoinGroup / SyncGroup / Heartbeat / LeaveGroup) is
always in one of five states, as in Kafka's ``ClassicGroupState``::

    Empty ----------- REBALANCE -----------> PreparingRebalance
    Stable ---------- REBALANCE -----------> PreparingRebalance
    CompletingRebalance -- REBALANCE ------> PreparingRebalance
    PreparingRebalance -- JOIN_COMPLETE ---> CompletingRebalance   (members rejoined)
    PreparingRebalance -- JOIN_COMPLETE_EMPTY -> Empty             (nobody rejoined)
    CompletingRebalance -- ASSIGNMENT_STORED --> Stable           (leader's SyncGroup written)
    Empty ----------- DELETE --------------> Dead                  (DeleteGroups, expiry)

Every other (state, event) pair is a bug in the caller, not a client error, and raises
`IllegalTransition` naming both. Pure: no trio, no storage.
"""

from __future__ import annotations

import enum


class GroupState(enum.Enum):
    """The states, with the names Kafka reports in DescribeGroups and ListGroups."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"

    @classmethod
    def parse(cls, name: str) -> GroupState | None:
        """The state named *name*, compared case-insensitively (ListGroups filters), or None."""
        wanted = name.strip().lower()
        for state in cls:
            if state.value.lower() == wanted:
                return state
        return None


class GroupEvent(enum.Enum):
    """What moves a group from one state to another."""

    #: A member joined, left, changed its protocols or failed: every member must rejoin.
    REBALANCE = "rebalance"
    #: The join phase ended (all members rejoined, or the rebalance timeout passed) with members.
    JOIN_COMPLETE = "join complete"
    #: The join phase ended and no member is left: a new, empty generation.
    JOIN_COMPLETE_EMPTY = "join complete with no members"
    #: The leader's assignment (its SyncGroup) was written to __consumer_offsets.
    ASSIGNMENT_STORED = "assignment stored"
    #: The group is removed: DeleteGroups, or its offsets expired while it was empty.
    DELETE = "delete"


S, E = GroupState, GroupEvent

#: (state, event) -> next state. A missing key is an illegal move.
TRANSITIONS: dict[tuple[GroupState, GroupEvent], GroupState] = {
    (S.EMPTY, E.REBALANCE): S.PREPARING_REBALANCE,
    (S.STABLE, E.REBALANCE): S.PREPARING_REBALANCE,
    (S.COMPLETING_REBALANCE, E.REBALANCE): S.PREPARING_REBALANCE,
    (S.PREPARING_REBALANCE, E.JOIN_COMPLETE): S.COMPLETING_REBALANCE,
    (S.PREPARING_REBALANCE, E.JOIN_COMPLETE_EMPTY): S.EMPTY,
    (S.COMPLETING_REBALANCE, E.ASSIGNMENT_STORED): S.STABLE,
    (S.EMPTY, E.DELETE): S.DEAD,
}

del S, E


class IllegalTransition(Exception):
    """A (state, event) pair that is not in `TRANSITIONS`: a coordinator bug."""

    def __init__(self, group_id: str, state: GroupState, event: GroupEvent) -> None:
        super().__init__(
            f"group {group_id!r}: no transition from state {state.value} on event {event.value!r}"
        )
        self.state = state
        self.event = event


def next_state(state: GroupState, event: GroupEvent, group_id: str = "") -> GroupState:
    """The state *event* moves a group in *state* to.

    Raises:
        IllegalTransition: the table has no such move.
    """
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(group_id, state, event) from None


def can_rebalance(state: GroupState) -> bool:
    """Whether a group in *state* may start a rebalance (Kafka's ``canRebalance``)."""
    return (state, GroupEvent.REBALANCE) in TRANSITIONS
