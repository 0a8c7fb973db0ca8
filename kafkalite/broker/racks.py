"""Rack-aware replica placement: each partition's replicas spread over as many racks as it can.

A simplified form of Kafka's StripedReplicaPlacer: the nodes are ordered alternating racks
(first node of each rack in rack order, then the second of each, ...), leaders go round that
list, and each partition's followers are the next nodes along it whose rack the partition
does not use yet; once every rack holds a replica, the next unused nodes. Without racks the
list is the node ids and every follower the next node: Kafka's round-robin.
"""

from __future__ import annotations


def rack_alternated(node_ids: list[int], racks: dict[int, str]) -> list[int]:
    """*node_ids* reordered to alternate racks (nodes without a rack form one rack of their own)."""
    by_rack: dict[str, list[int]] = {}
    for node_id in sorted(node_ids):
        by_rack.setdefault(racks.get(node_id, ""), []).append(node_id)
    columns = [by_rack[rack] for rack in sorted(by_rack)]
    return [column[i] for i in range(max(map(len, columns), default=0)) for column in columns if i < len(column)]


def place_replicas(nodes: list[int], racks: dict[int, str], first: int, replication_factor: int) -> list[int]:
    """The replicas of one partition whose leader is ``nodes[first]``: followers from the
    following nodes, new racks first. *nodes* is the placement order (`rack_alternated`)."""
    order = [nodes[(first + k) % len(nodes)] for k in range(len(nodes))]
    if not racks:
        return order[:replication_factor]
    chosen = [order[0]]
    used = {racks.get(order[0], "")}
    for node_id in order[1:]:
        if len(chosen) == replication_factor:
            break
        rack = racks.get(node_id, "")
        if rack not in used:
            chosen.append(node_id)
            used.add(rack)
    for node_id in order[1:]:
        if len(chosen) == replication_factor:
            break
        if node_id not in chosen:
            chosen.append(node_id)
    return chosen
