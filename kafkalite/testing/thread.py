"""A broker in a background thread, for synchronous code: scripts, unittest, Django, pytest.

    with kafkalite.run_in_thread(partitions=3) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
        ...
        broker.wait_for_records("orders", 10)

The broker runs `kafkalite.serve` in its own thread with its own trio loop. Helpers
(`BrokerThread.create_topic`, `produce`, `records`, `committed`, the ``wait_for_*`` methods)
work on the broker's state directly, in the broker's thread: each one is handed to the trio
loop through its `trio.lowlevel.TrioToken` (`BrokerThread.call`, `BrokerThread.run`) and the
calling thread blocks until it is done. They may be called from any thread, also from inside
another trio loop (a trio test), as long as it is not the broker's own thread. The helpers
are written in `kafkalite.testing.helpers`, the waits in `kafkalite.testing.waits`; this
module runs the broker and hands them their work.

`reset` empties the broker between tests in about a millisecond: user topics, groups,
committed offsets and idempotent-producer state are dropped; the listeners, the cluster id
and ``__consumer_offsets`` (emptied) stay.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

import attrs
import trio

from kafkalite.broker.settings import JOURNAL_SIZE, BrokerConfig
from kafkalite.testing.assertions import BrokerAssertions, JournalProxy
from kafkalite.testing.clock import ClockControl
from kafkalite.testing.acls import BrokerAcls
from kafkalite.testing.faults import BrokerFaults
from kafkalite.testing.quotas import BrokerQuotas
from kafkalite.testing.schemas import BrokerSchemas
from kafkalite.testing.helpers import BrokerHelpers
from kafkalite.testing.waits import BrokerWaits

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker
    from kafkalite.server.serve import ServerInfo

log = logging.getLogger("kafkalite.inprocess")

T = TypeVar("T")

#: Config fields a running (shared) broker can change between tests: they are read on use.
RUNTIME_FIELDS = frozenset({"num_partitions", "auto_create_topics"})


class BrokerNotRunning(RuntimeError):
    """The broker thread is not running (not started yet, stopped, or failed)."""


def _unwrap(exc: BaseException) -> BaseException:
    """The one exception inside (nested) single-exception groups, as trio's nurseries wrap it."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def make_config(config: BrokerConfig | None = None, **overrides: Any) -> BrokerConfig:
    """*config* (default: in memory, 127.0.0.1, a free port, the request journal on with
    `JOURNAL_SIZE` entries) with *overrides* applied.

    ``partitions`` is accepted as the name of ``num_partitions`` (the CLI's name).
    """
    if "partitions" in overrides:
        overrides["num_partitions"] = overrides.pop("partitions")
    if config is None:
        base: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "memory": True, "journal_size": JOURNAL_SIZE}
        base.update(overrides)
        return BrokerConfig(**base)
    return attrs.evolve(config, **overrides) if overrides else config


class BrokerThread(BrokerHelpers, BrokerWaits, BrokerAssertions, BrokerSchemas):
    """A running broker in a background thread; see the module docstring.

    Create with `run_in_thread` (a context manager) or call `start` / `stop` yourself.
    """

    def __init__(self, config: BrokerConfig | None = None, **overrides: Any) -> None:
        self.config = make_config(config, **overrides)
        self._base_config = self.config
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._info: ServerInfo | None = None
        self._started = threading.Event()
        self._stop = trio.Event()
        self._grace_s: float | None = None
        self._error: BaseException | None = None
        self._round_robin: dict[str, itertools.count[int]] = {}
        #: The request journal, and what clients sent (kafkalite.testing.assertions).
        self.journal = JournalProxy(self)

    # -- lifetime ------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> BrokerThread:
        """Start the broker; return once it accepts connections.

        Raises:
            BrokerNotRunning: it failed to start (the cause is chained), or took longer than
                *timeout* seconds.
        """
        if self._thread is not None:
            raise RuntimeError("this BrokerThread was already started")
        self._thread = threading.Thread(target=self._thread_main, name="kafkalite-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise BrokerNotRunning(f"kafkalite did not start within {timeout} s")
        if self._info is None:
            self._thread.join(timeout)
            raise BrokerNotRunning(f"kafkalite failed to start: {self._error}") from self._error
        return self

    def stop(self, timeout: float = 10.0, grace_s: float = 0.0) -> None:
        """Stop gracefully (in-flight requests get *grace_s*) and wait for the thread.

        Idempotent. Raises what the broker thread died of, if it died of anything.
        """
        thread = self._thread
        if thread is None:
            return
        token = self._token
        if token is not None and thread.is_alive():
            self._grace_s = grace_s
            with contextlib.suppress(trio.RunFinishedError):  # it just ended on its own
                token.run_sync_soon(self._stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the kafkalite broker thread did not stop within {timeout} s")
        error, self._error = self._error, None
        if error is not None:
            raise error

    def __enter__(self) -> BrokerThread:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _thread_main(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported by start() / stop(), never lost in the thread
            self._error = _unwrap(exc)
            log.debug("kafkalite broker thread ended with %r", exc)
        finally:
            self._token = None
            self._started.set()

    async def _main(self) -> None:
        from kafkalite.server.serve import serve

        self._token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as helpers:
            self._nursery = helpers  # tasks of `run`
            async with trio.open_nursery() as server:
                self._info = await server.start(serve, self.config)
                self._started.set()
                await self._stop.wait()
                self._info.shutdown(self._grace_s)
            # serve returned, the logs are closed: end helper tasks still waiting.
            helpers.cancel_scope.cancel()

    # -- addresses -----------------------------------------------------------------------

    @property
    def info(self) -> ServerInfo:
        if self._info is None:
            raise BrokerNotRunning("the broker has not started")
        return self._info

    @property
    def bootstrap_servers(self) -> str:
        """The "host:port" string Kafka clients take as bootstrap.servers."""
        return self.info.bootstrap_servers

    @property
    def listener_addresses(self) -> dict[str, str]:
        """listener name -> its "host:port" (several nodes: comma-separated), as bound."""
        return self.info.listener_addresses

    @property
    def host(self) -> str:
        return self.info.bound[0][0]

    @property
    def port(self) -> int:
        return self.info.bound[0][1]

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the HTTP control API (start with ``http_port=0``).

        Raises:
            RuntimeError: the HTTP API is off.
        """
        return self.info.http_url

    @property
    def broker(self) -> Broker:
        """The broker's state. Only touch it from the broker thread: see `call`."""
        return self.info.broker

    @property
    def faults(self) -> BrokerFaults:
        """The broker's fault rules, usable from this thread: see `kafkalite.testing.faults`."""
        return BrokerFaults(self)

    @property
    def quotas(self) -> BrokerQuotas:
        """The broker's client quotas, from this thread: ``set(client_id=.., producer_byte_rate=..)``,
        ``remove``, ``describe``, ``clear`` (`kafkalite.testing.quotas`)."""
        return BrokerQuotas(self)

    @property
    def acls(self) -> BrokerAcls:
        """The broker's ACLs, usable from this thread: see `kafkalite.testing.acls`."""
        return BrokerAcls(self)

    @property
    def clock(self) -> ClockControl:
        """The broker's clock, from this thread: ``advance(seconds)``, ``freeze()``,
        ``unfreeze()``, ``frozen``, ``now_ms()`` (`kafkalite.testing.clock`)."""
        return ClockControl(lambda: self.broker.clock, self.call, self.run)

    # -- broker nodes (kafkalite.broker.nodes) --------------------------------------------

    def stop_node(self, node_id: int, clean: bool = True) -> bool:
        """Stop node *node_id* while the others run. A broker: clean is Kafka's controlled
        shutdown (leaderships move first), ``clean=False`` a kill -9 (its connections drop
        at once). A controller (`controller_ids`): it stops voting and copying the metadata
        log; a stopped active controller is replaced at once if a majority is left, else
        metadata changes wait and fail with REQUEST_TIMED_OUT (`kafkalite.broker.quorum`).
        Returns False if it was stopped already.

        Raises:
            kafkalite.broker.nodes.UnknownNode: neither a broker's nor a controller's id.
        """
        return self.run(self.broker.nodes.stop, node_id, clean)

    def start_node(self, node_id: int) -> bool:
        """Start node *node_id* again (a broker on the ports it had; a controller catches up
        its metadata log); False if it runs."""
        return self.run(self.broker.nodes.start, node_id)

    def nodes(self) -> list[dict[str, Any]]:
        """Every node: id, host, port, rack, live, leaders (count), role (brokers, then
        dedicated controllers)."""
        return self.call(self.broker.nodes.describe)

    def __repr__(self) -> str:
        where = self._info.bootstrap_servers if self._info is not None else "not running"
        return f"<kafkalite BrokerThread {where}>"

    # -- nodes ---------------------------------------------------------------------------

    @property
    def controller_ids(self) -> list[int]:
        """The controller quorum's voter ids (the broker's own id when combined with it)."""
        return self.call(lambda: self.broker.quorum.voter_ids)

    # -- running code in the broker thread -----------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
        """Run ``fn(*args)`` in the broker's thread and return its result (or raise its error)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        self._submit(run)
        return future.result(timeout)

    def run(self, async_fn: Callable[..., Awaitable[T]], *args: Any, timeout: float = 60.0) -> T:
        """Run ``await async_fn(*args)`` as a task of the broker's trio loop; return its result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        async def task() -> None:
            try:
                result = await async_fn(*args)
            except trio.Cancelled:
                future.set_exception(BrokerNotRunning("the broker stopped while the helper ran"))
                raise
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        def spawn() -> None:
            if future.set_running_or_notify_cancel():
                assert self._nursery is not None
                self._nursery.start_soon(task)

        self._submit(spawn)
        return future.result(timeout)

    def _submit(self, fn: Callable[[], None]) -> None:
        token = self._token
        if token is None or self._info is None:
            raise BrokerNotRunning("the kafkalite broker is not running")
        try:
            token.run_sync_soon(fn)
        except trio.RunFinishedError:
            raise BrokerNotRunning("the kafkalite broker is not running") from None

    # -- reset ---------------------------------------------------------------------------

    def reset(self, **config_overrides: Any) -> None:
        """Start the broker nodes a test stopped; drop every user topic, group, committed
        offset and producer state (see module docstring); then apply *config_overrides* (only ``num_partitions`` / ``partitions``
        and ``auto_create_topics``: they are read on use).

        Raises:
            ValueError: an override of a field that needs a new broker.
        """
        if "partitions" in config_overrides:
            config_overrides["num_partitions"] = config_overrides.pop("partitions")
        fixed = set(config_overrides) - RUNTIME_FIELDS
        if fixed:
            raise ValueError(
                f"{', '.join(sorted(fixed))} cannot change on a running broker; start a new one "
                f"(only {', '.join(sorted(RUNTIME_FIELDS))} can)"
            )
        config = attrs.evolve(self._base_config, **config_overrides) if config_overrides else self._base_config

        stopped = [row["id"] for row in self.nodes() if not row["live"]]
        for node_id in stopped:  # every node runs again, as at start
            self.start_node(node_id)

        def reset() -> None:
            started = time.perf_counter()
            deleted = self.broker.reset(config)
            self.config = config
            log.debug("reset: %d topic(s) deleted in %.1f ms", deleted, (time.perf_counter() - started) * 1000)

        self.call(reset)
        self._round_robin.clear()


def run_in_thread(config: BrokerConfig | None = None, **overrides: Any) -> BrokerThread:
    """Start a broker in a background thread; use as a context manager.

    *config* defaults to an in-memory broker on 127.0.0.1 and a free port; keyword
    *overrides* are BrokerConfig fields (``partitions`` stands for ``num_partitions``)::

        with kafkalite.run_in_thread(partitions=4) as broker:
            print(broker.bootstrap_servers)

    The broker stops (gracefully) when the ``with`` block ends.
    """
    return BrokerThread(config, **overrides).start()
