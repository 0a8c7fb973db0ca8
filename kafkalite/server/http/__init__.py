"""The broker's HTTP side: one ASGI app on one optional port (``--http-port``), served by
hypercorn's trio worker in the broker's own trio loop.

* `app`: the router, requests and responses, JSON errors;
* `control`: the ``/v1`` routes (fault rules, journal, clock, reset);
* `nodes`: ``/v1/nodes`` (list, stop and start broker nodes);
* `probes`: ``/healthz``, ``/readyz``, ``/metrics``;
* `registry`: the Schema Registry's REST API, under ``/schema-registry`` (and at the root of
  ``--schema-registry-port``);
* `openapi`: the OpenAPI document of all of them, ``/openapi.json``;
* `console`: the web console's HTML pages (``/``, ``/topics``, ``/groups`` ...), not in it;
* `server`: running it under hypercorn (the only module that imports hypercorn, and only
  the broker's `serve` imports it, when the port is on).
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Callable

from kafkalite.server.http.app import App, Router
from kafkalite.server.http.console import add_console_routes
from kafkalite.server.http.control import add_control_routes
from kafkalite.server.http.nodes import add_node_routes
from kafkalite.server.http.openapi import add_openapi_route
from kafkalite.server.http.probes import add_probe_routes
from kafkalite.server.http.registry import add_registry_routes

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker


class HttpListenError(OSError):
    """The HTTP API's address could not be bound (in use, unknown host...)."""


def build_app(broker: Broker, ready: Callable[[], bool]) -> App:
    """The ASGI app of *broker*'s HTTP API; *ready()* says whether its Kafka listeners accept."""
    router = Router()
    add_control_routes(router, broker)
    add_node_routes(router, broker)
    add_probe_routes(router, broker, ready)
    add_openapi_route(router, _version())
    add_registry_routes(router, broker)
    add_console_routes(router, broker)
    return App(router)


def build_registry_app(broker: Broker) -> App:
    """The ASGI app of *broker*'s Schema Registry alone, at the root (``--schema-registry-port``)."""
    router = Router()
    add_registry_routes(router, broker, "")
    return App(router)


def _version() -> str:
    try:
        return metadata.version("kafkalite")
    except metadata.PackageNotFoundError:  # run from a source tree never installed
        return "0+unknown"
