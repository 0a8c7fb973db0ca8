"""The broker process under trio: listeners, one task per connection, background tasks."""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import socket as _socket
from typing import Callable

import attrs
import trio

from kafkalite.broker.state import Broker
from kafkalite.broker.cluster import BrokerNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.server.connection import handle_connection
from kafkalite.server.listeners import ConnectionQuota, Connections

log = logging.getLogger("kafkalite.server")

_WILDCARDS = ("", "0.0.0.0", "::", "*")


@attrs.frozen
class ServerInfo:
    """What `serve` reports once it accepts connections."""

    broker: Broker
    nodes: tuple[BrokerNode, ...]  # as advertised to clients
    bound: tuple[tuple[str, int], ...]  # (host, port) each node's listener is bound to
    connections: Connections | None = attrs.field(default=None, repr=False, eq=False)
    http: tuple[str, int] | None = None  # (host, port) the HTTP API is reached at, when on

    def shutdown(self, grace_s: float | None = None) -> None:
        """Stop gracefully: stop accepting, let in-flight requests finish (up to *grace_s*),
        close the logs; `serve` then returns. Call from the broker's trio thread."""
        if self.connections is not None:
            self.connections.shutdown(grace_s)

    @property
    def host(self) -> str:
        return self.nodes[0].host

    @property
    def port(self) -> int:
        return self.nodes[0].port

    @property
    def http_port(self) -> int | None:
        """The HTTP API's bound port, None when it is off."""
        return self.http[1] if self.http is not None else None

    @property
    def http_url(self) -> str:
        """``http://HOST:PORT`` of the HTTP API.

        Raises:
            RuntimeError: the HTTP API is off (no ``http_port`` in the config).
        """
        if self.http is None:
            raise RuntimeError("the HTTP API is off: start the broker with http_port (0 picks a free port)")
        host, port = self.http
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def bootstrap_servers(self) -> str:
        """The "host:port[,host:port...]" string Kafka clients take (bound addresses)."""
        return ",".join(f"{host}:{port}" for host, port in self.bound)

    @property
    def advertised_servers(self) -> str:
        """The addresses Metadata gives clients (differs with --advertised-host/port)."""
        return ",".join(f"{n.host}:{n.port}" for n in self.nodes)


async def _open_listeners(host: str, port: int) -> list[trio.SocketListener]:
    bind_host = None if host in _WILDCARDS else host
    if port != 0:
        return await trio.open_tcp_listeners(port, host=bind_host)
    # Port 0: every address of a multi-address host (localhost: ::1 and 127.0.0.1) must
    # share one port, so bind the first, then the others on the port it got.
    listeners = await trio.open_tcp_listeners(0, host=bind_host)
    first, rest = listeners[0], listeners[1:]
    chosen = first.socket.getsockname()[1]
    for extra in rest:
        await extra.aclose()
    result = [first]
    if rest:
        try:
            for extra in await trio.open_tcp_listeners(chosen, host=bind_host):
                if extra.socket.getsockname()[:2] != first.socket.getsockname()[:2]:
                    result.append(extra)
                else:
                    await extra.aclose()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    return result


def _bound_host(config: BrokerConfig) -> str:
    """The host to reach a listener at: the configured host, or localhost for a wildcard."""
    return "localhost" if config.host in _WILDCARDS else config.host


def _advertised_host(config: BrokerConfig) -> str:
    if config.advertised_host:
        return config.advertised_host
    if config.host in _WILDCARDS:
        return "localhost"
    return config.host


async def serve(
    config: BrokerConfig,
    *,
    task_status: trio.TaskStatus[ServerInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run a broker until cancelled, or until ``info.shutdown()`` (graceful: returns).

    Opens one listener per emulated node, then reports a `ServerInfo` through
    ``task_status.started`` once connections are accepted. Use as
    ``info = await nursery.start(serve, config)``.
    """
    broker = Broker.create(config)
    try:
        await _serve(broker, config, task_status)
    finally:
        broker.close()


async def _serve(broker: Broker, config: BrokerConfig, task_status: trio.TaskStatus[ServerInfo]) -> None:
    listeners_by_node: list[tuple[int, list[trio.SocketListener]]] = []
    nodes = []
    bound = []
    try:
        for i, node_id in enumerate(broker.cluster.node_ids):
            port = config.port + i if config.port else 0
            listeners = await _open_listeners(config.host, port)
            bound_port = listeners[0].socket.getsockname()[1]
            bound.append((_bound_host(config), bound_port))
            listeners_by_node.append((node_id, listeners))
            advertised_port = config.advertised_port or bound_port
            node = BrokerNode(node_id, _advertised_host(config), advertised_port)
            broker.cluster.set_node(node)
            nodes.append(node)
    except BaseException:
        for _, listeners in listeners_by_node:
            for listener in listeners:
                await listener.aclose()
        raise
    connections = Connections()
    http_stop = trio.Event()
    http_done = trio.Event()
    ready = False  # set once the listeners are reported; /readyz reads it through a closure
    async with trio.open_nursery() as nursery:
        for node_id, listeners in listeners_by_node:
            quota = ConnectionQuota(
                config.max_connections, config.max_connections_per_ip, config.max_connections_per_ip_overrides
            )
            connections.listen(listeners, functools.partial(_serve_stream, broker, node_id), quota)
        http = None
        if config.http_port is not None:
            try:
                http = await nursery.start(
                    _serve_http, broker, config, lambda: ready and not connections.draining, http_stop, http_done
                )
            except BaseException:
                for _, listeners in listeners_by_node:
                    for listener in listeners:
                        await listener.aclose()
                raise
        nursery.start_soon(_housekeeping, broker)
        broker.start_background(nursery.start_soon)  # e.g. group session / rebalance deadlines
        info = ServerInfo(broker, tuple(nodes), tuple(bound), connections, http)
        log.info(
            "kafkalite ready on %s, advertised as %s (cluster %s)",
            info.bootstrap_servers,
            info.advertised_servers,
            broker.cluster.cluster_id,
        )
        if http is not None:
            log.info("kafkalite HTTP API on %s", info.http_url)
        ready = True
        task_status.started(info)
        await connections.run()  # returns after a graceful shutdown has drained
        if http is not None:
            # The HTTP API stops with the broker, as gracefully: requests in flight finish.
            http_stop.set()
            with trio.move_on_after(connections.grace_s + 0.5):
                await http_done.wait()
        nursery.cancel_scope.cancel()


async def _serve_http(
    broker: Broker,
    config: BrokerConfig,
    ready: Callable[[], bool],
    stop: trio.Event,
    done: trio.Event,
    *,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The HTTP API (imported only here: a broker without it never loads hypercorn)."""
    from kafkalite.server.http import build_app
    from kafkalite.server.http.server import serve_http
    from kafkalite.server.listeners import DEFAULT_GRACE_S

    host = config.http_host if config.http_host is not None else config.host
    reach = "localhost" if host in _WILDCARDS else host
    try:
        async with trio.open_nursery() as nursery:
            app = build_app(broker, ready)
            port = await nursery.start(serve_http, app, host, config.http_port, stop, DEFAULT_GRACE_S)
            task_status.started((reach, port))
        # serve_http returned: stop was set and the requests in flight are done.
    finally:
        done.set()


async def _housekeeping(broker: Broker) -> None:
    """Apply retention and time-based flushes every log.retention.check.interval.ms of the
    broker's clock, and at once whenever that clock jumps: after a test's advance, what
    retention would have deleted by then is gone (the logs read the same clock)."""
    interval = broker.config.retention_check_interval_ms / 1000
    clock = broker.clock
    jumped = [trio.Event()]
    unsubscribe = clock.subscribe(lambda: jumped[0].set())
    try:
        while True:
            with clock.move_on_after(interval):
                await jumped[0].wait()
            jumped[0] = trio.Event()
            deleted = broker.store.apply_retention()
            if deleted:
                log.info("retention deleted %d segment(s)", deleted)
            broker.store.maybe_flush()
    finally:
        unsubscribe()


async def _serve_stream(broker: Broker, node_id: int, stream: trio.abc.Stream) -> None:
    # Best effort: a socket that refuses TCP_NODELAY still works, only with Nagle's delay.
    with contextlib.suppress(OSError):
        stream.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    await handle_connection(broker, stream, node_id)
