"""groups/state.py and groups/group.py are pure: no trio, no storage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GROUPS = Path(__file__).resolve().parents[2] / "kafkalite" / "groups"


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", ["state.py", "group.py", "consumer_protocol.py", "records.py"])
def test_pure_group_modules_import_neither_trio_nor_storage(module: str) -> None:
    for name in imports_of(GROUPS / module):
        assert not name.startswith(("trio", "kafkalite.storage", "kafkalite.broker", "kafkalite.handlers")), name
