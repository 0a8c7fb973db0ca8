"""``kafkalite produce TOPIC``: every line of stdin becomes a record, as kafka-console-producer.

    echo hello | kafkalite produce orders
    printf 'k1:v1\\nk2:v2\\n' | kafkalite produce orders --key-separator :
    kafkalite produce orders --header source=cli --print-offsets < lines.txt

Lines are read as bytes (the newline is dropped). Keys go where Kafka's default partitioner
puts them (murmur2, like the Java client); records without a key go to one partition per
batch, in turn. Records are sent in batches of up to ``--batch-size`` records, and a batch
is sent as soon as stdin has nothing more to read right away, so an interactive session or a
slow pipe sees each line go out at once. With ``acks`` 1 or all, every batch is acknowledged
before the next is sent; an error stops the tool with status 1.

Kafka's ``--property`` names work too: ``parse.key``, ``key.separator``, ``parse.headers``,
``headers.delimiter``, ``headers.separator``, ``headers.key.separator``, ``null.marker``.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from typing import Any, Iterator

from kafkalite.tools import Progress, add_connection_options, human_bytes, parser
from kafkalite.tools.client import Client, KafkaError, ToolError, check_topic
from kafkalite.tools.partitioner import partition_for_key

_ACKS = {"all": -1, "-1": -1, "1": 1, "0": 0}
_CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def build_parser() -> argparse.ArgumentParser:
    p = parser("produce", "Send each line of stdin as a record.")
    add_connection_options(p)
    p.add_argument("topic", nargs="?", help="the topic to write to")
    p.add_argument("--topic", dest="topic_option", help=argparse.SUPPRESS)
    p.add_argument("--key-separator", metavar="SEP",
                   help="lines are KEY<SEP>VALUE (a line without SEP has no key)")
    p.add_argument("--parse-headers", action="store_true",
                   help="lines start with headers: k1:v1,k2:v2<TAB> (see --property)")
    p.add_argument("--header", action="append", default=[], metavar="KEY=VALUE",
                   help="a header for every record (repeatable)")
    p.add_argument("--partition", type=int, help="write every record to this partition")
    p.add_argument("--acks", choices=sorted(_ACKS), default="all", help="acknowledgements to wait for (default all)")
    p.add_argument("--compression", choices=sorted(_CODECS), default="none")
    p.add_argument("--batch-size", type=int, default=1000, metavar="RECORDS", help="records per batch (default 1000)")
    p.add_argument("--null-marker", metavar="TEXT", help="a value (or key) equal to TEXT is sent as null")
    p.add_argument("--property", action="append", default=[], metavar="NAME=VALUE",
                   help="kafka-console-producer property (parse.key, key.separator, parse.headers, ...)")
    p.add_argument("--input", metavar="FILE", help="read FILE instead of stdin")
    p.add_argument("--print-offsets", action="store_true", help="print TOPIC-PARTITION@OFFSET of every record")
    return p


class LineFormat:
    """How a line splits into headers, key and value."""

    def __init__(self, args: argparse.Namespace) -> None:
        props = {}
        for item in args.property:
            name, sep, value = item.partition("=")
            if not sep:
                raise ToolError(f"--property {item!r} is not NAME=VALUE")
            props[name.strip()] = value
        self.key_separator: bytes | None = None
        if args.key_separator is not None:
            self.key_separator = _unescape(args.key_separator)
        elif props.get("parse.key", "false").lower() == "true":
            self.key_separator = _unescape(props.get("key.separator", "\t"))
        self.parse_headers = args.parse_headers or props.get("parse.headers", "false").lower() == "true"
        self.headers_delimiter = _unescape(props.get("headers.delimiter", "\t"))
        self.headers_separator = _unescape(props.get("headers.separator", ","))
        self.headers_key_separator = _unescape(props.get("headers.key.separator", ":"))
        marker = args.null_marker if args.null_marker is not None else props.get("null.marker")
        self.null_marker = None if marker is None else _unescape(marker)
        self.static_headers: list[tuple[str, bytes | None]] = []
        for item in args.header:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ToolError(f"--header {item!r} is not KEY=VALUE")
            self.static_headers.append((key, value.encode()))
        for key in props:
            if key not in _KNOWN_PROPERTIES:
                raise ToolError(f"unknown --property {key} (known: {', '.join(sorted(_KNOWN_PROPERTIES))})")

    def split(self, line: bytes) -> tuple[list[tuple[str, bytes | None]], bytes | None, bytes | None]:
        headers = list(self.static_headers)
        if self.parse_headers:
            head, sep, line = line.partition(self.headers_delimiter)
            if not sep:
                raise ToolError(f"line {line[:40]!r} has no headers delimiter {self.headers_delimiter!r}")
            if head:
                for item in head.split(self.headers_separator):
                    k, sep, v = item.partition(self.headers_key_separator)
                    headers.append((k.decode("utf-8", "replace"), self._nullable(v) if sep else None))
        key = None
        if self.key_separator is not None:
            k, sep, rest = line.partition(self.key_separator)
            if sep:
                key, line = self._nullable(k), rest
        return headers, key, self._nullable(line)

    def _nullable(self, value: bytes) -> bytes | None:
        return None if self.null_marker is not None and value == self.null_marker else value


_KNOWN_PROPERTIES = frozenset({
    "parse.key", "key.separator", "parse.headers", "headers.delimiter", "headers.separator",
    "headers.key.separator", "null.marker", "ignore.error",
})


def _unescape(text: str) -> bytes:
    return text.encode().decode("unicode_escape").encode("latin-1")


class Producer:
    """Batches records per partition and sends them to the partition leaders."""

    def __init__(self, client: Client, topic: str, args: argparse.Namespace) -> None:
        self.client = client
        self.topic = topic
        self.acks = _ACKS[args.acks]
        self.compression = _CODECS[args.compression]
        self.batch_size = max(1, args.batch_size)
        self.fixed_partition = args.partition
        self.print_offsets = args.print_offsets
        self.timeout_ms = int(args.timeout * 1000)
        self.partitions = client.partitions(topic)
        if self.fixed_partition is not None and self.fixed_partition not in self.partitions:
            raise ToolError(f"topic {topic} has no partition {self.fixed_partition}")
        self.pending: dict[int, list[Any]] = {}
        self.pending_count = 0
        self.next_unkeyed = 0
        self.sent = 0
        self.bytes = 0

    def add(self, headers: list[tuple[str, bytes | None]], key: bytes | None, value: bytes | None) -> None:
        from kafkalite.wire.records import NewRecord

        if self.fixed_partition is not None:
            partition = self.fixed_partition
        elif key is not None:
            partition = self.partitions[partition_for_key(key, len(self.partitions))]
        else:
            partition = self.partitions[self.next_unkeyed % len(self.partitions)]
        self.pending.setdefault(partition, []).append(NewRecord(key, value, tuple(headers)))
        self.pending_count += 1
        self.bytes += len(value or b"") + len(key or b"")
        if len(self.pending[partition]) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Send every pending batch (one Produce per leader) and wait for the answers."""
        if not self.pending:
            return
        from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
        from kafkalite.wire.records import build_batch

        by_leader: dict[int, list[tuple[int, list[Any]]]] = {}
        for partition, records in self.pending.items():
            by_leader.setdefault(self.client.leader(self.topic, partition), []).append((partition, records))
        self.pending = {}
        self.pending_count = 0
        self.next_unkeyed += 1  # the next unkeyed batch goes to the next partition
        for leader, batches in by_leader.items():
            request = ProduceRequest(
                acks=self.acks,
                timeout_ms=self.timeout_ms,
                topic_data=[TopicProduceData(name=self.topic, partition_data=[
                    PartitionProduceData(index=p, records=build_batch(records, compression=self.compression))
                    for p, records in batches
                ])],
            )
            connection = self.client.connection(leader)
            if self.acks == 0:
                connection.send(request, connection.version_for(0))
                self.sent += sum(len(r) for _p, r in batches)
                continue
            response = connection.request(request)
            counts = dict((p, len(r)) for p, r in batches)
            for t in response.responses:
                for p in t.partition_responses:
                    if p.error_code:
                        raise KafkaError(p.error_code, f"producing to {self.topic}-{p.index}", p.error_message)
                    self.sent += counts[p.index]
                    if self.print_offsets:
                        for i in range(counts[p.index]):
                            print(f"{self.topic}-{p.index}@{p.base_offset + i}")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    topic = args.topic or args.topic_option
    if not topic:
        raise ToolError("name the topic to produce to")
    fmt = LineFormat(args)
    try:
        fd = os.open(args.input, os.O_RDONLY) if args.input else sys.stdin.fileno()
    except OSError as exc:
        raise ToolError(f"cannot read {args.input}: {exc.strerror}") from None
    reader = LineReader(fd)
    try:
        with Client(args.bootstrap_server, timeout=args.timeout) as client:
            _ensure_topic(client, topic)
            producer = Producer(client, topic, args)
            interactive = os.isatty(fd)
            started = time.monotonic()
            progress = Progress(
                lambda: f"produced {producer.sent:,} records ({human_bytes(producer.bytes)}) to {topic}, "
                f"{producer.sent / max(time.monotonic() - started, 1e-6):,.0f} records/s",
                enabled=False if interactive else None,
            )
            for raw in reader:
                headers, key, value = fmt.split(raw)
                producer.add(headers, key, value)
                if interactive or not reader.more_ready():
                    producer.flush()
                progress.tick()
            producer.flush()
            progress.done()
    finally:
        if args.input:
            os.close(fd)
    return 0


def _ensure_topic(client: Client, topic: str) -> None:
    """Look the topic up, letting the broker create it if it auto-creates topics."""
    response = client.metadata([topic], allow_auto_topic_creation=True)
    for t in response.topics:
        if t.name == topic and t.error_code == 5:  # LEADER_NOT_AVAILABLE: being created
            time.sleep(0.05)
    check_topic(client.metadata([topic]), topic)


class LineReader:
    """Lines of a file descriptor (without their newline), read in 64 KiB chunks.

    `more_ready` says whether the next line can be had without waiting, which decides when
    a partial batch is sent.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.pos = 0
        self.eof = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            nl = self.buf.find(b"\n", self.pos)
            if nl >= 0:
                line = self.buf[self.pos : nl]
                self.pos = nl + 1
                yield line[:-1] if line.endswith(b"\r") else line
                continue
            if self.eof:
                if self.pos < len(self.buf):
                    line = self.buf[self.pos :]
                    self.pos = len(self.buf)
                    yield line
                return
            data = os.read(self.fd, 1 << 16)
            if data:
                self.buf = self.buf[self.pos :] + data
                self.pos = 0
            else:
                self.eof = True

    def more_ready(self) -> bool:
        if self.buf.find(b"\n", self.pos) >= 0:
            return True
        if self.eof:
            return False
        try:
            ready, _, _ = select.select([self.fd], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(ready)
