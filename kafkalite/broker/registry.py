"""The handler registry and the request context every handler receives.

A handler module registers itself with ``@handles(ApiKey.X, min_version=.., max_version=..)``;
ApiVersions advertises exactly the registered ranges, so nothing unwritten is ever offered.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import attrs

from kafkalite.broker.partition_errors import LAYOUTS, Failed, Names, PartitionError, PartitionLayout, merge, override, split
from kafkalite.broker.state import Broker
from kafkalite.wire.api_keys import ApiKey
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
    #: Who sent the request, as Kafka's KafkaPrincipal prints it ("User:alice"); set by the
    #: connection's authentication state, ANONYMOUS on an unauthenticated listener.
    principal: str = "User:ANONYMOUS"
    #: The listener the request came in on, and its security protocol.
    listener: str = "PLAINTEXT"
    security_protocol: str = "PLAINTEXT"
    #: The connection's authentication state (kafkalite.server.session.Session), for the
    #: SASL handlers; None for requests that come from no connection.
    session: Any = None
    #: Fetch only, set by a fault rule (kafkalite.server.faults): (topic, partition or None
    #: for every partition) -> the error to answer, or None to stall (read nothing).
    fetch_faults: dict[tuple[str, int | None], ErrorCode | None] | None = None
    #: The id of the fault rule that acted on this request, if one did (for the journal).
    fault_rule_id: int | None = None

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
        top-level ``error_code`` set (where this version has one) and every topic or partition
        the request names failed with *code* (APIs answered per partition, see
        `kafkalite.broker.partition_errors`); None when the response has no place for an
        error."""
        if self.error_response is not None:
            return self.error_response(request, api_version, code, message)
        builder = _WHOLE_ERRORS.get(self.api_key)
        if builder is not None and (answer := builder(request, api_version, code, message)) is not None:
            return answer
        fields = {spec.name: spec for spec in self.response_cls.__kafka_fields__}
        top = fields.get("error_code")
        layout = LAYOUTS.get(self.api_key)
        if (top is None or api_version not in top.versions) and layout is None:
            return None
        values: dict[str, Any] = {}
        if top is not None and api_version in top.versions:
            values["error_code"] = code
            if "error_message" in fields:
                values["error_message"] = message
        response = self.response_cls(**values)
        if layout is None:
            return response
        return merge(layout, self.response_cls, request, response, _everything, PartitionError(code, message), _no_names)

    def answer_partition_errors(
        self, request: Any, response: Any | None, failed: Failed, error: PartitionError, names: Names
    ) -> Any:
        """*response* (the handler's answer to `split_request`'s request, None when nothing
        was left to handle, or to the whole request) with the *failed* partitions answered
        *error*, in request order. Only for APIs in `kafkalite.broker.partition_errors.LAYOUTS`."""
        layout = LAYOUTS[self.api_key]
        if layout.mutates and layout.request_partitions is not None and _request_lists_topics(layout, request):
            return merge(layout, self.response_cls, request, response, failed, error, names)
        assert response is not None
        return override(layout, response, failed, error, names)

    def split_request(self, request: Any, failed: Failed, names: Names) -> tuple[bool, Any | None]:
        """(whether the request was cut, the request to handle): the *failed* partitions cut
        out of a request that changes state, so that they are not applied (None when nothing
        is left); a read is handled whole and its answer overridden."""
        layout = LAYOUTS[self.api_key]
        if not layout.mutates or not _request_lists_topics(layout, request):
            return False, request
        return True, split(layout, request, failed, names)


def _request_lists_topics(layout: PartitionLayout, request: Any) -> bool:
    return getattr(request, layout.request_topics, None) is not None


def _everything(_name: str, _partition: int | None) -> bool:
    return True


def _no_names(_topic_id: Any) -> None:
    return None


def _find_coordinator_error(request: Any, api_version: int, code: ErrorCode, message: str) -> Any | None:
    # v4+ answers one coordinator per key, each with its own error.
    if api_version < 4:
        return None
    from kafkalite.wire.messages.find_coordinator import Coordinator, FindCoordinatorResponse

    return FindCoordinatorResponse(
        coordinators=[
            Coordinator(key=key, node_id=-1, host="", port=-1, error_code=code, error_message=message)
            for key in request.coordinator_keys
        ]
    )


def _offset_fetch_error(request: Any, api_version: int, code: ErrorCode, message: str) -> Any | None:
    # v8+ answers per group.
    if api_version < 8:
        return None
    from kafkalite.wire.messages.offset_fetch import OffsetFetchResponse, OffsetFetchResponseGroup

    return OffsetFetchResponse(
        groups=[OffsetFetchResponseGroup(group_id=g.group_id, error_code=code) for g in request.groups]
    )


#: Whole-request error answers of APIs whose layout the generic rule cannot build.
_WHOLE_ERRORS: dict[int, ErrorResponse] = {
    ApiKey.FIND_COORDINATOR: _find_coordinator_error,
    ApiKey.OFFSET_FETCH: _offset_fetch_error,
}


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
