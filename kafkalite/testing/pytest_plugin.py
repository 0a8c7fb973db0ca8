"""pytest plugin: a ready Kafka broker for tests (registered through the pytest11 entry point).

Fixtures:

* ``kafkalite_broker``: a fresh in-memory broker per test, running in a background thread;
  a `kafkalite.testing.thread.BrokerThread` with ``bootstrap_servers`` and the helpers
  (``create_topic``, ``produce``, ``records``, ``committed``, ``wait_for_group``,
  ``wait_for_committed``, ``wait_for_records`` ...).
* ``kafkalite_shared_broker``: the same, but one broker for the whole session, emptied
  before each test (topics, groups, offsets and producer state dropped) in a few
  milliseconds instead of a restart of a few hundred.
* ``kafkalite_session_broker``: that session broker itself, never reset.

Settings, from the most general to the most specific:

* ini (``pytest.ini`` / ``[tool.pytest.ini_options]``): ``kafkalite_partitions`` (partitions
  of an auto-created topic), ``kafkalite_brokers`` (emulated broker nodes),
  ``kafkalite_controllers`` (controller quorum voters),
  ``kafkalite_log_level`` (level of kafkalite's own log records during tests, default
  WARNING), ``kafkalite_trace`` (log every request and response, see ``--trace``),
  ``kafkalite_http_port`` (serve the HTTP control API, e.g. for the shared session broker:
  0 picks a free port, its URL is ``broker.http_url``; off by default; the web console is
  at its root), ``kafkalite_console_write`` (the console may change fault rules);
* ``schema_registry_url``: the Schema Registry's URL on the test's broker (the
  ``kafkalite_broker`` or ``kafkalite_shared_broker`` the test uses, else a fresh one); a
  test or session that asks for it gets the HTTP port on. The broker's ``register_schema``,
  ``get_schema`` and ``latest_schema`` use the same registry;
* a marker on a test: ``@pytest.mark.kafkalite(partitions=4, auto_create_topics=False)``
  (any `BrokerConfig` field; a shared broker accepts only ``partitions`` and
  ``auto_create_topics``);
* indirect parametrisation: ``@pytest.mark.parametrize("kafkalite_broker", [{"partitions": 2}],
  indirect=True)``.

``--kafkalite-coverage`` prints, at the end of the run, the Kafka APIs and versions each test
exercised against these fixtures (read from the broker's request journal when the test
ends; the session broker's once, since its last reset) and all of them together:
what the application under test really speaks.

Nothing heavier than pytest is imported until a fixture is used.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from kafkalite.testing.thread import BrokerThread

_INI = {
    "kafkalite_partitions": ("partitions of a topic created automatically (default 1)", "1"),
    "kafkalite_brokers": ("emulated broker nodes (default 1)", "1"),
    "kafkalite_controllers": ("controller quorum voters (default 1)", "1"),
    "kafkalite_log_level": ("level of kafkalite's log records during tests (default WARNING)", "WARNING"),
    "kafkalite_http_port": ("port of the brokers' HTTP control API (0: a free port; default off)", ""),
}


_COVERAGE = pytest.StashKey[dict[str, dict[str, list[int]]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, (help_text, default) in _INI.items():
        parser.addini(name, help_text, default=default)
    parser.addini("kafkalite_trace", "log every request and response (learning mode)", type="bool", default=False)
    parser.addini("kafkalite_console_write", "let the web console on the HTTP port change data (fault rules)",
                  type="bool", default=False)
    parser.getgroup("kafkalite").addoption(
        "--kafkalite-coverage", action="store_true", default=False,
        help="at the end, list the Kafka APIs and versions each test used against the kafkalite fixtures",
    )


def _record_coverage(config: pytest.Config, name: str, broker: BrokerThread) -> None:
    """Keep the APIs and versions *broker*'s journal saw, under *name* (a test id)."""
    if not config.getoption("kafkalite_coverage", False):
        return
    from kafkalite.testing.thread import BrokerNotRunning

    try:
        used = broker.journal.apis()
    except BrokerNotRunning:
        return  # it died: the test says so already
    found = config.stash.setdefault(_COVERAGE, {}).setdefault(name, {})
    for api, versions in used.items():
        found[api] = sorted(set(found.get(api, [])) | set(versions))


def _versions(used: dict[str, list[int]]) -> str:
    return ", ".join(f"{api} v{','.join(map(str, versions))}" for api, versions in sorted(used.items())) or "none"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    coverage = config.stash.get(_COVERAGE, None)
    if not config.getoption("kafkalite_coverage", False):
        return
    terminalreporter.write_sep("=", "kafkalite protocol coverage")
    if not coverage:
        terminalreporter.write_line("no test used a kafkalite fixture with the request journal on")
        return
    total: dict[str, set[int]] = {}
    for name, used in coverage.items():
        terminalreporter.write_line(f"{name}: {_versions(used)}")
        for api, versions in used.items():
            total.setdefault(api, set()).update(versions)
    terminalreporter.write_line(f"all together: {_versions({api: sorted(v) for api, v in total.items()})}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kafkalite(**fields): BrokerConfig fields for this test's kafkalite broker, "
        "e.g. partitions=4 or auto_create_topics=False",
    )


def _int_ini(config: pytest.Config, name: str) -> int:
    raw = config.getini(name)
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(f"ini setting {name} must be a whole number, not {raw!r}") from None


def _ini_overrides(config: pytest.Config) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "num_partitions": _int_ini(config, "kafkalite_partitions"),
        "brokers": _int_ini(config, "kafkalite_brokers"),
        "controllers": _int_ini(config, "kafkalite_controllers"),
        "trace": bool(config.getini("kafkalite_trace")),
    }
    if str(config.getini("kafkalite_http_port")).strip():
        overrides["http_port"] = _int_ini(config, "kafkalite_http_port")
    if config.getini("kafkalite_console_write"):
        overrides["console_write"] = True
    return overrides


def _test_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("kafkalite"))):
        if marker.args:
            raise pytest.UsageError("@pytest.mark.kafkalite takes keyword arguments only, e.g. partitions=4")
        overrides.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, dict):
            raise pytest.UsageError(
                f"kafkalite_broker parameters must be dicts of BrokerConfig fields, not {param!r}"
            )
        overrides.update(param)
    if "partitions" in overrides:
        overrides["num_partitions"] = overrides.pop("partitions")
    if "schema_registry_url" in request.fixturenames and request.fixturename == "kafkalite_broker":
        overrides.setdefault("http_port", 0)  # where the registry is served
    return overrides


class _LogLevel:
    """Set the levels of kafkalite's loggers for the duration of one test, then restore them."""

    def __init__(self, config: pytest.Config) -> None:
        level = str(config.getini("kafkalite_log_level")).upper()
        if level not in logging.getLevelNamesMapping():
            raise pytest.UsageError(f"kafkalite_log_level {level!r} is not a logging level")
        self.level = level
        self.trace = bool(config.getini("kafkalite_trace"))
        self.logger = logging.getLogger("kafkalite")
        self.trace_logger = logging.getLogger("kafkalite.trace")
        self.previous = (self.logger.level, self.trace_logger.level)

    def __enter__(self) -> None:
        self.logger.setLevel(self.level)
        if self.trace:
            self.trace_logger.setLevel(logging.INFO)

    def __exit__(self, *exc: Any) -> None:
        self.logger.setLevel(self.previous[0])
        self.trace_logger.setLevel(self.previous[1])


def _start(overrides: dict[str, Any]) -> BrokerThread:
    from kafkalite.testing.thread import BrokerThread

    try:
        broker = BrokerThread(**overrides)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"kafkalite: invalid broker settings {overrides}: {exc}") from None
    return broker.start()


@pytest.fixture
def kafkalite_broker(request: pytest.FixtureRequest) -> Iterator[BrokerThread]:
    """A fresh in-memory kafkalite broker for this test (stopped afterwards)."""
    overrides = {**_ini_overrides(request.config), **_test_overrides(request)}
    with _LogLevel(request.config):
        broker = _start(overrides)
        try:
            yield broker
            _record_coverage(request.config, request.node.nodeid, broker)
        finally:
            broker.stop()


@pytest.fixture(scope="session")
def kafkalite_session_broker(request: pytest.FixtureRequest) -> Iterator[BrokerThread]:
    """One kafkalite broker for the whole session, never reset (see kafkalite_shared_broker)."""
    overrides = _ini_overrides(request.config)
    if any("schema_registry_url" in getattr(item, "fixturenames", ()) for item in request.session.items):
        overrides.setdefault("http_port", 0)  # some test of the session reads the registry
    broker = _start(overrides)
    try:
        yield broker
        _record_coverage(request.config, "kafkalite_session_broker (since its last reset)", broker)
    finally:
        broker.stop()


@pytest.fixture
def kafkalite_shared_broker(
    request: pytest.FixtureRequest, kafkalite_session_broker: BrokerThread
) -> Iterator[BrokerThread]:
    """The session's broker, emptied for this test: no topics, groups, offsets or producers."""
    overrides = _test_overrides(request)
    with _LogLevel(request.config):
        try:
            kafkalite_session_broker.reset(**overrides)
        except ValueError as exc:
            raise pytest.UsageError(f"kafkalite_shared_broker: {exc}") from None
        yield kafkalite_session_broker
        _record_coverage(request.config, request.node.nodeid, kafkalite_session_broker)


@pytest.fixture
def schema_registry_url(request: pytest.FixtureRequest) -> str:
    """The Schema Registry's base URL on this test's broker, for serializers and HTTP clients
    (``SchemaRegistryClient({"url": schema_registry_url})``)."""
    for name in ("kafkalite_shared_broker", "kafkalite_broker"):
        if name in request.fixturenames:
            broker: BrokerThread = request.getfixturevalue(name)
            return broker.schema_registry_url
    return request.getfixturevalue("kafkalite_broker").schema_registry_url
