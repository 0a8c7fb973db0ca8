"""Server-side assignors of the consumer group protocol (KIP-848): ``uniform`` and ``range``.

An assignor maps the group's members to partitions, given what each member subscribes to
and the partition count of each subscribed topic. It is pure: the coordinator calls it
whenever the group epoch moves past the assignment epoch and keeps the result as the
group's target assignment (members then reconcile towards it, see
`kafkalite.groups.reconcile`).

* ``uniform`` (Kafka's default): every partition of a subscribed topic goes to one of its
  subscribers, the members' partition counts differ by at most one wherever subscriptions
  allow it, and a member keeps what it already has wherever balance allows it (sticky), so a
  rebalance moves as few partitions as possible.
* ``range``: topic by topic, the topic's subscribers take contiguous ranges of partitions,
  the first ``partitions % members`` one more, in Kafka's member order: static members first,
  by instance id, then the others by member id (so a static member that rejoins under a new
  member id gets its old ranges back). Members subscribed to the same topics with the same
  partition counts get the same partition numbers of each topic (co-partitioning, for joins).

Assignments are ``{topic_id: frozenset(partitions)}`` per member; topics are given by id.

Neither uses racks: Kafka 4.4's ``uniform`` and ``range`` are rack-unaware (members' rack ids
and the partitions' replica racks are not inputs to them), and so are these. Kafka 4.4 serves
no other assignor to consumer groups (its ``simple`` assignor is for share groups only).
"""

from __future__ import annotations

import uuid
from typing import Mapping, Protocol

#: {topic_id: set of partitions}
Assignment = dict[uuid.UUID, frozenset[int]]


class Assignor(Protocol):
    """(members' subscribed topic ids, partition count per topic id, current target, the
    static members' instance ids) -> target"""

    def __call__(
        self,
        subscriptions: Mapping[str, frozenset[uuid.UUID]],
        partition_counts: Mapping[uuid.UUID, int],
        current: Mapping[str, Assignment],
        instance_ids: Mapping[str, str] | None = None,
    ) -> dict[str, Assignment]: ...


DEFAULT_ASSIGNOR = "uniform"


def _to_assignment(partitions: set[tuple[uuid.UUID, int]]) -> Assignment:
    result: dict[uuid.UUID, set[int]] = {}
    for topic_id, partition in partitions:
        result.setdefault(topic_id, set()).add(partition)
    return {topic_id: frozenset(ps) for topic_id, ps in result.items()}


def uniform(
    subscriptions: Mapping[str, frozenset[uuid.UUID]],
    partition_counts: Mapping[uuid.UUID, int],
    current: Mapping[str, Assignment],
    instance_ids: Mapping[str, str] | None = None,
) -> dict[str, Assignment]:
    """Balanced and sticky: see the module docstring. Instance ids play no part (as in Kafka:
    a static member's stickiness comes from the current target it takes over).

    Strategy: keep each member's current partitions that it still subscribes to (each
    partition once, up to a fair share); hand out the rest, one at a time, to the least loaded subscriber; then
    move partitions from the most to the least loaded eligible member while that narrows
    the gap by more than one. Ties break on member id, so the result is deterministic.
    """
    members = sorted(subscriptions)
    owned: dict[str, set[tuple[uuid.UUID, int]]] = {m: set() for m in members}
    taken: set[tuple[uuid.UUID, int]] = set()
    all_partitions = sorted(
        ((topic_id, p) for topic_id, count in partition_counts.items() for p in range(count)),
        key=lambda tp: (str(tp[0]), tp[1]),
    )
    valid = set(all_partitions)
    for member in members:
        # Keep at most a fair share: what the member's topics hold, over the members that
        # compete for them (exact when all subscribe alike; the evening out below does the rest).
        mine = subscriptions[member]
        competitors = sum(1 for m in members if subscriptions[m] & mine)
        share = -(-sum(partition_counts.get(t, 0) for t in mine) // max(competitors, 1))
        kept = sorted(
            (tp for topic_id, partitions in current.get(member, {}).items() if topic_id in mine
             for tp in ((topic_id, p) for p in partitions) if tp in valid and tp not in taken),
            key=lambda tp: (str(tp[0]), tp[1]),
        )[:share]
        owned[member].update(kept)
        taken.update(kept)
    subscribers = {tp: [m for m in members if tp[0] in subscriptions[m]] for tp in all_partitions}
    for tp in all_partitions:
        if tp in taken or not subscribers[tp]:
            continue
        target = min(subscribers[tp], key=lambda m: (len(owned[m]), m))
        owned[target].add(tp)
        taken.add(tp)
    # Even out: a partition moves from a member to a less loaded subscriber of its topic
    # only when the two counts differ by two or more.
    moved = True
    while moved:
        moved = False
        for giver in sorted(members, key=lambda m: (-len(owned[m]), m)):
            for tp in sorted(owned[giver], key=lambda tp: (str(tp[0]), tp[1]), reverse=True):
                receivers = [m for m in subscribers[tp] if len(owned[m]) + 1 < len(owned[giver])]
                if receivers:
                    receiver = min(receivers, key=lambda m: (len(owned[m]), m))
                    owned[giver].remove(tp)
                    owned[receiver].add(tp)
                    moved = True
                    break
            if moved:
                break
    return {m: _to_assignment(owned[m]) for m in members}


def range_(
    subscriptions: Mapping[str, frozenset[uuid.UUID]],
    partition_counts: Mapping[uuid.UUID, int],
    current: Mapping[str, Assignment],
    instance_ids: Mapping[str, str] | None = None,
) -> dict[str, Assignment]:
    """Contiguous ranges per topic in Kafka's member order: see the module docstring."""
    static = instance_ids or {}

    def order(member: str) -> tuple[int, str]:
        # Static members first, by instance id; then the others, by member id.
        return (0, static[member]) if member in static else (1, member)

    result: dict[str, dict[uuid.UUID, frozenset[int]]] = {m: {} for m in subscriptions}
    for topic_id, count in partition_counts.items():
        subscribers = sorted((m for m, topics in subscriptions.items() if topic_id in topics), key=order)
        if not subscribers:
            continue
        quota, extra = divmod(count, len(subscribers))
        start = 0
        for i, member in enumerate(subscribers):
            size = quota + (1 if i < extra else 0)
            if size:
                result[member][topic_id] = frozenset(range(start, start + size))
            start += size
    return result


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform, "range": range_}
