"""The broker under test answers a fixed script of requests field by field as Kafka does.

The script (compat_tests/differential.py) is sent with kafkalite's own codec; the answers are
normalised (ids, hosts, ports, timestamps ... replaced by placeholders, see `Normaliser`) and
compared with the reference Apache Kafka's answers to the same script, recorded in
compat_tests/reference/golden/ by compat_tests/reference/record.py. Against kafkalite
(`make test`) this needs no Java; against the reference Kafka (`make test-kafka`) the live
answers are compared with the recording too, which catches a stale recording.

One test per step of the script (`test_answer_matches_kafka`), comparing every field except
those of a known difference; one test per step and known difference
(`test_known_difference`), comparing only that difference's fields:

- ``bug``: kafkalite answers differently from Kafka and Kafka is right. The test expects
  Kafka's answer and is xfail(strict) against kafkalite, so it fails once kafkalite is fixed
  (then delete the entry).
- ``deliberate``: a difference listed in compat_tests/reference/README.md; the test expects
  kafkalite's documented answer from kafkalite and Kafka's from Kafka (`per_broker`).

Entities Kafka has and kafkalite lacks (APIs it does not serve, broker and topic configs it
does not know) are not failures: they are listed in .reports/differential-fields.md with the
fields compared per API.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from .conftest import BROKER, BROKER_NAME, per_broker
from .differential import Comparison, Exchange, compare, matches, run_script, step_file_name

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "reference" / "golden"


def load_golden() -> tuple[dict[str, Any], dict[str, Exchange]]:
    manifest = json.loads((GOLDEN / "MANIFEST.json").read_text())
    steps = {}
    for step in manifest["steps"]:
        steps[step] = Exchange.from_json(json.loads((GOLDEN / step_file_name(step)).read_text()))
    return manifest, steps


MANIFEST, RECORDED = load_golden()


# -- what kafkalite may lack, and the known differences -------------------------------------------

# Entities (a path prefix) that Kafka has and kafkalite may lack: listed, not compared.
SUBSET = [
    r"^api_keys\[[^\]]+\]",  # APIs kafkalite does not serve (README, "Not implemented")
    r"^results\[4:[^\]]+\]\.configs\[[^\]]+\]",  # broker configs: Kafka has ~400
    r"^results\[2:[^\]]+\]\.configs\[[^\]]+\]",  # topic configs of newer Kafka releases
    r"^topics\[[^\]]+\]\.configs\[[^\]]+\]",  # the same, in CreateTopics' answer
]


@dataclass(frozen=True)
class Known:
    """A known difference: its fields (a regex on paths) in some steps (fnmatch patterns)."""

    label: str
    kind: str  # "bug" or "deliberate"
    steps: tuple[str, ...]
    paths: str
    reason: str
    # deliberate: kafkalite's documented answer, from the recorded answers and the step
    kafkalite: Callable[[dict[str, Exchange], str], Any] | None = None

    def applies(self, step: str) -> bool:
        return any(matches(step, pattern) for pattern in self.steps)

    def claims(self, path: str) -> bool:
        return re.search(self.paths, path) is not None


def _api_versions_kafkalite(recorded: dict[str, Exchange], step: str) -> Any:
    """Kafka's ApiVersions answer with kafkalite's documented lower maxima (and minima) and no features."""
    answer = copy.deepcopy(recorded[step].response)
    for key, entry in answer["api_keys"].items():
        name = key.strip("[]").split(" ", 1)[1]
        if name in KAFKALITE_MAX_VERSIONS:
            entry["max_version"] = KAFKALITE_MAX_VERSIONS[name]
        if name in KAFKALITE_MIN_VERSIONS:
            entry["min_version"] = KAFKALITE_MIN_VERSIONS[name]
    if "supported_features" in answer:
        answer.update(supported_features=[], finalized_features=[], finalized_features_epoch=-1)
    return answer


def _created_at_once(later_step: str) -> Callable[[dict[str, Exchange], str], Any]:
    """kafkalite's answer to an auto-creating Metadata: Kafka's once the topic stands."""

    def answer(recorded: dict[str, Exchange], step: str) -> Any:
        return copy.deepcopy(recorded[later_step].response)

    return answer


# README.md, "Differences from Apache Kafka", "Consumer groups": kafkalite's own setting,
# described as set at start-up (STATIC_BROKER_CONFIG) before Kafka's default.
KAFKALITE_GROUP_CONSUMER_SETTINGS = {"group.consumer.heartbeat.interval.ms": "200"}


def _group_consumer_settings_kafkalite(recorded: dict[str, Exchange], step: str) -> Any:
    """Kafka's BROKER answer with kafkalite's own group.consumer.* values stated over Kafka's defaults."""
    answer = copy.deepcopy(recorded[step].response)
    for result in answer["results"].values():
        for name, value in KAFKALITE_GROUP_CONSUMER_SETTINGS.items():
            row = result["configs"][f"[{name}]"]
            static = {"name": name, "source": 4, "value": value}
            row.update(value=value, config_source=4, synonyms=[static, *row["synonyms"]])
    return answer


# README.md, "Differences from Apache Kafka", "Protocol versions": where the ranges differ on purpose.
KAFKALITE_MAX_VERSIONS = {
    "API_VERSIONS": 4, "DELETE_GROUPS": 2, "END_TXN": 4, "TXN_OFFSET_COMMIT": 4,
}
# Versions Kafka 4 removed (KIP-896) that kafkalite serves as Kafka 3.9 did (README: Protocol versions).
KAFKALITE_MIN_VERSIONS = {
    "FETCH": 0, "LIST_OFFSETS": 0, "OFFSET_COMMIT": 0, "OFFSET_FETCH": 0, "OFFSET_FOR_LEADER_EPOCH": 0,
    "CREATE_TOPICS": 0, "DELETE_TOPICS": 0, "DESCRIBE_LOG_DIRS": 0, "DESCRIBE_CONFIGS": 0,
    "DESCRIBE_ACLS": 0, "CREATE_ACLS": 0, "DELETE_ACLS": 0,
}

DV = "describe_configs/"
KNOWN: list[Known] = [
    # -- deliberate (compat_tests/reference/README.md) ----------------------------------------
    Known(
        "max-versions", "deliberate", ("api_versions/*",), r"^api_keys\[[^\]]+\]\.m(ax|in)_version$|_features",
        "kafkalite's maximum versions are lower for some APIs, its minimum versions lower for those "
        "whose Kafka 3.9 versions it serves, and it advertises no features "
        "(README: Protocol versions, ApiVersions features)",
        kafkalite=_api_versions_kafkalite,
    ),
    Known(
        "auto-create-at-once", "deliberate", ("metadata/unknown-topic-auto-create-v13",), r"^topics\[",
        "kafkalite creates an auto-created topic before it answers Metadata; Kafka answers "
        "UNKNOWN_TOPIC_OR_PARTITION and shows the topic a moment later (README: Topic changes in Metadata)",
        kafkalite=_created_at_once("metadata/auto-created-topic-v13"),
    ),
    Known(
        "auto-create-at-once", "deliberate", ("metadata/unknown-topic-auto-create-old-v1",), r"^topics\[",
        "kafkalite creates an auto-created topic before it answers Metadata; Kafka answers "
        "UNKNOWN_TOPIC_OR_PARTITION and shows the topic a moment later (README: Topic changes in Metadata)",
        kafkalite=_created_at_once("metadata/auto-created-topic-old-v1"),
    ),
    Known(
        "group-consumer-settings", "deliberate", (DV + "broker-v*",),
        r"\.configs\[group\.consumer\.heartbeat\.interval\.ms\]",
        "kafkalite's consumer heartbeat interval is 200 ms (Kafka: 5000) (README: Consumer groups)",
        kafkalite=_group_consumer_settings_kafkalite,
    ),
]


def _every(answer: Any, field: str, value: Any) -> Any:
    """A copy of *answer* with every *field* set to *value*."""
    answer = copy.deepcopy(answer)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if field in node:
                node[field] = value
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(answer)
    return answer


def bug(label: str, steps: tuple[str, ...], paths: str, reason: str) -> None:
    KNOWN.append(Known(label, "bug", steps, paths, reason))


# -- kafkalite bugs: Kafka's answer is expected, xfail(strict) against kafkalite -----------------
# Each names the field(s), what Kafka 4.4 answers (the recording) and what kafkalite answers.



# A field claimed by several entries belongs to the first: bugs before deliberate differences.
KNOWN.sort(key=lambda k: k.kind != "bug")


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    comparison: Comparison
    expected: Any
    actual: Any


class Run:
    """The script's answers on the broker under test, compared with the recording."""

    def __init__(self, exchanges: list[Exchange], error: Exception | None) -> None:
        self.answers = {e.step: e for e in exchanges}
        self.order = [e.step for e in exchanges]
        self.error = error
        self.outcomes: dict[tuple[str, str | None], Outcome] = {}

    def answer(self, step: str) -> Exchange:
        if step not in self.answers:
            raise AssertionError(f"the script stopped before {step}: {self.error!r}")
        return self.answers[step]

    def compare(self, step: str, known: Known | None) -> Outcome:
        key = (step, known and known.label)
        if key in self.outcomes:
            return self.outcomes[key]
        actual = self.answer(step).response
        expected = RECORDED[step].response
        on_kafkalite = BROKER == "kafkalite"
        if known is None:
            claimed = [k for k in KNOWN if k.applies(step)]
            comparison = compare(expected, actual, subset=SUBSET if on_kafkalite else [],
                                 select=lambda p: not any(k.claims(p) for k in claimed))
        else:
            if known.kind == "deliberate" and known.kafkalite is not None:
                expected = per_broker(kafkalite=known.kafkalite(RECORDED, step), kafka=expected)
            earlier = [k for k in KNOWN[: KNOWN.index(known)] if k.applies(step)]
            comparison = compare(expected, actual, subset=SUBSET if on_kafkalite else [],
                                 select=lambda p: known.claims(p) and not any(k.claims(p) for k in earlier))
        outcome = self.outcomes[key] = Outcome(comparison, expected, actual)
        return outcome


def _cases() -> tuple[list[Any], list[Any]]:
    plain, known_cases = [], []
    for step in MANIFEST["steps"]:
        plain.append(pytest.param(step, id=step))
        for known in KNOWN:
            if not known.applies(step):
                continue
            marks = [pytest.mark.deliberate_difference(reason=known.reason)] if known.kind == "deliberate" else []
            if known.kind == "bug" and BROKER == "kafkalite":
                marks.append(pytest.mark.xfail(strict=True, reason=f"kafkalite bug: {known.reason}"))
            known_cases.append(pytest.param(step, known, id=f"{step}::{known.label}", marks=marks))
    return plain, known_cases


PLAIN_CASES, KNOWN_CASES = _cases()


@pytest.fixture(scope="module")
def run(bootstrap: str) -> Any:
    recorder = run_script(bootstrap)
    result = Run(recorder.exchanges, recorder.error)
    yield result
    write_report(result)


def _fail(step: str, outcome: Outcome) -> None:
    lines = [str(d) for d in outcome.comparison.differences]
    pytest.fail(f"{step}: {len(lines)} of {len(outcome.comparison.compared)} fields differ from Kafka "
                f"{MANIFEST['kafka_version']}:\n  " + "\n  ".join(lines), pytrace=False)


@pytest.mark.parametrize("step", PLAIN_CASES)
def test_answer_matches_kafka(run: Run, step: str) -> None:
    outcome = run.compare(step, None)
    if outcome.comparison.differences:
        _fail(step, outcome)


@pytest.mark.parametrize(("step", "known"), KNOWN_CASES)
def test_known_difference(run: Run, step: str, known: Known) -> None:
    outcome = run.compare(step, known)
    # No field claimed (kafkalite dropped the configs Kafka does not have, say): the difference
    # is gone, and a strict xfail makes that a failure that says so.
    if outcome.comparison.differences:
        _fail(step, outcome)


def test_script_is_recorded(run: Run) -> None:
    """Every step the script sends has a recorded answer, in the same order (else: record.py)."""
    if run.error is not None:
        raise run.error
    assert run.order == MANIFEST["steps"], "the script changed: run compat_tests/reference/record.py"


# -- the report -----------------------------------------------------------------------------------


def _field(path: str) -> str:
    """A path with its keys and indexes dropped: the field it is an instance of."""
    return re.sub(r"\[[^\]]*\]|#\d+", "[]", path)


def write_report(run: Run) -> None:
    folder = Path(os.environ.get("KAFKALITE_COMPAT_REPORTS") or HERE.parent / ".reports")
    fields: dict[str, set[str]] = defaultdict(set)
    leaves: dict[str, int] = defaultdict(int)
    lacking: dict[str, set[str]] = defaultdict(set)
    differing: list[str] = []
    for step in MANIFEST["steps"]:
        if step not in run.answers:
            continue
        api = RECORDED[step].api
        for known in [None, *[k for k in KNOWN if k.applies(step)]]:
            outcome = run.compare(step, known)
            for path in outcome.comparison.compared:
                fields[api].add(_field(path))
            leaves[api] += len(outcome.comparison.compared)
            for prefix in outcome.comparison.lacking:
                lacking[api].add(re.sub(r"^.*\[", "", prefix).rstrip("]"))
            for d in outcome.comparison.differences:
                label = f" ({known.kind}: {known.label})" if known else ""
                differing.append(f"- `{step}` `{d.path}`: Kafka `{d.expected!r}`, {BROKER_NAME} `{d.actual!r}`{label}")
    total_fields = sum(len(v) for v in fields.values())
    total_leaves = sum(leaves.values())
    out = [
        f"# Differential fields: {BROKER_NAME} against Kafka {MANIFEST['kafka_version']}'s recorded answers",
        "",
        f"{len(run.answers)} requests of the script answered, {total_fields} distinct fields compared "
        f"({total_leaves} values). Written by compat_tests/test_differential.py.",
        "",
        "| API | steps | distinct fields | values compared |",
        "|---|---|---|---|",
    ]
    steps_per_api: dict[str, int] = defaultdict(int)
    for step in run.answers:
        steps_per_api[run.answers[step].api] += 1
    for api in sorted(fields):
        out.append(f"| {api} | {steps_per_api[api]} | {len(fields[api])} | {leaves[api]} |")
    out += ["", "## Fields compared per API", ""]
    for api in sorted(fields):
        out.append(f"### {api} ({len(fields[api])})")
        out.append("")
        out += [f"- `{f}`" for f in sorted(fields[api])]
        out.append("")
    out += ["## What Kafka has and this broker lacks (not failures)", ""]
    for api in sorted(lacking):
        names = sorted(lacking[api])
        out.append(f"- {api} ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
    out += ["", "## Differences in this run", ""]
    out += differing or ["none"]
    if run.error is not None:
        out += ["", f"The script stopped early: {run.error!r}"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"differential-fields-{BROKER}.md").write_text("\n".join(out) + "\n")
    except OSError:
        pass  # a read-only checkout still runs its tests
