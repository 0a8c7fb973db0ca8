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
from kafkalite.broker.listeners import Listener
from kafkalite.broker.settings import BrokerConfig
from kafkalite.server.connection import handle_connection
from kafkalite.server.listeners import ConnectionQuota, Connections
from kafkalite.server.session import Security, Session

#: How long a TLS handshake may take before the connection is dropped (real time).
TLS_HANDSHAKE_TIMEOUT_S = 10.0

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
    #: listener name -> (host, port) of each node on it, bound; the first listener's is `bound`.
    listener_bound: dict[str, tuple[tuple[str, int], ...]] = attrs.field(factory=dict, eq=False)
    #: (host, port) of the Schema Registry's own port (--schema-registry-port), when on.
    schema_registry: tuple[str, int] | None = None

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
    def schema_registry_url(self) -> str:
        """The Schema Registry's base URL: the root of its own port when on, else
        ``/schema-registry`` on the HTTP API.

        Raises:
            RuntimeError: neither port is on.
        """
        if self.schema_registry is not None:
            host, port = self.schema_registry
            return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        if self.http is None:
            raise RuntimeError(
                "the Schema Registry is off: start the broker with http_port or schema_registry_port"
            )
        return f"{self.http_url}/schema-registry"

    @property
    def bootstrap_servers(self) -> str:
        """The "host:port[,host:port...]" string Kafka clients take (bound addresses)."""
        return ",".join(f"{host}:{port}" for host, port in self.bound)

    @property
    def listener_addresses(self) -> dict[str, str]:
        """listener name -> "host:port[,host:port...]" of its bound addresses, in listener order."""
        return {name: ",".join(_address(h, p) for h, p in hosts) for name, hosts in self.listener_bound.items()}

    @property
    def advertised_servers(self) -> str:
        """The addresses Metadata gives clients (differs with --advertised-host/port)."""
        return ",".join(f"{n.host}:{n.port}" for n in self.nodes)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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


def _bound_host(host: str) -> str:
    """The host to reach a listener at: the configured host, or localhost for a wildcard."""
    return "localhost" if host in _WILDCARDS else host


def _advertised(config: BrokerConfig, listener: Listener, bound_port: int) -> tuple[str, int]:
    if config.listeners is None:  # the --host/--port shorthand and its advertised host/port
        return config.advertised_host or _bound_host(listener.host), config.advertised_port or bound_port
    advertised = config.advertised_map.get(listener.name)
    if advertised is not None:
        return advertised[0] or _bound_host(listener.host), advertised[1]
    return _bound_host(listener.host), bound_port


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
    security = Security.for_broker(broker)
    if config.trace:  # from the start, so that the trace file has the cluster events too
        from kafkalite.trace.tracer import tracer_for

        tracer_for(broker)
    opened: list[tuple[int, Listener, list[trio.SocketListener]]] = []
    nodes = []
    listener_bound: dict[str, list[tuple[str, int]]] = {}
    try:
        for i, node_id in enumerate(broker.cluster.node_ids):
            for listener in config.listener_list:
                port = listener.port + i if listener.port else 0
                sockets = await _open_listeners(listener.host, port)
                bound_port = sockets[0].socket.getsockname()[1]
                listener_bound.setdefault(listener.name, []).append((_bound_host(listener.host), bound_port))
                opened.append((node_id, listener, sockets))
                host, advertised_port = _advertised(config, listener, bound_port)
                node = BrokerNode(node_id, host, advertised_port, broker.cluster.racks.get(node_id))
                broker.cluster.set_node(node, listener.name)
                broker.cluster.listener_bound[(listener.name, node_id)] = (listener.host, bound_port)
                if listener == config.listener_list[0]:
                    nodes.append(node)
    except BaseException:
        for _, _, sockets in opened:
            for socket_listener in sockets:
                await socket_listener.aclose()
        raise
    bound = listener_bound[config.listener_list[0].name]
    listeners_by_node = [(node_id, sockets) for node_id, _, sockets in opened]
    connections = Connections()
    http_stop = trio.Event()
    http_done = trio.Event()
    ready = False  # set once the listeners are reported; /readyz reads it through a closure
    async with trio.open_nursery() as nursery:
        quotas: dict[int, ConnectionQuota] = {}  # connection limits per broker node, all its listeners
        for node_id, listener, sockets in opened:
            quota = quotas.get(node_id) or quotas.setdefault(node_id, ConnectionQuota(
                config.max_connections, config.max_connections_per_ip, config.max_connections_per_ip_overrides
            ))
            connections.listen(
                sockets, functools.partial(_serve_stream, broker, security, listener, node_id), quota, node_id
            )
        broker.nodes.listeners = _NodeListeners(broker, security, connections, quotas, [
            (node_id, listener, broker.cluster.listener_bound[(listener.name, node_id)][1])
            for node_id, listener, _ in opened
        ])
        http = registry = None
        registry_done = trio.Event()
        if config.http_port is not None or config.schema_registry_port is not None:
            from kafkalite.server.http.registry import setup_registry

            setup_registry(broker)  # replays _schemas now: the console decodes with it at once
            try:
                if config.http_port is not None:
                    http = await nursery.start(
                        _serve_http, broker, config, lambda: ready and not connections.draining, http_stop, http_done
                    )
                if config.schema_registry_port is not None:
                    registry = await nursery.start(_serve_http, broker, config, None, http_stop, registry_done)
            except BaseException:
                for _, listeners in listeners_by_node:
                    for listener in listeners:
                        await listener.aclose()
                raise
        nursery.start_soon(_housekeeping, broker)
        broker.start_background(nursery.start_soon)  # e.g. group session / rebalance deadlines
        info = ServerInfo(
            broker, tuple(nodes), tuple(bound), connections, http,
            {name: tuple(hosts) for name, hosts in listener_bound.items()},
            registry,
        )
        log.info(
            "kafkalite ready on %s, advertised as %s (cluster %s)",
            info.bootstrap_servers,
            info.advertised_servers,
            broker.cluster.cluster_id,
        )
        if http is not None:
            log.info("kafkalite HTTP API on %s", info.http_url)
        if registry is not None:
            log.info("kafkalite Schema Registry on %s", info.schema_registry_url)
        ready = True
        task_status.started(info)
        await connections.run()  # returns after a graceful shutdown has drained
        if http is not None or registry is not None:
            # The HTTP API stops with the broker, as gracefully: requests in flight finish.
            http_stop.set()
            with trio.move_on_after(connections.grace_s + 0.5):
                if http is not None:
                    await http_done.wait()
                if registry is not None:
                    await registry_done.wait()
        nursery.cancel_scope.cancel()


@attrs.define(eq=False)
class _NodeListeners:
    """Stops and starts one broker node's listeners for `kafkalite.broker.nodes` (its
    ``listeners`` port): a node that starts again listens on the ports it had."""

    broker: Broker
    security: Security
    connections: Connections
    quotas: dict[int, ConnectionQuota]
    #: (node id, listener, bound port) of every listener of every node
    bound: list[tuple[int, Listener, int]]

    async def close(self, node_id: int, grace_s: float) -> None:
        await self.connections.stop_node(node_id, grace_s)

    async def open(self, node_id: int) -> None:
        opened = []
        try:
            for owner, listener, port in self.bound:
                if owner == node_id:
                    opened.append((listener, await _open_listeners(listener.host, port)))
        except BaseException:
            for _, sockets in opened:
                for socket_listener in sockets:
                    await socket_listener.aclose()
            raise
        for listener, sockets in opened:
            handler = functools.partial(_serve_stream, self.broker, self.security, listener, node_id)
            self.connections.listen(sockets, handler, self.quotas[node_id], node_id)


async def _serve_http(
    broker: Broker,
    config: BrokerConfig,
    ready: Callable[[], bool] | None,
    stop: trio.Event,
    done: trio.Event,
    *,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The HTTP API on http_port, or with *ready* None the Schema Registry alone on
    schema_registry_port (imported only here: a broker without them never loads hypercorn)."""
    from kafkalite.server.http import build_app, build_registry_app
    from kafkalite.server.http.server import serve_http
    from kafkalite.server.listeners import DEFAULT_GRACE_S

    host = config.http_host if config.http_host is not None else config.host
    reach = "localhost" if host in _WILDCARDS else host
    try:
        async with trio.open_nursery() as nursery:
            if ready is None:
                app, wanted = build_registry_app(broker), config.schema_registry_port
            else:
                app, wanted = build_app(broker, ready), config.http_port
            port = await nursery.start(serve_http, app, host, wanted, stop, DEFAULT_GRACE_S)
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
            deleted = broker.replicas.nodes.apply_retention()
            if deleted:
                log.info("retention deleted %d segment(s)", deleted)
            broker.replicas.nodes.maybe_flush()
    finally:
        unsubscribe()


async def _serve_stream(
    broker: Broker, security: Security, listener: Listener, node_id: int, stream: trio.abc.Stream
) -> None:
    # Best effort: a socket that refuses TCP_NODELAY still works, only with Nagle's delay.
    with contextlib.suppress(OSError):
        stream.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    from kafkalite.server.connection import _peer_name

    peer = _peer_name(stream)
    session = Session(security, listener, node_id, peer)
    if listener.uses_tls:
        assert security.ssl_context is not None
        tls = trio.SSLStream(stream, security.ssl_context, server_side=True)
        try:
            with trio.fail_after(TLS_HANDSHAKE_TIMEOUT_S):  # real time: a stuck peer, not a rule
                await tls.do_handshake()
        except (trio.BrokenResourceError, trio.TooSlowError, trio.ClosedResourceError) as exc:
            cause = exc.__cause__ or exc
            log.info("TLS handshake with %s on %s failed: %s", peer, listener.name, cause)
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)
            return
        tls.socket = getattr(stream, "socket", None)  # for the peer name
        if not listener.uses_sasl:
            from kafkalite.server.tls import principal_of

            session.principal = principal_of(tls.getpeercert())
        stream = tls
    await handle_connection(broker, stream, node_id, session)
