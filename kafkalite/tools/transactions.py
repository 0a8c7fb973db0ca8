"""``kafkalite transactions``: list and describe transactions, as kafka-transactions.

    kafkalite transactions list                       # every transactional id of the cluster
    kafkalite transactions list --duration-filter 60000   # only those open for over a minute
    kafkalite transactions list --state Ongoing       # only those in a state
    kafkalite transactions describe --transactional-id payments
    kafkalite transactions describe-producers --topic orders --partition 0

``list`` asks every broker (ListTransactions) and prints TransactionalId, Coordinator,
ProducerId and TransactionState. ``describe`` asks the transactional id's coordinator
(DescribeTransactions): its producer id and epoch, state, timeout, the start time and
duration of the current transaction, and the partitions it has written to.
``describe-producers`` asks a partition's leader (or ``--broker-id``) (DescribeProducers):
the producers writing to it and, for an open transaction, the offset it started at (the last
stable offset cannot pass it).

The tables are kafka-transactions.sh's: the same headers and columns, each cell padded to
its column's width and followed by a tab, so that what parses Kafka's output parses this.
``--state`` and ``--producer-id`` are ListTransactions filters that kafka-transactions.sh
does not offer.
"""

from __future__ import annotations

import argparse
import time
from typing import Sequence

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, KafkaError, ToolError

_LIST_TRANSACTIONS = 66


def build_parser() -> argparse.ArgumentParser:
    p = parser("transactions", "List and describe transactions.")
    add_connection_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("list", help="transactional ids, their coordinators, producer ids and states")
    add_connection_options(a, subcommand=True)
    a.add_argument("--duration-filter", type=int, default=-1, metavar="MS",
                   help="only transactions running longer than this (ListTransactions v1; -1: all)")
    a.add_argument("--state", action="append", default=[], help="only transactions in this state (repeatable)")
    a.add_argument("--producer-id", type=int, action="append", default=[], help="only this producer id (repeatable)")
    a = sub.add_parser("describe", help="the state of a transactional id")
    add_connection_options(a, subcommand=True)
    a.add_argument("--transactional-id", required=True)
    a = sub.add_parser("describe-producers", help="the active producers of a partition")
    add_connection_options(a, subcommand=True)
    a.add_argument("--topic", required=True)
    a.add_argument("--partition", type=int, required=True)
    a.add_argument("--broker-id", type=int, help="ask this broker (a replica) rather than the leader")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        if args.action == "list":
            return list_transactions(client, args.state, args.producer_id, args.duration_filter)
        if args.action == "describe":
            return describe(client, args.transactional_id)
        return describe_producers(client, args.topic, args.partition, args.broker_id)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """kafka-transactions.sh's table: each cell padded to its column's width, then a tab."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("".join(cell.ljust(width) + "\t" for cell, width in zip(row, widths)))


def list_transactions(client: Client, states: list[str], producer_ids: list[int], duration_ms: int) -> int:
    from kafkalite.wire.messages.list_transactions import ListTransactionsRequest

    request = ListTransactionsRequest(state_filters=states, producer_id_filters=producer_ids, duration_filter=duration_ms)
    rows = []
    for node_id in sorted(client.nodes):
        connection = client.connection(node_id)
        version = connection.version_for(_LIST_TRANSACTIONS)
        if duration_ms >= 0 and version < 1:
            raise ToolError(f"{connection.address} cannot filter by duration (it serves ListTransactions v0)")
        response = connection.request(request, version)
        if response.error_code:
            raise KafkaError(response.error_code, f"Failed to list transactions on broker {node_id}")
        if response.unknown_state_filters:
            from kafkalite.transactions.state import TxnState

            known = ", ".join(state.kafka_name for state in TxnState)
            raise ToolError(f"unknown state(s): {', '.join(response.unknown_state_filters)} (states: {known})")
        rows += [(t.transactional_id, node_id, t.producer_id, t.transaction_state) for t in response.transaction_states]
    print_table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], sorted(rows))
    return 0


def describe(client: Client, transactional_id: str) -> int:
    from kafkalite.wire.messages.describe_transactions import DescribeTransactionsRequest

    where = f"Failed to describe transaction state of transactional-id `{transactional_id}`"
    node_id = client.coordinator_id(transactional_id, transactional=True)
    response = client.connection(node_id).request(DescribeTransactionsRequest(transactional_ids=[transactional_id]))
    found = [t for t in response.transaction_states if t.transactional_id == transactional_id]
    if not found:
        raise ToolError(f"{where}: the coordinator (broker {node_id}) did not answer for it")
    txn = found[0]
    if txn.error_code:
        raise KafkaError(txn.error_code, where)
    start: object = "None"
    duration: object = "None"
    if txn.transaction_start_time_ms >= 0:  # as Kafka's admin client: negative is no start time
        start = txn.transaction_start_time_ms
        duration = int(time.time() * 1000) - txn.transaction_start_time_ms
    partitions = ",".join(f"{t.topic}-{p}" for t in txn.topics for p in t.partitions)
    print_table(
        ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
         "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"],
        [[node_id, transactional_id, txn.producer_id, txn.producer_epoch, txn.transaction_state,
          txn.transaction_timeout_ms, start, duration, partitions]],
    )
    return 0


def describe_producers(client: Client, topic: str, partition: int, broker_id: int | None = None) -> int:
    from kafkalite.wire.messages.describe_producers import DescribeProducersRequest, TopicRequest

    where = f"Failed to describe producers for partition {topic}-{partition} on " + (
        "leader" if broker_id is None else f"broker {broker_id}"
    )
    connection = client.connection(client.leader(topic, partition) if broker_id is None else broker_id)
    response = connection.request(
        DescribeProducersRequest(topics=[TopicRequest(name=topic, partition_indexes=[partition])])
    )
    found = [p for t in response.topics if t.name == topic for p in t.partitions if p.partition_index == partition]
    if not found:
        raise ToolError(f"{where}: the broker did not answer for it")
    p = found[0]
    if p.error_code:
        raise KafkaError(p.error_code, where, p.error_message)
    rows = [
        [s.producer_id, s.producer_epoch, max(s.coordinator_epoch, -1), s.last_sequence, s.last_timestamp,
         s.current_txn_start_offset if s.current_txn_start_offset >= 0 else "None"]
        for s in p.active_producers
    ]
    print_table(
        ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
         "CurrentTransactionStartOffset"],
        rows,
    )
    return 0
