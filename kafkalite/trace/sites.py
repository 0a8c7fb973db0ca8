"""Where a response carries error codes, and what a reason may look at (learning mode).

`error_sites` finds every struct of a response with a non-zero ``error_code``; a `Context`
gives the reasons of `kafkalite.trace.explain` the request, its version and the broker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker


class ErrorSite:
    """Where in a response an error code sits, with what a reason needs to know."""

    def __init__(self, path: str, chain: list[Any], code: int) -> None:
        self.path = path
        self.chain = chain  # response structs from the top down to the one with the error
        self.code = code

    @property
    def struct(self) -> Any:
        return self.chain[-1]

    def attr(self, *names: str) -> Any:
        """The first of *names* found on the erroring struct or, going up, its parents."""
        for obj in reversed(self.chain):
            for name in names:
                value = getattr(obj, name, None)
                if value is not None and name in _field_names(obj):
                    return value
        return None

    @property
    def topic(self) -> str | None:
        for obj in reversed(self.chain[:-1] if _partition_of(self.struct) is not None else self.chain):
            for name in ("topic", "name"):
                if name in _field_names(obj):
                    value = getattr(obj, name)
                    if isinstance(value, str) and value:
                        return value
        return None

    @property
    def partition(self) -> int | None:
        return _partition_of(self.struct)


def _field_names(obj: Any) -> set[str]:
    return {spec.name for spec in getattr(type(obj), "__kafka_fields__", ())}


def _partition_of(obj: Any) -> int | None:
    for name in ("partition_index", "partition", "index"):
        if name in _field_names(obj):
            value = getattr(obj, name)
            if isinstance(value, int):
                return value
    return None


def error_sites(response: Any) -> list[ErrorSite]:
    """Every struct of *response* with a non-zero ``error_code``, depth first."""
    found: list[ErrorSite] = []

    def walk(obj: Any, path: str, chain: list[Any]) -> None:
        fields = getattr(type(obj), "__kafka_fields__", None)
        if fields is None:
            return
        chain = [*chain, obj]
        for spec in fields:
            value = getattr(obj, spec.name)
            if spec.name == "error_code" and value:
                found.append(ErrorSite(path, chain, value))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(item, f"{path}.{spec.name}[{i}]" if path else f"{spec.name}[{i}]", chain)
            elif hasattr(type(value), "__kafka_fields__"):
                walk(value, f"{path}.{spec.name}" if path else spec.name, chain)

    walk(response, "", [])
    return found


def request_partition(request: Any, topic: str | None, partition: int | None) -> Any:
    """The request's struct for *topic* / *partition* (Fetch, Produce, ListOffsets ...)."""
    for t in _items(request, ("topics", "topic_data")):
        name = getattr(t, "topic", None) or getattr(t, "name", None)
        if topic is not None and name != topic:
            continue
        for p in _items(t, ("partitions", "partition_data")):
            if _partition_of(p) == partition:
                return p
    return None


def _items(obj: Any, names: tuple[str, ...]) -> list[Any]:
    for name in names:
        if name in _field_names(obj):
            return getattr(obj, name) or []
    return []


Reason = Callable[["Context", ErrorSite], "str | None"]


class Context:
    """What a reason may look at: the broker (current state), the request and its version."""

    def __init__(self, broker: Broker, api_key: int, version: int, request: Any, node_id: int) -> None:
        self.broker = broker
        self.api_key = api_key
        self.version = version
        self.request = request
        self.node_id = node_id

    def plog(self, topic: str | None, partition: int | None) -> Any:
        if topic is None or partition is None:
            return None
        return self.broker.log_for(topic, partition)

    def group(self) -> Any:
        group_id = getattr(self.request, "group_id", None)
        if group_id is None:
            return None
        return self.broker.groups.group(group_id)
