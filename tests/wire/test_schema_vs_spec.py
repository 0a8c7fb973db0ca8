"""Our declarations against Kafka's own JSON message definitions (../shared/kafka-message-specs).

For every declared message and every version we declare, the field tree of that version must
match Kafka's: names (snake_case), types, nullability, tags and defaults, and the flexible
versions must agree. Kafka's files are read at test time, never copied.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kafkalite.wire.messages import all_apis
from kafkalite.wire.schema import Array, Versions

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "kafka-message-specs"

pytestmark = pytest.mark.skipif(
    not SPECS.is_dir(), reason=f"Kafka's message definitions are not present at {SPECS}"
)


def snake(name: str) -> str:
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def load_spec(name: str) -> dict[str, Any]:
    text = (SPECS / f"{name}.json").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
    return json.loads(text)


def parse_default(kafka_type: str, raw: str | None, nullable: bool) -> Any:
    if kafka_type.startswith("[]"):
        return None if raw == "null" else []
    if raw is None:
        return {
            "bool": False,
            "string": "",
            "bytes": b"",
            "records": None,
            "float64": 0.0,
            "uuid": None,  # compared separately
        }.get(kafka_type, 0)
    if raw == "null":
        return None
    if not isinstance(raw, str):
        return raw  # a few definitions give the default as a JSON number
    if kafka_type == "bool":
        return raw == "true"
    if kafka_type == "string":
        return raw
    if kafka_type == "float64":
        return float(raw)
    if kafka_type in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
        return int(raw, 16) if raw.lower().startswith("0x") else int(raw)
    return raw


def describe_ours(cls: type, version: int) -> list[tuple]:
    rows = []
    for spec in cls.__kafka_fields__:
        if version not in spec.versions:
            continue
        typ = spec.type
        if isinstance(typ, Array):
            elem = typ.element
            tname = "[]" + (elem if isinstance(elem, str) else "struct")
            children = describe_ours(elem, version) if not isinstance(elem, str) else None
        elif isinstance(typ, str):
            tname, children = typ, None
        else:
            tname, children = "struct", describe_ours(typ, version)
        tagged = spec.tag is not None and version in spec.tagged
        default = spec.default_value()
        if tname == "uuid" or children is not None and not tname.startswith("[]"):
            default = None
        rows.append(
            (spec.name, tname, version in spec.nullable, spec.tag if tagged else None, default, children)
        )
    return rows


def describe_kafka(fields: list[dict[str, Any]], version: int) -> list[tuple]:
    rows = []
    for f in fields:
        if version not in Versions.parse(f["versions"]):
            continue
        kt = f["type"]
        nullable = version in Versions.parse(f.get("nullableVersions"))
        children = None
        if kt.startswith("[]"):
            elem = kt[2:]
            if "fields" in f or elem[0].isupper():
                tname = "[]struct"
                children = describe_kafka(f.get("fields", []), version)
            else:
                tname = kt
        elif "fields" in f or kt[0].isupper():
            tname = "struct"
            children = describe_kafka(f.get("fields", []), version)
        else:
            tname = kt
        tagged = "tag" in f and version in Versions.parse(f.get("taggedVersions", f["versions"]))
        default = None if tname == "struct" else parse_default(kt, f.get("default"), nullable)
        rows.append((snake(f["name"]), tname, nullable, f["tag"] if tagged else None, default, children))
    return rows


def resolve_common(spec: dict[str, Any]) -> None:
    """Inline commonStructs so that describe_kafka sees their fields."""
    common = {c["name"]: c["fields"] for c in spec.get("commonStructs", [])}

    def walk(fields: list[dict[str, Any]]) -> None:
        for f in fields:
            name = f["type"][2:] if f["type"].startswith("[]") else f["type"]
            if "fields" not in f and name in common:
                f["fields"] = common[name]
            walk(f.get("fields", []))

    walk(spec["fields"])


CASES = [
    pytest.param(cls, id=cls.__name__)
    for api in sorted(all_apis().values(), key=lambda a: a.api_key)
    for cls in (api.request, api.response)
]


@pytest.mark.parametrize("cls", CASES)
def test_declaration_matches_kafka_definition(cls: type) -> None:
    spec = load_spec(cls.__name__)
    resolve_common(spec)
    assert spec["apiKey"] == cls.__kafka_api_key__
    flexible = Versions.parse(spec["flexibleVersions"])
    valid = cls.__kafka_valid__
    for version in range(valid.lo, valid.hi + 1):
        if version not in Versions.parse(spec["validVersions"]):
            continue  # a version added after these definitions were taken
        assert (version in cls.__kafka_flexible__) == (version in flexible), version
        assert describe_ours(cls, version) == describe_kafka(spec["fields"], version), (
            f"{cls.__name__} v{version}"
        )
