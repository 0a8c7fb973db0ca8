"""kafkalite transactions: list, describe and describe-producers, in kafka-transactions.sh's
tables, against a broker with a committed transaction and an open one."""

from __future__ import annotations

import re
from typing import Iterator

import pytest
from confluent_kafka import Producer

from kafkalite.testing.thread import BrokerThread
from tests.tools.conftest import Run


def table(out: str) -> list[list[str]]:
    """The rows of a kafka-transactions table, checked for its layout: every cell padded to
    its column's width and followed by a tab."""
    lines = out.splitlines()
    assert lines and all(line.endswith("\t") for line in lines), out
    raw = [line[:-1].split("\t") for line in lines]
    for column in zip(*raw):
        assert len({len(cell) for cell in column}) == 1, column
    return [[cell.rstrip() for cell in row] for row in raw]


@pytest.fixture
def txn_broker(kafkalite_shared_broker: BrokerThread) -> Iterator[BrokerThread]:
    """orders (2 partitions): transactional id "done" committed a record to orders-0 (offset
    0, its marker 1); "open" has written to orders-0 (offset 2) and orders-1 (offset 0) in a
    transaction still open."""
    broker = kafkalite_shared_broker
    broker.create_topic("orders", 2)
    done = Producer({"bootstrap.servers": broker.bootstrap_servers, "transactional.id": "done"})
    done.init_transactions(10)
    done.begin_transaction()
    done.produce("orders", value=b"committed", partition=0)
    done.commit_transaction(10)
    opened = Producer({"bootstrap.servers": broker.bootstrap_servers, "transactional.id": "open",
                       "transaction.timeout.ms": 30_000})
    opened.init_transactions(10)
    opened.begin_transaction()
    opened.produce("orders", value=b"pending", partition=0)
    opened.produce("orders", value=b"pending", partition=1)
    assert opened.flush(10) == 0
    broker.wait_for_transaction("done")
    try:
        yield broker
    finally:
        opened.abort_transaction(10)
        del done, opened


def producer_ids(broker: BrokerThread) -> dict[str, str]:
    return {t.transactional_id: str(t.producer_id) for t in broker.transactions()}


def test_list_prints_every_transactional_id(txn_broker: BrokerThread, cli: Run) -> None:
    ids = producer_ids(txn_broker)
    status, out, _ = cli("transactions", "--bootstrap-server", txn_broker.bootstrap_servers, "list")
    assert status == 0
    assert table(out) == [
        ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
        ["done", "0", ids["done"], "CompleteCommit"],
        ["open", "0", ids["open"], "Ongoing"],
    ]


def test_list_filters(txn_broker: BrokerThread, cli: Run) -> None:
    ids = producer_ids(txn_broker)
    bootstrap = ("--bootstrap-server", txn_broker.bootstrap_servers)
    status, out, _ = cli("transactions", "list", "--state", "Ongoing", *bootstrap)
    assert (status, table(out)[1:]) == (0, [["open", "0", ids["open"], "Ongoing"]])
    status, out, _ = cli("transactions", "list", "--producer-id", ids["done"], *bootstrap)
    assert (status, table(out)[1:]) == (0, [["done", "0", ids["done"], "CompleteCommit"]])
    status, out, _ = cli("transactions", "list", "--duration-filter", "3600000", *bootstrap)
    assert (status, table(out)[1:]) == (0, [])
    status, _out, err = cli("transactions", "list", "--state", "Open", *bootstrap)
    assert status == 1
    assert "unknown state(s): Open (states: Empty, Ongoing, PrepareCommit" in err


def test_describe_an_open_and_a_committed_transaction(txn_broker: BrokerThread, cli: Run) -> None:
    ids = producer_ids(txn_broker)
    bootstrap = ("--bootstrap-server", txn_broker.bootstrap_servers)
    status, out, _ = cli("transactions", "describe", "--transactional-id", "open", *bootstrap)
    assert status == 0
    header, row = table(out)
    assert header == ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
                      "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs",
                      "TopicPartitions"]
    assert row[:6] == ["0", "open", ids["open"], "0", "Ongoing", "30000"]
    assert re.fullmatch(r"\d{13}", row[6]) and re.fullmatch(r"\d+", row[7]), row
    assert row[8] == "orders-0,orders-1"

    status, out, _ = cli("transactions", "describe", "--transactional-id", "done", *bootstrap)
    row = table(out)[1]
    assert status == 0
    assert row[:6] == ["0", "done", ids["done"], "0", "CompleteCommit", "60000"]
    assert row[8] == ""


def test_describe_of_an_unknown_transactional_id(txn_broker: BrokerThread, cli: Run) -> None:
    status, out, err = cli("transactions", "describe", "--transactional-id", "nobody",
                           "--bootstrap-server", txn_broker.bootstrap_servers)
    assert (status, out) == (1, "")
    assert "Failed to describe transaction state of transactional-id `nobody`: TRANSACTIONAL_ID_NOT_FOUND" in err


def test_describe_producers_shows_where_open_transactions_start(txn_broker: BrokerThread, cli: Run) -> None:
    ids = producer_ids(txn_broker)
    bootstrap = ("--bootstrap-server", txn_broker.bootstrap_servers)
    status, out, _ = cli("transactions", "describe-producers", "--topic", "orders", "--partition", "0", *bootstrap)
    assert status == 0
    header, *rows = table(out)
    assert header == ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
                      "CurrentTransactionStartOffset"]
    by_id = {row[0]: row for row in rows}
    assert set(by_id) == {ids["done"], ids["open"]}
    done, opened = by_id[ids["done"]], by_id[ids["open"]]
    assert (done[1:4], done[5]) == (["0", "0", "0"], "None")  # its COMMIT marker carried epoch 0
    assert (opened[1:4], opened[5]) == (["0", "-1", "0"], "2")  # no marker yet
    assert re.fullmatch(r"\d{13}", done[4]) and re.fullmatch(r"\d{13}", opened[4])

    status, out, _ = cli("transactions", "describe-producers", "--topic", "orders", "--partition", "1",
                         "--broker-id", "0", *bootstrap)
    assert status == 0
    assert [(row[0], row[5]) for row in table(out)[1:]] == [(ids["open"], "0")]

    status, _out, err = cli("transactions", "describe-producers", "--topic", "orders", "--partition", "9", *bootstrap)
    assert status == 1 and "topic orders has no partition 9" in err
