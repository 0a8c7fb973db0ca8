"""Health, readiness and metrics: the routes a container runtime and a Prometheus scrape use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from kafkalite.server.http.app import Request, Response, Router, query_params

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

#: The Prometheus text exposition format's content type.
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def add_probe_routes(router: Router, broker: Broker, ready: Callable[[], bool]) -> None:
    """``/healthz`` (the loop answers), ``/readyz`` (*ready()*: the Kafka listeners accept)
    and ``/metrics`` (*broker*'s counters)."""

    @router.route("GET", "/healthz")
    async def healthz(request: Request) -> Response:
        query_params(request, {})
        return Response.json({"status": "ok"})

    @router.route("GET", "/readyz")
    async def readyz(request: Request) -> Response:
        query_params(request, {})
        if ready():
            return Response.json({"status": "ready"})
        return Response.json({"status": "not ready"}, 503)

    @router.route("GET", "/metrics")
    async def metrics(request: Request) -> Response:
        return Response.text(broker.metrics.render_prometheus(), PROMETHEUS_TYPE)
