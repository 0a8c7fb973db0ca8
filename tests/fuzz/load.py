"""Load against a broker, shared by tests/fuzz/test_load.py (short) and bench/load.py (long).

`many_connections` opens N connections at once, each sending a few requests, holds them all
open together, and checks every answer. `steady_traffic` produces numbered records at a
steady pace on one connection and fetches them on another, checking that every acknowledged
record is read back once, in order. `churn` opens and closes connections in a tight loop
(some idle, some with a request, some with half a frame). `count_tasks` and `open_fds` give
what must come back to its level afterwards. The client side is trio with kafkalite's codec.
"""

from __future__ import annotations

import os
import struct
import time
from typing import Any

import attrs
import trio

from kafkalite.wire.batch import iter_batches
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.records import build_batch, decode_records

from tests.fuzz.wire import decode_response, frame, request_body

_SIZE = struct.Struct(">i")


class WireStream:
    """One client connection over trio."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.correlation_id = 0

    @classmethod
    async def open(cls, bootstrap: str) -> WireStream:
        host, _, port = bootstrap.rpartition(":")
        return cls(await trio.open_tcp_stream(host, int(port)))

    async def request(self, body: Any, version: int) -> Any:
        self.correlation_id += 1
        await self.stream.send_all(frame(request_body(body, version, self.correlation_id)))
        answer = await self.read_frame()
        if answer is None:
            raise ConnectionError("closed instead of answering")
        return decode_response(answer, type(body), version, self.correlation_id)

    async def read_frame(self) -> bytes | None:
        while True:
            if len(self.buffer) >= 4:
                size = _SIZE.unpack_from(self.buffer)[0]
                if len(self.buffer) >= 4 + size:
                    body = bytes(self.buffer[4 : 4 + size])
                    del self.buffer[: 4 + size]
                    return body
            data = await self.stream.receive_some(65536)
            if not data:
                return None
            self.buffer += data

    async def aclose(self) -> None:
        await self.stream.aclose()


@attrs.define
class ManyResult:
    connections: int
    answered: int = 0
    failed: list[str] = attrs.Factory(list)
    seconds: float = 0.0


async def many_connections(bootstrap: str, count: int, requests_each: int = 3) -> ManyResult:
    """*count* connections open at the same time, each with *requests_each* requests
    (ApiVersions and Metadata in turn), then all closed."""
    result = ManyResult(count)
    all_open = trio.Event()
    opened = 0
    started = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal opened
        try:
            conn = await WireStream.open(bootstrap)
        except OSError as exc:
            result.failed.append(f"connection {i}: {exc!r}")
            opened += 1
            if opened == count:
                all_open.set()
            return
        try:
            opened += 1
            if opened == count:
                all_open.set()
            for n in range(requests_each):
                if n % 2:
                    response = await conn.request(MetadataRequest(topics=[MetadataRequestTopic(name="load")]), 9)
                    ok = response.topics[0].error_code == 0
                else:
                    ok = (await conn.request(ApiVersionsRequest(), 0)).error_code == 0
                if not ok:
                    result.failed.append(f"connection {i}: request {n} answered an error")
                    return
            result.answered += 1
            await all_open.wait()  # hold it open until every connection is open
        except (OSError, ConnectionError, trio.BrokenResourceError) as exc:
            result.failed.append(f"connection {i}: {exc!r}")
        finally:
            await conn.aclose()

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for i in range(count):
                nursery.start_soon(one, i)
    result.seconds = time.perf_counter() - started
    return result


@attrs.define
class TrafficResult:
    produced: int = 0
    consumed: int = 0
    errors: list[str] = attrs.Factory(list)


async def steady_traffic(bootstrap: str, stop: trio.Event, result: TrafficResult, per_second: int = 200) -> None:
    """Produce numbered records at *per_second* until *stop*, fetch them on another
    connection, and check each acknowledged record is read once, in order."""
    producer = await WireStream.open(bootstrap)
    consumer = await WireStream.open(bootstrap)
    produced_all = trio.Event()

    async def produce() -> None:
        batch_size = 10
        try:
            while not stop.is_set():
                records = [(None, b"%d" % (result.produced + i)) for i in range(batch_size)]
                request = ProduceRequest(acks=-1, timeout_ms=5000, topic_data=[TopicProduceData(
                    name="load", partition_data=[PartitionProduceData(index=0, records=build_batch(records))])])
                response = await producer.request(request, 9)
                code = response.responses[0].partition_responses[0].error_code
                if code:
                    result.errors.append(f"produce answered error {code}")
                    return
                result.produced += batch_size
                await trio.sleep(batch_size / per_second)
        finally:
            produced_all.set()

    async def consume() -> None:
        offset = 0
        while not (produced_all.is_set() and result.consumed >= result.produced):
            request = FetchRequest(max_wait_ms=100, min_bytes=1, max_bytes=1 << 20, topics=[FetchTopic(
                topic="load", partitions=[FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=1 << 20)])])
            response = await consumer.request(request, 11)
            part = response.responses[0].partitions[0]
            if part.error_code:
                result.errors.append(f"fetch answered error {part.error_code}")
                return
            records = part.records or b""
            for pos, header in iter_batches(records):
                for record in decode_records(records, pos):
                    number = header.base_offset + record.offset_delta
                    if number < offset:
                        continue
                    if record.value != b"%d" % number:
                        result.errors.append(f"offset {number} holds {record.value!r}")
                        return
                    result.consumed += 1
                    offset = number + 1

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            nursery.start_soon(consume)
    finally:
        await producer.aclose()
        await consumer.aclose()


async def churn(bootstrap: str, seconds: float) -> int:
    """Open and close connections in a tight loop for *seconds*; return how many."""
    host, _, port = bootstrap.rpartition(":")
    count = 0
    deadline = trio.current_time() + seconds
    while trio.current_time() < deadline:
        stream = await trio.open_tcp_stream(host, int(port))
        kind = count % 3
        try:
            if kind == 1:  # a request, answered
                conn = WireStream(stream)
                await conn.request(ApiVersionsRequest(), 0)
            elif kind == 2:  # half a frame, then gone
                await stream.send_all(frame(request_body(ApiVersionsRequest(), 0))[:7])
        finally:
            await stream.aclose()
        count += 1
    return count


def count_tasks() -> int:
    """Tasks of the calling trio run (call it in the broker's thread)."""
    def walk(task: Any) -> int:
        return 1 + sum(walk(child) for nursery in task.child_nurseries for child in nursery.child_tasks)

    return walk(trio.lowlevel.current_root_task())


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def settle(condition: Any, timeout: float = 10.0) -> bool:
    """Poll *condition* until true, outside trio (a trio run holds file descriptors of its
    own): the broker notices closes a moment later."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
