"""The compat tests side by side: each test's result against kafkalite and against Kafka.

Reads the JUnit XML files that every compat run writes (compat_tests/conftest.py):
``.reports/compat-kafkalite.xml`` (``make test``) and ``.reports/compat-kafka.xml``
(``make test-kafka``), prints a Markdown summary and table, and writes it to
``.reports/differential.md``. Standard library only.

    python compat_tests/reference/report.py [--reports DIR] [--output FILE] [--brief] [--check]

``--brief`` prints only the counts and the disagreements (the file gets everything).

``--check`` exits 1 when a test that ran against both brokers has different results: a test
that passes against kafkalite and fails against Kafka expects something Kafka does not do;
the other way round, kafkalite does not do what Kafka does.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BROKERS = ("kafkalite", "kafka")
SHOWN = {"passed": "pass", "failed": "**FAIL**", "error": "**ERROR**", "skipped": "skip"}


@dataclass
class Run:
    broker: str
    path: Path
    properties: dict[str, str] = field(default_factory=dict)
    timestamp: str = ""
    seconds: float = 0.0
    results: dict[str, tuple[str, str]] = field(default_factory=dict)  # test -> (outcome, message)

    @property
    def name(self) -> str:
        return self.properties.get("broker_name", self.broker)

    def count(self, outcome: str) -> int:
        return sum(o == outcome for o, _m in self.results.values())


def load(broker: str, folder: Path) -> Run | None:
    path = folder / f"compat-{broker}.xml"
    if not path.exists():
        return None
    run = Run(broker, path)
    for suite in ET.parse(path).getroot().iter("testsuite"):
        run.timestamp = suite.get("timestamp", "")
        run.seconds += float(suite.get("time") or 0)
        for prop in suite.iter("property"):
            run.properties[prop.get("name", "")] = prop.get("value", "")
        for case in suite.iter("testcase"):
            test = f"{case.get('file') or case.get('classname')}::{case.get('name')}"
            outcome, message = "passed", ""
            for tag, kind in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
                node = case.find(tag)
                if node is not None:
                    outcome, message = kind, node.get("message", "")
                    break
            run.results[test] = (outcome, message)
    return run


def cell(run: Run | None, test: str) -> str:
    if run is None or test not in run.results:
        return "-"
    outcome, message = run.results[test]
    text = SHOWN[outcome]
    if outcome == "skipped" and message.startswith("kafkalite only"):
        text = "skip (kafkalite only)"
    elif outcome != "passed" and message:
        first = message.splitlines()[0] if message.splitlines() else message
        text += ": " + (first[:100] + "..." if len(first) > 100 else first)
    return text.replace("|", "\\|")


def disagreements(runs: dict[str, Run | None], tests: list[str]) -> list[str]:
    """Tests that ran (not skipped) against both brokers with different outcomes."""
    a, b = runs["kafkalite"], runs["kafka"]
    if a is None or b is None:
        return []
    found = []
    for test in tests:
        if test in a.results and test in b.results:
            (x, _), (y, _) = a.results[test], b.results[test]
            if x != y and "skipped" not in (x, y):
                found.append(test)
    return found


def render(runs: dict[str, Run | None], brief: bool = False) -> str:
    tests: list[str] = []
    for run in runs.values():
        if run is not None:
            tests += [t for t in run.results if t not in tests]
    lines = ["# Compat tests: kafkalite and Apache Kafka side by side", ""]
    lines += [
        "| broker | run at | passed | failed | errors | skipped | test seconds | command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for broker, run in runs.items():
        if run is None:
            lines.append(f"| {broker} | not run (no {broker} report) | | | | | | |")
            continue
        lines.append(
            f"| {run.name} | {run.timestamp} | {run.count('passed')} | {run.count('failed')} | "
            f"{run.count('error')} | {run.count('skipped')} | {run.seconds:.0f} | "
            f"`pytest {run.properties.get('args', '')}` |"
        )
    differ = disagreements(runs, tests)
    both = [t for t in tests if all(r is not None and r.results.get(t, ("",))[0] == "passed" for r in runs.values())]
    only = [
        t for t in tests
        if any(r is not None and cell(r, t) == "skip (kafkalite only)" for r in runs.values())
    ]
    missing = [broker for broker, run in runs.items() if run is None]
    if missing:
        summary = f"{len(tests)} tests; no comparison until {' and '.join(missing)} has run too."
    else:
        summary = (
            f"{len(tests)} tests: {len(both)} pass against both brokers, {len(differ)} disagree, "
            f"{len(only)} kafkalite-only (skipped against Kafka)."
        )
    lines += ["", summary]
    if differ:
        lines += ["", "## Disagreements", ""]
        lines += [f"- `{t}`: kafkalite {cell(runs['kafkalite'], t)}; kafka {cell(runs['kafka'], t)}" for t in differ]
    if brief:
        return "\n".join(lines) + "\n"
    lines += ["", "## Every test", "", "| test | kafkalite | kafka |", "|---|---|---|"]
    for test in tests:
        lines.append(f"| `{test}` | {cell(runs['kafkalite'], test)} | {cell(runs['kafka'], test)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=Path, default=ROOT / ".reports", help="folder of the compat-*.xml files")
    parser.add_argument("--output", type=Path, help="Markdown file to write (default: REPORTS/differential.md)")
    parser.add_argument("--brief", action="store_true", help="print only the counts and the disagreements")
    parser.add_argument("--check", action="store_true", help="exit 1 if a test has different results")
    args = parser.parse_args(argv)
    runs = {broker: load(broker, args.reports) for broker in BROKERS}
    if not any(runs.values()):
        print(f"no compat-*.xml in {args.reports}: run `make test` and `make test-kafka` first", file=sys.stderr)
        return 2
    output = args.output or args.reports / "differential.md"
    output.write_text(render(runs))
    print(render(runs, brief=args.brief), end="")
    print(f"(written to {output})")
    all_tests = [t for r in runs.values() if r is not None for t in r.results]
    return 1 if args.check and disagreements(runs, all_tests) else 0


if __name__ == "__main__":
    sys.exit(main())
