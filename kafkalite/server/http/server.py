"""Running the HTTP app under hypercorn's trio worker, in the broker's trio loop.

The only module that imports hypercorn; `kafkalite.server.serve` imports it only when the
HTTP port is on, so a broker without the HTTP API never loads it.
"""

from __future__ import annotations

import functools
import logging
import socket
from typing import Awaitable, Callable

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

_WILDCARDS = ("", "*", "0.0.0.0")


def _listen_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for *host*:*port* (an IPv4 address first when the name has both).

    Raises:
        HttpListenError: the host is unknown or the address cannot be bound.
    """
    try:
        infos = socket.getaddrinfo(
            None if host in _WILDCARDS else host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _name, address = sorted(infos, key=lambda i: i[0] != socket.AF_INET)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise HttpListenError(exc.errno, f"cannot listen on {host}:{port} for the HTTP API: {exc.strerror}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise HttpListenError(exc.errno, f"cannot listen on {host}:{port} for the HTTP API: {exc.strerror}") from exc
    return sock


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
    sock = _listen_socket(host, port)
    bound_port = sock.getsockname()[1]
    config = Config()
    # hypercorn takes the bound socket over by its file descriptor: a failure to bind is
    # ours to report cleanly, and the port chosen for 0 is known before anything is served.
    config.bind = [f"fd://{sock.detach()}"]
    config.errorlog = _hypercorn_log
    config.accesslog = None
    config.graceful_timeout = grace_s
    async with trio.open_nursery() as nursery:
        await nursery.start(functools.partial(hypercorn_serve, app, config, shutdown_trigger=stop.wait))
        for task in app.router.tasks:
            nursery.start_soon(_until, stop, task)
        task_status.started(bound_port)


async def _until(stop: trio.Event, task: Callable[[], Awaitable[None]]) -> None:
    """Run *task* (a route's background task, e.g. the console's lag samples) until *stop*."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(task)
        await stop.wait()
        nursery.cancel_scope.cancel()
