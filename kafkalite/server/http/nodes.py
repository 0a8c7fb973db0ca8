"""The ``/v1/nodes`` routes: list the broker nodes, stop one, start it again.

``POST /v1/nodes/{id}/stop`` takes an optional JSON body ``{"clean": true|false}`` (default
true: Kafka's controlled shutdown; false: a kill -9). Both calls return once the node has
stopped (or started), with the node's row; 409 when it already was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkalite.broker.nodes import UnknownNode
from kafkalite.server.http.app import HttpError, Request, Response, Router

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker


def add_node_routes(router: Router, broker: Broker) -> None:
    """Register the ``/v1/nodes`` routes of *broker* on *router*."""

    @router.route("GET", "/v1/nodes")
    async def list_nodes(request: Request) -> Response:
        return Response.json(broker.nodes.describe())

    @router.route("POST", "/v1/nodes/{id}/stop")
    async def stop_node(request: Request) -> Response:
        node_id = _node_id(broker, request)
        body = request.json_object(required=False) or {}
        unknown = set(body) - {"clean"}
        if unknown:
            raise HttpError(400, f"unknown field {sorted(unknown)[0]!r} (only 'clean')", sorted(unknown)[0])
        clean = body.get("clean", True)
        if not isinstance(clean, bool):
            raise HttpError(400, "clean must be true or false", "clean")
        if not await broker.nodes.stop(node_id, clean):
            raise HttpError(409, f"broker {node_id} is not running", "id")
        return Response.json(_row(broker, node_id))

    @router.route("POST", "/v1/nodes/{id}/start")
    async def start_node(request: Request) -> Response:
        node_id = _node_id(broker, request)
        request.json_object(required=False)
        if not await broker.nodes.start(node_id):
            raise HttpError(409, f"broker {node_id} is running", "id")
        return Response.json(_row(broker, node_id))


def _node_id(broker: Broker, request: Request) -> int:
    raw = request.params["id"]
    try:
        node_id = int(raw)
        broker.nodes.check(node_id)
    except (ValueError, UnknownNode):
        raise HttpError(404, f"no broker node {raw}", "id") from None
    return node_id


def _row(broker: Broker, node_id: int) -> dict[str, Any]:
    return next(row for row in broker.nodes.describe() if row["id"] == node_id)
