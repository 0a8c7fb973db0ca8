"""The handler registry and the request context every handler receives.

A handler module registers itself with ``@handles(ApiKey.X, min_version=.., max_version=..)``;
ApiVersions advertises exactly the registered ranges, so nothing unwritten is ever offered.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import attrs

from kafkalite.broker.state import Broker
from kafkalite.wire.error_codes import ErrorCode
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
#: Builds the whole-request error answer: (request, api_version, error code, message) -> response.
ErrorResponse = Callable[[Any, int, ErrorCode, str], Any]


@attrs.frozen
class HandlerSpec:
    api_key: int
    name: str
    min_version: int
    max_version: int
    fn: Handler
    request_cls: type
    response_cls: type
    error_response: ErrorResponse | None = None

    def answer_error(self, request: Any, api_version: int, code: ErrorCode, message: str) -> Any | None:
        """The response that answers the whole request with *code*, as Kafka's
        ``getErrorResponse`` does: the API's own builder, else the response with its
        top-level ``error_code`` set; None when the response has no place for an error."""
        if self.error_response is not None:
            return self.error_response(request, api_version, code, message)
        fields = {spec.name for spec in self.response_cls.__kafka_fields__}
        if "error_code" not in fields:
            return None
        values: dict[str, Any] = {"error_code": code}
        if "error_message" in fields:
            values["error_message"] = message
        return self.response_cls(**values)


#: The handlers imported so far, by API key.
HANDLERS: dict[int, HandlerSpec] = {}
#: What ApiVersions advertises: api key -> (min version, max version), set by the server from
#: its index of handler modules, so that no handler must be imported to advertise it.
ADVERTISED: dict[int, tuple[int, int]] = {}


def advertise(ranges: dict[int, tuple[int, int]]) -> None:
    """Set the API version ranges that ApiVersions advertises."""
    ADVERTISED.clear()
    ADVERTISED.update(ranges)


def handles(
    api_key: int, *, min_version: int, max_version: int, error_response: ErrorResponse | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of *api_key* for these versions.

    *error_response* builds the answer to a request that failed as a whole (the broker's
    storage failed under it); without one, the response's top-level error code carries it.
    """

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
            int(api_key), name, min_version, max_version, fn, request_cls, response_cls, error_response
        )
        return fn

    return register
