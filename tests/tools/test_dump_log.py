"""kafkalite dump-log: segment files printed as kafka-dump-log prints them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kafkalite.groups.records import partition_for
from kafkalite.testing.thread import BrokerThread
from tests.tools.conftest import Run


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with orders-0 (an idempotent producer's batch, a keyed record with a
    header) and the committed offset of group audit, written by a broker now stopped."""
    path = tmp_path_factory.mktemp("data")
    with BrokerThread(data_dir=path, memory=False, offsets_topic_partitions=3) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True,
                             "linger.ms": 50})
        for i in range(3):
            producer.produce("orders", value=b"v%d" % i)
        assert producer.flush(10) == 0
        broker.produce("orders", "hello", key="k", headers={"h": "1"})
        from kafkalite.cli import main

        assert main(["consume", "orders", "--bootstrap-server", broker.bootstrap_servers, "--group", "audit",
                     "--from-beginning", "-e"]) == 0
    return path


def test_batches_in_kafka_dump_log_words(data_dir: Path, cli: Run) -> None:
    status, out, _ = cli("dump-log", str(data_dir / "orders-0" / "00000000000000000000.log"))
    lines = out.splitlines()
    assert status == 0
    assert lines[:2] == [f"Dumping {data_dir / 'orders-0' / '00000000000000000000.log'}", "Log starting offset: 0"]
    first, second = lines[2:]
    assert re.fullmatch(
        r"baseOffset: 0 lastOffset: 2 count: 3 baseSequence: 0 lastSequence: 2 producerId: \d+ producerEpoch: 0 "
        r"partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty "
        r"position: 0 CreateTime: \d+ size: \d+ magic: 2 compresscodec: \w+ crc: \d+ isvalid: true",
        first,
    ), first
    assert second.startswith("baseOffset: 3 lastOffset: 3 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1")


def test_records_with_print_data_log(data_dir: Path, cli: Run) -> None:
    status, out, _ = cli("dump-log", str(data_dir / "orders-0"), "--print-data-log")
    records = [line for line in out.splitlines() if line.startswith("| ")]
    assert status == 0
    assert re.fullmatch(
        r"\| offset: 0 CreateTime: \d+ keySize: -1 valueSize: 2 sequence: 0 headerKeys: \[\] payload: v0", records[0]
    )
    assert re.fullmatch(
        r"\| offset: 3 CreateTime: \d+ keySize: 1 valueSize: 5 sequence: -1 headerKeys: \[h\] key: k payload: hello",
        records[3],
    )


def test_offsets_decoder_shows_committed_offsets(data_dir: Path, cli: Run) -> None:
    partition = partition_for("audit", 3)
    status, out, _ = cli("dump-log", "--data-dir", str(data_dir), "--topic", "__consumer_offsets",
                         "--partition", str(partition), "--offsets-decoder")
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("| "))
    assert '"type": "offset_commit", "group": "audit", "topic": "orders", "partition": 0' in line
    assert '"offset": 4' in line


def test_indexes_and_a_torn_tail(data_dir: Path, cli: Run, tmp_path: Path) -> None:
    segment = (data_dir / "orders-0" / "00000000000000000000.log").read_bytes()
    torn = tmp_path / "00000000000000000000.log"
    torn.write_bytes(segment + segment[:30])
    status, out, _ = cli("dump-log", str(torn))
    assert status == 0
    assert out.splitlines()[-1] == "Found 30 invalid bytes at the end of 00000000000000000000.log"

    index = tmp_path / "00000000000000000010.index"
    index.write_bytes(bytes.fromhex("00000002 00000000 00000007 00000400".replace(" ", "")))
    status, out, _ = cli("dump-log", str(index))
    assert out.splitlines()[1:] == ["offset: 12 position: 0", "offset: 17 position: 1024"]


def test_missing_paths_are_errors(cli: Run, tmp_path: Path) -> None:
    status, _out, err = cli("dump-log", str(tmp_path / "nope.log"))
    assert status == 1 and "does not exist" in err
    status, _out, err = cli("dump-log", "--data-dir", str(tmp_path), "--topic", "orders")
    assert status == 1 and "no partition folder orders-*" in err
