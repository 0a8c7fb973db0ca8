"""The README's API table is the handler registry, so it cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from kafkalite.server.dispatch import load_handlers

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_table_matches_the_registry() -> None:
    text = README.read_text()
    table = text.split("<!-- api-table:start -->")[1].split("<!-- api-table:end -->")[0]
    rows = {}
    for line in table.splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*(\d+)-(\d+)", line)
        if m:
            rows[int(m.group(1))] = (m.group(2), int(m.group(3)), int(m.group(4)))
    registry = {
        key: (spec.name, spec.min_version, spec.max_version) for key, spec in load_handlers().items()
    }
    assert rows == registry


def test_readme_shows_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text
