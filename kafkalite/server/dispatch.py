"""Request dispatch: one request frame in, one response frame out.

`dispatch` decodes the header and body, looks the handler up in the registry
(`kafkalite.broker.registry`), runs it and encodes its response (or None, for acks=0 produce).
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any, Callable

from kafkalite.broker.authorizer import authorize
from kafkalite.broker.registry import ADVERTISED, HANDLERS, HandlerSpec, RequestContext, advertise
from kafkalite.broker.state import Broker
from kafkalite.handlers import SERVED
from kafkalite.server.faults import intercept
from kafkalite.server.throttle import Mute, start_request_timer, throttle
from kafkalite.storage import KafkaStorageError
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.headers import (
    finish_frame,
    read_request_header,
    read_request_header_prefix,
    response_header_flexible,
    start_response,
)
from kafkalite.wire.schema import decode, encode_into, is_flexible

log = logging.getLogger("kafkalite.dispatch")


class UnsupportedRequest(Exception):
    """An API key or version we do not serve: the connection is closed, as Kafka does."""


#: Called with the context and the decoded body of every request before its handler runs, in
#: the broker's trio thread (so quick, and never raising); empty unless someone adds one
#: (the compat tests' journal does). An observer sees only requests that are served.
REQUEST_OBSERVERS: list[Callable[[RequestContext, Any], None]] = []

advertise({api_key: (lo, hi) for api_key, (_module, lo, hi) in SERVED.items()})


def handler_for(api_key: int) -> HandlerSpec | None:
    """The handler of *api_key*, importing its module on first use; None if not served."""
    spec = HANDLERS.get(api_key)
    if spec is not None or api_key not in SERVED:
        return spec
    module, lo, hi = SERVED[api_key]
    importlib.import_module(f"kafkalite.handlers.{module}")
    spec = HANDLERS[api_key]
    if (spec.min_version, spec.max_version) != (lo, hi):
        raise RuntimeError(
            f"kafkalite.handlers.{module} serves {spec.name} v{spec.min_version}-{spec.max_version}, "
            f"but the index kafkalite.handlers.SERVED says v{lo}-{hi}"
        )
    return spec


def load_handlers() -> dict[int, HandlerSpec]:
    """Import every handler module now (idempotent) and return the registry."""
    for api_key in SERVED:
        handler_for(api_key)
    return HANDLERS


async def dispatch(
    broker: Broker,
    frame: bytes,
    node_id: int,
    peer: str = "",
    session: Any = None,
    mute: Mute | None = None,
) -> bytearray | None:
    """Handle one request frame (without its size prefix); return the response frame.

    *session* (kafkalite.server.session.Session) gives the request its principal and listener.

    Returns None when no response is due (Produce with acks=0). A client over its quota gets
    the throttle time in the answer and in *mute*, for the connection to carry out.

    Raises:
        DecodeError: the frame cannot be decoded (the caller logs and closes).
        UnsupportedRequest: unknown API key or a version outside the served range.
    """
    api_key, api_version, correlation_id = read_request_header_prefix(frame)
    served = ADVERTISED.get(api_key)
    if served is None:
        raise UnsupportedRequest(f"unknown API key {api_key} (correlation id {correlation_id})")
    lo, hi = served
    if not lo <= api_version <= hi:
        if api_key == 18 and api_version > hi:
            return _api_versions_too_new(correlation_id)
        name = SERVED[api_key][0]
        raise UnsupportedRequest(
            f"{name} v{api_version} is not served (v{lo}-{hi}), correlation id {correlation_id}"
        )
    spec = handler_for(api_key)
    assert spec is not None
    flexible = is_flexible(spec.request_cls, api_version)
    header, pos = read_request_header(frame, flexible)
    request, _end = decode(spec.request_cls, api_version, frame, pos)
    ctx = RequestContext(broker, header, node_id, peer)
    if session is not None:
        ctx.session, ctx.principal = session, session.principal
        ctx.listener, ctx.security_protocol = session.listener.name, session.security_protocol
    for observe in REQUEST_OBSERVERS:
        observe(ctx, request)
    journal = broker.journal
    journalled = journal.enabled  # once: it may be turned on while the handler waits
    if journalled:  # the request journal (kafkalite.broker.journal): when, and how long
        received_ms, began = broker.clock.wall_ms(), time.perf_counter()
    tracing = broker.config.trace
    if tracing:  # learning mode (kafkalite.trace), imported only when on
        from kafkalite.trace.tracer import tracer_for

        tracer = tracer_for(broker)
        started = tracer.request(spec.name, header, request, peer, node_id)
    quotas = broker.quotas.active  # client quotas (kafkalite.server.throttle)
    timer = start_request_timer(quotas, broker)
    if broker.config.acls:  # the ACL authorizer (kafkalite.broker.authorizer), then the rest
        response = await authorize(spec, ctx, request, _run)
    elif broker.faults.active:  # a test's fault rules (kafkalite.server.faults)
        response = await intercept(spec, ctx, request, _handle)
    else:
        try:
            response = await spec.fn(ctx, request)
        except KafkaStorageError as exc:
            response = _storage_error(spec, ctx, request, exc)
        except Exception as exc:  # noqa: BLE001 - a handler's bug must not take the broker down
            response = _internal_error(spec, ctx, request, exc)
    if quotas:
        response = throttle(ctx, request, response, len(frame), mute, timer)
    broker.metrics.request(spec.name, response)
    if journalled:
        journal.record(
            api_key=api_key, api=spec.name, api_version=api_version, correlation_id=correlation_id,
            client_id=header.client_id, peer=peer, node_id=node_id, request=request, response=response,
            time_ms=received_ms, elapsed_ms=(time.perf_counter() - began) * 1000, fault=ctx.fault_rule_id,
        )
    if response is None:
        if tracing:
            tracer.response(spec.name, header, request, None, node_id, started)
        return None
    out = start_response(correlation_id, response_header_flexible(api_key, flexible))
    encode_into(out, response, api_version)
    if tracing:
        tracer.response(spec.name, header, request, response, node_id, started)
    return finish_frame(out)


async def _run(spec: HandlerSpec, ctx: RequestContext, request: Any) -> Any:
    """The handler of *spec*, through a test's fault rules when there are any (what the
    authorizer calls for what it lets through)."""
    if ctx.broker.faults.active:  # a test's fault rules (kafkalite.server.faults)
        return await intercept(spec, ctx, request, _handle)
    return await _handle(spec, ctx, request)


async def _handle(spec: HandlerSpec, ctx: RequestContext, request: Any) -> Any:
    """Run the handler of *spec* on *request* (what the fault interceptor calls)."""
    try:
        return await spec.fn(ctx, request)
    except KafkaStorageError as exc:
        return _storage_error(spec, ctx, request, exc)
    except Exception as exc:  # noqa: BLE001 - as in dispatch
        return _internal_error(spec, ctx, request, exc)


def _internal_error(spec: HandlerSpec, ctx: RequestContext, request: Any, exc: Exception) -> Any:
    # A handler failed in a way nobody foresaw: as Kafka, answer UNKNOWN_SERVER_ERROR and keep
    # serving; the traceback is logged, because this is a bug to fix.
    log.error("%s v%d from %s failed; answered UNKNOWN_SERVER_ERROR", spec.name, ctx.api_version, ctx.peer,
              exc_info=exc)
    response = spec.answer_error(request, ctx.api_version, ErrorCode.UNKNOWN_SERVER_ERROR, repr(exc))
    if response is None:
        raise UnsupportedRequest(f"{spec.name} failed ({exc!r}) with no way to say so") from exc
    return response


def _storage_error(spec: HandlerSpec, ctx: RequestContext, request: Any, exc: KafkaStorageError) -> Any:
    # The broker's storage failed under the request (a metadata write, a log opened for a
    # new topic): the state in memory was left as on disk, so answer the whole request
    # KAFKA_STORAGE_ERROR and keep serving.
    response = spec.answer_error(request, ctx.api_version, ErrorCode.KAFKA_STORAGE_ERROR, str(exc))
    if response is None:
        raise UnsupportedRequest(f"{spec.name} failed on a storage error with no way to say so: {exc}") from exc
    log.error("%s v%d from %s answered KAFKA_STORAGE_ERROR: %s", spec.name, ctx.api_version, ctx.peer, exc)
    return response


def _api_versions_too_new(correlation_id: int) -> bytearray:
    """Answer an ApiVersions request newer than ours: error 35 in the v0 layout (KIP-511)."""
    from kafkalite.wire.messages.api_versions import ApiVersion, ApiVersionsResponse

    lo, hi = ADVERTISED[18]
    response = ApiVersionsResponse(
        error_code=35,
        api_keys=[ApiVersion(api_key=18, min_version=lo, max_version=hi)],
    )
    out = start_response(correlation_id, False)
    encode_into(out, response, 0)
    return finish_frame(out)


__all__ = ["REQUEST_OBSERVERS", "UnsupportedRequest", "dispatch", "handler_for", "load_handlers"]
