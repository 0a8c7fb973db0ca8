"""Request dispatch: one request frame in, one response frame out.

`dispatch` decodes the header and body, looks the handler up in the registry
(`kafkalite.broker.registry`), runs it and encodes its response (or None, for acks=0 produce).
"""

from __future__ import annotations

import logging
from kafkalite.broker.registry import HANDLERS, HandlerSpec, RequestContext
from kafkalite.broker.state import Broker
from kafkalite.wire.headers import (
    finish_frame,
    read_request_header,
    read_request_header_prefix,
    response_header_flexible,
    start_response,
)
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.schema import decode, encode_into, is_flexible

log = logging.getLogger("kafkalite.dispatch")


class UnsupportedRequest(Exception):
    """An API key or version we do not serve: the connection is closed, as Kafka does."""


def load_handlers() -> dict[int, HandlerSpec]:
    """Import every handler module (idempotent) and return the registry."""
    import kafkalite.handlers  # noqa: F401  (registers on import)

    return HANDLERS


async def dispatch(broker: Broker, frame: bytes, node_id: int, peer: str = "") -> bytearray | None:
    """Handle one request frame (without its size prefix); return the response frame.

    Returns None when no response is due (Produce with acks=0).

    Raises:
        DecodeError: the frame cannot be decoded (the caller logs and closes).
        UnsupportedRequest: unknown API key or a version outside the served range.
    """
    api_key, api_version, correlation_id = read_request_header_prefix(frame)
    spec = HANDLERS.get(api_key)
    if spec is None:
        raise UnsupportedRequest(f"unknown API key {api_key} (correlation id {correlation_id})")
    if not spec.min_version <= api_version <= spec.max_version:
        if api_key == 18 and api_version > spec.max_version:
            return _api_versions_too_new(correlation_id)
        raise UnsupportedRequest(
            f"{spec.name} v{api_version} is not served (v{spec.min_version}-"
            f"{spec.max_version}), correlation id {correlation_id}"
        )
    flexible = is_flexible(spec.request_cls, api_version)
    header, pos = read_request_header(frame, flexible)
    request, _end = decode(spec.request_cls, api_version, frame, pos)
    ctx = RequestContext(broker, header, node_id, peer)
    tracing = broker.config.trace
    if tracing:  # learning mode (kafkalite.trace), imported only when on
        from kafkalite.trace.tracer import tracer_for

        tracer = tracer_for(broker)
        started = tracer.request(spec.name, header, request, peer, node_id)
    response = await spec.fn(ctx, request)
    if response is None:
        if tracing:
            tracer.response(spec.name, header, request, None, node_id, started)
        return None
    out = start_response(correlation_id, response_header_flexible(api_key, flexible))
    encode_into(out, response, api_version)
    if tracing:
        tracer.response(spec.name, header, request, response, node_id, started)
    return finish_frame(out)


def _api_versions_too_new(correlation_id: int) -> bytearray:
    """Answer an ApiVersions request newer than ours: error 35 in the v0 layout (KIP-511)."""
    from kafkalite.wire.messages.api_versions import ApiVersion, ApiVersionsResponse

    spec = HANDLERS[18]
    response = ApiVersionsResponse(
        error_code=35,
        api_keys=[ApiVersion(api_key=18, min_version=spec.min_version, max_version=spec.max_version)],
    )
    out = start_response(correlation_id, False)
    encode_into(out, response, 0)
    return finish_frame(out)


__all__ = ["UnsupportedRequest", "dispatch", "load_handlers"]
