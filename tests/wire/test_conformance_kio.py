"""Codec conformance against kio, an independent codec generated from Kafka's definitions.

For every declared (API, version) that kio also knows, hypothesis generates kio messages;
each is encoded by kio, decoded and re-encoded by kafkalite (same bytes, nothing left over),
and kafkalite's bytes are decoded again by kio (same message). Requests and responses both.
"""

from __future__ import annotations

import datetime
import importlib
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import Records, i64Timedelta

from kafkalite.wire.messages import all_apis
from kafkalite.wire.schema import decode, encode

st.register_type_strategy(Records, st.binary(max_size=64).map(Records))

# kio's native reader turns int64 milliseconds into int64 microseconds, so it cannot read back
# durations its own strategy generates (up to timedelta.max), and its writer goes through
# float seconds. Keep int64 durations where kio is exact in both directions (still 8 bytes).
_I64_MS = 2**50
st.register_type_strategy(
    i64Timedelta,
    st.integers(-_I64_MS, _I64_MS).map(lambda ms: i64Timedelta.parse(datetime.timedelta(milliseconds=ms))),
)


def snake(name: str) -> str:
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def kio_class(cls: type, version: int) -> type | None:
    """The kio class for our message class at *version*, or None if kio lacks it."""
    kind = "request" if cls.__name__.endswith("Request") else "response"
    api = snake(cls.__name__[: -len(kind)])
    try:
        module = importlib.import_module(f"kio.schema.{api}.v{version}.{kind}")
    except ModuleNotFoundError:
        return None
    return getattr(module, cls.__name__)


def served_versions(cls: type) -> range:
    valid = cls.__kafka_valid__
    return range(valid.lo, valid.hi + 1)


CASES = [
    pytest.param(cls, version, id=f"{cls.__name__}-v{version}")
    for api in sorted(all_apis().values(), key=lambda a: a.api_key)
    for cls in (api.request, api.response)
    for version in served_versions(cls)
    if kio_class(cls, version) is not None
]

# Versions we declare that kio 0.6.5 does not generate (it starts at Kafka 4's floors).
MISSING = sorted(
    f"{cls.__name__}-v{version}"
    for api in all_apis().values()
    for cls in (api.request, api.response)
    for version in served_versions(cls)
    if kio_class(cls, version) is None
)


def test_every_declared_version_is_checked_or_known_missing() -> None:
    # kio covers Kafka 4's ranges; the only declared versions it lacks are those Kafka 4
    # removed (KIP-896) and kafkalite serves as Kafka 3.9 did; tests/wire/test_schema_vs_spec.py
    # checks them against Kafka's JSON definitions instead (and tests/broker/test_legacy_produce.py
    # byte by byte for Produce v0-2). Anything else missing means a misnamed module or class.
    removed = {
        "Produce": (0, 1, 2), "Fetch": (0, 1, 2, 3),
        "ListOffsets": (0,), "OffsetCommit": (0, 1), "OffsetFetch": (0,), "OffsetForLeaderEpoch": (0, 1),
        "CreateTopics": (0, 1), "DeleteTopics": (0,), "DescribeLogDirs": (0,), "DescribeConfigs": (0,),
        "CreateAcls": (0,), "DescribeAcls": (0,), "DeleteAcls": (0,),
    }
    allowed = {f"{api}{kind}-v{v}" for api, vs in removed.items() for kind in ("Request", "Response") for v in vs}
    assert set(MISSING) <= allowed, sorted(set(MISSING) - allowed)
    assert len(CASES) > 0


def kio_bytes(kio_cls: type, value: object) -> bytes:
    out = io.BytesIO()
    entity_writer(kio_cls)(out, value)
    return out.getvalue()


@pytest.mark.parametrize(("cls", "version"), CASES)
def test_round_trip_with_kio(cls: type, version: int) -> None:
    kcls = kio_class(cls, version)
    assert kcls is not None

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(st.from_type(kcls))
    def check(value: object) -> None:
        wire = kio_bytes(kcls, value)
        ours, used = decode(cls, version, wire)
        assert used == len(wire)
        again = encode(ours, version)
        assert again == wire
        back, size = entity_reader(kcls)(again, 0)
        assert size == len(again)
        assert back == value

    check()
