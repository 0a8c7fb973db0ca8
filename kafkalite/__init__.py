"""kafkalite: a Kafka broker in Python, on trio, that real Kafka clients talk to.

The public API, imported lazily so that ``import kafkalite`` costs next to nothing:

* `BrokerConfig`: what a broker needs to start (frozen; in memory with ``memory=True``).
* `serve`: the broker under trio, ``info = await nursery.start(kafkalite.serve, config)``;
  ``info.bootstrap_servers`` is the address clients take, ``info.shutdown()`` stops it.
* `run_in_thread`: a broker in a background thread for synchronous code, used as
  ``with kafkalite.run_in_thread() as broker: broker.bootstrap_servers``; `BrokerThread` is
  what it returns (with test helpers: create_topic, produce, records, committed, waits).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BrokerConfig": "kafkalite.broker.settings",
    "serve": "kafkalite.server.serve",
    "ServerInfo": "kafkalite.server.serve",
    "run_in_thread": "kafkalite.testing.thread",
    "BrokerThread": "kafkalite.testing.thread",
    "ConsumedRecord": "kafkalite.testing.helpers",
    "GroupInfo": "kafkalite.testing.helpers",
    "WaitTimeout": "kafkalite.testing.waits",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from kafkalite.broker.settings import BrokerConfig
    from kafkalite.testing.helpers import ConsumedRecord, GroupInfo
    from kafkalite.testing.thread import BrokerThread, run_in_thread
    from kafkalite.testing.waits import WaitTimeout
    from kafkalite.server.serve import ServerInfo, serve


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kafkalite' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
