"""kafkalite produce / consume: lines, keys, headers, partitions, start offsets, groups."""

from __future__ import annotations

from pathlib import Path

from kafkalite.testing.thread import BrokerThread
from kafkalite.tools.partitioner import partition_for_key
from tests.tools.conftest import Run


def write_lines(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "input.txt"
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_each_line_becomes_a_record_with_its_key_and_headers(
    kafkalite_shared_broker: BrokerThread, cli: Run, tmp_path: Path
) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("orders", 3)
    source = write_lines(tmp_path, "alice:1", "bob:2", "alice:3", "no key here")
    status, out, _ = cli("produce", "orders", "--bootstrap-server", broker.bootstrap_servers,
                         "--key-separator", ":", "--header", "source=cli", "--input", source, "--print-offsets")
    assert status == 0
    records = broker.records("orders")
    by_key = {r.key: r.partition for r in records}
    assert by_key[b"alice"] == partition_for_key(b"alice", 3)  # Kafka's default partitioner
    assert by_key[b"bob"] == partition_for_key(b"bob", 3)
    alice = [r.value for r in records if r.key == b"alice"]
    assert alice == [b"1", b"3"]  # per-key order
    assert {r.headers for r in records} == {(("source", b"cli"),)}
    assert sorted(out.splitlines()) == sorted(f"orders-{r.partition}@{r.offset}" for r in records)


def test_kafka_console_producer_properties(kafkalite_shared_broker: BrokerThread, cli: Run, tmp_path: Path) -> None:
    broker = kafkalite_shared_broker
    source = write_lines(tmp_path, "h1:a,h2:b\tk\tv", "\tk2\tNULL")
    status, _out, _err = cli(
        "produce", "--topic", "props", "--bootstrap-server", broker.bootstrap_servers, "--input", source,
        "--property", "parse.key=true", "--property", "parse.headers=true", "--property", "null.marker=NULL",
    )
    assert status == 0
    first, second = broker.records("props")
    assert (first.headers, first.key, first.value) == ((("h1", b"a"), ("h2", b"b")), b"k", b"v")
    assert (second.headers, second.key, second.value) == ((), b"k2", None)


def test_consume_from_beginning_to_the_end(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("t", 2)
    broker.produce("t", "a", partition=0, headers={"h": "1"})
    broker.produce("t", "b", key="k", partition=1)
    broker.produce("t", None, key="gone", partition=1)
    status, out, err = cli("consume", "t", "--bootstrap-server", broker.bootstrap_servers, "--from-beginning",
                           "--exit-at-end", "--print-partition", "--print-offset", "--print-key", "--print-headers")
    assert status == 0
    assert sorted(out.splitlines()) == [
        "Partition:0\tOffset:0\th:1\tnull\ta",
        "Partition:1\tOffset:0\tNO_HEADERS\tk\tb",
        "Partition:1\tOffset:1\tNO_HEADERS\tgone\tnull",
    ]
    assert err == "Processed a total of 3 messages\n"


def test_consume_from_an_offset_or_a_timestamp(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    broker = kafkalite_shared_broker
    for i in range(10):
        broker.produce("t", f"v{i}", timestamp=1_700_000_000_000 + i * 1000)
    bs = broker.bootstrap_servers
    status, out, _ = cli("consume", "t", "--bootstrap-server", bs, "--partition", "0", "--offset", "7", "-e")
    assert out.split() == ["v7", "v8", "v9"]
    status, out, _ = cli("consume", "t", "--bootstrap-server", bs, "--from-timestamp", "1700000004000", "-e",
                         "--max-messages", "2", "--print-timestamp")
    assert out.splitlines() == ["CreateTime:1700000004000\tv4", "CreateTime:1700000005000\tv5"]
    status, out, _ = cli("consume", "t", "--bootstrap-server", bs, "--from-timestamp", "2023-11-14T22:13:28+00:00",
                         "-e")
    assert out.split() == ["v8", "v9"]


def test_consume_stops_after_a_quiet_timeout(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    broker = kafkalite_shared_broker
    broker.create_topic("quiet")
    status, out, err = cli("consume", "quiet", "--bootstrap-server", broker.bootstrap_servers, "--timeout-ms", "200")
    assert (status, out, err) == (0, "", "Processed a total of 0 messages\n")


def test_consume_past_the_end_explains_the_range(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    broker = kafkalite_shared_broker
    broker.produce_batch("orders", [f"o{i}" for i in range(42)])
    status, _out, err = cli("consume", "orders", "--bootstrap-server", broker.bootstrap_servers, "--offset", "57")
    assert status == 1
    assert "OFFSET_OUT_OF_RANGE: offset 57 is not within the partition's offsets 0..42" in err


def test_consume_with_a_group_commits_and_resumes(kafkalite_shared_broker: BrokerThread, cli: Run) -> None:
    broker = kafkalite_shared_broker
    broker.produce_batch("t", [f"v{i}" for i in range(5)])
    bs = broker.bootstrap_servers
    status, out, _ = cli("consume", "t", "--bootstrap-server", bs, "--group", "audit", "--from-beginning",
                         "--max-messages", "3")
    assert out.split() == ["v0", "v1", "v2"]
    assert broker.committed("audit", "t", 0) == 3
    status, out, _ = cli("consume", "t", "--bootstrap-server", bs, "--group", "audit", "-e")
    assert out.split() == ["v3", "v4"]
    assert broker.committed("audit", "t", 0) == 5
