"""``kafkalite groups``: list, describe and delete consumer groups, as kafka-consumer-groups.

    kafkalite groups list [--state]
    kafkalite groups describe billing             # offsets and lag per partition
    kafkalite groups describe billing --members   # who is in the group
    kafkalite groups describe billing --state     # coordinator, assignor, state
    kafkalite groups delete billing

``describe`` prints, for every partition the group has committed or been assigned, the
columns of kafka-consumer-groups: GROUP, TOPIC, PARTITION, CURRENT-OFFSET (the committed
offset), LOG-END-OFFSET (the partition's high watermark), LAG (their difference), and the
member that owns the partition (CONSUMER-ID, HOST, CLIENT-ID; ``-`` when none does).
Kafka's spelling works too: ``--list``, ``--describe --group G``, ``--delete --group G``.

Consumer groups of the KIP-848 protocol are described with ConsumerGroupDescribe: ``--members``
adds each member's EPOCH and its TARGET assignment (what the broker means it to have; it
differs from ASSIGNMENT while the member reconciles), ``--state`` the group's EPOCH and
assignor.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, KafkaError, ToolError, error_text

_KAFKA_ACTIONS = {"--list": "list", "--describe": "describe", "--delete": "delete"}


def build_parser() -> argparse.ArgumentParser:
    p = parser("groups", "List, describe and delete consumer groups.")
    add_connection_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("list", help="group ids, one per line")
    add_connection_options(a, subcommand=True)
    a.add_argument("--state", action="store_true", help="print each group's state too")
    a = sub.add_parser("describe", help="offsets and lag per partition (default), members or state")
    add_connection_options(a, subcommand=True)
    a.add_argument("groups", nargs="*", metavar="GROUP")
    a.add_argument("--group", action="append", default=[], help=argparse.SUPPRESS)
    a.add_argument("--all-groups", action="store_true", help="describe every group")
    mode = a.add_mutually_exclusive_group()
    mode.add_argument("--members", action="store_true", help="one line per member")
    mode.add_argument("--state", action="store_true", help="one line per group: coordinator, assignor, state")
    mode.add_argument("--offsets", action="store_true", help="one line per partition (the default)")
    a = sub.add_parser("delete", help="delete empty groups and their committed offsets")
    add_connection_options(a, subcommand=True)
    a.add_argument("groups", nargs="*", metavar="GROUP")
    a.add_argument("--group", action="append", default=[], help=argparse.SUPPRESS)
    return p


def _kafka_style(argv: list[str]) -> list[str]:
    actions = [a for a in argv if a in _KAFKA_ACTIONS]
    if len(actions) == 1 and not any(a in ("list", "describe", "delete") for a in argv):
        return [_KAFKA_ACTIONS[actions[0]], *(a for a in argv if a != actions[0])]
    return argv


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(_kafka_style(argv))
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        if args.action == "list":
            for group_id, state in sorted(list_groups(client)):
                print(f"{group_id:<40} {state}" if args.state else group_id)
            return 0
        groups = [*args.groups, *args.group]
        if args.action == "describe" and args.all_groups:
            groups = sorted(g for g, _state in list_groups(client))
        if not groups:
            raise ToolError(f"{args.action}: name at least one group")
        if args.action == "delete":
            return delete(client, groups)
        status = 0
        for i, group in enumerate(groups):
            if i:
                print()
            if args.members:
                status |= describe_members(client, group)
            elif args.state:
                status |= describe_state(client, group)
            else:
                status |= describe_offsets(client, group)
        return status


def list_groups(client: Client) -> list[tuple[str, str]]:
    """(group id, state) of every group of the cluster (ListGroups to every broker)."""
    from kafkalite.wire.messages.list_groups import ListGroupsRequest

    found = {}
    for connection in client.all_connections():
        response = connection.request(ListGroupsRequest())
        if response.error_code:
            raise KafkaError(response.error_code, f"ListGroups on {connection.address}")
        for g in response.groups:
            found[g.group_id] = g.group_state or "-"
    return list(found.items())


_GROUP_ID_NOT_FOUND = 69


def _describe(client: Client, group: str) -> tuple[Any, Any]:
    """The group as DescribeGroups shows it, or for a consumer group (KIP-848) as
    ConsumerGroupDescribe does (with ``group_epoch``; members with ``member_epoch``)."""
    from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest

    connection = client.coordinator(group)
    response = connection.request(DescribeGroupsRequest(groups=[group]))
    described = response.groups[0]
    if described.group_state == "Dead" and described.error_code in (0, _GROUP_ID_NOT_FOUND):
        modern = _describe_consumer_group(connection, group)
        if modern is not None:
            return connection, modern
    if described.error_code:
        raise KafkaError(described.error_code, f"group {group}", described.error_message)
    return connection, described


def _describe_consumer_group(connection: Any, group: str) -> Any | None:
    """ConsumerGroupDescribe of *group*, or None (no such consumer group, or not served)."""
    from kafkalite.wire.messages.consumer_group_describe import ConsumerGroupDescribeRequest

    if 69 not in connection.api_versions:
        return None
    described = connection.request(ConsumerGroupDescribeRequest(group_ids=[group])).groups[0]
    return None if described.error_code else described


def _partitions(assignment: Any) -> list[tuple[str, int]]:
    return sorted((tp.topic_name, p) for tp in assignment.topic_partitions for p in tp.partitions)


def _assignments(described: Any) -> dict[tuple[str, int], Any]:
    """(topic, partition) -> the member it is assigned to (consumer protocol groups)."""
    from kafkalite.groups.consumer_protocol import ConsumerProtocolError, assigned_partitions

    owners = {}
    if hasattr(described, "group_epoch"):  # a consumer group: assignments by the broker
        return {tp: m for m in described.members for tp in _partitions(m.assignment)}
    if described.protocol_type != "consumer":
        return owners
    for member in described.members:
        if not member.member_assignment:
            continue
        try:
            assignment = assigned_partitions(member.member_assignment)
        except ConsumerProtocolError:
            continue
        for topic, partitions in assignment.items():
            for p in partitions:
                owners[(topic, p)] = member
    return owners


def _committed(connection: Any, group: str) -> dict[tuple[str, int], int]:
    from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest

    response = connection.request(OffsetFetchRequest(group_id=group, topics=None))
    if response.error_code:
        raise KafkaError(response.error_code, f"OffsetFetch for group {group}")
    return {
        (t.name, p.partition_index): p.committed_offset
        for t in response.topics
        for p in t.partitions
        if p.error_code == 0 and p.committed_offset >= 0
    }


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(" ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def describe_offsets(client: Client, group: str) -> int:
    connection, described = _describe(client, group)
    if described.group_state == "Dead":
        print(f"Error: Consumer group '{group}' does not exist.", file=sys.stderr)
        return 1
    owners = _assignments(described)
    committed = _committed(connection, group)
    partitions = sorted(set(committed) | set(owners))
    by_topic: dict[str, list[int]] = {}
    for topic, p in partitions:
        by_topic.setdefault(topic, []).append(p)
    ends: dict[tuple[str, int], int] = {}
    for topic, indexes in by_topic.items():
        with contextlib.suppress(ToolError):  # a deleted topic has no log end offset: "-"
            ends.update(((topic, p), offset) for p, offset in client.list_offsets(topic, indexes, -1).items())
    if not described.members:
        print(f"\nConsumer group '{group}' has no active members.\n")
    elif described.group_state != "Stable":
        print(f"\nConsumer group '{group}' is rebalancing ({described.group_state}).\n")
    rows = [["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]]
    for tp in partitions:
        current = committed.get(tp)
        end = ends.get(tp)
        lag = end - current if current is not None and end is not None else None
        owner = owners.get(tp)
        rows.append([
            group,
            tp[0],
            str(tp[1]),
            "-" if current is None else str(current),
            "-" if end is None else str(end),
            "-" if lag is None else str(lag),
            owner.member_id if owner else "-",
            owner.client_host if owner else "-",
            owner.client_id if owner else "-",
        ])
    _table(rows)
    return 0


def describe_members(client: Client, group: str) -> int:
    _connection, described = _describe(client, group)
    if not described.members:
        print(f"\nConsumer group '{group}' has no active members.\n")
        return 0
    owners = _assignments(described)
    if hasattr(described, "group_epoch"):
        rows = [["GROUP", "CONSUMER-ID", "EPOCH", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT", "TARGET"]]
        for m in described.members:
            mine, target = _partitions(m.assignment), _partitions(m.target_assignment)
            rows.append([
                group, m.member_id, str(m.member_epoch), m.client_host, m.client_id, str(len(mine)),
                ",".join(f"{t}-{p}" for t, p in mine) or "-", ",".join(f"{t}-{p}" for t, p in target) or "-",
            ])
        _table(rows)
        return 0
    rows = [["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"]]
    for m in described.members:
        mine = sorted(tp for tp, owner in owners.items() if owner.member_id == m.member_id)
        assignment = ",".join(f"{t}-{p}" for t, p in mine) or "-"
        rows.append([group, m.member_id, m.client_host, m.client_id, str(len(mine)), assignment])
    _table(rows)
    return 0


def describe_state(client: Client, group: str) -> int:
    connection, described = _describe(client, group)
    node = next((n for n, address in client.nodes.items() if address == (connection.host, connection.port)), -1)
    if hasattr(described, "group_epoch"):
        _table([
            ["GROUP", "COORDINATOR (ID)", "ASSIGNOR", "STATE", "EPOCH", "ASSIGNMENT-EPOCH", "#MEMBERS"],
            [group, f"{connection.address} ({node})", described.assignor_name, described.group_state,
             str(described.group_epoch), str(described.assignment_epoch), str(len(described.members))],
        ])
        return 0
    rows = [
        ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"],
        [group, f"{connection.address} ({node})", described.protocol_data or "-", described.group_state,
         str(len(described.members))],
    ]
    _table(rows)
    return 0


def delete(client: Client, groups: list[str]) -> int:
    from kafkalite.wire.messages.delete_groups import DeleteGroupsRequest

    failed = 0
    for group in groups:
        response = client.coordinator(group).request(DeleteGroupsRequest(groups_names=[group]))
        for r in response.results:
            if r.error_code:
                print(f"Error: deletion of group '{r.group_id}' failed: {error_text(r.error_code)}", file=sys.stderr)
                failed += 1
            else:
                print(f"Deletion of group '{r.group_id}' was successful.")
    return 1 if failed else 0
