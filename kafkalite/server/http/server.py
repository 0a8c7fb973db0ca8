"""Running the HTTP app under hypercorn's trio worker, in the broker's trio loop.

The only module that imports hypercorn; `kafkalite.server.serve` imports it only when the
HTTP port is on, so a broker without the HTTP API never loads it.
"""

from __future__ import annotations

import functools
import logging

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from kafkalite.server.http import HttpListenError
from kafkalite.server.http.app import App

log = logging.getLogger("kafkalite.http")

# hypercorn's own start-up lines ("Running on ... (CTRL + C to quit)") repeat what the broker
# logs itself; its warnings and errors still show.
_hypercorn_log = logging.getLogger("kafkalite.http.hypercorn")
_hypercorn_log.setLevel(logging.WARNING)

_WILDCARDS = ("", "*")


def _bind(host: str, port: int) -> str:
    host = "0.0.0.0" if host in _WILDCARDS else host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve_http(
    app: App,
    host: str,
    port: int,
    stop: trio.Event,
    grace_s: float,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve *app* on *host*:*port* (0: a free port) until *stop* is set, then stop gracefully:
    no new connections, requests in flight get *grace_s* to finish. Reports the bound port
    through ``task_status.started``.

    Raises:
        HttpListenError: the address cannot be bound.
    """
    config = Config()
    config.bind = [_bind(host, port)]
    config.errorlog = _hypercorn_log
    config.accesslog = None
    config.graceful_timeout = grace_s
    try:
        sockets = config.create_sockets()
    except OSError as exc:
        raise HttpListenError(exc.errno, f"cannot listen on {host}:{port} for the HTTP API: {exc.strerror}") from exc
    # Hand hypercorn the bound sockets through file descriptors, so that a failure to bind is
    # ours to report and the port chosen for 0 is known before anything is served.
    bound_port = sockets.insecure_sockets[0].getsockname()[1]
    config.bind = [f"fd://{sock.detach()}" for sock in sockets.insecure_sockets]
    async with trio.open_nursery() as nursery:
        await nursery.start(functools.partial(hypercorn_serve, app, config, shutdown_trigger=stop.wait))
        task_status.started(bound_port)
