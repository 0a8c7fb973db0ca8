"""``kafkalite topics``: list, describe, create and delete topics, as kafka-topics does.

    kafkalite topics list
    kafkalite topics describe orders
    kafkalite topics describe --under-replicated-partitions
    kafkalite topics create orders --partitions 3 --config retention.ms=60000
    kafkalite topics delete orders

Kafka's own spelling works too: ``kafkalite topics --bootstrap-server HOST:PORT --create
--topic orders --partitions 3`` (``--list``, ``--describe``, ``--create``, ``--delete``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, ToolError, check_topic, error_text, uuid_text

_KAFKA_ACTIONS = {"--list": "list", "--describe": "describe", "--create": "create", "--delete": "delete"}
_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs config_source of a topic's own override
_TOPIC_RESOURCE = 2


def _kafka_style(argv: list[str]) -> list[str]:
    """Turn ``--create --topic x`` into ``create --topic x``."""
    actions = [a for a in argv if a in _KAFKA_ACTIONS]
    if len(actions) == 1 and not any(a in ("list", "describe", "create", "delete") for a in argv):
        argv = [a for a in argv if a != actions[0]]
        return [_KAFKA_ACTIONS[actions[0]], *argv]
    return argv


def build_parser() -> argparse.ArgumentParser:
    p = parser("topics", "List, describe, create and delete topics.")
    add_connection_options(p)
    sub = p.add_subparsers(dest="action", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        a = sub.add_parser(name, help=help_text)
        add_connection_options(a, subcommand=True)
        return a

    a = action("list", "topic names, one per line")
    a.add_argument("--exclude-internal", action="store_true", help="leave out __consumer_offsets")
    a = action("describe", "partitions, leaders, replicas and configs")
    a.add_argument("topics", nargs="*", metavar="TOPIC", help="topics to describe (default: all)")
    a.add_argument("--topic", action="append", default=[], help=argparse.SUPPRESS)
    a.add_argument("--exclude-internal", action="store_true")
    a.add_argument("--under-replicated-partitions", action="store_true",
                   help="only partitions with fewer in-sync replicas than replicas")
    a.add_argument("--unavailable-partitions", action="store_true",
                   help="only partitions whose leader is none or a broker that does not run")
    a = action("create", "create topics")
    a.add_argument("topics", nargs="*", metavar="TOPIC")
    a.add_argument("--topic", action="append", default=[], help=argparse.SUPPRESS)
    a.add_argument("--partitions", type=int, default=-1, help="partitions (default: the broker's num.partitions)")
    a.add_argument("--replication-factor", type=int, default=-1)
    a.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="a topic config (repeatable)")
    a.add_argument("--if-not-exists", action="store_true", help="succeed if the topic exists")
    a = action("delete", "delete topics")
    a.add_argument("topics", nargs="*", metavar="TOPIC")
    a.add_argument("--topic", action="append", default=[], help=argparse.SUPPRESS)
    a.add_argument("--if-exists", action="store_true", help="succeed if the topic does not exist")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(_kafka_style(argv))
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        if args.action == "list":
            return list_topics(client, args)
        topics = [*args.topics, *args.topic]
        if args.action == "describe":
            return describe(
                client, topics, args.exclude_internal,
                under_replicated=args.under_replicated_partitions, unavailable=args.unavailable_partitions,
            )
        if not topics:
            raise ToolError(f"{args.action}: name at least one topic")
        if args.action == "create":
            return create(client, topics, args)
        return delete(client, topics, args.if_exists)


def list_topics(client: Client, args: argparse.Namespace) -> int:
    response = client.metadata(None)
    for t in sorted(response.topics, key=lambda t: t.name or ""):
        if args.exclude_internal and t.is_internal:
            continue
        print(t.name)
    return 0


def describe(
    client: Client, topics: list[str], exclude_internal: bool, *, under_replicated: bool = False, unavailable: bool = False
) -> int:
    """Print topics and partitions as kafka-topics --describe does. With
    *under_replicated* / *unavailable* only the partitions that are so are printed, without
    the topic lines (Kafka's rule: a replica report is not a config report)."""
    response = client.metadata(topics or None)
    live = {b.node_id for b in response.brokers}
    report = under_replicated or unavailable
    found = []
    for name in topics:
        found.append(check_topic(response, name))
    if not topics:
        found = sorted(
            (t for t in response.topics if not (exclude_internal and t.is_internal)), key=lambda t: t.name or ""
        )
    configs = {} if report else _topic_configs(client, [t.name for t in found])
    moving = _reassignments(client, [t.name for t in found])
    for t in found:
        partitions = sorted(t.partitions, key=lambda p: p.partition_index)
        if not report:
            replication = _replication_factor(partitions[0], moving.get((t.name, 0))) if partitions else 0
            config_text = ",".join(f"{k}={v}" for k, v in configs.get(t.name, []))
            topic_id = uuid_text(t.topic_id) if getattr(t, "topic_id", None) is not None else "-"
            print(
                f"Topic: {t.name}\tTopicId: {topic_id}\tPartitionCount: {len(partitions)}\t"
                f"ReplicationFactor: {replication}\tConfigs: {config_text}"
            )
        for p in partitions:
            reassignment = moving.get((t.name, p.partition_index))
            shown = not report or (
                under_replicated and _replication_factor(p, reassignment) > len(p.isr_nodes)
            ) or (unavailable and (p.leader_id < 0 or p.leader_id not in live))
            if not shown:
                continue
            moves = "" if reassignment is None else (
                f"\tAdding Replicas: {_ids(reassignment.adding_replicas)}"
                f"\tRemoving Replicas: {_ids(reassignment.removing_replicas)}"
            )
            print(
                f"\tTopic: {t.name}\tPartition: {p.partition_index}\tLeader: "
                f"{p.leader_id if p.leader_id >= 0 else 'none'}\t"
                f"Replicas: {_ids(p.replica_nodes)}\tIsr: {_ids(p.isr_nodes)}{moves}"
            )
    return 0


def _ids(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def _replication_factor(partition: Any, reassignment: Any | None) -> int:
    """As kafka-topics: during a reassignment, the replicas not being added."""
    if reassignment is None:
        return len(partition.replica_nodes)
    return len(reassignment.replicas) - len(reassignment.adding_replicas)


def _reassignments(client: Client, topics: list[str]) -> dict[tuple[str, int], Any]:
    """The reassignments in progress among *topics*, by (topic, partition); none when the
    broker does not serve ListPartitionReassignments (kafka-topics carries on the same way)."""
    if not topics:
        return {}
    from kafkalite.wire.messages.list_partition_reassignments import (
        ListPartitionReassignmentsRequest,
        ListPartitionReassignmentsTopics,
    )

    try:
        response = client.bootstrap_connection.request(ListPartitionReassignmentsRequest(topics=None))
    except ToolError:
        return {}
    wanted = set(topics)
    return {
        (t.name, p.partition_index): p
        for t in response.topics if t.name in wanted
        for p in t.partitions
    }


def _topic_configs(client: Client, topics: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The configs set on each topic itself (not defaults), as kafka-topics shows them."""
    if not topics:
        return {}
    from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource

    request = DescribeConfigsRequest(
        resources=[
            DescribeConfigsResource(resource_type=_TOPIC_RESOURCE, resource_name=name, configuration_keys=None)
            for name in topics
        ]
    )
    try:
        response = client.bootstrap_connection.request(request)
    except ToolError:
        return {}  # a broker without DescribeConfigs: describe without configs
    result: dict[str, list[tuple[str, str]]] = {}
    for r in response.results:
        if r.error_code:
            continue
        result[r.resource_name] = sorted(
            (c.name, c.value or "")
            for c in r.configs
            if c.config_source == _DYNAMIC_TOPIC_CONFIG or (c.config_source == -1 and not c.is_default)
        )
    return result


def create(client: Client, topics: list[str], args: argparse.Namespace) -> int:
    from kafkalite.wire.messages.create_topics import CreatableTopic, CreatableTopicConfig, CreateTopicsRequest

    configs = []
    for item in args.config:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ToolError(f"--config {item!r} is not KEY=VALUE")
        configs.append(CreatableTopicConfig(name=key, value=value))
    request = CreateTopicsRequest(
        topics=[
            CreatableTopic(
                name=name,
                num_partitions=args.partitions,
                replication_factor=args.replication_factor,
                configs=list(configs),
            )
            for name in topics
        ],
        timeout_ms=int(args.timeout * 1000),
    )
    # Any broker takes CreateTopics (a KRaft broker forwards it to the controller).
    response = client.bootstrap_connection.request(request)
    failed = 0
    for r in response.topics:
        if r.error_code == 36 and args.if_not_exists:  # TOPIC_ALREADY_EXISTS
            continue
        if r.error_code:
            print(f"Error while creating topic {r.name}: {error_text(r.error_code, r.error_message)}", file=sys.stderr)
            failed += 1
        else:
            print(f"Created topic {r.name}.")
    return 1 if failed else 0


def delete(client: Client, topics: list[str], if_exists: bool) -> int:
    from kafkalite.wire.messages.delete_topics import DeleteTopicsRequest

    response = client.bootstrap_connection.request(DeleteTopicsRequest(topic_names=topics, timeout_ms=30000))
    failed = 0
    for r in response.responses:
        if r.error_code == 3 and if_exists:  # UNKNOWN_TOPIC_OR_PARTITION
            continue
        if r.error_code:
            print(f"Error while deleting topic {r.name}: {error_text(r.error_code, r.error_message)}", file=sys.stderr)
            failed += 1
        else:
            print(f"Deleted topic {r.name}.")
    return 1 if failed else 0
