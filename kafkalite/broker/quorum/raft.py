"""The Raft rules of the controller quorum (KIP-595), for voters that live in one process.

Pure bookkeeping over the voters' metadata logs: no trio, no sockets. What is real: each
voter has its own log (`PartitionLog`) and its own epoch and vote; an election bumps the
candidate's epoch and needs the votes of a majority of ALL voters (live or not), each voter
granting at most one candidate per epoch and only one whose log is at least as up to date
as its own (last epoch, then end offset); the leader writes a LeaderChangeMessage first in
its epoch; a batch is appended only while a majority of voters is live, and is committed
(the high watermark passes it) once a majority of voters has it.

What is emulated: the network. A live follower copies the leader's new batches at once (as
if it fetched), so a live voter never lags; a stopped voter keeps the end offset it had and
catches up from the leader when it starts. Elections happen at once when the leader stops
(Kafka's followers wait controller.quorum.fetch.timeout.ms, its resigning leader sends
EndQuorumEpoch) and a leader that no longer has a majority of voters live resigns at once
(Kafka's leader resigns after missing a majority's fetches for 1.5 fetch timeouts). Because
only a leader with a majority appends, and every live voter copies at once, the voters' logs
are always prefixes of one another: no follower ever needs to truncate.
"""

from __future__ import annotations

import enum
import logging
from typing import Callable

import attrs

from kafkalite.storage import PartitionLog

log = logging.getLogger("kafkalite.quorum")


class VoterState(enum.Enum):
    UNATTACHED = "Unattached"
    FOLLOWER = "Follower"
    CANDIDATE = "Candidate"
    LEADER = "Leader"
    RESIGNED = "Resigned"


@attrs.define(eq=False)
class Voter:
    """One voter: its log, epoch and vote, and what the leader knows of its progress."""

    voter_id: int
    log: PartitionLog
    epoch: int = 0
    voted_for: int | None = None
    leader_id: int | None = None
    state: VoterState = VoterState.UNATTACHED
    alive: bool = True
    #: Leader wall-clock ms of this voter's last fetch, and of its last fetch that reached the
    #: leader's end offset (DescribeQuorum's LastFetchTimestamp / LastCaughtUpTimestamp).
    last_fetch_ms: int = -1
    last_caught_up_ms: int = -1

    @property
    def end_offset(self) -> int:
        return self.log.log_end_offset

    @property
    def last_epoch(self) -> int:
        """The epoch of the last batch in the log (0 for an empty log)."""
        epochs = self.log.leader_epochs
        return epochs[-1][0] if epochs else 0


#: Called after a vote's state (epoch, voted for) changes, to persist it: (voter).
StateListener = Callable[[Voter], None]
#: Builds the batch a new leader writes first: (leader, voters, granting, epoch) -> bytes.
LeaderChangeBatch = Callable[[int, list[int], list[int], int], bytes]


class NoMajority(Exception):
    """Fewer than a majority of the voters are live: nothing can be appended or elected."""


@attrs.define(eq=False)
class Raft:
    """The voters of one metadata log and the rules between them."""

    voters: dict[int, Voter]
    leader_change_batch: LeaderChangeBatch
    now_ms: Callable[[], int]
    on_state: StateListener = lambda voter: None

    @property
    def voter_ids(self) -> list[int]:
        return sorted(self.voters)

    @property
    def majority(self) -> int:
        """Votes (and copies) needed: a majority of ALL voters, live or not."""
        return len(self.voters) // 2 + 1

    def live(self) -> list[Voter]:
        return [v for v in self.voters.values() if v.alive]

    def has_majority(self) -> bool:
        return len(self.live()) >= self.majority

    @property
    def leader(self) -> Voter | None:
        for voter in self.voters.values():
            if voter.alive and voter.state is VoterState.LEADER:
                return voter
        return None

    @property
    def epoch(self) -> int:
        """The latest epoch the live voters know (a majority that elected a leader of epoch E
        overlaps every later majority, so some live voter of a majority knows E)."""
        return max((v.epoch for v in self.live()), default=0)

    @property
    def high_watermark(self) -> int:
        """The largest offset below which a majority of voters have the log (every voter
        counted, a stopped one with the end offset it stopped at)."""
        ends = sorted((v.end_offset for v in self.voters.values()), reverse=True)
        return ends[self.majority - 1]

    # -- elections -----------------------------------------------------------------------

    def elect(self, reason: str, exclude: int | None = None) -> Voter | None:
        """Hold an election if no live leader: the most up-to-date live voter (lowest id on a
        tie; *exclude*, a leader that just resigned, only if no other can) stands as
        candidate. Returns the new leader, or None when no majority of voters is live.
        """
        if self.leader is not None:
            return self.leader
        live = self.live()
        if len(live) < self.majority:
            log.warning(
                "no election: %d of %d voters live, a majority is %d (%s)",
                len(live), len(self.voters), self.majority, reason,
            )
            return None
        live.sort(key=lambda v: (v.voter_id == exclude, -v.last_epoch, -v.end_offset, v.voter_id))
        candidate = live[0]
        epoch = self.epoch + 1
        candidate.epoch, candidate.voted_for, candidate.state, candidate.leader_id = (
            epoch, candidate.voter_id, VoterState.CANDIDATE, None,
        )
        self.on_state(candidate)
        granted = [candidate.voter_id] + [
            v.voter_id for v in self.voters.values() if v is not candidate and self._grant(v, candidate, epoch)
        ]
        if len(granted) < self.majority:  # cannot happen in-process: every live voter is as up to date
            log.warning("voter %d lost the election of epoch %d: votes %s", candidate.voter_id, epoch, granted)
            candidate.state = VoterState.UNATTACHED
            return None
        self._become_leader(candidate, sorted(granted), reason)
        return candidate

    def _grant(self, voter: Voter, candidate: Voter, epoch: int) -> bool:
        """Whether *voter* gives *candidate* its vote for *epoch* (Raft's vote rule)."""
        if not voter.alive or voter.epoch > epoch:
            return False
        if voter.epoch == epoch and voter.voted_for not in (None, candidate.voter_id):
            return False
        if (candidate.last_epoch, candidate.end_offset) < (voter.last_epoch, voter.end_offset):
            voter.epoch, voter.voted_for = epoch, None  # a higher epoch is still learned
            self.on_state(voter)
            return False
        voter.epoch, voter.voted_for, voter.state, voter.leader_id = epoch, candidate.voter_id, VoterState.UNATTACHED, None
        self.on_state(voter)
        return True

    def _become_leader(self, leader: Voter, granted: list[int], reason: str) -> None:
        leader.state, leader.leader_id = VoterState.LEADER, leader.voter_id
        self.on_state(leader)
        for voter in self.live():
            if voter is not leader:
                voter.state, voter.leader_id = VoterState.FOLLOWER, leader.voter_id
                self.on_state(voter)
        log.info(
            "voter %d is the leader of epoch %d (votes from %s): %s",
            leader.voter_id, leader.epoch, granted, reason,
        )
        batch = self.leader_change_batch(leader.voter_id, self.voter_ids, granted, leader.epoch)
        self._append_and_copy(leader, batch)

    # -- the log -------------------------------------------------------------------------

    def append(self, batch: bytes) -> tuple[int, int]:
        """Append *batch* at the leader and copy it to the live voters; return its (base
        offset, last offset), committed (below the high watermark) on return.

        Raises:
            NoMajority: no leader with a majority of voters live.
        """
        leader = self.leader
        if leader is None or not self.has_majority():
            raise NoMajority(f"{len(self.live())} of {len(self.voters)} voters live, no leader")
        return self._append_and_copy(leader, batch)

    def _append_and_copy(self, leader: Voter, batch: bytes) -> tuple[int, int]:
        info = leader.log.append(bytearray(batch), leader_epoch=leader.epoch)
        for voter in self.live():
            if voter is not leader:
                self.catch_up(voter)
        return info.base_offset, info.last_offset

    def catch_up(self, voter: Voter) -> int:
        """Copy to *voter* what the leader has beyond its end offset (a follower's fetch);
        return the number of batches copied."""
        leader = self.leader
        if leader is None or voter is leader:
            return 0
        assert voter.end_offset <= leader.end_offset, "the voters' logs are prefixes of each other"
        copied = 0
        for header, view in leader.log.batches_from(voter.end_offset):
            voter.log.append(bytearray(view), leader_epoch=header.partition_leader_epoch)
            copied += 1
        now = self.now_ms()
        voter.last_fetch_ms = voter.last_caught_up_ms = now
        if voter.epoch != leader.epoch or voter.leader_id != leader.voter_id:
            voter.epoch, voter.leader_id = leader.epoch, leader.voter_id
            self.on_state(voter)
        voter.state = VoterState.FOLLOWER
        return copied

    # -- voters stopping and starting ----------------------------------------------------

    def stop(self, voter_id: int, clean: bool) -> None:
        """Stop voter *voter_id*; a stopped leader's successor is elected at once, and a
        leader left without a majority resigns."""
        voter = self.voters[voter_id]
        if not voter.alive:
            return
        was_leader = voter.state is VoterState.LEADER
        voter.alive = False
        voter.state = VoterState.RESIGNED if was_leader and clean else VoterState.UNATTACHED
        log.info("voter %d stopped (%s)", voter_id, "clean" if clean else "hard")
        if was_leader:
            self.elect(f"leader {voter_id} stopped", exclude=voter_id)
        elif not self.has_majority():
            leader = self.leader
            if leader is not None:
                leader.state = VoterState.RESIGNED
                log.warning(
                    "leader %d resigns epoch %d: %d of %d voters live, a majority is %d",
                    leader.voter_id, leader.epoch, len(self.live()), len(self.voters), self.majority,
                )

    def start(self, voter_id: int) -> None:
        """Start voter *voter_id*: it catches up from the leader, or an election is held if
        there is none and a majority is live again."""
        voter = self.voters[voter_id]
        if voter.alive:
            return
        voter.alive = True
        voter.state = VoterState.UNATTACHED
        log.info("voter %d started at end offset %d", voter_id, voter.end_offset)
        for other in self.live():  # a leader that resigned for want of a majority stands again
            if other.state is VoterState.RESIGNED:
                other.state = VoterState.UNATTACHED
        if self.leader is None:
            self.elect(f"voter {voter_id} started")
        else:
            self.catch_up(voter)
