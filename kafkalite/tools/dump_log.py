"""``kafkalite dump-log``: print the batches and records of segment files, as kafka-dump-log.

    kafkalite dump-log kafkalite-data/orders-0/00000000000000000000.log --print-data-log
    kafkalite dump-log kafkalite-data/orders-0                  # every segment of a partition
    kafkalite dump-log --data-dir kafkalite-data --topic orders  # every partition of a topic
    kafkalite dump-log kafkalite-data/__consumer_offsets-12 --offsets-decoder
    kafkalite dump-log kafkalite-data/__transaction_state-7 --transaction-log-decoder
    kafkalite dump-log kafkalite-data/controller-3000/__cluster_metadata-0 --cluster-metadata-decoder
    kafkalite dump-log kafkalite-data/orders-0/00000000000000000000.index
    kafkalite dump-log kafkalite-data/orders-0/00000000000000000000.txnindex

A ``.log`` prints one line per batch, in kafka-dump-log's words (baseOffset, lastOffset,
count, baseSequence, producerId, ..., position, CreateTime, size, compresscodec, crc,
isvalid); with ``--print-data-log`` (or ``--deep-iteration``) one ``| offset: ...`` line per
record follows, with the key and payload. The records of a control batch (a transaction
marker) show its type and coordinator epoch instead (``endTxnMarker: COMMIT coordinatorEpoch:
0``). ``--offsets-decoder`` shows the records of ``__consumer_offsets`` decoded: committed
offsets and group metadata; ``--transaction-log-decoder`` those of ``__transaction_state``,
as kafka-dump-log prints them (``key: transaction_metadata::transactionalId=ID payload:
producerId:..,producerEpoch:..,state=Ongoing,partitions=[t-0],...``);
``--cluster-metadata-decoder`` those of ``__cluster_metadata`` (``payload:
{"type":"TOPIC_RECORD","version":0,"data":{...}}``, and an election's ``LeaderChange: {...}``). An ``.index`` prints
``offset: N position: P`` entries, a ``.timeindex`` ``timestamp: T offset: N``, and a
``.txnindex`` (the aborted transactions of a segment) ``version: 0 producerId: P
firstOffset: F lastOffset: L lastStableOffset: S``.

The files are only read (memory-mapped), so a running broker's data dir can be dumped;
bytes after the last whole batch (an append in progress, or a torn write that recovery will
cut) are reported, not an error; so are the bytes of a ``.txnindex`` from its first torn or
damaged entry on (the broker rebuilds those entries from the markers at start). A large file shows its progress on stderr when stderr is a
terminal and the dump is not printed to that same terminal.
"""

from __future__ import annotations

import argparse
import json
import mmap
import struct
import sys
from pathlib import Path
from typing import Any, Iterator

from kafkalite.tools import Progress, human_bytes, parser
from kafkalite.tools.client import ToolError

_CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_INDEX_SUFFIXES = {".log": 0, ".index": 1, ".timeindex": 2, ".txnindex": 3}
#: Kafka's ControlRecordType ids, for control records that are not transaction markers.
_CONTROL_TYPES = {2: "LEADER_CHANGE", 3: "SNAPSHOT_HEADER", 4: "SNAPSHOT_FOOTER", 5: "KRAFT_VERSION", 6: "KRAFT_VOTERS"}


def build_parser() -> argparse.ArgumentParser:
    p = parser("dump-log", "Print the batches and records of segment files.")
    p.add_argument("files", nargs="*", metavar="PATH",
                   help=".log / .index / .timeindex / .txnindex files or partition dirs")
    p.add_argument("--files", dest="files_option", help=argparse.SUPPRESS)
    p.add_argument("--data-dir", help="a kafkalite (or Kafka) data dir, with --topic")
    p.add_argument("--topic", help="dump every partition of this topic (with --data-dir)")
    p.add_argument("--partition", type=int, help="only this partition (with --topic)")
    p.add_argument("--print-data-log", action="store_true", help="print every record with its key and payload")
    p.add_argument("--deep-iteration", action="store_true", help="print every record (without data)")
    decoders = p.add_mutually_exclusive_group()
    decoders.add_argument("--offsets-decoder", action="store_true", help="decode __consumer_offsets records")
    decoders.add_argument("--transaction-log-decoder", action="store_true",
                          help="decode __transaction_state records (transaction metadata)")
    decoders.add_argument("--cluster-metadata-decoder", action="store_true",
                          help="decode __cluster_metadata records (the controller quorum's metadata log)")
    p.add_argument("--max-bytes", type=int, default=0, help="stop after this many bytes of each file")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    paths = [Path(f) for f in args.files]
    if args.files_option:
        paths += [Path(f) for f in args.files_option.split(",")]
    if args.topic:
        if not args.data_dir:
            raise ToolError("--topic needs --data-dir")
        paths += _topic_dirs(Path(args.data_dir), args.topic, args.partition)
    elif args.data_dir and not paths:
        raise ToolError("--data-dir needs --topic (or give segment files or partition dirs)")
    if not paths:
        raise ToolError("give a segment file, a partition dir, or --data-dir with --topic")
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in _INDEX_SUFFIXES)
            found.sort(key=lambda p: (p.stem, _INDEX_SUFFIXES[p.suffix]))
            files += [p for p in found if p.suffix == ".log"] or found
        elif path.exists():
            files.append(path)
        else:
            raise ToolError(f"{path} does not exist")
    decoder = (
        "offsets" if args.offsets_decoder else "transactions" if args.transaction_log_decoder
        else "metadata" if args.cluster_metadata_decoder else None
    )
    records = args.print_data_log or args.deep_iteration or decoder is not None
    out = sys.stdout
    for path in files:
        out.write(f"Dumping {path}\n")
        if path.suffix == ".index":
            _dump_index(path, out)
        elif path.suffix == ".timeindex":
            _dump_time_index(path, out)
        elif path.suffix == ".txnindex":
            _dump_txn_index(path, out)
        else:
            _dump_log(path, out, records=records, data=args.print_data_log or decoder is not None,
                      decoder=decoder, max_bytes=args.max_bytes)
    return 0


def _topic_dirs(data_dir: Path, topic: str, partition: int | None) -> list[Path]:
    if not data_dir.is_dir():
        raise ToolError(f"{data_dir} is not a directory")
    found = []
    for child in data_dir.iterdir():
        name, _, index = child.name.rpartition("-")
        if child.is_dir() and name == topic and index.isdigit() and (partition is None or int(index) == partition):
            found.append((int(index), child))
    if not found:
        which = f"{topic}-{partition}" if partition is not None else f"{topic}-*"
        raise ToolError(f"no partition folder {which} in {data_dir}")
    return [path for _index, path in sorted(found)]


def _mapped(path: Path) -> tuple[Any, int]:
    size = path.stat().st_size
    if size == 0:
        return b"", 0
    with open(path, "rb") as fh:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), size


def _dump_log(path: Path, out: Any, *, records: bool, data: bool, decoder: str | None, max_bytes: int) -> None:
    from kafkalite.wire.batch import (
        LOG_OVERHEAD,
        MIN_BATCH_LENGTH,
        CorruptBatchError,
        UnsupportedMagicError,
        batch_crc_ok,
        parse_batch_header,
    )
    from kafkalite.wire.records import decode_records

    buf, size = _mapped(path)
    end = min(size, max_bytes) if max_bytes else size
    try:
        base = int(path.stem) if path.stem.isdigit() else 0
    except ValueError:
        base = 0
    out.write(f"Log starting offset: {base}\n")
    position = 0
    progress = Progress(
        lambda: f"{path.name}: {human_bytes(position)} of {human_bytes(end)} ({100 * position / max(end, 1):.0f}%)",
        enabled=_progress_wanted(out),
    )
    try:
        while end - position >= LOG_OVERHEAD:
            batch_length = struct.unpack_from(">i", buf, position + 8)[0]
            if batch_length < MIN_BATCH_LENGTH or position + batch_length + LOG_OVERHEAD > end:
                break
            try:
                h = parse_batch_header(buf, position)
            except (CorruptBatchError, UnsupportedMagicError) as exc:
                out.write(f"Found a bad batch at position {position}: {exc}\n")
                return
            valid = batch_crc_ok(buf, position, h)
            delete_horizon = (
                f"OptionalLong[{h.base_timestamp}]" if h.attributes & 0x40 else "OptionalLong.empty"
            )
            last_sequence = h.base_sequence + h.last_offset_delta if h.base_sequence >= 0 else -1
            ts_name = "LogAppendTime" if h.timestamp_type else "CreateTime"
            out.write(
                f"baseOffset: {h.base_offset} lastOffset: {h.last_offset} count: {h.records_count} "
                f"baseSequence: {h.base_sequence} lastSequence: {last_sequence} producerId: {h.producer_id} "
                f"producerEpoch: {h.producer_epoch} partitionLeaderEpoch: {h.partition_leader_epoch} "
                f"isTransactional: {_bool(h.is_transactional)} isControl: {_bool(h.is_control)} "
                f"deleteHorizonMs: {delete_horizon} position: {position} {ts_name}: {h.max_timestamp} "
                f"size: {h.size} magic: {h.magic} compresscodec: {_CODECS.get(h.compression, h.compression)} "
                f"crc: {h.crc} isvalid: {_bool(valid)}\n"
            )
            if records:
                for line in _record_lines(buf, position, h, data=data, decoder=decoder,
                                          decode_records=decode_records):
                    out.write(line)
            position += h.size
            progress.tick()
    finally:
        progress.done()
        if isinstance(buf, mmap.mmap):
            buf.close()
    if position < end:
        out.write(f"Found {end - position} invalid bytes at the end of {path.name}\n")


def _record_lines(buf: Any, position: int, h: Any, *, data: bool, decoder: str | None, decode_records: Any) -> Iterator[str]:
    from kafkalite.wire.records import record_timestamp

    try:
        records = decode_records(buf, position)
    except Exception as exc:  # noqa: BLE001 - show what cannot be decoded, keep going
        yield f"| cannot decode the records of this batch: {exc}\n"
        return
    ts_name = "LogAppendTime" if h.timestamp_type else "CreateTime"
    for r in records:
        sequence = h.base_sequence + r.offset_delta if h.base_sequence >= 0 else -1
        line = (
            f"| offset: {h.base_offset + r.offset_delta} {ts_name}: {record_timestamp(h, r)} "
            f"keySize: {-1 if r.key is None else len(r.key)} valueSize: {-1 if r.value is None else len(r.value)} "
            f"sequence: {sequence} headerKeys: [{','.join(k for k, _v in r.headers)}]"
        )
        if h.is_control and decoder == "metadata":
            line += _leader_change_text(r)
        elif h.is_control:
            line += _control_text(r)
        elif decoder == "metadata":
            line += _metadata_text(r.value)
        elif decoder == "offsets":
            line += _offsets_text(r.key, r.value)
        elif decoder == "transactions":
            line += _transaction_log_text(r.key, r.value, h.base_offset + r.offset_delta)
        elif data:
            if r.key is not None:
                line += f" key: {_text(r.key)}"
            line += f" payload: {_text(r.value)}"
        yield line + "\n"


def _control_text(record: Any) -> str:
    """A transaction marker as kafka-dump-log shows it (``endTxnMarker: COMMIT
    coordinatorEpoch: 3``); another control record as ``controlType: NAME(id)``."""
    from kafkalite.wire.records import ControlRecordType, parse_control_record

    key = record.key
    type_id = struct.unpack_from(">h", key, 2)[0] if key is not None and len(key) >= 4 else None
    if type_id is not None and type_id not in tuple(ControlRecordType):
        return f" controlType: {_CONTROL_TYPES.get(type_id, 'UNKNOWN')}({type_id})"
    try:
        kind, coordinator_epoch = parse_control_record(record)
    except Exception as exc:  # noqa: BLE001 - show what cannot be decoded, keep going
        return f" endTxnMarker: (not decodable: {exc})"
    return f" endTxnMarker: {kind.name} coordinatorEpoch: {coordinator_epoch}"


def _camel(data: Any) -> Any:
    """Field names as Kafka's JSON shows them (leader_epoch -> leaderEpoch)."""
    if isinstance(data, dict):
        return {
            "".join(w.capitalize() if i else w for i, w in enumerate(k.split("_"))): _camel(v) for k, v in data.items()
        }
    if isinstance(data, list):
        return [_camel(v) for v in data]
    return data


def _metadata_text(value: bytes | None) -> str:
    """A ``__cluster_metadata`` record as kafka-dump-log's cluster metadata decoder prints it."""
    import re

    from kafkalite.wire.metadata_records import as_dict, decode_record

    try:
        record, version = decode_record(value or b"")
    except Exception as exc:  # noqa: BLE001 - show what cannot be decoded, keep going
        return f" payload: {_text(value)} (not decodable: {exc})"
    kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(record).__name__).upper()
    data = {"type": kind, "version": version, "data": _camel(as_dict(record))}
    return f" payload: {json.dumps(data, separators=(',', ':'))}"


def _leader_change_text(record: Any) -> str:
    from kafkalite.wire.metadata_records import as_dict, parse_leader_change

    try:
        message = parse_leader_change(record)
    except Exception as exc:  # noqa: BLE001
        return f" LeaderChange: (not decodable: {exc})"
    if message is None:
        return _control_text(record)
    data = _camel(as_dict(message))
    for voter in data["voters"] + data["grantingVoters"]:
        voter.pop("voterDirectoryId", None)
    return f" LeaderChange: {json.dumps(data, separators=(',', ':'))}"


def _transaction_log_text(key: bytes | None, value: bytes | None, offset: int) -> str:
    """A record of ``__transaction_state`` as kafka-dump-log's transaction log decoder
    prints it: `` key: transaction_metadata::transactionalId=ID payload: producerId:..``."""
    from kafkalite.transactions.records import format_record

    try:
        key_text, value_text = format_record(key, value)
    except Exception as exc:  # noqa: BLE001 - show what cannot be decoded, keep going
        return f" key: Error at offset {offset}, skipping. {exc}"
    return f" key: {key_text}" + ("" if value_text is None else f" payload: {value_text}")


def _offsets_text(key: bytes | None, value: bytes | None) -> str:
    from kafkalite.groups.records import GroupMetadataRecord, OffsetCommitRecord, parse_record
    from kafkalite.readable import to_data

    try:
        record = parse_record(key, value)
    except Exception as exc:  # noqa: BLE001
        return f" key: {_text(key)} payload: {_text(value)} (not decodable: {exc})"
    if isinstance(record, OffsetCommitRecord):
        k = {"type": "offset_commit", "group": record.group, "topic": record.topic, "partition": record.partition}
    elif isinstance(record, GroupMetadataRecord):
        k = {"type": "group_metadata", "group": record.group}
    else:
        return f" key: {_text(key)} payload: {_text(value)}"
    payload = None if record.value is None else to_data(record.value, None, api_key=11)
    return f" key: {json.dumps(k)} payload: {json.dumps(payload, default=str)}"


def _text(value: bytes | None) -> str:
    if value is None:
        return "null"
    return value.decode("utf-8", "backslashreplace")


def _bool(flag: bool) -> str:
    return "true" if flag else "false"


def _progress_wanted(out: Any) -> bool | None:
    """Progress only when stderr is a terminal the dump itself is not written to."""
    try:
        to_terminal = out.isatty()
    except (AttributeError, ValueError):
        to_terminal = False
    return False if to_terminal else None


def _dump_index(path: Path, out: Any) -> None:
    base = int(path.stem) if path.stem.isdigit() else 0
    buf, size = _mapped(path)
    try:
        for pos in range(0, size - size % _OFFSET_ENTRY.size, _OFFSET_ENTRY.size):
            relative, position = _OFFSET_ENTRY.unpack_from(buf, pos)
            if relative == 0 and position == 0 and pos > 0:
                break  # preallocated, unused space (Kafka's index files are sized in advance)
            out.write(f"offset: {base + relative} position: {position}\n")
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()


def _dump_time_index(path: Path, out: Any) -> None:
    base = int(path.stem) if path.stem.isdigit() else 0
    buf, size = _mapped(path)
    try:
        for pos in range(0, size - size % _TIME_ENTRY.size, _TIME_ENTRY.size):
            timestamp, relative = _TIME_ENTRY.unpack_from(buf, pos)
            if timestamp == 0 and relative == 0 and pos > 0:
                break
            out.write(f"timestamp: {timestamp} offset: {base + relative}\n")
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()


def _dump_txn_index(path: Path, out: Any) -> None:
    """The entries of an aborted transaction index, as kafka-dump-log prints them, then the
    bytes from the first torn or damaged entry on, if any."""
    from kafkalite.storage.txn_index import TXN_ENTRY_SIZE, TXN_INDEX_VERSION, decode_txn_index

    base = int(path.stem) if path.stem.isdigit() else 0
    data = path.read_bytes()
    entries, problem = decode_txn_index(data, base)
    for e in entries:
        out.write(
            f"version: {TXN_INDEX_VERSION} producerId: {e.producer_id} firstOffset: {e.first_offset} "
            f"lastOffset: {e.last_offset} lastStableOffset: {e.last_stable_offset}\n"
        )
    if problem is not None:
        bad = len(data) - len(entries) * TXN_ENTRY_SIZE
        # A torn last entry needs no more words; a damaged one says what is wrong with it.
        why = "" if bad < TXN_ENTRY_SIZE else f"; {problem}"
        out.write(f"Found {bad} invalid bytes at the end of {path.name}{why}\n")
