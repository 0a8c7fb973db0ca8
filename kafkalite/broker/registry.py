"""The handler registry and the request context every handler receives.

A handler module registers itself with ``@handles(ApiKey.X, min_version=.., max_version=..)``;
ApiVersions advertises exactly the registered ranges, so nothing unwritten is ever offered.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import attrs

from kafkalite.broker.state import Broker
from kafkalite.wire.headers import RequestHeader
from kafkalite.wire.schema import declared_message


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
