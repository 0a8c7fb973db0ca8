"""Accepting connections, and stopping gracefully.

`Connections` runs the accept loops of a broker's listeners and one task per connection.
`Connections.shutdown` is the graceful stop that SIGTERM / SIGINT (and the in-process API's
``stop``) ask for:

1. stop accepting: the accept loops end and the listening sockets are closed;
2. finish in-flight requests: a connection busy with a request completes it and writes the
   response; an idle connection (and a busy one once it is done) sees end-of-stream at its
   next read, so `handle_connection` returns as if the client had closed it;
3. after ``grace_s`` the requests still running (a Fetch parked in long polling, a JoinGroup
   parked until its rebalance completes) are cancelled and their connections closed: clients
   retry those on another connection, as they do when a real broker restarts.

`run` returns once every connection is gone, and the server then closes the logs (index
files written; with ``fsync`` also synced), so a restart finds everything acknowledged.

Connection limits (`ConnectionQuota`, one per broker node) are Kafka's ConnectionQuotas:
over ``max.connections`` the accept loop waits, with the new connection accepted but not
served, until one closes (further clients wait in the OS backlog); over
``max.connections.per.ip`` (or the address's override) the new connection is closed at once.

The wrapper stream is the only coupling with `connection.py`: it reports end-of-stream once
the shutdown began, and the connection loop needs no shutdown logic of its own.

One broker node's listeners can also stop while the others run (`Connections.stop_node`,
kafkalite.broker.nodes): the same three steps, for that node's listeners and connections
only, with a grace of 0 for a hard stop (its connections drop at once); `listen` while
running starts it again.
"""

from __future__ import annotations

import errno
import logging
import socket as _socket
from typing import Any, Awaitable, Callable, Iterable

import trio

log = logging.getLogger("kafkalite.server")

#: How long in-flight requests get to finish after a shutdown is asked for. Clients' long
#: polls default to 500 ms (fetch.wait.max.ms, fetch_max_wait_ms), so a Fetch that has just
#: started still completes, and the process exits within a second.
DEFAULT_GRACE_S = 0.6

# accept() errors that mean "out of resources for now", as trio.serve_listeners handles them.
_ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})

Handler = Callable[[trio.abc.Stream], Awaitable[None]]


UNLIMITED = 2**31 - 1  # Kafka's default of max.connections and max.connections.per.ip


def _peer_ip(stream: trio.SocketStream) -> str:
    try:
        return str(stream.socket.getpeername()[0])
    except OSError:
        return "unknown"


def _resolve(overrides: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Per-IP overrides by address: a host name stands for each of its addresses."""
    by_ip: dict[str, int] = {}
    for host, count in overrides:
        try:
            addresses = {info[4][0] for info in _socket.getaddrinfo(host, None)}
        except OSError as exc:
            log.warning("max.connections.per.ip.overrides: cannot resolve %s (%s); using it as written", host, exc)
            addresses = {host}
        for address in addresses:
            by_ip[str(address)] = count
    return by_ip


class ConnectionQuota:
    """``max.connections`` and ``max.connections.per.ip`` (with overrides) of one broker node."""

    def __init__(
        self,
        max_connections: int = UNLIMITED,
        max_per_ip: int = UNLIMITED,
        overrides: Iterable[tuple[str, int]] = (),
    ) -> None:
        self.max_connections = max_connections
        self.max_per_ip = max_per_ip
        self.overrides = _resolve(overrides)
        self.total = 0
        self.per_ip: dict[str, int] = {}
        self.rejected = 0  # connections closed for the per-IP limit
        self._freed = trio.Event()

    def limit_for(self, ip: str) -> int:
        return self.overrides.get(ip, self.max_per_ip)

    async def wait_for_slot(self) -> None:
        """Return once the node has fewer than ``max_connections``."""
        while self.total >= self.max_connections:
            await self._freed.wait()

    def admit(self, ip: str) -> bool:
        """Count a connection from *ip*; False (not counted) if *ip* is at its limit."""
        count = self.per_ip.get(ip, 0)
        if count >= self.limit_for(ip):
            self.rejected += 1
            return False
        self.per_ip[ip] = count + 1
        self.total += 1
        return True

    def release(self, ip: str) -> None:
        count = self.per_ip.pop(ip, 0) - 1
        if count > 0:
            self.per_ip[ip] = count
        self.total -= 1
        self._freed.set()
        self._freed = trio.Event()


class DrainingStream(trio.abc.HalfCloseableStream):
    """A socket stream that reads as closed by the peer once its `Connections` drains."""

    def __init__(self, stream: trio.SocketStream, connections: Connections, node_id: int = -1) -> None:
        self._stream = stream
        self._connections = connections
        self._node_id = node_id
        self.socket = stream.socket  # for the peer name

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._connections.draining or self._node_id in self._connections._stopping:
            return b""
        with trio.CancelScope() as scope:
            self._connections._idle[scope] = self._node_id
            try:
                return await self._stream.receive_some(max_bytes)
            finally:
                self._connections._idle.pop(scope, None)
        # Cancelled by the drain while waiting for a request: nothing was read.
        return b""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()

    def setsockopt(self, *args: Any) -> None:
        self._stream.setsockopt(*args)

    def getsockopt(self, *args: Any) -> Any:
        return self._stream.getsockopt(*args)


class Connections:
    """The listeners of one broker and its connection tasks. Use from the broker's trio thread."""

    def __init__(self, grace_s: float = DEFAULT_GRACE_S) -> None:
        self.grace_s = grace_s
        self.draining = False
        self._listeners: list[tuple[list[trio.SocketListener], Handler, ConnectionQuota, int]] = []
        self._idle: dict[trio.CancelScope, int] = {}  # connections waiting for a request -> node id
        self._requested = trio.Event()
        self._changed = trio.Event()  # set when a connection ends
        self._open = 0
        # Per broker node (kafkalite.broker.nodes): its accept loops, connections, how many.
        self._accepting: trio.Nursery | None = None
        self._connections: trio.Nursery | None = None
        self._accept_scopes: dict[int, list[trio.CancelScope]] = {}
        self._node_connections: dict[int, set[trio.CancelScope]] = {}
        self._stopping: set[int] = set()
        self._stopped: set[int] = set()  # nodes whose listeners are closed until `listen` again

    def listen(
        self,
        listeners: list[trio.SocketListener],
        handler: Handler,
        quota: ConnectionQuota | None = None,
        node_id: int = -1,
    ) -> None:
        """Serve connections of *listeners* with ``await handler(stream)`` once `run` runs
        (at once if it runs), within *quota* (one broker node's limits; none by default), as
        broker node *node_id*'s.

        `run` (or `stop_node`) closes the listeners; *handler* must close the stream it is given.
        """
        entry = (listeners, handler, quota or ConnectionQuota(), node_id)
        self._listeners.append(entry)
        self._stopped.discard(node_id)
        if self._accepting is not None and self._connections is not None:
            self._start_accepting(entry, self._accepting, self._connections)

    def _start_accepting(
        self,
        entry: tuple[list[trio.SocketListener], Handler, ConnectionQuota, int],
        accepting: trio.Nursery,
        connections: trio.Nursery,
    ) -> None:
        listeners, handler, quota, node_id = entry
        for listener in listeners:
            scope = trio.CancelScope()
            self._accept_scopes.setdefault(node_id, []).append(scope)
            accepting.start_soon(self._accept_in, scope, listener, handler, quota, connections, node_id)

    async def _accept_in(self, scope: trio.CancelScope, *args: Any) -> None:
        with scope:
            await self._accept_loop(*args)

    async def stop_node(self, node_id: int, grace_s: float) -> None:
        """Stop broker node *node_id*'s listeners (new connections are refused) and end its
        connections: those idle at once, those busy with a request once it is answered or
        after *grace_s* (0: at once, a hard stop). Returns when none is left."""
        self._stopping.add(node_id)
        self._stopped.add(node_id)
        try:
            for scope in self._accept_scopes.pop(node_id, []):
                scope.cancel()
            mine = [entry for entry in self._listeners if entry[3] == node_id]
            self._listeners = [entry for entry in self._listeners if entry[3] != node_id]
            with trio.CancelScope(shield=True):
                for listeners, _handler, _quota, _node in mine:
                    for listener in listeners:
                        await listener.aclose()
            for scope, owner in list(self._idle.items()):
                if owner == node_id:
                    scope.cancel()
            # Real time: the stop of an emulated process, not a broker rule.
            with trio.move_on_after(grace_s):
                while self._node_connections.get(node_id):
                    await self._wait_changed()
            for scope in list(self._node_connections.get(node_id, ())):
                scope.cancel()
            while self._node_connections.get(node_id):
                await self._wait_changed()
        finally:
            self._stopping.discard(node_id)

    async def _wait_changed(self) -> None:
        changed = self._changed
        await changed.wait()

    def shutdown(self, grace_s: float | None = None) -> None:
        """Ask for a graceful stop (see the module docstring); `run` then returns. Idempotent."""
        if grace_s is not None:
            self.grace_s = grace_s
        self._requested.set()

    @property
    def open_connections(self) -> int:
        return self._open

    async def run(self) -> None:
        """Accept and serve until `shutdown`, then drain; return once no connection is left."""
        async with trio.open_nursery() as connections:
            try:
                async with trio.open_nursery() as accepting:
                    for entry in self._listeners:
                        self._start_accepting(entry, accepting, connections)
                    self._accepting, self._connections = accepting, connections
                    await self._requested.wait()
                    self._accepting = None
                    accepting.cancel_scope.cancel()
            finally:
                self._accepting = None
                with trio.CancelScope(shield=True):
                    for listeners, _handler, _quota, _node in self._listeners:
                        for listener in listeners:
                            await listener.aclose()
            self.draining = True
            log.info("shutting down: no new connections; finishing %d connection(s)", self._open)
            for scope in list(self._idle):
                scope.cancel()
            # Real time, not the broker clock: a shutdown grace is for the process, not a rule.
            with trio.move_on_after(self.grace_s):
                while self._open:
                    self._changed = trio.Event()
                    await self._changed.wait()
            if self._open:
                log.info("cancelling %d request(s) still in flight after %.1f s", self._open, self.grace_s)
            connections.cancel_scope.cancel()

    async def _accept_loop(
        self,
        listener: trio.SocketListener,
        handler: Handler,
        quota: ConnectionQuota,
        connections: trio.Nursery,
        node_id: int = -1,
    ) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno in _ACCEPT_CAPACITY_ERRNOS:
                    log.error("accept failed (%s); retrying in 100 ms", exc)
                    await trio.sleep(0.1)  # real time: waits for the OS, not a broker rule
                    continue
                raise
            ip = _peer_ip(stream)
            try:
                await quota.wait_for_slot()  # max.connections: accept no more until one closes
            except BaseException:
                with trio.CancelScope(shield=True):
                    await stream.aclose()
                raise
            if not quota.admit(ip):
                log.info(
                    "rejected connection from %s: the address already has the maximum of %d connections",
                    ip, quota.limit_for(ip),
                )
                with trio.CancelScope(shield=True):
                    await stream.aclose()
                continue
            connections.start_soon(self._serve_one, stream, handler, quota, ip, node_id)

    async def _serve_one(
        self, stream: trio.SocketStream, handler: Handler, quota: ConnectionQuota, ip: str, node_id: int = -1
    ) -> None:
        if node_id in self._stopped:  # accepted just before its node stopped
            quota.release(ip)
            with trio.CancelScope(shield=True):
                await stream.aclose()
            return
        self._open += 1
        mine = self._node_connections.setdefault(node_id, set())
        scope = trio.CancelScope()
        mine.add(scope)
        try:
            with scope:
                await handler(DrainingStream(stream, self, node_id))
        finally:
            mine.discard(scope)
            self._open -= 1
            quota.release(ip)
            self._changed.set()
            self._changed = trio.Event()
