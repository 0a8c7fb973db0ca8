"""The import arrows of the layers: a cycle or a wrong-way import fails this test.

Every import counts: at module level, inside functions (lazy imports) and under
``TYPE_CHECKING``, because a type-only arrow against the layers is still a design knot.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kafkalite"

#: One way only: a module may import its own package and the layers below it, never above.
#: Packages of one rank (handlers and trace; tools, testing and the CLI) do not import
#: each other either.
LAYERS: dict[str, float] = {
    "kafkalite.wire": 0,
    "kafkalite.storage": 1,
    "kafkalite.clock": 1.4,  # the broker clock tests can move: trio's clock plus an offset
    "kafkalite.timers": 1.5,  # deadlines on trio's clock, for the coordinators
    "kafkalite.groups": 2,
    "kafkalite.transactions": 2,
    "kafkalite.readable": 2.5,  # decoded messages as plain data: for the trace and the tools
    "kafkalite.broker": 3,
    "kafkalite.handlers": 4,
    "kafkalite.trace": 4,
    "kafkalite.schemas": 4,  # the Schema Registry: its store (on the broker) and its rules
    "kafkalite.console": 4.5,  # the web console's pages: broker state, trace and registry read
    "kafkalite.server": 5,
    "kafkalite.tools": 6,
    "kafkalite.testing": 6.5,  # uses the tools' partitioner, as a producing client would
    "kafkalite.cli": 7,
    "kafkalite.__main__": 8,
    "kafkalite": 8,  # the package's lazy public API
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = all_modules()


def _import_statements(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) of every absolute import statement in *path*."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def imports_of(path: Path) -> set[str]:
    """Every module *path* imports, a ``from M import name`` resolved to the kafkalite
    module M.name when that is a module (not a name in M)."""
    found: set[str] = set()
    for module, names in _import_statements(path):
        subs = {f"{module}.{name}" for name in names} & MODULES.keys()
        found.update(subs or {module})
        if len(subs) < len(names):
            found.add(module)
    return found


def raw_imports_of(path: Path) -> set[str]:
    """Every imported module name, kafkalite or not (for the trio checks)."""
    return {module for module, _names in _import_statements(path)}


def graph() -> dict[str, set[str]]:
    return {name: {m for m in imports_of(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def layer_of(module: str) -> tuple[str, float]:
    best = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    return best, LAYERS[best]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def wrong_way(edges: dict[str, set[str]]) -> list[str]:
    problems = []
    for source, targets in sorted(edges.items()):
        source_pkg, source_rank = layer_of(source)
        for target in sorted(targets):
            target_pkg, target_rank = layer_of(target)
            if target_pkg == source_pkg or target == "kafkalite":
                continue
            if target_rank >= source_rank:
                problems.append(f"{source} (layer {source_rank}) imports {target} (layer {target_rank})")
    return problems


def test_no_import_cycles_between_kafkalite_modules() -> None:
    assert cycles(graph()) == []


def test_imports_point_down_the_layers_only() -> None:
    assert wrong_way(graph()) == []


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer_of(name)  # raises ValueError (max of nothing) for a module outside every layer


def test_the_checks_catch_a_cycle_and_a_wrong_way_arrow() -> None:
    edges = {
        "kafkalite.wire.a": {"kafkalite.wire.b"},
        "kafkalite.wire.b": {"kafkalite.wire.a"},
        "kafkalite.storage.log": {"kafkalite.broker.state"},
        "kafkalite.handlers.x": {"kafkalite.trace.tracer"},
    }
    assert cycles(edges) == [["kafkalite.wire.a", "kafkalite.wire.b"]]
    assert wrong_way(edges) == [
        "kafkalite.handlers.x (layer 4) imports kafkalite.trace.tracer (layer 4)",
        "kafkalite.storage.log (layer 1) imports kafkalite.broker.state (layer 3)",
    ]


def test_type_checking_and_lazy_imports_count(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from kafkalite.broker.state import Broker\n"
        "def f():\n    import kafkalite.server.serve\n"
    )
    assert imports_of(source) == {"typing", "kafkalite.broker.state", "kafkalite.server.serve"}


@pytest.mark.parametrize("package", ["wire", "storage"])
def test_wire_and_storage_never_import_trio(package: str) -> None:
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for name in raw_imports_of(path):
            assert not name.startswith("trio"), f"{path} imports {name}"


def test_storage_uses_only_record_batches_and_crc_from_wire() -> None:
    allowed = ("kafkalite.storage", "kafkalite.wire.batch")
    for path in sorted((PACKAGE / "storage").rglob("*.py")):
        # The cleaner alone reads records (keys, tombstones, markers), as Kafka's does.
        extra = ("kafkalite.wire.records",) if path.name == "cleaner.py" else ()
        for name in imports_of(path):
            if name.startswith("kafkalite"):
                assert name.startswith(allowed + extra), f"{path} imports {name}"


def test_handlers_never_import_each_other() -> None:
    for path in sorted((PACKAGE / "handlers").rglob("*.py")):
        for name in imports_of(path):
            assert not name.startswith("kafkalite.handlers"), f"{path} imports {name}"


def test_cli_tools_do_not_import_the_broker_trace() -> None:
    for path in sorted((PACKAGE / "tools").rglob("*.py")):
        for name in imports_of(path):
            assert not name.startswith(("kafkalite.trace", "kafkalite.broker", "kafkalite.server")), f"{path} imports {name}"


def test_group_coordinator_knows_nothing_of_the_broker() -> None:
    for path in sorted((PACKAGE / "groups").rglob("*.py")):
        for name in imports_of(path):
            assert not name.startswith(("kafkalite.broker", "kafkalite.handlers", "kafkalite.server")), f"{path} imports {name}"


def test_group_state_machine_is_pure() -> None:
    state = PACKAGE / "groups" / "state.py"
    for name in raw_imports_of(state):
        assert not name.startswith(("trio", "kafkalite.storage")), f"{state} imports {name}"
