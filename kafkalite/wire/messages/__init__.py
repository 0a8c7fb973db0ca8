"""One module per Kafka API, each declaring its request and response with `wire.schema`.

`all_apis()` discovers them: every module here that defines ``API_KEY`` and one request and
one response message class. Adding an API is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import attrs


@attrs.frozen
class ApiMessages:
    api_key: int
    name: str
    request: type
    response: type


@cache
def all_apis() -> dict[int, ApiMessages]:
    """Return every declared API by key (imports each message module once)."""
    apis: dict[int, ApiMessages] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        key = getattr(module, "API_KEY", None)
        if key is None:
            continue
        request = response = None
        for value in vars(module).values():
            if getattr(value, "__kafka_api_key__", None) != key:
                continue
            if value.__name__.endswith("Request"):
                request = value
            elif value.__name__.endswith("Response"):
                response = value
        if request is None or response is None:
            raise RuntimeError(f"{module.__name__} must declare a request and a response")
        if key in apis:
            raise RuntimeError(f"API key {key} declared twice ({module.__name__})")
        apis[key] = ApiMessages(key, request.__name__[: -len("Request")], request, response)
    return apis
