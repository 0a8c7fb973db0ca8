"""``kafkalite transactions``: list and describe transactions, as kafka-transactions.

    kafkalite transactions list                       # every transactional id of the cluster
    kafkalite transactions list --state Ongoing       # only those in a state
    kafkalite transactions describe --transactional-id payments
    kafkalite transactions describe-producers --topic orders --partition 0

``list`` asks every broker (ListTransactions) and prints TRANSACTIONAL-ID, COORDINATOR,
PRODUCER-ID and STATE. ``describe`` asks the transactional id's coordinator
(DescribeTransactions): its producer id and epoch, timeout, state, start time and the
partitions of the ongoing transaction. ``describe-producers`` asks a partition's leader
(DescribeProducers): the producers writing to it and, for an open transaction, the offset
it started at (the last stable offset cannot pass it).
"""

from __future__ import annotations

import argparse
import time

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, KafkaError, ToolError


def build_parser() -> argparse.ArgumentParser:
    p = parser("transactions", "List and describe transactions.")
    add_connection_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("list", help="transactional ids, their producer ids and states")
    add_connection_options(a, subcommand=True)
    a.add_argument("--state", action="append", default=[], help="only transactions in this state (repeatable)")
    a.add_argument("--producer-id", type=int, action="append", default=[], help="only this producer id")
    a.add_argument("--duration-ms", type=int, default=-1, help="only those running longer than this")
    a = sub.add_parser("describe", help="one transactional id's state and open partitions")
    add_connection_options(a, subcommand=True)
    a.add_argument("--transactional-id", required=True)
    a = sub.add_parser("describe-producers", help="the producers of a partition")
    add_connection_options(a, subcommand=True)
    a.add_argument("--topic", required=True)
    a.add_argument("--partition", type=int, required=True)
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        if args.action == "list":
            return list_transactions(client, args.state, args.producer_id, args.duration_ms)
        if args.action == "describe":
            return describe(client, args.transactional_id)
        return describe_producers(client, args.topic, args.partition)


def list_transactions(client: Client, states: list[str], producer_ids: list[int], duration_ms: int) -> int:
    from kafkalite.wire.messages.list_transactions import ListTransactionsRequest

    request = ListTransactionsRequest(state_filters=states, producer_id_filters=producer_ids, duration_filter=duration_ms)
    rows = []
    for node_id in sorted(client.nodes):
        connection = client.connection(node_id)
        version = connection.version_for(66)
        if duration_ms >= 0 and version < 1:
            raise ToolError(f"{connection.address} cannot filter by duration (ListTransactions v1)")
        response = connection.request(request, version)
        if response.error_code:
            raise KafkaError(response.error_code, f"ListTransactions on {connection.address}")
        if response.unknown_state_filters:
            raise ToolError(f"unknown state(s): {', '.join(response.unknown_state_filters)}")
        rows += [(t.transactional_id, node_id, t.producer_id, t.transaction_state) for t in response.transaction_states]
    print(f"{'TRANSACTIONAL-ID':<40} {'COORDINATOR':<12} {'PRODUCER-ID':<12} STATE")
    for txn_id, node, producer_id, state in sorted(rows):
        print(f"{txn_id:<40} {node:<12} {producer_id:<12} {state}")
    return 0


def describe(client: Client, transactional_id: str) -> int:
    from kafkalite.wire.messages.describe_transactions import DescribeTransactionsRequest

    node_id = client.coordinator_id(transactional_id, transactional=True)
    connection = client.connection(node_id)
    response = connection.request(DescribeTransactionsRequest(transactional_ids=[transactional_id]))
    [txn] = response.transaction_states
    if txn.error_code:
        raise KafkaError(txn.error_code, f"transactional id {transactional_id}")
    started = "-"
    if txn.transaction_start_time_ms >= 0:
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(txn.transaction_start_time_ms / 1000)) + "Z"
    partitions = ",".join(f"{t.topic}-{p}" for t in txn.topics for p in sorted(t.partitions)) or "-"
    print(f"{'COORDINATOR-ID':<15} {'TRANSACTIONAL-ID':<30} {'PRODUCER-ID':<12} {'PRODUCER-EPOCH':<15} "
          f"{'TRANSACTION-STATE':<18} {'TRANSACTION-TIMEOUT-MS':<23} {'CURRENT-TRANSACTION-START-TIME':<31} "
          "TOPIC-PARTITIONS")
    print(f"{node_id:<15} {txn.transactional_id:<30} {txn.producer_id:<12} {txn.producer_epoch:<15} "
          f"{txn.transaction_state:<18} {txn.transaction_timeout_ms:<23} {started:<31} {partitions}")
    return 0


def describe_producers(client: Client, topic: str, partition: int) -> int:
    from kafkalite.wire.messages.describe_producers import DescribeProducersRequest, TopicRequest

    connection = client.connection(client.leader(topic, partition))
    response = connection.request(
        DescribeProducersRequest(topics=[TopicRequest(name=topic, partition_indexes=[partition])])
    )
    [p] = response.topics[0].partitions
    if p.error_code:
        raise KafkaError(p.error_code, f"{topic}-{partition}", p.error_message)
    print(f"{'PRODUCER-ID':<12} {'PRODUCER-EPOCH':<15} {'LAST-SEQUENCE':<14} {'LAST-TIMESTAMP':<15} "
          f"{'COORDINATOR-EPOCH':<18} CURRENT-TRANSACTION-START-OFFSET")
    for s in p.active_producers:
        start = s.current_txn_start_offset if s.current_txn_start_offset >= 0 else "None"
        print(f"{s.producer_id:<12} {s.producer_epoch:<15} {s.last_sequence:<14} {s.last_timestamp:<15} "
              f"{s.coordinator_epoch:<18} {start}")
    return 0
