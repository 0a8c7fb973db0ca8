"""The CLI tools, run in-process (``kafkalite.cli.main``) against a broker of the pytest plugin."""

from __future__ import annotations

from typing import Callable

import pytest

from kafkalite.cli import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli("topics", "list", ...)`` -> (exit status, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run
