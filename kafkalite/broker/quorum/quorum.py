"""The controller quorum of the emulated cluster: its voters, their ``__cluster_metadata``
logs, and the metadata records every change of the cluster commits through it.

`MetadataQuorum` is what the rest of the broker sees: ``voter_ids``, `stop_voter` /
`start_voter`, ``active_controller``, `has_majority`, `commit` (the cluster's
``metadata_sink``), the record hooks `Broker` calls after each topic or config change, and
`wait_for_majority` for handlers. The Raft rules are in `kafkalite.broker.quorum.raft`, the
record layouts in `kafkalite.wire.metadata_records`.

Where the logs are: a voter combined with the broker (one broker, one controller) keeps
``DATA_DIR/__cluster_metadata-0/``; dedicated voters ``DATA_DIR/controller-<id>/__cluster_metadata-0/``;
each beside its ``quorum-state`` file (epoch, leader, vote), as Kafka's. In memory mode,
both are in memory. The metadata log is a record of the changes, not the source a restart
reads: ``meta/cluster.json`` still is (see the README, "Controller quorum").
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import attrs
import trio

from kafkalite.wire import metadata_records as r
from kafkalite.broker.cluster import METADATA_TOPIC
from kafkalite.broker.quorum.raft import NoMajority, Raft, Voter, VoterState
from kafkalite.storage import LogConfig, PartitionLog
from kafkalite.storage.log import MemoryLog

if TYPE_CHECKING:
    from kafkalite.broker.cluster import ClusterState, PartitionState, Topic
    from kafkalite.broker.settings import BrokerConfig

log = logging.getLogger("kafkalite.quorum")

#: Dedicated controllers are numbered from here (the broker ids must stay below).
FIRST_CONTROLLER_ID = 3000
#: Kafka's SecurityProtocol ids, for the endpoints of a RegisterBrokerRecord.
_PROTOCOL_IDS = {"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}
#: ConfigRecord resource types (Kafka's ConfigResource.Type).
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
_STATE_FILE = "quorum-state"


def controller_ids(config: BrokerConfig) -> list[int]:
    """The voter ids: the broker's own id for one broker and one controller (a combined
    node), else ``controllers`` dedicated ids from `FIRST_CONTROLLER_ID`."""
    if config.brokers == 1 and config.controllers == 1:
        return [config.node_id]
    return [FIRST_CONTROLLER_ID + i for i in range(config.controllers)]


class MetadataQuorumUnavailable(Exception):
    """No majority of the controller voters is live: a metadata change cannot be committed."""


@attrs.define(eq=False)
class MetadataQuorum:
    """The voters of ``__cluster_metadata``; see the module docstring."""

    _raft: Raft
    cluster: ClusterState
    combined: bool
    now_ms: Callable[[], int]
    _state_dirs: dict[int, Path] = attrs.Factory(dict)
    _elected: trio.Event | None = attrs.field(init=False, default=None)
    #: Observers (the brokers, when the voters are dedicated): id -> (end offset, fetch ms).
    _observers: dict[int, tuple[int, int]] = attrs.field(init=False, factory=dict)
    #: listener name -> its security protocol id (RegisterBrokerRecord endpoints).
    listener_protocols: dict[str, int] = attrs.Factory(dict)
    _first_start: bool = attrs.field(init=False, default=False)
    _elected_once: bool = attrs.field(init=False, default=False)
    #: Each broker's current epoch (the offset of its RegisterBrokerRecord).
    broker_epochs: dict[int, int] = attrs.field(init=False, factory=dict)

    @classmethod
    def open(
        cls, config: BrokerConfig, cluster: ClusterState, now_ms: Callable[[], int], data_dir: Path | None
    ) -> MetadataQuorum:
        """Open (or create) each voter's metadata log and vote state. The first election is
        held on first use (`raft`); the brokers register once they listen (`register_brokers`).

        Raises:
            KafkaStorageError, CorruptSegmentError: a voter's log cannot be opened.
        """
        ids = controller_ids(config)
        combined = ids == [config.node_id] and config.brokers == 1
        voters: dict[int, Voter] = {}
        state_dirs: dict[int, Path] = {}
        # The metadata log keeps everything (Kafka cleans it up with snapshots, which kafkalite
        # does not take); --fsync fsyncs every voter's appends.
        base = LogConfig(retention_ms=-1, fsync=config.fsync)
        for voter_id in ids:
            if data_dir is None:
                memory_dir = Path(f"/memory/controller-{voter_id}/{METADATA_TOPIC}-0")
                plog: PartitionLog = MemoryLog(base, directory=memory_dir, clock=now_ms)
            else:
                folder = (data_dir if combined else data_dir / f"controller-{voter_id}") / f"{METADATA_TOPIC}-0"
                plog = PartitionLog.open(folder, base, clock=now_ms)
                state_dirs[voter_id] = folder
            voters[voter_id] = Voter(voter_id, plog)
        quorum = cls(
            raft=Raft(voters, leader_change_batch=lambda *a: b"", now_ms=now_ms),
            cluster=cluster, combined=combined, now_ms=now_ms, state_dirs=state_dirs,
            listener_protocols={
                listener.name: _PROTOCOL_IDS.get(listener.security_protocol, 0) for listener in config.listener_list
            },
        )
        quorum._raft.leader_change_batch = quorum._leader_change_batch
        quorum._raft.on_state = quorum._save_state
        for voter in voters.values():
            quorum._load_state(voter)
        quorum._first_start = all(v.end_offset == 0 for v in voters.values())
        return quorum

    @property
    def raft(self) -> Raft:
        """The voters, after the first election: it is held on first use, so that a broker
        that only answers ApiVersions never builds a record batch."""
        if not self._elected_once:
            self._elected_once = True
            self._raft.elect("startup")
        return self._raft

    def register_brokers(self) -> None:
        """Once the brokers listen: a new metadata log first records the topics the broker
        restored from cluster.json, then every broker registers."""
        if self._first_start and self.has_majority():
            self._first_start = False
            for topic in list(self.cluster.topics.values()):
                self.topic_created(topic)
        for node_id in self.cluster.node_ids:
            self.register_broker(node_id)

    # -- the interface R2 and the lead use -------------------------------------------------

    @property
    def voter_ids(self) -> list[int]:
        return self.raft.voter_ids

    @property
    def active_controller(self) -> int | None:
        leader = self.raft.leader
        return None if leader is None else leader.voter_id

    def has_majority(self) -> bool:
        """Whether a leader with a majority of voters live can commit now."""
        return self.raft.leader is not None and self.raft.has_majority()

    def stop_voter(self, voter_id: int, clean: bool = True) -> None:
        """Stop controller *voter_id* (KeyError for an id that is not a voter)."""
        self.raft.stop(voter_id, clean)
        self._wake()

    def start_voter(self, voter_id: int) -> None:
        """Start controller *voter_id* again: it catches up, or a leader is elected."""
        self.raft.start(voter_id)
        self._wake()

    def voter_alive(self, voter_id: int) -> bool:
        """Whether controller *voter_id* runs (KeyError for an id that is not a voter)."""
        return self.raft.voters[voter_id].alive

    def start_all(self) -> None:
        """Start every stopped voter (a test broker's reset)."""
        for voter_id in self.voter_ids:
            self.raft.start(voter_id)
        self._wake()

    def close(self) -> None:
        for voter in self._raft.voters.values():
            voter.log.close()

    # -- waiting (handlers) ----------------------------------------------------------------

    async def wait_for_majority(self, timeout_s: float) -> bool:
        """Wait up to *timeout_s* for a leader with a majority (at once if there is one);
        return whether there is one. Kafka's broker forwards a metadata request to the
        active controller and answers REQUEST_TIMED_OUT when none answers in time."""
        with trio.move_on_after(max(timeout_s, 0)):
            while not self.has_majority():
                if self._elected is None:
                    self._elected = trio.Event()
                await self._elected.wait()
        return self.has_majority()

    def _wake(self) -> None:
        if self.has_majority() and self._elected is not None:
            self._elected.set()
            self._elected = None

    # -- committing records ----------------------------------------------------------------

    def commit(self, values: list[Any]) -> bool:
        """Append *values* (metadata records) as one batch and commit it; False, appending
        nothing, when there is no leader with a majority."""
        leader = self.raft.leader
        if leader is None:
            return False
        batch = r.build_metadata_batch(values, leader_epoch=leader.epoch, timestamp=self.now_ms())
        try:
            base, last = self.raft.append(batch)
        except NoMajority:
            return False
        self._observe(last + 1)
        log.debug(
            "committed %s at offsets %d-%d (epoch %d)",
            ", ".join(type(v).__name__ for v in values), base, last, leader.epoch,
        )
        return True

    def sink(self, name: str, fields: dict[str, Any]) -> bool:
        """`ClusterState.metadata_sink`: commit one record given by type name and fields."""
        return self.commit([r.record(name, fields)])

    def require(self) -> None:
        """Raise `MetadataQuorumUnavailable` unless a change can be committed now."""
        if not self.has_majority():
            raise MetadataQuorumUnavailable(
                f"No controller quorum: {len(self.raft.live())} of {len(self.raft.voters)} "
                f"controllers live, a majority is {self.raft.majority}"
            )

    def _committed(self, values: list[Any], what: str) -> None:
        """Commit records of a change `require` allowed: with no await since, it cannot fail."""
        if not self.commit(values):
            raise MetadataQuorumUnavailable(f"{what}: the controller quorum was lost")

    # -- the records of each change (called by Broker after the change) -------------------

    def topic_created(self, topic: Topic) -> None:
        values: list[Any] = [r.TopicRecord(name=topic.name, topic_id=topic.topic_id)]
        values += [self._partition_record(topic, p) for p in topic.partitions]
        values += self._config_records(TOPIC_RESOURCE, topic.name, {}, topic.configs)
        self._committed(values, f"creating {topic.name}")

    def partitions_added(self, topic: Topic, new: Iterable[PartitionState]) -> None:
        self._committed([self._partition_record(topic, p) for p in new], f"adding partitions to {topic.name}")

    def topic_deleted(self, topic: Topic) -> None:
        self._committed([r.RemoveTopicRecord(topic_id=topic.topic_id)], f"deleting {topic.name}")

    def configs_set(self, resource_type: int, name: str, before: dict[str, str], after: dict[str, str]) -> None:
        values = self._config_records(resource_type, name, before, after)
        if values:
            self._committed(values, f"configs of {name}")

    def register_broker(self, node_id: int) -> None:
        """A broker (re)starting registers (fenced, with a new incarnation) and is unfenced:
        its broker epoch is the offset of its RegisterBrokerRecord. Not committed without a
        majority (Kafka's broker keeps retrying its registration)."""
        leader = self.raft.leader
        if leader is None:
            return
        epoch = leader.end_offset
        # Each listener's address (a broker whose nodes were set without listeners: the first one's).
        listeners = self.cluster.listener_nodes or {next(iter(self.listener_protocols), "PLAINTEXT"): self.cluster.nodes}
        endpoints = [
            r.BrokerEndpoint(name=name, host=node.host, port=node.port, security_protocol=self.listener_protocols.get(name, 0))
            for name, nodes in listeners.items()
            if (node := nodes.get(node_id)) is not None
        ]
        node = self.cluster.nodes.get(node_id)
        registration = r.RegisterBrokerRecord(
            broker_id=node_id, incarnation_id=uuid.uuid4(), broker_epoch=epoch, end_points=endpoints,
            rack=None if node is None else node.rack,
        )
        if self.commit([registration]) and self.commit([r.UnfenceBrokerRecord(id=node_id, epoch=epoch)]):
            self.broker_epochs[node_id] = epoch

    def fence_broker(self, node_id: int) -> bool:
        """A broker stopping is fenced (FenceBrokerRecord); False when not committed."""
        return self.commit([r.FenceBrokerRecord(id=node_id, epoch=self.broker_epochs.get(node_id, -1))])

    def _partition_record(self, topic: Topic, p: PartitionState) -> Any:
        return r.PartitionRecord(
            partition_id=p.partition_index, topic_id=topic.topic_id, replicas=list(p.replicas), isr=list(p.isr),
            removing_replicas=list(p.removing_replicas), adding_replicas=list(p.adding_replicas),
            leader=p.leader_id, leader_epoch=p.leader_epoch, partition_epoch=p.partition_epoch,
        )

    @staticmethod
    def _config_records(resource_type: int, name: str, before: dict[str, str], after: dict[str, str]) -> list[Any]:
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        removed = {k: None for k in before if k not in after}
        return [
            r.ConfigRecord(resource_type=resource_type, resource_name=name, name=k, value=v)
            for k, v in sorted({**changed, **removed}.items())
        ]

    # -- describing (DescribeQuorum, quorum describe) --------------------------------------

    def _observe(self, end_offset: int) -> None:
        # Brokers are observers that fetch the metadata log; in-process, live ones at once.
        if self.combined:
            return
        now = self.now_ms()
        for node_id in self.cluster.live_nodes:
            self._observers[node_id] = (end_offset, now)

    def describe(self) -> dict[str, Any] | None:
        """The leader's view: leader id, epoch, high watermark, and (id, end offset, last
        fetch ms, last caught-up ms) of each voter and observer; None without a leader."""
        leader = self.raft.leader
        if leader is None:
            return None
        now = self.now_ms()
        self._observe(leader.end_offset)
        voters = []
        for voter in sorted(self.raft.voters.values(), key=lambda v: v.voter_id):
            if voter is leader:
                voters.append((voter.voter_id, voter.end_offset, now, now))
            elif voter.alive:  # a live follower fetches continuously: caught up just now
                voters.append((voter.voter_id, voter.end_offset, now, now))
            else:
                voters.append((voter.voter_id, voter.end_offset, voter.last_fetch_ms, voter.last_caught_up_ms))
        observers = []
        for node_id, (end, fetched) in sorted(self._observers.items()):
            caught_up = fetched if end == leader.end_offset else -1
            observers.append((node_id, end, fetched, caught_up))
        return {
            "leader_id": leader.voter_id,
            "leader_epoch": leader.epoch,
            "high_watermark": self.raft.high_watermark,
            "voters": voters,
            "observers": observers,
        }

    # -- the vote state on disk ------------------------------------------------------------

    def _leader_change_batch(self, leader: int, voters: list[int], granting: list[int], epoch: int) -> bytes:
        return r.build_leader_change_batch(leader, voters, granting, leader_epoch=epoch, timestamp=self.now_ms())

    def _save_state(self, voter: Voter) -> None:
        folder = self._state_dirs.get(voter.voter_id)
        if folder is None:
            return
        state = {
            "clusterId": self.cluster.cluster_id,
            "leaderId": -1 if voter.leader_id is None else voter.leader_id,
            "leaderEpoch": voter.epoch,
            "votedId": -1 if voter.voted_for is None else voter.voted_for,
            "appliedOffset": 0,
            "currentVoters": [{"voterId": v} for v in self.voter_ids],
            "data_version": 0,
        }
        path = folder / _STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)

    def _load_state(self, voter: Voter) -> None:
        folder = self._state_dirs.get(voter.voter_id)
        path = None if folder is None else folder / _STATE_FILE
        if path is None or not path.exists():
            return
        try:
            state = json.loads(path.read_text())
            voter.epoch = max(int(state["leaderEpoch"]), voter.last_epoch)
            voted = int(state.get("votedId", -1))
            voter.voted_for = None if voted < 0 else voted
        except (ValueError, KeyError, TypeError) as exc:
            log.error("ignoring the unreadable %s: %s", path, exc)
        voter.state = VoterState.UNATTACHED
