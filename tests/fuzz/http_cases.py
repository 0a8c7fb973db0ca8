"""Hostile HTTP requests for the control API: random methods, paths, queries and bodies
(random JSON, JSON of the wrong shape, fault specs with random values, bytes that are not
JSON). Driven by a `random.Random`, so a seed replays a case."""

from __future__ import annotations

import json
import random
from typing import Any

from kafkalite.broker.faults import SPEC_KEYS

PATHS = ["/v1/faults", "/v1/faults/1", "/v1/faults/0", "/v1/faults/-1", "/v1/faults/abc", "/v1/faults/99999999999999999999",
         "/v1/journal", "/v1/clock", "/v1/clock/advance", "/v1/clock/freeze", "/v1/clock/unfreeze", "/v1/reset",
         "/healthz", "/readyz", "/metrics", "/openapi.json", "/", "/v1", "/v1/", "//v1//faults", "/v1/faults/%00",
         "/v1/%2e%2e/faults", "/v1/faults/1/2", "/" + "a" * 5000]
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "BREW"]
QUERY_KEYS = ["api", "client_id", "topic", "partition", "group_id", "since_ms", "until_ms", "limit", "x", ""]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.4:
        return rng.choice([None, True, False, 0, -1, 1.5, 1e308, -(2**63), 2**64, "", "x", "Produce", "ü" * 3, [], {}])
    if roll < 0.7:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(list(SPEC_KEYS) + ["seconds", "x", ""]): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_body(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.5:
        return json.dumps(random_json(rng)).encode()
    if roll < 0.7:  # a fault spec or clock advance with random values
        keys = rng.sample(list(SPEC_KEYS) + ["seconds"], rng.randint(1, 4))
        return json.dumps({k: random_json(rng, 2) for k in keys}).encode()
    if roll < 0.85:
        return rng.choice([b"{", b"[1,", b'{"a":}', b"\xff\xfe", b"NaN", b'{"seconds": Infinity}', b"1" * 10000, b""])
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))


def random_query(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return ""
    pairs = [f"{rng.choice(QUERY_KEYS)}={rng.choice(['', '1', '-1', 'abc', '%zz', '99999999999999999999', 'Produce'])}"
             for _ in range(rng.randint(1, 3))]
    return "?" + "&".join(pairs)


def random_http_request(rng: random.Random) -> tuple[str, str, bytes]:
    """(method, path with query, body)."""
    return rng.choice(METHODS), rng.choice(PATHS) + random_query(rng), random_body(rng) if rng.random() < 0.7 else b""
