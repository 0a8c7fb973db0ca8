"""The Raft rules of the controller quorum (kafkalite.broker.quorum.raft) and its records."""

from __future__ import annotations

import uuid

import pytest

from kafkalite.wire import metadata_records as r
from kafkalite.broker.quorum.raft import NoMajority, Raft, Voter, VoterState
from kafkalite.storage import LogConfig
from kafkalite.storage.log import MemoryLog
from kafkalite.wire.records import decode_records


def _raft(ids=(3000, 3001, 3002)) -> Raft:
    voters = {i: Voter(i, MemoryLog(LogConfig())) for i in ids}
    return Raft(
        voters,
        leader_change_batch=lambda leader, voters, granted, epoch: r.build_leader_change_batch(
            leader, voters, granted, leader_epoch=epoch, timestamp=1
        ),
        now_ms=lambda: 1000,
    )


def _batch() -> bytes:
    return r.build_metadata_batch([r.TopicRecord(name="t", topic_id=uuid.uuid4())], leader_epoch=0, timestamp=1)


def test_first_election_makes_epoch_1_with_every_vote_and_a_leader_change_record() -> None:
    raft = _raft()
    leader = raft.elect("startup")
    assert leader is not None and leader.voter_id == 3000 and leader.epoch == 1
    assert [v.state for v in raft.voters.values()] == [VoterState.LEADER, VoterState.FOLLOWER, VoterState.FOLLOWER]
    header, view = next(leader.log.batches_from(0))
    assert header.is_control and header.partition_leader_epoch == 1
    message = r.parse_leader_change(decode_records(view, 0)[0])
    assert message.leader_id == 3000
    assert [v.voter_id for v in message.granting_voters] == [3000, 3001, 3002]
    assert raft.high_watermark == 1 and all(v.end_offset == 1 for v in raft.voters.values())


def test_a_batch_is_copied_to_live_voters_and_committed_at_the_majority() -> None:
    raft = _raft()
    raft.elect("startup")
    raft.stop(3002, clean=True)
    base, last = raft.append(_batch())
    assert (base, last) == (1, 1)
    assert [v.end_offset for v in raft.voters.values()] == [2, 2, 1]
    assert raft.high_watermark == 2  # two of three have offset 1


def test_the_majority_is_of_all_voters_not_of_the_live_ones() -> None:
    raft = _raft()
    raft.elect("startup")
    raft.stop(3001, clean=True)
    raft.stop(3002, clean=False)
    assert not raft.has_majority()
    assert raft.leader is None  # the leader resigned: 1 of 3 is no majority
    with pytest.raises(NoMajority):
        raft.append(_batch())
    assert raft.voters[3000].end_offset == 1  # nothing appended


def test_a_stopped_leader_is_replaced_with_a_higher_epoch() -> None:
    raft = _raft()
    raft.elect("startup")
    raft.stop(3000, clean=False)
    leader = raft.leader
    assert leader is not None and leader.voter_id == 3001 and leader.epoch == 2
    assert raft.voters[3002].leader_id == 3001 and raft.voters[3002].voted_for == 3001


def test_a_stopped_voter_lags_and_catches_up_when_it_starts() -> None:
    raft = _raft()
    raft.elect("startup")
    raft.stop(3002, clean=True)
    for _ in range(3):
        raft.append(_batch())
    assert raft.voters[3002].end_offset == 1 and raft.voters[3000].end_offset == 4
    raft.start(3002)
    assert raft.voters[3002].end_offset == 4
    assert raft.voters[3002].state is VoterState.FOLLOWER
    assert [h.partition_leader_epoch for h, _ in raft.voters[3002].log.batches_from(0)] == [1, 1, 1, 1]


def test_a_voter_behind_cannot_win_an_election() -> None:
    raft = _raft()
    raft.elect("startup")
    raft.stop(3000, clean=True)  # 3001 leads epoch 2
    raft.append(_batch())
    raft.stop(3001, clean=True)
    raft.stop(3002, clean=True)  # all stopped; 3000 is behind the others
    raft.start(3000)
    assert raft.leader is None  # one of three: no election
    raft.start(3002)
    leader = raft.leader
    assert leader is not None and leader.voter_id == 3002  # 3000's log is older
    assert leader.epoch == 3
    assert raft.voters[3000].end_offset == leader.end_offset  # caught up from the new leader


def test_a_voter_votes_once_per_epoch() -> None:
    raft = _raft()
    candidate = raft.voters[3001]
    voter = raft.voters[3002]
    voter.epoch, voter.voted_for = 5, 3000
    candidate.epoch = 5
    assert not raft._grant(voter, candidate, 5)
    assert raft._grant(voter, candidate, 6) and voter.voted_for == 3001


def test_records_round_trip_with_kafkas_framing() -> None:
    topic_id = uuid.uuid4()
    value = r.record("PartitionChangeRecord", {"topic_id": str(topic_id), "partition_id": 2, "leader": 1, "isr": [1, 2]})
    raw = r.encode_record(value)
    assert raw[:3] == bytes([1, 5, 0])  # frame version 1, type 5, version 0
    decoded, version = r.decode_record(raw)
    assert version == 0 and decoded == value and decoded.replicas is None


def test_an_unknown_record_type_is_refused() -> None:
    with pytest.raises(r.UnknownMetadataRecord):
        r.decode_record(bytes([1, 99, 0]))
