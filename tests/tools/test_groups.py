"""kafkalite groups: list, describe with lag, members, state, delete."""

from __future__ import annotations

from confluent_kafka import Consumer

from kafkalite.testing.thread import BrokerThread
from tests.tools.conftest import Run


def columns(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line.strip()]


def test_describe_shows_current_offset_log_end_offset_and_lag(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("orders", 2)
    broker.produce_batch("orders", [f"a{i}" for i in range(10)], partition=0)
    broker.produce_batch("orders", [f"b{i}" for i in range(4)], partition=1)
    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap_servers, "group.id": "billing",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    try:
        consumer.subscribe(["orders"])
        member = broker.wait_for_group("billing", 1).members[0]
        seen = 0
        while seen < 14:
            message = consumer.poll(5)
            assert message is not None and not message.error()
            seen += 1
        consumer.commit(offsets=None, asynchronous=False)
        broker.wait_for_committed("billing", "orders", 1, 4)
        broker.produce_batch("orders", ["late"] * 3, partition=0)

        status, out, _ = cli("groups", "describe", "billing", "--bootstrap-server", broker.bootstrap_servers)
        assert status == 0
        rows = columns(out)
        assert rows[0] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                           "CONSUMER-ID", "HOST", "CLIENT-ID"]
        assert rows[1] == ["billing", "orders", "0", "10", "13", "3", member.member_id, "/127.0.0.1", "rdkafka"]
        assert rows[2] == ["billing", "orders", "1", "4", "4", "0", member.member_id, "/127.0.0.1", "rdkafka"]

        status, out, _ = cli("groups", "describe", "billing", "--members", "--bootstrap-server", broker.bootstrap_servers)
        assert columns(out)[1] == ["billing", member.member_id, "/127.0.0.1", "rdkafka", "2", "orders-0,orders-1"]
        status, out, _ = cli("groups", "--bootstrap-server", broker.bootstrap_servers, "--describe", "--group",
                             "billing", "--state")
        assert columns(out)[1][-3:] == ["range", "Stable", "1"]
        status, out, _ = cli("groups", "list", "--bootstrap-server", broker.bootstrap_servers, "--state")
        assert columns(out) == [["billing", "Stable"]]
        status, _out, err = cli("groups", "delete", "billing", "--bootstrap-server", broker.bootstrap_servers)
        assert status == 1 and "NON_EMPTY_GROUP" in err
    finally:
        consumer.close()

    status, out, _ = cli("groups", "describe", "billing", "--bootstrap-server", broker.bootstrap_servers)
    assert "Consumer group 'billing' has no active members." in out
    assert columns(out)[-2][:6] == ["billing", "orders", "0", "10", "13", "3"]
    assert columns(out)[-2][6:] == ["-", "-", "-"]
    status, out, _ = cli("groups", "delete", "billing", "--bootstrap-server", broker.bootstrap_servers)
    assert (status, out) == (0, "Deletion of group 'billing' was successful.\n")
    assert broker.groups() == []


def test_describe_of_an_unknown_group(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    status, _out, err = cli("groups", "describe", "nobody", "--bootstrap-server", kafkalite_shared_broker.bootstrap_servers)
    assert status == 1
    assert "nobody" in err


def test_describe_a_consumer_protocol_group_shows_epochs_and_assignments(kafkalite_shared_broker: BrokerThread,
                                                                        cli: Run) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("kip848", 2)
    broker.produce_batch("kip848", ["x"], partition=0)
    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap_servers, "group.id": "modern", "group.protocol": "consumer",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    try:
        consumer.subscribe(["kip848"])
        message = consumer.poll(10)
        assert message is not None and not message.error()
        bootstrap = ["--bootstrap-server", broker.bootstrap_servers]
        status, out, _ = cli("groups", "describe", "modern", "--members", *bootstrap)
        assert status == 0
        header, row = columns(out)
        assert header == ["GROUP", "CONSUMER-ID", "EPOCH", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT", "TARGET"]
        assert row[0] == "modern" and row[2] == "1" and row[5:] == ["2", "kip848-0,kip848-1", "kip848-0,kip848-1"]
        status, out, _ = cli("groups", "describe", "modern", "--state", *bootstrap)
        header, row = columns(out)
        assert row[-5:] == ["uniform", "Stable", "1", "1", "1"]
        status, out, _ = cli("groups", "describe", "modern", *bootstrap)
        rows = columns(out)
        assert [r[1:3] for r in rows[1:]] == [["kip848", "0"], ["kip848", "1"]]
    finally:
        consumer.close()
