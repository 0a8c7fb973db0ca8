"""kafkalite topics: list, describe, create, delete, in both spellings."""

from __future__ import annotations

from kafkalite.testing.thread import BrokerThread
from tests.tools.conftest import Run


def test_create_describe_list_delete(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    bs = kafkalite_shared_broker.bootstrap_servers
    status, out, _ = cli("topics", "--bootstrap-server", bs, "create", "orders", "--partitions", "3",
                         "--config", "retention.ms=60000")
    assert (status, out) == (0, "Created topic orders.\n")
    assert kafkalite_shared_broker.topics() == {"orders": 3}

    status, out, _ = cli("topics", "describe", "orders", "--bootstrap-server", bs)
    lines = out.splitlines()
    assert status == 0
    assert lines[0].startswith("Topic: orders\tTopicId: ")
    assert "\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=60000" in lines[0]
    assert lines[1:] == [
        f"\tTopic: orders\tPartition: {p}\tLeader: 0\tReplicas: 0\tIsr: 0" for p in range(3)
    ]

    status, out, _ = cli("topics", "list", "--bootstrap-server", bs, "--exclude-internal")
    assert (status, out) == (0, "orders\n")
    status, out, _ = cli("topics", "list", "--bootstrap-server", bs)
    # The shared broker keeps the internal topics earlier tests created; they are listed too.
    listed = out.splitlines()
    assert "orders" in listed and set(listed) - {"orders"} <= {"__consumer_offsets", "__transaction_state"}

    status, out, _ = cli("topics", "delete", "orders", "--bootstrap-server", bs)
    assert (status, out) == (0, "Deleted topic orders.\n")
    assert kafkalite_shared_broker.topics() == {}


def test_kafka_style_flags_work(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    bs = kafkalite_shared_broker.bootstrap_servers
    assert cli("topics", "--bootstrap-server", bs, "--create", "--topic", "t1", "--partitions", "2")[0] == 0
    status, out, _ = cli("topics", "--bootstrap-server", bs, "--describe", "--topic", "t1")
    assert status == 0 and "PartitionCount: 2" in out
    assert cli("topics", "--bootstrap-server", bs, "--delete", "--topic", "t1")[0] == 0


def test_errors_name_the_kafka_error_and_set_the_status(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    bs = kafkalite_shared_broker.bootstrap_servers
    kafkalite_shared_broker.create_topic("exists")
    status, _out, err = cli("topics", "create", "exists", "--bootstrap-server", bs)
    assert status == 1
    assert "Error while creating topic exists: TOPIC_ALREADY_EXISTS: Topic 'exists' already exists." in err
    assert cli("topics", "create", "exists", "--if-not-exists", "--bootstrap-server", bs)[0] == 0

    status, _out, err = cli("topics", "delete", "missing", "--bootstrap-server", bs)
    assert status == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in err
    assert cli("topics", "delete", "missing", "--if-exists", "--bootstrap-server", bs)[0] == 0

    status, _out, err = cli("topics", "describe", "missing", "--bootstrap-server", bs)
    assert status == 1 and "topic 'missing' does not exist" in err


def test_an_unreachable_broker_is_one_line_on_stderr(cli: Run) -> None:
    status, out, err = cli("topics", "list", "--bootstrap-server", "127.0.0.1:1", "--timeout", "1")
    assert (status, out) == (1, "")
    assert err.strip() == "kafkalite topics: error: cannot connect to 127.0.0.1:1: Connection refused"
