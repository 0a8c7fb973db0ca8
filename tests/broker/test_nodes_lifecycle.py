"""`Nodes` (kafkalite.broker.nodes) on the bookkeeping alone: the order of a stop and a start
(controlled shutdown first, the listeners, the live set, the data path's hooks), with fakes
for the listeners and the replica logs."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio

from kafkalite.broker.cluster import NO_LEADER, ClusterState, Topic
from kafkalite.broker.nodes import Nodes, UnknownNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.clock import BrokerClock


@attrs.define
class Replicas:
    calls: list[tuple[Any, ...]] = attrs.Factory(list)

    def node_stopped(self, node_id: int, *, clean: bool = True) -> None:
        self.calls.append(("stopped", node_id, clean))

    def node_started(self, node_id: int) -> None:
        self.calls.append(("started", node_id))


@attrs.define
class FakeBroker:
    cluster: ClusterState
    config: BrokerConfig = attrs.Factory(lambda: BrokerConfig(memory=True, brokers=3))
    clock: BrokerClock = attrs.Factory(BrokerClock)
    replicas: Replicas = attrs.Factory(Replicas)
    configs: dict[str, str] = attrs.Factory(dict)
    saved: int = 0

    def topic_configs(self, topic: Topic) -> dict[str, str]:
        return {**self.configs, **topic.configs}

    def save_metadata(self) -> None:
        self.saved += 1


@attrs.define
class Listeners:
    cluster: ClusterState
    calls: list[tuple[Any, ...]] = attrs.Factory(list)

    async def close(self, node_id: int, grace_s: float) -> None:
        p = self.cluster.partition("t", 0)
        self.calls.append(("close", node_id, grace_s, p.leader_id, list(p.isr), node_id in self.cluster.live_nodes))

    async def open(self, node_id: int) -> None:
        self.calls.append(("open", node_id, node_id in self.cluster.live_nodes))


def _nodes() -> tuple[Nodes, FakeBroker, Listeners]:
    cluster = ClusterState(cluster_id="c", node_ids=[0, 1, 2])
    cluster.create_topic("t", 1, 3, assignments={0: [0, 1, 2]})
    broker = FakeBroker(cluster)
    nodes = Nodes(broker)  # type: ignore[arg-type]
    nodes.listeners = listeners = Listeners(cluster)
    return nodes, broker, listeners


async def test_clean_stop_moves_leadership_before_closing_the_listeners_then_tells_the_data_path():
    nodes, broker, listeners = _nodes()
    assert await nodes.stop(0)
    # When the listeners closed, broker 0 led nothing and was out of the ISR, but still live.
    assert listeners.calls == [("close", 0, 0.6, 1, [1, 2], True)]
    assert 0 not in broker.cluster.live_nodes
    assert broker.replicas.calls == [("stopped", 0, True)]
    assert broker.saved == 1
    assert nodes.last_change[("t", 0)] == "controlled shutdown of broker 0"


async def test_hard_stop_closes_at_once_and_elects_after():
    nodes, broker, listeners = _nodes()
    assert await nodes.stop(0, clean=False)
    assert listeners.calls == [("close", 0, 0.0, 0, [0, 1, 2], True)]  # nothing moved before
    p = broker.cluster.partition("t", 0)
    assert (p.leader_id, p.isr, p.leader_epoch) == (1, [1, 2], 1)
    assert broker.replicas.calls == [("stopped", 0, False)]
    assert nodes.last_change[("t", 0)] == "broker 0 stopped (hard)"


async def test_start_opens_the_listeners_then_rejoins_and_reopens_the_replicas():
    nodes, broker, listeners = _nodes()
    for node in (0, 1, 2):
        await nodes.stop(node, clean=False)
    p = broker.cluster.partition("t", 0)
    assert (p.leader_id, p.isr) == (NO_LEADER, [2])
    assert not await nodes.stop(2)  # stopped already
    assert await nodes.start(2)
    assert broker.replicas.calls[-1] == ("started", 2)
    assert listeners.calls[-1] == ("open", 2, False)  # listening before it counts as live, and
    # its replicas are reopened once it is (its fetchers copy only for a live node)
    assert (p.leader_id, 2 in broker.cluster.live_nodes) == (2, True)
    assert not await nodes.start(2)


async def test_unknown_ids_are_refused():
    nodes, _, _ = _nodes()
    with pytest.raises(UnknownNode):
        await nodes.stop(3)
    with pytest.raises(UnknownNode):
        await nodes.start(-1)


async def test_a_stopping_node_may_not_rejoin_an_isr():
    nodes, broker, _ = _nodes()
    seen = []

    class Watching(Listeners):
        async def close(self, node_id: int, grace_s: float) -> None:
            seen.append((nodes.may_join_isr(node_id), nodes.may_join_isr(1)))

    nodes.listeners = Watching(broker.cluster)
    await nodes.stop(0)
    assert seen == [(False, True)]
    assert not nodes.may_join_isr(0)


async def test_unclean_election_follows_the_topic_config_and_broker_default():
    nodes, broker, _ = _nodes()
    broker.configs["unclean.leader.election.enable"] = "true"
    broker.cluster.create_topic("u", 1, 2, assignments={0: [0, 1]})
    await nodes.stop(1, clean=False)  # u-0: ISR [0]
    await nodes.stop(0, clean=False)  # u-0: offline, ISR [0]
    u = broker.cluster.partition("u", 0)
    assert u.leader_id == NO_LEADER
    await nodes.start(1)  # not in the ISR, but unclean election is on
    assert (u.leader_id, u.isr) == (1, [1])


async def test_the_balancer_runs_on_the_broker_clock(autojump_clock: trio.abc.Clock):
    nodes, broker, _ = _nodes()
    await nodes.stop(0, clean=False)
    await nodes.start(0)
    topic = broker.cluster.topics["t"]
    p = topic.partitions[0]
    broker.cluster.change_partition(topic, p, isr=[1, 2, 0], reason="replica 0 caught up")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(nodes.run_balancer)
        await trio.sleep(299)
        assert p.leader_id == 1
        await trio.sleep(2)
        assert p.leader_id == 0
        assert nodes.last_change[("t", 0)] == "preferred leader election"
        nursery.cancel_scope.cancel()


@attrs.define
class Quorum:
    voter_ids: list[int]
    calls: list[tuple[Any, ...]] = attrs.Factory(list)
    stopped: set[int] = attrs.Factory(set)

    def stop_voter(self, voter_id: int, clean: bool = True) -> None:
        self.calls.append(("stop", voter_id, clean))
        self.stopped.add(voter_id)

    def start_voter(self, voter_id: int) -> None:
        self.calls.append(("start", voter_id))
        self.stopped.discard(voter_id)

    def voter_alive(self, voter_id: int) -> bool:
        return voter_id not in self.stopped

    def fence_broker(self, node_id: int) -> bool:
        self.calls.append(("fence", node_id))
        return True

    def register_broker(self, node_id: int) -> None:
        self.calls.append(("register", node_id))


async def test_dedicated_controllers_stop_and_start_through_the_same_calls():
    nodes, broker, listeners = _nodes()
    nodes.controllers = quorum = Quorum([3000, 3001, 3002])
    assert await nodes.stop(3001, clean=False)
    assert not await nodes.stop(3001)
    assert quorum.calls == [("stop", 3001, False)] and listeners.calls == []
    assert broker.cluster.live_nodes == {0, 1, 2}  # no broker moved
    rows = {row["id"]: row for row in nodes.describe()}
    assert (rows[3001]["role"], rows[3001]["live"], rows[3000]["live"]) == ("controller", False, True)
    assert await nodes.start(3001)
    assert quorum.calls[-1] == ("start", 3001)
    with pytest.raises(UnknownNode):
        await nodes.stop(3003)


async def test_a_combined_broker_and_controller_stops_and_starts_as_one_process():
    nodes, broker, listeners = _nodes()
    nodes.controllers = quorum = Quorum([0])
    assert await nodes.stop(0, clean=False)
    assert quorum.calls == [("fence", 0), ("stop", 0, False)] and 0 not in broker.cluster.live_nodes
    assert [row["role"] for row in nodes.describe()] == ["broker,controller", "broker", "broker"]
    assert await nodes.start(0)
    assert quorum.calls[-2:] == [("start", 0), ("register", 0)] and 0 in broker.cluster.live_nodes


async def test_a_stopping_broker_is_fenced_and_a_starting_one_registers_with_the_controllers():
    nodes, broker, _ = _nodes()
    nodes.controllers = quorum = Quorum([3000])
    await nodes.stop(1, clean=False)
    await nodes.start(1)
    assert quorum.calls == [("fence", 1), ("register", 1)]
