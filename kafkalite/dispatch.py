"""Handler registry and request dispatch.

A handler module registers itself with ``@handles(ApiKey.X, min_version=.., max_version=..)``;
ApiVersions advertises exactly the registered ranges, so nothing unwritten is ever offered.
`dispatch` turns one request frame into one response frame (or None, for acks=0 produce).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import attrs

from kafkalite.broker import Broker
from kafkalite.wire.headers import (
    RequestHeader,
    finish_frame,
    read_request_header,
    read_request_header_prefix,
    response_header_flexible,
    start_response,
)
from kafkalite.wire.primitives import DecodeError
from kafkalite.wire.schema import decode, declared_message, encode_into, is_flexible

log = logging.getLogger("kafkalite.dispatch")


class UnsupportedRequest(Exception):
    """An API key or version we do not serve: the connection is closed, as Kafka does."""


@attrs.define(eq=False)
class RequestContext:
    """What a handler knows about the request besides its body."""

    broker: Broker
    header: RequestHeader
    node_id: int  # the emulated broker node whose listener received the request
    peer: str = ""

    @property
    def api_version(self) -> int:
        return self.header.api_version


Handler = Callable[[RequestContext, Any], Awaitable[Any]]


@attrs.frozen
class HandlerSpec:
    api_key: int
    name: str
    min_version: int
    max_version: int
    fn: Handler
    request_cls: type
    response_cls: type


HANDLERS: dict[int, HandlerSpec] = {}


def handles(api_key: int, *, min_version: int, max_version: int) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of *api_key* for these versions."""

    def register(fn: Handler) -> Handler:
        # The handler module has imported its message module: look the classes up there
        # rather than importing every declared API at start-up.
        request_cls = declared_message(int(api_key), "request")
        response_cls = declared_message(int(api_key), "response")
        if request_cls is None or response_cls is None:
            raise RuntimeError(f"{fn.__name__}: no message declared for API key {int(api_key)}")
        name = request_cls.__name__[: -len("Request")]
        valid = request_cls.__kafka_valid__
        if min_version < valid.lo or (valid.hi is not None and max_version > valid.hi):
            raise RuntimeError(
                f"{fn.__name__} serves {name} v{min_version}-{max_version} but the "
                f"schema declares only {valid}"
            )
        if int(api_key) in HANDLERS:
            raise RuntimeError(f"two handlers for {name}")
        HANDLERS[int(api_key)] = HandlerSpec(
            int(api_key), name, min_version, max_version, fn, request_cls, response_cls
        )
        return fn

    return register


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
        from kafkalite.trace import tracer_for

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


def error_codes(obj: Any) -> list[int]:
    """Every non-zero ``error_code`` anywhere in a decoded message (for tracing)."""
    found: list[int] = []
    stack = [obj]
    while stack:
        item = stack.pop()
        fields = getattr(type(item), "__kafka_fields__", None)
        if fields is None:
            continue
        for spec in fields:
            value = getattr(item, spec.name)
            if spec.name == "error_code" and value:
                found.append(value)
            elif isinstance(value, list):
                stack.extend(value)
            elif hasattr(type(value), "__kafka_fields__"):
                stack.append(value)
    return found


__all__ = [
    "DecodeError",
    "HANDLERS",
    "RequestContext",
    "UnsupportedRequest",
    "dispatch",
    "handles",
    "load_handlers",
]
