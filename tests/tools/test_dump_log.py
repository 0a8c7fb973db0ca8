"""kafkalite dump-log: segment files printed as kafka-dump-log prints them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kafkalite.groups.records import partition_for
from kafkalite.testing.thread import BrokerThread
from kafkalite.transactions import records as txn_records
from kafkalite.wire.records import build_batch
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


# -- transactions ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def txn_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir written by a broker now stopped: in orders-0, a transaction of 3 records
    committed (marker at offset 3) and one of 2 records aborted after they were flushed
    (marker at offset 6); __transaction_state holds transactional id payments' changes."""
    path = tmp_path_factory.mktemp("txn-data")
    with BrokerThread(data_dir=path, memory=False, transaction_state_partitions=3) as broker:
        broker.create_topic("orders", 1)
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "transactional.id": "payments"})
        producer.init_transactions(10)
        producer.begin_transaction()
        for i in range(3):
            producer.produce("orders", value=b"c%d" % i)
        producer.commit_transaction(10)
        producer.begin_transaction()
        for i in range(2):
            producer.produce("orders", value=b"a%d" % i)
        assert producer.flush(10) == 0
        producer.abort_transaction(10)
        broker.wait_for_transaction("payments", state="CompleteAbort")
        del producer
    return path


def test_transaction_markers_show_their_type_and_coordinator_epoch(txn_data_dir: Path, cli: Run) -> None:
    status, out, _ = cli("dump-log", str(txn_data_dir / "orders-0"), "--deep-iteration")
    assert status == 0
    lines = out.splitlines()
    markers = [(i, line) for i, line in enumerate(lines) if "endTxnMarker" in line]
    assert len(markers) == 2
    for (i, line), (offset, kind) in zip(markers, [(3, "COMMIT"), (6, "ABORT")]):
        assert re.fullmatch(
            rf"\| offset: {offset} CreateTime: \d+ keySize: 4 valueSize: 6 sequence: -1 headerKeys: \[\] "
            rf"endTxnMarker: {kind} coordinatorEpoch: 0",
            line,
        ), line
        assert " isTransactional: true isControl: true " in lines[i - 1]
    data_batches = [line for line in lines if line.startswith("baseOffset") and "isControl: false" in line]
    assert len(data_batches) == 2 and all("isTransactional: true" in line for line in data_batches)


def test_transaction_log_decoder_prints_the_state_changes(txn_data_dir: Path, cli: Run) -> None:
    partition = txn_records.partition_for("payments", 3)
    status, out, _ = cli("dump-log", "--data-dir", str(txn_data_dir), "--topic", "__transaction_state",
                         "--partition", str(partition), "--transaction-log-decoder")
    assert status == 0
    records = [line for line in out.splitlines() if line.startswith("| ")]
    pattern = re.compile(
        r"\| offset: \d+ CreateTime: \d+ keySize: \d+ valueSize: \d+ sequence: -1 headerKeys: \[\] "
        r"key: transaction_metadata::transactionalId=payments payload: producerId:(\d+),producerEpoch:0,"
        r"state=(\w+),partitions=\[([^]]*)\],txnLastUpdateTimestamp=\d+,txnTimeoutMs=60000"
    )
    matches = [pattern.fullmatch(line) for line in records]
    assert all(matches), records
    assert [(m[2], m[3]) for m in matches if m] == [
        ("Empty", ""),
        ("Ongoing", "orders-0"), ("PrepareCommit", "orders-0"), ("CompleteCommit", ""),
        ("Ongoing", "orders-0"), ("PrepareAbort", "orders-0"), ("CompleteAbort", ""),
    ]
    assert len({m[1] for m in matches if m}) == 1


def test_transaction_log_decoder_on_other_records_says_so(txn_data_dir: Path, cli: Run) -> None:
    status, out, _ = cli("dump-log", str(txn_data_dir / "orders-0"), "--transaction-log-decoder")
    records = [line for line in out.splitlines() if line.startswith("| ")]
    assert status == 0
    assert records[0].endswith(" key: Error at offset 0, skipping. __transaction_state record without a key version")
    assert records[3].endswith(" endTxnMarker: COMMIT coordinatorEpoch: 0")


def test_txnindex_entries_and_a_damaged_tail(txn_data_dir: Path, cli: Run, tmp_path: Path) -> None:
    index = txn_data_dir / "orders-0" / "00000000000000000000.txnindex"
    status, out, _ = cli("dump-log", str(index))
    assert status == 0
    producer_id = re.search(r"producerId: (\d+)", cli("dump-log", str(txn_data_dir / "orders-0"))[1])[1]
    entry = f"version: 0 producerId: {producer_id} firstOffset: 4 lastOffset: 6 lastStableOffset: 7"
    assert out.splitlines() == [f"Dumping {index}", entry]

    torn = tmp_path / index.name
    torn.write_bytes(index.read_bytes() + bytes(10))
    status, out, _ = cli("dump-log", str(torn))
    assert status == 0
    assert out.splitlines()[1:] == [entry, f"Found 10 invalid bytes at the end of {index.name}"]

    damaged = tmp_path / "00000000000000000005.txnindex"
    good = index.read_bytes()
    damaged.write_bytes(good + b"\x00\x07" + good[2:])
    status, out, _ = cli("dump-log", str(damaged))
    assert out.splitlines()[1:] == [
        entry,
        f"Found 34 invalid bytes at the end of {damaged.name}; entry at position 34: version 7 (only 0 is known)",
    ]


def test_control_records_that_are_not_markers_show_their_type(cli: Run, tmp_path: Path) -> None:
    leader_change = build_batch([(b"\x00\x00\x00\x02", b"\x00\x00")], control=True, base_timestamp=1)
    unknown = build_batch([(b"\x00\x00\x00\x2a", b"")], base_offset=1, control=True, base_timestamp=1)
    segment = tmp_path / "00000000000000000000.log"
    segment.write_bytes(leader_change + unknown)
    status, out, _ = cli("dump-log", str(segment), "--deep-iteration")
    records = [line for line in out.splitlines() if line.startswith("| ")]
    assert status == 0
    assert records[0].endswith(" headerKeys: [] controlType: LEADER_CHANGE(2)")
    assert records[1].endswith(" headerKeys: [] controlType: UNKNOWN(42)")


def test_transaction_log_decoder_on_tombstones_and_unknown_key_versions(cli: Run, tmp_path: Path) -> None:
    expired = txn_records.transaction_log_key("gone")
    segment = tmp_path / "00000000000000000000.log"
    segment.write_bytes(build_batch([(expired, None), (b"\x00\x05later", b"?")], base_timestamp=1))
    status, out, _ = cli("dump-log", str(segment), "--transaction-log-decoder")
    records = [line for line in out.splitlines() if line.startswith("| ")]
    assert status == 0
    assert records[0].endswith(" key: transaction_metadata::transactionalId=gone payload: <DELETE>")
    assert records[1].endswith(" headerKeys: [] key: unknown::version=5")


def test_a_compacted_segment_shows_its_gaps_and_delete_horizon(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "data"
    with BrokerThread(data_dir=path, memory=False) as broker:
        broker.create_topic("c", partitions=1, configs={"cleanup.policy": "compact"})
        for r in range(3):
            broker.produce_batch("c", [("k0", f"v{r}"), ("k1", f"v{r}")], partition=0)
        broker.produce("c", None, key="k0", partition=0)
        broker.compact("c")
    status, out, _ = cli("dump-log", str(path / "c-0" / "00000000000000000000.log"), "--print-data-log")
    assert status == 0
    batches = [line for line in out.splitlines() if line.startswith("baseOffset")]
    records = [line for line in out.splitlines() if line.startswith("| ")]
    # Offsets 0-3 and 4 (k0's v2) are gone; the batch of offsets 4-5 keeps both its offsets.
    assert [line.split(" count")[0] for line in batches] == [
        "baseOffset: 4 lastOffset: 5", "baseOffset: 6 lastOffset: 6"
    ]
    assert re.search(r"deleteHorizonMs: OptionalLong\[\d+\]", batches[1]), batches[1]
    assert "deleteHorizonMs: OptionalLong.empty" in batches[0]
    assert [re.search(r"offset: (\d+)", r)[1] for r in records] == ["5", "6"]
    assert records[1].endswith("key: k0 payload: null")
