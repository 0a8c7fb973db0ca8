from __future__ import annotations

import struct

from kafkalite.broker.registry import HANDLERS
from kafkalite.wire.headers import read_response_header
from kafkalite.wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from kafkalite.wire.schema import decode

from .conftest import Client


async def test_advertises_exactly_the_registered_handlers(client: Client) -> None:
    response = await client.request(ApiVersionsRequest(), 0)
    assert response.error_code == 0
    advertised = {(k.api_key, k.min_version, k.max_version) for k in response.api_keys}
    assert advertised == {(s.api_key, s.min_version, s.max_version) for s in HANDLERS.values()}


async def test_v3_request_with_software_name_is_answered_with_v0_response_header(client: Client) -> None:
    request = ApiVersionsRequest(client_software_name="my-client", client_software_version="1.0")
    response = await client.request(request, 3)
    assert response.error_code == 0
    assert any(k.api_key == 18 and k.max_version == 4 for k in response.api_keys)


async def test_invalid_software_name_is_invalid_request(client: Client) -> None:
    request = ApiVersionsRequest(client_software_name="bad name!", client_software_version="1.0")
    response = await client.request(request, 3)
    assert response.error_code == 42


async def test_too_new_version_gets_unsupported_version_in_v0_layout(client: Client) -> None:
    # A v99 request: we cannot parse its body, but must answer in the v0 layout (KIP-511).
    payload = struct.pack(">hhi", 18, 99, 7) + struct.pack(">h", 4) + b"test" + b"\x00\x00"
    await client.send_raw(payload)
    frame = await client.receive_frame()
    assert frame is not None
    corr, pos = read_response_header(frame, False)
    assert corr == 7
    response, end = decode(ApiVersionsResponse, 0, frame, pos)
    assert end == len(frame)
    assert response.error_code == 35
    assert [(k.api_key, k.min_version, k.max_version) for k in response.api_keys] == [(18, 0, 4)]


async def test_unknown_api_key_closes_the_connection(client: Client) -> None:
    await client.send_raw(struct.pack(">hhi", 999, 0, 1) + b"\xff\xff")
    assert await client.receive_frame() is None


async def test_unserved_version_closes_the_connection(client: Client) -> None:
    await client.send_raw(struct.pack(">hhi", 3, 99, 1) + b"\xff\xff")
    assert await client.receive_frame() is None


async def test_truncated_body_closes_the_connection(client: Client) -> None:
    # Metadata v1 with a topic array claiming 5 topics and no bytes for them.
    await client.send_raw(struct.pack(">hhi", 3, 1, 1) + b"\xff\xff" + struct.pack(">i", 5))
    assert await client.receive_frame() is None


async def test_oversized_frame_closes_the_connection_before_reading_it(client: Client) -> None:
    await client.stream.send_all(struct.pack(">i", 2**31 - 1))
    assert await client.receive_frame() is None


async def test_pipelined_requests_are_answered_in_order(client: Client) -> None:
    frames = b""
    for _ in range(5):
        payload = client.encode_request(ApiVersionsRequest(), 1)
        frames += struct.pack(">i", len(payload)) + payload
    await client.stream.send_all(frames)
    for expected in range(1, 6):
        frame = await client.receive_frame()
        assert frame is not None
        assert read_response_header(frame, False)[0] == expected


def test_the_index_of_handler_modules_matches_every_handler() -> None:
    import pkgutil

    import kafkalite.handlers
    from kafkalite.handlers import SERVED
    from kafkalite.server.dispatch import load_handlers

    handlers = load_handlers()  # raises if a module's range differs from the index
    modules = {info.name for info in pkgutil.iter_modules(kafkalite.handlers.__path__)}
    assert {module for module, _lo, _hi in SERVED.values()} == modules
    assert {k: (s.min_version, s.max_version) for k, s in handlers.items()} == {
        k: (lo, hi) for k, (_m, lo, hi) in SERVED.items()
    }


def test_answering_api_versions_imports_no_other_handler_nor_codec() -> None:
    """Start-up stays cheap: handler modules, their schemas, the group coordinator and the CRC
    package load on first use."""
    import subprocess
    import sys

    code = """
import struct, sys, trio
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.server.dispatch import dispatch

async def main():
    broker = Broker.create(BrokerConfig(memory=True))
    frame = struct.pack(">hhih", 18, 2, 1, 4) + b"test"
    response = await dispatch(broker, frame, 0)
    assert response is not None and len(response) > 100
    print(sorted(m for m in sys.modules if m.startswith(("kafkalite.handlers.", "kafkalite.wire.messages."))))
    print("crc32c" in sys.modules, "kafkalite.groups.coordinator" in sys.modules)

trio.run(main)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "['kafkalite.handlers.api_versions', 'kafkalite.wire.messages.api_versions']"
    assert out[1] == "False False"  # nor the group coordinator: no group was asked for
