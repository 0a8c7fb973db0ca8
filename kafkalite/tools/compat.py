"""``kafkalite compat``: which clients, which API versions, which scenarios the compat tests cover.

The compat tests (compat_tests/) run real clients against kafkalite. With
KAFKALITE_COMPAT_JOURNAL=FOLDER (``make compat-matrix``) the run leaves a journal there:

- ``requests-WORKER-PID.jsonl``, one per kafkalite process: a line per request it served,
  ``{"t": unix time, "peer": "host:port", "client_id", "api_key", "api_version"}``, and for
  ApiVersions v3+ ``"software": [client_software_name, client_software_version]`` (KIP-511);
- ``tests-WORKER.jsonl``, one per pytest worker: a line per compat test, ``{"test": node id,
  "start", "end", "outcome"}``.

`build_matrix` turns that into the matrix, a plain function of the journal's data:

- A request's client is the software its connection named in its latest ApiVersions v3+
  (the same peer and client id, earlier in the same broker's journal); for a connection that
  never named itself (an older ApiVersions, or none), the software named under the same client
  id elsewhere in the run; else the client id alone.
- A request belongs to the test whose time span holds it, among the tests of the worker that
  started the broker (a worker runs one test at a time), if its connection opened during that
  same test: a client an earlier test left open (a consumer not yet closed, a librdkafka
  handle not yet collected) does not take part in the tests after it. A connection opens with
  its first request, or its latest ApiVersions (every client library sends one first on each
  connection, and a peer's port may be reused). A client took part in a scenario when it sent
  at least one such request during it; a scenario passed or failed as the test did. A
  request outside every test still counts for the versions its client used.

``kafkalite compat`` prints the matrix (Markdown tables, or ``--format json``), from a journal
(``--journal FOLDER``) or from the committed data file (``--data``, default
compat_tests/compat-matrix.json). ``--update`` writes the data file from the journal;
``--readme README.md`` rewrites the table between the README's markers from the data.
"""

from __future__ import annotations

import bisect
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from kafkalite.tools import parser
from kafkalite.wire.api_keys import ApiKey

DEFAULT_DATA = Path("compat_tests") / "compat-matrix.json"
README_START = "<!-- compat-matrix:start -->"
README_END = "<!-- compat-matrix:end -->"
API_VERSIONS = ApiKey.API_VERSIONS
_WORKER_FILE = re.compile(r"requests-(?P<worker>.+)-(?P<pid>\d+)\.jsonl$")


class JournalError(Exception):
    """The journal folder or a data file is missing or unreadable."""


def api_name(api_key: int) -> str:
    """Kafka's name of *api_key* (``OffsetForLeaderEpoch``), from the protocol's key table."""
    try:
        return "".join(word.capitalize() for word in ApiKey(api_key).name.split("_"))
    except ValueError:
        return f"api {api_key}"


def version_ranges(versions: Iterable[int]) -> str:
    """``[0, 1, 2, 4]`` -> ``"0-2, 4"``."""
    runs: list[list[int]] = []
    for v in sorted(set(versions)):
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


# -- reading a journal ----------------------------------------------------------------------


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of *path*; a torn last line (a broker killed mid-write) is left out."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a broker killed with -9 may leave half a line
    return entries


def read_journal(folder: Path) -> dict[str, Any]:
    """The journal files of *folder*: ``{"brokers": [{"worker", "requests": [...]}, ...],
    "tests": {worker: [...]}}``.

    Raises:
        JournalError: *folder* does not exist or holds no journal file.
    """
    if not folder.is_dir():
        raise JournalError(f"no journal folder {folder}")
    brokers = []
    for path in sorted(folder.glob("requests-*.jsonl")):
        m = _WORKER_FILE.search(path.name)
        if m:
            brokers.append({"worker": m["worker"], "requests": _read_lines(path)})
    tests = {path.name[len("tests-"):-len(".jsonl")]: _read_lines(path) for path in sorted(folder.glob("tests-*.jsonl"))}
    if not brokers and not tests:
        raise JournalError(f"{folder} holds no journal (requests-*.jsonl, tests-*.jsonl)")
    return {"brokers": brokers, "tests": tests}


# -- the matrix -------------------------------------------------------------------------------


def _client_of(software: list[str] | tuple[str, str] | None, client_id: str | None) -> tuple[str, str, str]:
    """(name, version, how it was known): the software's own words, else the client id."""
    if software and software[0]:
        return software[0], software[1] or "", "software"
    return client_id if client_id is not None else "(no client id)", "", "client_id"


def client_id_family(client_id: str | None) -> str | None:
    """A client id without the instance counter clients append ("kafka-python-producer-12")."""
    return None if client_id is None else re.sub(r"-\d+$", "", client_id)


def _software_by_client_id(brokers: list[dict[str, Any]]) -> dict[str | None, tuple[str, str]]:
    """Client id families that named one and the same software wherever they did.

    A client pinned to old protocol versions never sends ApiVersions v3+ and so never names
    itself; the same library's other instances do, under the same client id but for the counter.
    """
    seen: dict[str | None, set[tuple[str, str]]] = defaultdict(set)
    for broker in brokers:
        for r in broker["requests"]:
            if r.get("software") and r["software"][0]:
                seen[client_id_family(r.get("client_id"))].add((r["software"][0], r["software"][1] or ""))
    return {cid: next(iter(names)) for cid, names in seen.items() if len(names) == 1}


def build_matrix(journal: dict[str, Any]) -> dict[str, Any]:
    """The compatibility matrix of a journal (as `read_journal` returns it).

    Returns ``{"scenarios": {outcome: count}, "clients": [{"client", "version", "known_by",
    "apis": [{"api_key", "api", "versions"}], "scenarios": {"passed": [node ids], "failed":
    [...]}}]}``: the clients known by their software first, then those known by their client
    id, each by name and version; APIs by key. No counts of requests or times: two runs of
    the same tests give the same data.
    """
    by_id = _software_by_client_id(journal["brokers"])
    # Each worker's tests by start time, to find the one that holds an instant.
    spans: dict[str, tuple[list[float], list[dict[str, Any]]]] = {}
    for worker, tests in journal["tests"].items():
        ordered = sorted(tests, key=lambda t: t["start"])
        spans[worker] = ([t["start"] for t in ordered], ordered)

    def test_at(worker: str, t: float) -> dict[str, Any] | None:
        starts, ordered = spans.get(worker, ([], []))
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and t <= ordered[i]["end"]:
            return ordered[i]
        return None

    clients: dict[tuple[bool, str, str], dict[str, Any]] = {}
    for broker in journal["brokers"]:
        named: dict[tuple[str, str | None], list[str]] = {}  # (peer, client id) -> software
        opened: dict[tuple[str, str | None], float] = {}  # (peer, client id) -> when
        for r in sorted(broker["requests"], key=lambda r: r["t"]):
            conn = (r.get("peer", ""), r.get("client_id"))
            if r["api_key"] == API_VERSIONS or conn not in opened:
                opened[conn] = r["t"]
                named.pop(conn, None)
            if r.get("software") and r["software"][0]:
                named[conn] = r["software"]
            software = named.get(conn) or by_id.get(client_id_family(r.get("client_id")))
            name, version, known_by = _client_of(software, r.get("client_id"))
            client = clients.setdefault((known_by != "software", name, version), {
                "client": name, "version": version, "known_by": known_by,
                "apis": defaultdict(set), "scenarios": {"passed": set(), "failed": set()},
            })
            client["apis"][r["api_key"]].add(r["api_version"])
            test = test_at(broker["worker"], r["t"])
            if test is not None and test["outcome"] in ("passed", "failed") and test is test_at(broker["worker"], opened[conn]):
                client["scenarios"][test["outcome"]].add(test["test"])
    outcomes: dict[str, int] = defaultdict(int)
    for tests in journal["tests"].values():
        for t in tests:
            outcomes[t["outcome"] or "not run"] += 1
    return {
        "scenarios": dict(sorted(outcomes.items())),
        "clients": [
            {
                "client": c["client"],
                "version": c["version"],
                "known_by": c["known_by"],
                "apis": [
                    {"api_key": key, "api": api_name(key), "versions": sorted(versions)}
                    for key, versions in sorted(c["apis"].items())
                ],
                "scenarios": {outcome: sorted(ids) for outcome, ids in c["scenarios"].items()},
            }
            for _key, c in sorted(clients.items())
        ],
    }


# -- rendering --------------------------------------------------------------------------------


def client_label(client: dict[str, Any]) -> str:
    """``confluent-kafka-python 2.16.1 (librdkafka 2.16.0)``, ``kafka-python 3.0.12``, or for a
    client known only by its client id, ``client id "kafkalite-differential"``."""
    if client["known_by"] == "client_id":
        return f'client id "{client["client"]}"'
    version = client["version"]
    m = re.fullmatch(r"(.+)-rdkafka-(.+)", version)  # confluent's clients name librdkafka's version
    if m:
        version = f"{m[1]} (librdkafka {m[2]})"
    return f"{client['client']} {version}".strip()


def render_markdown(data: dict[str, Any]) -> str:
    """A line with the run's outcomes, then two tables: the clients with their scenarios, then
    each API's versions per client."""
    clients = data["clients"]
    outcomes = data["scenarios"]
    run = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items())
    lines = [f"Compat run: {sum(outcomes.values())} scenarios ({run}).", ""]
    lines += ["| client | scenarios passed | scenarios failed |", "|---|---:|---:|"]
    for c in clients:
        lines.append(f"| {client_label(c)} | {len(c['scenarios']['passed'])} | {len(c['scenarios']['failed'])} |")
    lines.append("")
    lines.append("| key | API | " + " | ".join(client_label(c) for c in clients) + " |")
    lines.append("|---:|---|" + "---|" * len(clients))
    keys = sorted({a["api_key"] for c in clients for a in c["apis"]})
    for key in keys:
        cells = []
        name = api_name(key)
        for c in clients:
            found = [a for a in c["apis"] if a["api_key"] == key]
            if found:
                name = found[0]["api"]
            cells.append(version_ranges(found[0]["versions"]) if found else "")
        lines.append(f"| {key} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def replace_readme_table(text: str, table: str) -> str:
    """*text* with the part between the compat-matrix markers replaced by *table*.

    Raises:
        JournalError: the markers are missing.
    """
    if README_START not in text or README_END not in text:
        raise JournalError(f"the README has no {README_START} ... {README_END} markers")
    head, rest = text.split(README_START, 1)
    _old, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{table}{README_END}{tail}"


def readme_table(text: str) -> str:
    """The part of a README between the compat-matrix markers (without the markers)."""
    if README_START not in text or README_END not in text:
        raise JournalError(f"the README has no {README_START} ... {README_END} markers")
    return text.split(README_START, 1)[1].split(README_END, 1)[0].removeprefix("\n")


def dumps(data: dict[str, Any]) -> str:
    """The data file's text: indented JSON with one line per API of a client (its versions
    inline) and one per scenario, so that a regenerated file's diff shows what changed."""
    inline: list[str] = []

    def mark(api: dict[str, Any]) -> str:
        inline.append(json.dumps(api))
        return f"@inline{len(inline) - 1}@"

    marked = {**data, "clients": [{**c, "apis": [mark(a) for a in c["apis"]]} for c in data["clients"]]}
    text = json.dumps(marked, indent=1)
    return re.sub(r'"@inline(\d+)@"', lambda m: inline[int(m[1])], text) + "\n"


# -- the command ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    p = parser("compat", "Print which clients, API versions and scenarios the compat tests cover.")
    p.add_argument("--journal", type=Path, metavar="FOLDER",
                   help="build the matrix from this compat run's journal (KAFKALITE_COMPAT_JOURNAL)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, metavar="FILE",
                   help=f"the committed matrix, read without --journal, written by --update (default {DEFAULT_DATA})")
    p.add_argument("--format", choices=["markdown", "json"], default="markdown")
    p.add_argument("--update", action="store_true", help="write the matrix built from --journal to --data")
    p.add_argument("--readme", type=Path, metavar="FILE",
                   help="rewrite the table between FILE's compat-matrix markers from the matrix")
    args = p.parse_args(argv)
    if args.update and args.journal is None:
        p.error("--update needs --journal")
    try:
        if args.journal is not None:
            data = build_matrix(read_journal(args.journal))
        else:
            try:
                data = json.loads(args.data.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise JournalError(f"cannot read {args.data}: {exc}") from None
        if args.update:
            args.data.write_text(dumps(data), encoding="utf-8")
            print(f"kafkalite compat: wrote {args.data}", file=sys.stderr)
        if args.readme is not None:
            try:
                text = args.readme.read_text(encoding="utf-8")
            except OSError as exc:
                raise JournalError(f"cannot read {args.readme}: {exc}") from None
            args.readme.write_text(replace_readme_table(text, render_markdown(data)), encoding="utf-8")
            print(f"kafkalite compat: updated the table in {args.readme}", file=sys.stderr)
    except JournalError as exc:
        print(f"kafkalite compat: error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(dumps(data) if args.format == "json" else render_markdown(data))
    return 0
