"""``kafkalite consume TOPIC``: print records as lines, as kafka-console-consumer does.

    kafkalite consume orders --from-beginning --exit-at-end
    kafkalite consume orders --partition 0 --offset 42 --max-messages 10 --print-offset
    kafkalite consume orders --from-timestamp 2024-05-01T12:00:00 --print-key --print-headers
    kafkalite consume orders --group audit --from-beginning --max-messages 100

Without ``--from-beginning`` / ``--offset`` / ``--from-timestamp`` it starts at the end and
prints what arrives. It stops after ``--max-messages``, after ``--timeout-ms`` without a
record, at the end of every partition with ``--exit-at-end``, or on Ctrl-C; then it prints
``Processed a total of N messages`` on stderr, as Kafka's consumer does.

``--group G`` starts from G's committed offsets (where there are some) and commits what it
printed when it stops, without joining the group (like a client that uses assign() and
commits): ``kafkalite groups describe G`` then shows the lag.

Values (and keys) are printed as UTF-8, invalid bytes escaped; a null one prints as
``null``. Kafka's ``--property`` names work too: ``print.key``, ``print.value``,
``print.offset``, ``print.partition``, ``print.timestamp``, ``print.headers``,
``key.separator``, ``line.separator``, ``headers.separator``, ``null.literal``.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from typing import Any, Iterator

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, KafkaError, ToolError

LATEST, EARLIEST = -1, -2


def build_parser() -> argparse.ArgumentParser:
    p = parser("consume", "Print the records of a topic, one per line.")
    add_connection_options(p)
    p.add_argument("topic", nargs="?")
    p.add_argument("--topic", dest="topic_option", help=argparse.SUPPRESS)
    p.add_argument("--partition", type=int, action="append", default=[], help="read only this partition (repeatable)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--from-beginning", action="store_true", help="start at the earliest record")
    start.add_argument("--offset", help="start offset: a number, earliest or latest")
    start.add_argument("--from-timestamp", metavar="TIME",
                       help="start at the first record at or after TIME (ms since the epoch, or ISO 8601)")
    p.add_argument("--max-messages", type=int, help="stop after this many records")
    p.add_argument("--timeout-ms", type=int, help="stop when no record arrives for this long")
    p.add_argument("-e", "--exit-at-end", action="store_true", help="stop at the end of every partition")
    p.add_argument("--group", help="start from (and commit to) this group's offsets, without joining it")
    p.add_argument("--print-key", action="store_true")
    p.add_argument("--print-offset", action="store_true")
    p.add_argument("--print-partition", action="store_true")
    p.add_argument("--print-timestamp", action="store_true")
    p.add_argument("--print-headers", action="store_true")
    p.add_argument("--key-separator", default="\t", metavar="SEP", help="between the printed fields (default tab)")
    p.add_argument("--property", action="append", default=[], metavar="NAME=VALUE",
                   help="kafka-console-consumer property (print.key, print.offset, key.separator, ...)")
    return p


class Formatter:
    """One record -> one output line."""

    def __init__(self, args: argparse.Namespace) -> None:
        props: dict[str, str] = {}
        for item in args.property:
            name, sep, value = item.partition("=")
            if not sep:
                raise ToolError(f"--property {item!r} is not NAME=VALUE")
            props[name.strip()] = value

        def flag(name: str, given: bool) -> bool:
            return given or props.get(name, "false").lower() == "true"

        def text(name: str, default: str) -> str:
            return props.get(name, default).encode().decode("unicode_escape")

        self.print_timestamp = flag("print.timestamp", args.print_timestamp)
        self.print_partition = flag("print.partition", args.print_partition)
        self.print_offset = flag("print.offset", args.print_offset)
        self.print_headers = flag("print.headers", args.print_headers)
        self.print_key = flag("print.key", args.print_key)
        self.print_value = props.get("print.value", "true").lower() == "true"
        self.separator = text("key.separator", args.key_separator)
        self.line_separator = text("line.separator", "\n")
        self.headers_separator = text("headers.separator", ",")
        self.null = props.get("null.literal", "null")

    def line(self, partition: int, offset: int, timestamp: int, timestamp_type: int, record: Any) -> str:
        fields = []
        if self.print_timestamp:
            fields.append(f"{'LogAppendTime' if timestamp_type else 'CreateTime'}:{timestamp}")
        if self.print_partition:
            fields.append(f"Partition:{partition}")
        if self.print_offset:
            fields.append(f"Offset:{offset}")
        if self.print_headers:
            headers = self.headers_separator.join(f"{k}:{self._text(v)}" for k, v in record.headers)
            fields.append(headers or "NO_HEADERS")
        if self.print_key:
            fields.append(self._text(record.key))
        if self.print_value:
            fields.append(self._text(record.value))
        return self.separator.join(fields) + self.line_separator

    def _text(self, value: bytes | None) -> str:
        if value is None:
            return self.null
        return value.decode("utf-8", "backslashreplace")


def parse_time(text: str) -> int:
    """Milliseconds since the epoch from a number or an ISO 8601 time (local time if naive)."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ToolError(f"--from-timestamp {text!r} is neither milliseconds nor an ISO 8601 time") from None
    return int(moment.timestamp() * 1000)


class Consumer:
    """Fetches from the partition leaders, partition by partition offset."""

    def __init__(self, client: Client, topic: str, partitions: list[int], offsets: dict[int, int]) -> None:
        self.client = client
        self.topic = topic
        self.partitions = partitions
        self.offsets = dict(offsets)  # next offset to read, per partition
        self.high_watermarks: dict[int, int] = {}

    def at_end(self) -> bool:
        return all(
            p in self.high_watermarks and self.offsets[p] >= self.high_watermarks[p] for p in self.partitions
        )

    def poll(self, max_wait_ms: int) -> Iterator[tuple[int, int, int, int, Any]]:
        """One Fetch per leader; yield (partition, offset, timestamp, timestamp type, record)."""
        from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
        from kafkalite.wire.primitives import DecodeError
        from kafkalite.wire.batch import iter_batches
        from kafkalite.wire.records import decode_records, record_timestamp

        by_leader: dict[int, list[int]] = {}
        for p in self.partitions:
            by_leader.setdefault(self.client.leader(self.topic, p), []).append(p)
        # With several leaders, only the first request long-polls, so that one Fetch cycle
        # never waits more than max_wait_ms.
        for i, (leader, indexes) in enumerate(sorted(by_leader.items())):
            request = FetchRequest(
                replica_id=-1,
                max_wait_ms=max_wait_ms if i == 0 else 0,
                min_bytes=1,
                max_bytes=16 * 1024 * 1024,
                isolation_level=0,
                session_id=0,
                session_epoch=-1,
                topics=[FetchTopic(topic=self.topic, partitions=[
                    FetchPartition(partition=p, fetch_offset=self.offsets[p], partition_max_bytes=4 * 1024 * 1024)
                    for p in indexes
                ])],
            )
            connection = self.client.connection(leader)
            response = connection.request(request, timeout=self.client.timeout + max_wait_ms / 1000)
            if response.error_code:
                raise KafkaError(response.error_code, "Fetch")
            for t in response.responses:
                for pd in t.partitions:
                    p = pd.partition_index
                    if pd.error_code == 1:  # OFFSET_OUT_OF_RANGE: say what the range is
                        # The Fetch answers no offsets with this error (-1, as Kafka): ask.
                        start = self.client.list_offsets(self.topic, [p], -2)[p]
                        end = self.client.list_offsets(self.topic, [p], -1)[p]
                        raise KafkaError(
                            pd.error_code,
                            f"fetching {self.topic}-{p}",
                            f"offset {self.offsets[p]} is not within the partition's offsets "
                            f"{start}..{end} (log start to log end)",
                        )
                    if pd.error_code:
                        raise KafkaError(pd.error_code, f"fetching {self.topic}-{p} at offset {self.offsets[p]}")
                    self.high_watermarks[p] = pd.high_watermark
                    data = pd.records or b""
                    for pos, header in iter_batches(data):
                        if header.is_control or header.last_offset < self.offsets[p]:
                            continue
                        try:
                            records = decode_records(data, pos)
                        except DecodeError as exc:
                            raise ToolError(
                                f"{self.topic}-{p}: cannot read the batch at offset {header.base_offset}: {exc}"
                            ) from None
                        for record in records:
                            offset = header.base_offset + record.offset_delta
                            if offset < self.offsets[p]:
                                continue
                            self.offsets[p] = offset + 1
                            yield p, offset, record_timestamp(header, record), header.timestamp_type, record
                        self.offsets[p] = max(self.offsets[p], header.next_offset)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    topic = args.topic or args.topic_option
    if not topic:
        raise ToolError("name the topic to consume")
    fmt = Formatter(args)
    out = sys.stdout
    count = 0
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        available = client.partitions(topic)
        partitions = args.partition or available
        for p in partitions:
            if p not in available:
                raise ToolError(f"topic {topic} has no partition {p} (it has {len(available)})")
        offsets = _start_offsets(client, topic, partitions, args)
        consumer = Consumer(client, topic, partitions, offsets)
        idle_since = time.monotonic()
        try:
            while True:
                if args.max_messages is not None and count >= args.max_messages:
                    break
                wait_ms = 500
                if args.timeout_ms is not None:
                    left = args.timeout_ms - (time.monotonic() - idle_since) * 1000
                    if left <= 0:
                        break
                    wait_ms = int(min(wait_ms, max(left, 1)))
                got = False
                for p, offset, timestamp, ts_type, record in consumer.poll(wait_ms):
                    out.write(fmt.line(p, offset, timestamp, ts_type, record))
                    count += 1
                    got = True
                    if args.max_messages is not None and count >= args.max_messages:
                        consumer.offsets[p] = offset + 1
                        break
                out.flush()
                if got:
                    idle_since = time.monotonic()
                if args.exit_at_end and consumer.at_end():
                    break
        except KeyboardInterrupt:
            print(file=sys.stderr)  # Ctrl-C ends the consumer normally, after the ^C
        finally:
            if args.group:
                _commit(client, args.group, topic, consumer.offsets)
    print(f"Processed a total of {count} messages", file=sys.stderr)
    return 0


def _start_offsets(client: Client, topic: str, partitions: list[int], args: argparse.Namespace) -> dict[int, int]:
    if args.offset is not None:
        if args.offset in ("earliest", "latest"):
            return client.list_offsets(topic, partitions, EARLIEST if args.offset == "earliest" else LATEST)
        try:
            wanted = int(args.offset)
        except ValueError:
            raise ToolError(f"--offset {args.offset!r} is not a number, earliest or latest") from None
        return {p: wanted for p in partitions}
    if args.from_timestamp is not None:
        found = client.list_offsets(topic, partitions, parse_time(args.from_timestamp))
        latest = client.list_offsets(topic, partitions, LATEST)
        return {p: found[p] if found[p] >= 0 else latest[p] for p in partitions}
    default = client.list_offsets(topic, partitions, EARLIEST if args.from_beginning else LATEST)
    if args.group:
        committed = _committed(client, args.group, topic, partitions)
        return {p: committed.get(p, default[p]) for p in partitions}
    return default


def _committed(client: Client, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
    from kafkalite.wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchRequestTopic

    connection = client.coordinator(group)
    response = connection.request(
        OffsetFetchRequest(group_id=group, topics=[OffsetFetchRequestTopic(name=topic, partition_indexes=partitions)])
    )
    if response.error_code:
        raise KafkaError(response.error_code, f"OffsetFetch for group {group}")
    return {
        p.partition_index: p.committed_offset
        for t in response.topics
        for p in t.partitions
        if t.name == topic and p.error_code == 0 and p.committed_offset >= 0
    }


def _commit(client: Client, group: str, topic: str, offsets: dict[int, int]) -> None:
    from kafkalite.wire.messages.offset_commit import (
        OffsetCommitRequest,
        OffsetCommitRequestPartition,
        OffsetCommitRequestTopic,
    )

    request = OffsetCommitRequest(
        group_id=group,
        generation_id_or_member_epoch=-1,
        member_id="",
        topics=[OffsetCommitRequestTopic(name=topic, partitions=[
            OffsetCommitRequestPartition(partition_index=p, committed_offset=o, committed_metadata="")
            for p, o in sorted(offsets.items())
        ])],
    )
    response = client.coordinator(group).request(request)
    for t in response.topics:
        for p in t.partitions:
            if p.error_code:
                raise KafkaError(p.error_code, f"committing {topic}-{p.partition_index} for group {group}")
