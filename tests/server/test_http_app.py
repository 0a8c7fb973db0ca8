"""The ASGI app and router of kafkalite.server.http, called directly (no socket)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kafkalite.server.http.app import App, HttpError, Request, Response, Router


async def asgi(app: App, method: str, path: str, body: bytes = b"", query: bytes = b"",
               chunks: int = 1, raw_path: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """Run one HTTP request through *app*; the body arrives in *chunks* messages."""
    size = max(1, -(-len(body) // chunks))
    parts = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}
    if raw_path is not None:
        scope["raw_path"] = raw_path
    await app(scope, receive, send)
    start, payload = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, payload["body"]


def echo_app() -> App:
    router = Router()

    @router.route("POST", "/things/{name}")
    async def post(request: Request) -> Response:
        return Response.json({"name": request.params["name"], "body": request.json_object()}, 201)

    @router.route("GET", "/things/{name}")
    async def get(request: Request) -> Response:
        raise HttpError(404, f"no thing {request.params['name']}", "name")

    @router.route("GET", "/boom")
    async def boom(request: Request) -> Response:
        raise RuntimeError("a bug")

    return App(router)


async def test_a_path_parameter_and_a_body_in_several_chunks_reach_the_handler() -> None:
    status, headers, body = await asgi(echo_app(), "POST", "/things/x", b'{"a": [1, 2]}', chunks=4)
    assert status == 201
    assert headers["content-type"] == "application/json" and headers["content-length"] == str(len(body))
    assert json.loads(body) == {"name": "x", "body": {"a": [1, 2]}}


async def test_an_http_error_is_a_json_body_naming_the_field() -> None:
    status, _h, body = await asgi(echo_app(), "GET", "/things/y")
    assert (status, json.loads(body)) == (404, {"error": "no thing y", "field": "name"})


async def test_a_template_parameter_matches_one_segment_only() -> None:
    assert (await asgi(echo_app(), "GET", "/things/a/b"))[0] == 404


async def test_a_parameter_holds_an_encoded_slash_and_arrives_decoded() -> None:
    status, _h, body = await asgi(echo_app(), "POST", "/things/a/b c", b"{}", raw_path=b"/things/a%2Fb%20c")
    assert (status, json.loads(body)["name"]) == (201, "a/b c")
    # A server that gives no raw path: the decoded one, quoted again, matches as before.
    status, _h, body = await asgi(echo_app(), "POST", "/things/b c", b"{}")
    assert (status, json.loads(body)["name"]) == (201, "b c")


def test_routes_outside_the_json_api_are_served_but_not_listed_for_openapi() -> None:
    router = Router()

    async def page(request: Request) -> Response:
        return Response(200, b"<p>hi</p>", "text/html; charset=utf-8")

    router.add("GET", "/v1/thing", page)
    router.add("GET", "/", page, openapi=False)
    assert router.routes == [("GET", "/v1/thing"), ("GET", "/")]
    assert router.openapi_routes == [("GET", "/v1/thing")]


async def test_a_bug_in_a_handler_answers_500_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    status, _h, body = await asgi(echo_app(), "GET", "/boom")
    assert status == 500 and "internal error" in json.loads(body)["error"]
    assert "HTTP GET /boom failed" in caplog.text and "a bug" in caplog.text


async def test_lifespan_startup_and_shutdown_complete() -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await echo_app()({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_a_route_cannot_be_added_twice() -> None:
    router = Router()

    async def handler(request: Request) -> Response:
        return Response.json({})

    router.add("get", "/x", handler)
    with pytest.raises(ValueError, match="GET /x is already routed"):
        router.add("GET", "/x", handler)
    assert router.routes == [("GET", "/x")]


async def test_readyz_answers_503_while_the_listeners_do_not_accept() -> None:
    from kafkalite.server.http import build_app

    accepting = False
    app = build_app(broker=None, ready=lambda: accepting)  # type: ignore[arg-type]  # /readyz reads no state
    status, _h, body = await asgi(app, "GET", "/readyz")
    assert (status, json.loads(body)) == (503, {"status": "not ready"})
    accepting = True
    assert (await asgi(app, "GET", "/readyz"))[0] == 200
