"""The pytest plugin, as a user's project sees it: pytester runs small test projects that use
the fixtures with confluent-kafka and kafka-python."""

from __future__ import annotations

import pytest

import kafkalite.testing.thread  # noqa: F401
import kafkalite.server.serve  # noqa: F401
from kafkalite.server.dispatch import load_handlers

pytest_plugins = ["pytester"]

# pytester's in-process runs forget the modules first imported during them; import the
# broker and its handler registry here, once, so that they are never imported twice.
load_handlers()

INI = """
[pytest]
addopts = -p no:cacheprovider
filterwarnings =
    error
    ignore:(read_text|open_text) is deprecated:DeprecationWarning
{extra}
"""


def project(pytester: pytest.Pytester, extra_ini: str = "", **files: str) -> None:
    pytester.makefile(".ini", pytest=INI.format(extra=extra_ini))
    pytester.makepyfile(**files)


APP_TESTS = '''
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from kafka import KafkaConsumer, KafkaProducer


def test_confluent_produce_consume_commit(kafkalite_broker):
    broker = kafkalite_broker
    broker.create_topic("orders", 1)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for i in range(5):
        producer.produce("orders", key=b"k", value=b"order-%d" % i)
    assert producer.flush(10) == 0
    records = broker.wait_for_records("orders", 5)
    assert [r.value for r in records] == [b"order-%d" % i for i in range(5)]

    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap_servers,
        "group.id": "billing",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe(["orders"])
    group = broker.wait_for_group("billing", members=1)
    assert group.assignment() == {("orders", 0): group.members[0].member_id}
    seen = []
    while len(seen) < 5:
        message = consumer.poll(5)
        assert message is not None and not message.error()
        seen.append(message.value())
    consumer.commit(asynchronous=False)
    assert broker.wait_for_committed("billing", "orders", 0, 5) == 5
    assert broker.committed("billing", "orders", 0) == 5
    assert broker.lag("billing", "orders") == {0: 0}
    consumer.close()


def test_kafka_python_sees_what_the_helpers_produce(kafkalite_broker):
    broker = kafkalite_broker
    broker.create_topic("events", 2)
    broker.produce("events", "one", partition=1, headers={"h": "v"})
    consumer = KafkaConsumer(
        "events",
        bootstrap_servers=broker.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    message = next(iter(consumer))
    assert (message.partition, message.value, message.headers) == (1, b"one", [("h", b"v")])
    consumer.close()

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    producer.send("events", key=b"a", value=b"two").get(timeout=10)
    producer.close()
    assert [r.value for r in broker.wait_for_records("events", 2)] == [b"one", b"two"] or \\
        sorted(broker.values("events")) == [b"one", b"two"]


@pytest.mark.kafkalite(partitions=3)
def test_marker_sets_partitions_of_auto_created_topics(kafkalite_broker):
    producer = Producer({"bootstrap.servers": kafkalite_broker.bootstrap_servers})
    producer.produce("auto", value=b"x")
    producer.flush(10)
    assert kafkalite_broker.topics() == {"auto": 3}


@pytest.mark.parametrize("kafkalite_broker", [{"partitions": 2}, {"partitions": 5}], indirect=True)
def test_indirect_parameters(kafkalite_broker):
    kafkalite_broker.produce("t", "x")
    assert kafkalite_broker.topics()["t"] in (2, 5)


def test_ini_partitions_apply(kafkalite_broker):
    kafkalite_broker.produce("from-ini", "x")
    assert kafkalite_broker.topics() == {"from-ini": 4}
'''


def test_fixture_serves_confluent_kafka_and_kafka_python(pytester: pytest.Pytester) -> None:
    project(pytester, "kafkalite_partitions = 4", test_app=APP_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=6)


SHARED_TESTS = '''
from confluent_kafka import Consumer, Producer

SEEN = []


def test_first_leaves_state_behind(kafkalite_shared_broker):
    broker = kafkalite_shared_broker
    SEEN.append(broker.bootstrap_servers)
    broker.create_topic("leftover", 2)
    broker.produce("leftover", "x", partition=0)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True})
    producer.produce("leftover", value=b"y", partition=0)
    producer.flush(10)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "g",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["leftover"])
    broker.wait_for_group("g", 1)
    message = consumer.poll(10)
    assert message is not None and not message.error()
    consumer.commit(asynchronous=False)
    broker.wait_for_committed("g", "leftover", 0, 1)
    consumer.close()


def test_second_starts_empty_on_the_same_broker(kafkalite_shared_broker):
    broker = kafkalite_shared_broker
    assert broker.bootstrap_servers == SEEN[0]
    assert broker.topics() == {}
    assert broker.groups() == []
    assert broker.committed("g", "leftover", 0) is None
    broker.produce("leftover", "fresh")
    assert broker.topics() == {"leftover": 1}
    assert broker.values("leftover") == [b"fresh"]


import pytest

@pytest.mark.kafkalite(partitions=6)
def test_marker_on_the_shared_broker(kafkalite_shared_broker):
    kafkalite_shared_broker.produce("wide", "x")
    assert kafkalite_shared_broker.topics() == {"wide": 6}


def test_marker_does_not_leak_into_the_next_test(kafkalite_shared_broker):
    kafkalite_shared_broker.produce("narrow", "x")
    assert kafkalite_shared_broker.topics() == {"narrow": 1}
'''


def test_shared_broker_is_reset_between_tests(pytester: pytest.Pytester) -> None:
    project(pytester, test_shared=SHARED_TESTS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4)


WAIT_TESTS = '''
def test_wait_names_what_it_waited_for(kafkalite_broker):
    kafkalite_broker.produce("orders", "only one")
    kafkalite_broker.wait_for_records("orders", 3, timeout=0.2)
'''


def test_a_wait_that_times_out_says_expected_and_seen(pytester: pytest.Pytester) -> None:
    project(pytester, test_wait=WAIT_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*WaitTimeout*orders to hold 3 record(s); last seen: 1 record(s)*"])


def test_a_marker_field_a_shared_broker_cannot_change_is_a_usage_error(pytester: pytest.Pytester) -> None:
    project(
        pytester,
        test_bad='''
import pytest

@pytest.mark.kafkalite(brokers=3)
def test_it(kafkalite_shared_broker):
    pass
''',
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*brokers cannot change on a running broker*"])


LOGGING_TESTS = '''
from kafkalite.tools.client import Client


def test_broker_log_and_trace_reach_the_test_log(kafkalite_broker, caplog):
    kafkalite_broker.create_topic("seen")
    with Client(kafkalite_broker.bootstrap_servers) as client:
        client.metadata(["seen"])
    assert "created topic seen with 1 partition(s)" in caplog.text
    assert "-> Metadata v12" in caplog.text and "! " not in caplog.text
'''


def test_ini_log_level_and_trace(pytester: pytest.Pytester) -> None:
    project(pytester, "kafkalite_log_level = INFO\nkafkalite_trace = true", test_logs=LOGGING_TESTS)
    pytester.runpytest().assert_outcomes(passed=1)


COVERAGE_TESTS = '''
from confluent_kafka import Producer


def test_produces(kafkalite_broker):
    producer = Producer({"bootstrap.servers": kafkalite_broker.bootstrap_servers, "client.id": "app"})
    producer.produce("orders", value=b"v")
    assert producer.flush(10) == 0


def test_uses_no_client(kafkalite_shared_broker):
    kafkalite_shared_broker.produce("orders", "v")


def test_no_fixture():
    pass
'''


def test_coverage_option_lists_the_apis_and_versions_each_test_used(pytester: pytest.Pytester) -> None:
    project(pytester, test_cov=COVERAGE_TESTS)
    result = pytester.runpytest("--kafkalite-coverage", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "*= kafkalite protocol coverage =*",
        "test_cov.py::test_produces: ApiVersions v*, Metadata v*, Produce v*",
        "test_cov.py::test_uses_no_client: none",
        "kafkalite_session_broker (since its last reset): none",
        "all together: ApiVersions v*, Metadata v*, Produce v*",
    ])
    assert "test_no_fixture" not in result.stdout.str().split("kafkalite protocol coverage")[1]


def test_no_coverage_report_without_the_option(pytester: pytest.Pytester) -> None:
    project(pytester, test_cov=COVERAGE_TESTS)
    result = pytester.runpytest("-k", "uses_no_client")
    result.assert_outcomes(passed=1, deselected=2)
    assert "kafkalite protocol coverage" not in result.stdout.str()


HTTP_TESTS = '''
import json
import urllib.request


def test_shared_broker_serves_the_http_api(kafkalite_shared_broker):
    with urllib.request.urlopen(kafkalite_shared_broker.http_url + "/healthz", timeout=10) as answer:
        assert answer.status == 200


def test_per_test_broker_too(kafkalite_broker):
    assert kafkalite_broker.http_url.startswith("http://")
'''


def test_ini_http_port_serves_the_http_api(pytester: pytest.Pytester) -> None:
    project(pytester, "kafkalite_http_port = 0", test_http=HTTP_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_without_ini_http_port_the_http_api_is_off(pytester: pytest.Pytester) -> None:
    project(
        pytester,
        test_off='''
import pytest

def test_off(kafkalite_broker):
    with pytest.raises(RuntimeError):
        kafkalite_broker.http_url
''',
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_ini_console_write_lets_the_console_change_fault_rules(pytester: pytest.Pytester) -> None:
    project(
        pytester,
        "kafkalite_http_port = 0\nkafkalite_console_write = true",
        test_console='''
import urllib.request

def test_console_write(kafkalite_broker):
    assert kafkalite_broker.broker.config.console_write is True
    with urllib.request.urlopen(kafkalite_broker.http_url + "/faults") as response:
        assert b"Add a rule" in response.read()
''',
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_ini_http_port_must_be_a_number(pytester: pytest.Pytester) -> None:
    project(pytester, "kafkalite_http_port = eighty", test_x="def test_x(kafkalite_broker):\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*kafkalite_http_port must be a whole number*"])


CONTROLLER_TESTS = '''
import pytest


def test_ini_controllers_apply(kafkalite_broker):
    assert kafkalite_broker.controller_ids == [3000, 3001, 3002]


@pytest.mark.kafkalite(controllers=5)
def test_marker_sets_controllers(kafkalite_broker):
    assert kafkalite_broker.controller_ids == [3000, 3001, 3002, 3003, 3004]
    kafkalite_broker.stop_node(3000)
    kafkalite_broker.stop_node(3001)
    kafkalite_broker.create_topic("t")  # 3 of 5 is a majority
'''


def test_controllers_come_from_the_ini_and_the_marker(pytester: pytest.Pytester) -> None:
    project(pytester, "kafkalite_controllers = 3", test_controllers=CONTROLLER_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
