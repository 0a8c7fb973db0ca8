"""Record the reference Apache Kafka's answers to the differential script, as golden files.

    python compat_tests/reference/record.py                # start the reference Kafka, record
    python compat_tests/reference/record.py --bootstrap 127.0.0.1:9092   # a Kafka that runs
    python compat_tests/reference/record.py --check        # record and compare, write nothing

The script is compat_tests/differential.py; each step's normalised answer goes to
``golden/STEP.json`` (data produced by running Kafka, nothing of Kafka's source), and
``golden/MANIFEST.json`` lists the steps in order with the Kafka version.
compat_tests/test_differential.py compares the broker under test with these files.

Record again after changing the script or the pinned Kafka version, and read the diff: a
changed golden value is a change of Kafka's behaviour (or of the script), and kafkalite's
tests will say where it now differs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from compat_tests.differential import compare, dumps, run_script, step_file_name  # noqa: E402
from compat_tests.reference.kafka_reference import kafka_version, reference_kafka  # noqa: E402

GOLDEN = HERE / "golden"


def record(bootstrap: str) -> tuple[dict, dict[str, dict]]:
    recorder = run_script(bootstrap)
    if recorder.error is not None:
        raise recorder.error
    steps = [e.step for e in recorder.exchanges]
    manifest = {
        "kafka_version": kafka_version(),
        "recorded_by": "compat_tests/reference/record.py",
        "steps": steps,
    }
    return manifest, {e.step: e.to_json() for e in recorder.exchanges}


def write(manifest: dict, exchanges: dict[str, dict]) -> None:
    GOLDEN.mkdir(exist_ok=True)
    for old in GOLDEN.glob("*.json"):
        old.unlink()
    for step, data in exchanges.items():
        (GOLDEN / step_file_name(step)).write_text(dumps(data))
    (GOLDEN / "MANIFEST.json").write_text(dumps(manifest))


def check(manifest: dict, exchanges: dict[str, dict]) -> int:
    """Compare a fresh recording with the golden files; 0 when they agree."""
    recorded = json.loads((GOLDEN / "MANIFEST.json").read_text())
    problems = []
    if recorded["steps"] != manifest["steps"]:
        problems.append(f"steps differ: recorded {recorded['steps']}, now {manifest['steps']}")
    for step, data in exchanges.items():
        path = GOLDEN / step_file_name(step)
        if not path.exists():
            problems.append(f"{step}: not recorded")
            continue
        comparison = compare(json.loads(path.read_text())["response"], data["response"])
        problems += [f"{step}: {d}" for d in comparison.differences]
    for line in problems:
        print(line)
    print(f"{len(exchanges)} steps, {len(problems)} differences from {GOLDEN}")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", help="a running Kafka (default: start the reference Kafka)")
    parser.add_argument("--check", action="store_true", help="compare with the golden files, write nothing")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        bootstrap = args.bootstrap or stack.enter_context(reference_kafka())
        manifest, exchanges = record(bootstrap)
    if args.check:
        return check(manifest, exchanges)
    write(manifest, exchanges)
    print(f"recorded {len(exchanges)} answers of Kafka {manifest['kafka_version']} into {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
