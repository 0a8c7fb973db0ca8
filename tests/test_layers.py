"""The import arrows of DESIGN.md: a wrong-way import fails this test."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kafkalite"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


def test_wire_imports_nothing_of_kafkalite_outside_wire_and_no_trio() -> None:
    for path in modules("wire"):
        for name in imports_of(path):
            assert not name.startswith("trio"), f"{path} imports {name}"
            if name.startswith("kafkalite"):
                assert name.startswith("kafkalite.wire"), f"{path} imports {name}"


def test_storage_uses_only_record_headers_and_crc_from_wire() -> None:
    allowed = ("kafkalite.storage", "kafkalite.wire.records", "kafkalite.wire.crc32c", "kafkalite.wire.primitives")
    for path in modules("storage"):
        for name in imports_of(path):
            assert not name.startswith("trio"), f"{path} imports {name}"
            if name.startswith("kafkalite"):
                assert name.startswith(allowed), f"{path} imports {name}"


def test_handlers_never_import_each_other() -> None:
    for path in modules("handlers"):
        for name in imports_of(path):
            assert not name.startswith("kafkalite.handlers"), f"{path} imports {name}"


def test_group_state_machine_is_pure() -> None:
    state = PACKAGE / "groups" / "state.py"
    if state.exists():
        for name in imports_of(state):
            assert not name.startswith(("trio", "kafkalite.storage")), f"{state} imports {name}"
