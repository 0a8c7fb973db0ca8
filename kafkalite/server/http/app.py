"""A small ASGI application: a router of (method, path template) to handlers, JSON in and out
(a handler may answer any content type: the console's pages are HTML).

The HTTP side of the broker is one app on one optional port. Route modules (`control` for
``/v1``, the health, metrics and OpenAPI routes in `routes`) register handlers on a `Router`;
`App` runs them in the broker's trio loop, under hypercorn's trio worker (see `serve`), so a
handler touches broker state directly, as a Kafka request handler does.

A handler is ``async def handler(request: Request) -> Response``. It raises `HttpError` for
anything the caller got wrong; `App` turns that into a JSON body ``{"error": ..., "field":
...}`` naming the offending field (or null) with the error's status. Requests for a path no
route has get 404, a known path with another method 405 with an ``Allow`` header, a body over
`MAX_BODY_BYTES` 413; any other exception is a bug of ours: logged, answered 500.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, quote, unquote

import attrs

log = logging.getLogger("kafkalite.http")

#: Bodies of control requests are small JSON objects; anything bigger is refused unread.
MAX_BODY_BYTES = 1024 * 1024

JSON_TYPE = "application/json"


class HttpError(Exception):
    """A request the caller got wrong: answered with *status* and a JSON error body.

    *field* names the body key, query parameter or path part at fault (None when the request
    as a whole is).
    """

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


@attrs.frozen
class Request:
    """One HTTP request, its body read whole."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]  # in order, repeated names kept
    headers: tuple[tuple[str, str], ...]  # names lower-case
    body: bytes
    params: dict[str, str]  # path parameters of the matched route template
    client: tuple[str, int] | None = None

    def json(self, *, required: bool = True) -> Any:
        """The body decoded as JSON (None for an empty body when not *required*).

        Raises:
            HttpError: 400 for an empty body that is required, or one that is not JSON.
        """
        if not self.body.strip():
            if required:
                raise HttpError(400, "a JSON body is required", "body")
            return None
        try:
            return json.loads(self.body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, f"the body is not valid JSON: {exc}", "body") from None

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        """The body as a JSON object (``{}`` for an empty body when not *required*)."""
        value = self.json(required=required)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise HttpError(400, f"the body must be a JSON object, not {_json_type(value)}", "body")
        return value


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's decoder accepts them unless told otherwise.
    raise ValueError(f"{name} is not a JSON value")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


@attrs.frozen
class Response:
    """What a handler answers: a status, a body and its content type, extra headers."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(value, allow_nan=False).encode() + b"\n")

    def with_header(self, name: str, value: str) -> Response:
        return attrs.evolve(self, headers=(*self.headers, (name, value)))

    @classmethod
    def text(cls, text: str, content_type: str = "text/plain; charset=utf-8", status: int = 200) -> Response:
        return cls(status, text.encode(), content_type)


def error_response(status: int, message: str, field: str | None = None,
                   headers: tuple[tuple[str, str], ...] = ()) -> Response:
    body = json.dumps({"error": message, "field": field}).encode() + b"\n"
    return Response(status, body, JSON_TYPE, headers)


Handler = Callable[[Request], Awaitable[Response]]


@attrs.frozen
class Route:
    method: str
    template: str  # "/v1/faults/{id}"
    handler: Handler
    openapi: bool = True  # part of the JSON API the OpenAPI document describes
    pattern: re.Pattern[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(regex + r"\Z"))


class Router:
    """(method, path template) -> handler. A template's ``{name}`` matches one path segment.

    ``tasks``: background tasks the routes need while the app is served (``async def
    task() -> None``, run until cancelled), started by `kafkalite.server.http.server`.
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self.tasks: list[Callable[[], Awaitable[None]]] = []

    def add(self, method: str, template: str, handler: Handler, *, openapi: bool = True) -> None:
        """Serve *method* on *template* with *handler*; *openapi* False: not part of the
        JSON API (an HTML page), left out of `openapi_routes`.

        Raises:
            ValueError: that method and template already have a handler.
        """
        method = method.upper()
        if any(r.method == method and r.template == template for r in self._routes):
            raise ValueError(f"{method} {template} is already routed")
        self._routes.append(Route(method, template, handler, openapi))

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        """Decorator form of `add`."""

        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    @property
    def routes(self) -> list[tuple[str, str]]:
        """Every (method, template) served, in the order they were added."""
        return [(r.method, r.template) for r in self._routes]

    @property
    def openapi_routes(self) -> list[tuple[str, str]]:
        """The (method, template) of the JSON API: what the OpenAPI document describes."""
        return [(r.method, r.template) for r in self._routes if r.openapi]

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler for *method* on *path* (as sent: percent-encoded) and the path's
        parameters, each decoded (so a group id may hold an encoded ``/``).

        Raises:
            HttpError: 404 when no template matches *path*, 405 when some do but not for
                *method* (its message lists the methods allowed).
        """
        allowed: list[str] = []
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route.handler, {name: unquote(value) for name, value in found.groupdict().items()}
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(method, unquote(path), allowed)
        raise HttpError(404, f"no route for {unquote(path)}")


class MethodNotAllowed(HttpError):
    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(405, f"{method} is not allowed on {path}: use {', '.join(allowed)}")
        self.allowed = allowed


class App:
    """The ASGI application of a `Router`: ``await app(scope, receive, send)``."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "http":
            response = await self._answer(scope, receive)
            await _send(send, response)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _answer(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]]) -> Response:
        method = scope["method"].upper()
        path = scope["path"]
        try:
            handler, params = self.router.match(method, _raw_path(scope))
            body = await _read_body(scope, receive)
            request = Request(
                method=method,
                path=path,
                query=tuple(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
                headers=tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", ())),
                body=body,
                params=params,
                client=tuple(scope["client"]) if scope.get("client") else None,  # type: ignore[arg-type]
            )
            return await handler(request)
        except MethodNotAllowed as exc:
            return error_response(405, exc.message, None, (("allow", ", ".join(exc.allowed)),))
        except HttpError as exc:
            return error_response(exc.status, exc.message, exc.field)
        except Exception:
            log.exception("HTTP %s %s failed", method, path)
            return error_response(500, f"internal error answering {method} {path}: see the broker's log")


def _raw_path(scope: dict[str, Any]) -> str:
    """The path as the client sent it (percent-encoded), so that an encoded ``/`` inside a
    path parameter does not split it; built from the decoded path when the server gave none."""
    raw = scope.get("raw_path")
    if raw:
        return raw.decode("latin-1").partition("?")[0]
    return quote(scope["path"])


async def _read_body(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
            raise HttpError(413, f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks += message.get("body", b"")
        if len(chunks) > MAX_BODY_BYTES:
            raise HttpError(413, f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
        if not message.get("more_body", False):
            break
    return bytes(chunks)


async def _send(send: Callable[[dict[str, Any]], Awaitable[None]], response: Response) -> None:
    headers = [(b"content-type", response.content_type.encode()),
               (b"content-length", str(len(response.body)).encode())]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def _lifespan(receive: Callable[[], Awaitable[dict[str, Any]]],
                    send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    # Nothing to set up or tear down: the broker owns every resource the routes use.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# -- reading parameters ------------------------------------------------------------------


def query_params(request: Request, allowed: dict[str, type]) -> dict[str, Any]:
    """The query parameters of *request*, each converted to its type in *allowed* (str or int).

    Raises:
        HttpError: 400 naming a parameter that is unknown, repeated, or not of its type.
    """
    found: dict[str, Any] = {}
    for name, raw in request.query:
        kind = allowed.get(name)
        if kind is None:
            raise HttpError(400, f"unknown query parameter {name!r} (known: {', '.join(allowed)})", name)
        if name in found:
            raise HttpError(400, f"query parameter {name!r} is given twice", name)
        if kind is int:
            try:
                found[name] = int(raw)
            except ValueError:
                raise HttpError(400, f"{name} must be a whole number, not {raw!r}", name) from None
        else:
            found[name] = raw
    return found


def number_field(body: dict[str, Any], name: str) -> float:
    """``body[name]`` as a finite number (not a boolean).

    Raises:
        HttpError: 400 naming the field when it is missing or not a finite number.
    """
    if name not in body:
        raise HttpError(400, f"{name} is required", name)
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HttpError(400, f"{name} must be a number, not {_json_type(value)}", name)
    return float(value)
