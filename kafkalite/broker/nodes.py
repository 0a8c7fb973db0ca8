"""Broker nodes that stop and start while the others run, and the elections that follow.

kafkalite runs every broker node of the emulated cluster in one process; `Nodes` makes each
of them stop and start on its own, as a Kafka broker process does:

* Clean stop (Kafka's controlled shutdown, SIGTERM): the controller first moves every
  leadership the node holds to another live ISR member and takes it out of every ISR,
  while the node still serves; then its listeners close (new connections refused) and its
  connections end once their request in flight is answered.
* Hard stop (kill -9): its listeners close and its connections drop at once; the controller
  sees it gone at once (Kafka notices when broker.session.timeout.ms, 9 s by default, passes
  without a heartbeat: in one process the stop is known) and fences it: new leaders from the
  ISR, the node out of every ISR, offline partitions where it was the last one.
* Start: its listeners open on the ports they had, its replica logs are opened again
  (recovery, then truncation and catch-up by the data path), it rejoins the live nodes and
  leads the offline partitions it was the last in-sync replica of.

Metadata, DescribeCluster and FindCoordinator list live nodes only (Kafka's fenced brokers
are absent). Automatic preferred leader election (auto.leader.rebalance.enable) runs every
leader.imbalance.check.interval.seconds of the broker clock.

The listeners belong to the server layer: it hands a `NodeListeners` in through
``Nodes.listeners`` when it starts. The replica logs belong to the data path
(``broker.replicas``: ``node_stopped(node_id, clean)``, ``node_started(node_id)``). The
controller quorum, once there is one, is ``Nodes.controllers`` (its ``voter_ids``,
``stop_voter``, ``start_voter``): a dedicated controller's id stops and starts its voter
through the same `Nodes.stop` / `Nodes.start`, and a combined broker and controller stops
and starts both, as one process.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import attrs
import trio

from kafkalite.broker.cluster import ClusterState, PartitionState, Topic
from kafkalite.broker.elections import Elections
from kafkalite.broker.settings import BrokerConfig
from kafkalite.clock import BrokerClock

log = logging.getLogger("kafkalite.cluster")

#: How long a clean stop lets requests in flight on the node finish (real time).
CLEAN_STOP_GRACE_S = 0.6


class UnknownNode(LookupError):
    """No broker node of that id."""


class NodeListeners(Protocol):
    """The server side of one node's listeners (kafkalite.server.serve)."""

    async def close(self, node_id: int, grace_s: float) -> None: ...

    async def open(self, node_id: int) -> None: ...


class Controllers(Protocol):
    """The controller quorum's voters (kafkalite.broker.quorum), when it has a port here:
    dedicated controllers stop and start through the same `Nodes.stop` / `Nodes.start`."""

    @property
    def voter_ids(self) -> list[int]: ...

    def stop_voter(self, voter_id: int, clean: bool = True) -> None: ...

    def start_voter(self, voter_id: int) -> None: ...

    def voter_alive(self, voter_id: int) -> bool: ...

    def fence_broker(self, node_id: int) -> bool: ...

    def register_broker(self, node_id: int) -> None: ...


class ReplicaHooks(Protocol):
    """The data path's side of a node's stop and start (``broker.replicas``)."""

    def node_stopped(self, node_id: int, *, clean: bool = True) -> None: ...

    def node_started(self, node_id: int) -> None: ...


class Broker(Protocol):
    """What `Nodes` uses of `kafkalite.broker.state.Broker`."""

    config: BrokerConfig
    cluster: ClusterState
    clock: BrokerClock
    replicas: ReplicaHooks

    def topic_configs(self, topic: Topic) -> dict[str, str]: ...

    def save_metadata(self) -> None: ...


def _unclean_allowed(broker: Broker) -> Any:
    def allowed(topic: Topic) -> bool:
        return broker.topic_configs(topic).get("unclean.leader.election.enable", "false").lower() == "true"

    return allowed


@attrs.define(eq=False)
class Nodes:
    """The broker nodes' lifecycle. Use from the broker's trio thread."""

    broker: Broker
    #: Set by the server once its listeners run; None in tests without sockets.
    listeners: NodeListeners | None = None
    #: The controller quorum's voters, once the broker has one (None: brokers only).
    controllers: Controllers | None = None
    elections: Elections = attrs.field(init=False)
    #: (topic, partition) -> why its leader, ISR or replicas last changed (for the trace)
    last_change: dict[tuple[str, int], str] = attrs.field(init=False, factory=dict)
    _busy: set[int] = attrs.field(init=False, factory=set)

    def __attrs_post_init__(self) -> None:
        self.elections = Elections(self.broker.cluster, _unclean_allowed(self.broker))
        self.broker.cluster.partition_listeners.append(self._changed)

    def _changed(self, topic: Topic, partition: PartitionState, reason: str) -> None:
        self.last_change[(topic.name, partition.partition_index)] = reason

    @property
    def cluster(self) -> ClusterState:
        return self.broker.cluster

    def _voter_ids(self) -> list[int]:
        return list(self.controllers.voter_ids) if self.controllers is not None else []

    def _dedicated_controller(self, node_id: int) -> bool:
        return node_id in self._voter_ids() and node_id not in self.cluster.node_ids

    def check(self, node_id: int) -> None:
        """Raise `UnknownNode` unless *node_id* is a broker's or a controller's id."""
        if node_id not in self.cluster.node_ids and node_id not in self._voter_ids():
            raise UnknownNode(
                f"no node {node_id} (brokers: {self.cluster.node_ids}, controllers: {self._voter_ids()})"
            )

    def is_live(self, node_id: int) -> bool:
        return node_id in self.cluster.live_nodes

    def may_join_isr(self, node_id: int) -> bool:
        """Whether *node_id* may (re)join an ISR: live, and not stopping (Kafka answers
        INELIGIBLE_REPLICA to an ISR expansion with a fenced or shutting-down broker)."""
        return self.is_live(node_id) and node_id not in self._busy

    async def stop(self, node_id: int, clean: bool = True) -> bool:
        """Stop broker node *node_id* (see the module docstring); False if it was stopped.

        Raises:
            UnknownNode: not a broker id.
        """
        self.check(node_id)
        if self._dedicated_controller(node_id):
            return self._stop_controller(node_id, clean)
        if not self.is_live(node_id) or node_id in self._busy:
            return False
        self._busy.add(node_id)
        try:
            how = "clean" if clean else "hard"
            log.info("broker %d stopping (%s)", node_id, how)
            if clean:
                self.elections.controlled_shutdown(node_id)
            if self.listeners is not None:
                await self.listeners.close(node_id, CLEAN_STOP_GRACE_S if clean else 0.0)
            self.cluster.live_nodes.discard(node_id)
            if self.controllers is not None:
                # The controller fences it (a FenceBrokerRecord; not committed without a quorum,
                # as Kafka's controller cannot either).
                self.controllers.fence_broker(node_id)
            if not clean:
                self.elections.broker_fenced(node_id, f"broker {node_id} stopped (hard)")
            else:
                # Whatever came back meanwhile (Kafka refuses a broker in controlled shutdown
                # into the ISR: `may_join_isr`) goes now.
                self.elections.broker_fenced(node_id, f"broker {node_id} stopped (clean)")
            self.broker.replicas.node_stopped(node_id, clean=clean)
            if node_id in self._voter_ids():  # a combined broker and controller: both stop
                self._stop_controller(node_id, clean)
            self.broker.save_metadata()
            log.info("broker %d stopped (%s)", node_id, how)
            return True
        finally:
            self._busy.discard(node_id)

    async def start(self, node_id: int) -> bool:
        """Start broker node *node_id* again; False if it runs.

        Raises:
            UnknownNode: not a broker id.
            OSError: one of its ports is taken by now.
        """
        self.check(node_id)
        if self._dedicated_controller(node_id):
            return self._start_controller(node_id)
        if self.is_live(node_id) or node_id in self._busy:
            return False
        self._busy.add(node_id)
        try:
            log.info("broker %d starting", node_id)
            if node_id in self._voter_ids():  # combined: its controller first, as the process
                self._start_controller(node_id)
            if self.listeners is not None:
                await self.listeners.open(node_id)
            # No await from here on: its first request finds its logs open and it live.
            self.cluster.live_nodes.add(node_id)
            if self.controllers is not None:
                self.controllers.register_broker(node_id)  # registered again, then unfenced
            self.broker.replicas.node_started(node_id)  # recovery; its fetchers catch up
            self.elections.broker_unfenced(node_id)
            self.broker.save_metadata()
            log.info("broker %d started", node_id)
            return True
        finally:
            self._busy.discard(node_id)

    def _stop_controller(self, node_id: int, clean: bool) -> bool:
        if self.controllers is None or not self.controllers.voter_alive(node_id):
            return False
        self.controllers.stop_voter(node_id, clean)
        return True

    def _start_controller(self, node_id: int) -> bool:
        if self.controllers is None or self.controllers.voter_alive(node_id):
            return False
        self.controllers.start_voter(node_id)
        return True

    def restored(self) -> None:
        """After a whole-process restart every node is live again: partitions left without a
        leader get their last in-sync replica back (Kafka's brokers unfencing)."""
        for node_id in self.cluster.node_ids:
            self.elections.broker_unfenced(node_id)

    def describe(self) -> list[dict[str, Any]]:
        """Every node: id, host, port, rack, live, leader count, role ("broker", "controller",
        or "broker,controller" combined); brokers first."""
        leaders: dict[int, int] = {}
        for topic in self.cluster.topics.values():
            for partition in topic.partitions:
                leaders[partition.leader_id] = leaders.get(partition.leader_id, 0) + 1
        rows = []
        for node_id in self.cluster.node_ids:
            node = self.cluster.nodes.get(node_id)
            rows.append({
                "id": node_id,
                "host": node.host if node else None,
                "port": node.port if node else None,
                "rack": node.rack if node else None,
                "live": self.is_live(node_id),
                "leaders": leaders.get(node_id, 0),
                "role": "broker,controller" if node_id in self._voter_ids() else "broker",
            })
        for node_id in self._voter_ids():
            if node_id not in self.cluster.node_ids:
                rows.append({
                    "id": node_id, "host": None, "port": None, "rack": None,
                    "live": self.controllers is not None and self.controllers.voter_alive(node_id),
                    "leaders": 0, "role": "controller",
                })
        return rows

    async def run_balancer(self) -> None:
        """Automatic preferred leader election, every leader.imbalance.check.interval.seconds
        of the broker clock while auto.leader.rebalance.enable is on (Kafka's defaults: on,
        300 s)."""
        clock = self.broker.clock
        while True:
            with clock.move_on_after(self.broker.config.leader_imbalance_check_interval_seconds):
                await trio.sleep_forever()
            if not self.broker.config.auto_leader_rebalance_enable:
                continue
            if self.elections.balance():
                self.broker.save_metadata()
