"""A broker attached to in-memory streams, and a tiny client that speaks our codec to it."""

from __future__ import annotations

import struct
from typing import Any, AsyncIterator

import pytest
import trio
import trio.testing

from kafkalite.broker.state import Broker
from kafkalite.broker.cluster import BrokerNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.server.connection import handle_connection
from kafkalite.server.dispatch import load_handlers
from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header
from kafkalite.wire.messages import all_apis
from kafkalite.wire.schema import decode, encode_into, is_flexible


def make_broker(**overrides: Any) -> Broker:
    load_handlers()
    config = BrokerConfig(memory=True, **overrides)
    broker = Broker.create(config)
    for i, node_id in enumerate(broker.cluster.node_ids):
        broker.cluster.set_node(BrokerNode(node_id, "localhost", 9092 + i))
    return broker


class Client:
    """Sends requests over one in-memory connection and decodes the responses."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.correlation_id = 0
        self.buffer = bytearray()

    async def send_raw(self, payload: bytes) -> None:
        await self.stream.send_all(struct.pack(">i", len(payload)) + payload)

    async def receive_frame(self) -> bytes | None:
        while True:
            if len(self.buffer) >= 4:
                size = struct.unpack_from(">i", self.buffer)[0]
                if len(self.buffer) >= 4 + size:
                    frame = bytes(self.buffer[4 : 4 + size])
                    del self.buffer[: 4 + size]
                    return frame
            data = await self.stream.receive_some(65536)
            if not data:
                return None
            self.buffer += data

    def encode_request(self, request: Any, version: int, client_id: str | None = "test") -> bytes:
        self.correlation_id += 1
        cls = type(request)
        flexible = is_flexible(cls, version)
        out = bytearray()
        header = RequestHeader(cls.__kafka_api_key__, version, self.correlation_id, client_id)
        write_request_header(out, header, flexible)
        encode_into(out, request, version)
        return bytes(out)

    async def request(self, request: Any, version: int) -> Any:
        await self.send_raw(self.encode_request(request, version))
        return await self.response_for(type(request), version, self.correlation_id)

    async def response_for(self, request_cls: type, version: int, correlation_id: int) -> Any:
        frame = await self.receive_frame()
        assert frame is not None, "connection closed instead of answering"
        api = all_apis()[request_cls.__kafka_api_key__]
        flexible = is_flexible(api.response, version)
        corr, pos = read_response_header(frame, flexible and api.api_key != 18)
        assert corr == correlation_id
        response, end = decode(api.response, version, frame, pos)
        assert end == len(frame), "response has trailing bytes"
        return response


@pytest.fixture
def broker() -> Broker:
    return make_broker()


@pytest.fixture
async def client(broker: Broker, nursery: trio.Nursery) -> AsyncIterator[Client]:
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(handle_connection, broker, theirs, broker.config.node_id)
    yield Client(ours)
    await ours.aclose()
