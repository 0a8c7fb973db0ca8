"""Requests built from kafkalite's message declarations with hostile field values, and raw
byte mutations of frames: the generators of the fuzz tests and of bench/fuzz.py.

`random_request(rng, cls, version)` walks the declaration (`__kafka_fields__`) and fills every
field present at *version* with a value of its type chosen to hurt: extremes (-1, 0, the
type's minimum and maximum), nulls where nullable, empty and odd strings, names of existing
topics, small arrays, record sets that are random bytes or a real batch with flipped bytes.
`mutate(rng, frame)` flips, truncates, duplicates or splices bytes of a whole frame.
Everything is driven by a `random.Random`, so a seed replays a case exactly.
"""

from __future__ import annotations

import random
import struct
import uuid
from typing import Any, Callable

from kafkalite.wire.records import build_batch
from kafkalite.wire.schema import Array

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
}
#: Topic and group names the fuzzer uses: a few that exist (created by the test), odd ones,
#: internal topics. The canary topic whose log is checked afterwards is never among them.
NAMES = ["fuzz-a", "fuzz-b", "", ".", "..", "__consumer_offsets", "__transaction_state", "a" * 300,
         "ünïcödé", "with space", "g", "t/../x"]


def random_int(rng: random.Random, kind: str) -> int:
    lo, hi = INT_RANGES[kind]
    roll = rng.random()
    if roll < 0.5:
        return max(lo, min(hi, rng.choice([0, 1, -1, 2, lo, hi, lo + 1, hi - 1, 1000, 2**16])))
    if roll < 0.8:
        return max(lo, min(hi, rng.randint(-3, 100)))
    return rng.randint(lo, hi)


def random_string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(NAMES)
    if roll < 0.8:
        return "".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 12)))
    return "x" * rng.choice([1, 249, 250, 256, 5000])


def random_records(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.3:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 120)))
    count = rng.randint(1, 4)
    batch = bytearray(build_batch([(None, b"v" * rng.randint(0, 50)) for _ in range(count)], compression=rng.choice([0, 0, 1, 2, 3, 4])))
    if roll < 0.6:  # a valid batch: the request may well succeed
        return bytes(batch)
    for _ in range(rng.randint(1, 4)):  # flip bytes: length, magic, CRC, attributes, counts
        batch[rng.randrange(len(batch))] = rng.getrandbits(8)
    if rng.random() < 0.3:
        del batch[rng.randrange(len(batch)):]
    return bytes(batch)


def _primitive(rng: random.Random, kind: str) -> Any:
    if kind in INT_RANGES:
        return random_int(rng, kind)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "float64":
        return rng.choice([0.0, -1.0, 1e308, float("inf"), float("nan"), rng.random()])
    if kind == "string":
        return random_string(rng)
    if kind == "bytes":
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 8, 64])))
    if kind == "records":
        return random_records(rng)
    if kind == "uuid":
        return rng.choice([uuid.UUID(int=0), uuid.UUID(int=rng.getrandbits(128)), uuid.UUID(int=1)])
    raise ValueError(kind)


def random_value(rng: random.Random, kind: Any, version: int, nullable: bool, depth: int = 0) -> Any:
    if nullable and rng.random() < 0.2:
        return None
    if isinstance(kind, str):
        return _primitive(rng, kind)
    if isinstance(kind, Array):
        size = rng.choice([0, 1, 1, 2, 3]) if depth < 3 else 0
        return [random_value(rng, kind.element, version, False, depth + 1) for _ in range(size)]
    return random_struct(rng, kind, version, depth + 1)


def random_struct(rng: random.Random, cls: type, version: int, depth: int = 0) -> Any:
    values = {}
    for spec in cls.__kafka_fields__:  # type: ignore[attr-defined]
        if version not in spec.versions:
            continue
        if rng.random() < 0.15:
            continue  # keep the default
        values[spec.name] = random_value(rng, spec.type, version, version in spec.nullable, depth)
    return cls(**values)


def random_request(rng: random.Random, cls: type, version: int) -> Any:
    """A request of *cls* at *version* whose fields are hostile but encodable."""
    return random_struct(rng, cls, version)


def _flip(rng: random.Random, data: bytearray) -> None:
    for _ in range(rng.randint(1, 6)):
        data[rng.randrange(len(data))] = rng.getrandbits(8)


def _truncate(rng: random.Random, data: bytearray) -> None:
    del data[rng.randrange(len(data)):]


def _extend(rng: random.Random, data: bytearray) -> None:
    data += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))


def _splice_int(rng: random.Random, data: bytearray) -> None:
    if len(data) >= 4:
        at = rng.randrange(len(data) - 3)
        struct.pack_into(">i", data, at, rng.choice([-1, 0, 2**31 - 1, -(2**31), 0x7FFF, 1 << 24]))


def _varint_bomb(rng: random.Random, data: bytearray) -> None:
    at = rng.randrange(len(data))
    data[at:at] = b"\xff" * rng.randint(1, 12)


MUTATIONS: list[Callable[[random.Random, bytearray], None]] = [_flip, _truncate, _extend, _splice_int, _varint_bomb]


def mutate(rng: random.Random, body: bytes) -> bytes:
    """*body* (a frame without its size) with one to three random mutations; the header's
    API key and version are kept one time in two, so the mutation reaches the body's decoder."""
    data = bytearray(body)
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        rng.choice(MUTATIONS)(rng, data)
    if rng.random() < 0.5 and len(data) >= 4 and len(body) >= 4:
        data[:4] = body[:4]
    return bytes(data)
