"""``kafkalite fault | journal | clock``: the broker's HTTP control API from the command line.

    kafkalite fault add --api Produce --error NOT_LEADER_OR_FOLLOWER --topic orders --times 3
    kafkalite fault list                 # each rule with how often it matched and fired
    kafkalite fault remove 3             # or: kafkalite fault clear
    kafkalite journal --api Produce --client-id billing --limit 20 [--json]
    kafkalite clock advance 45           # and: clock show | freeze | unfreeze

They talk to the broker's HTTP API (``kafkalite serve --http-port PORT``) with the standard
library's urllib. Where: ``--http-url URL``, else ``$KAFKALITE_HTTP_URL``, else port
`DEFAULT_HTTP_PORT` (the container image's) on the host of ``--bootstrap-server`` /
``$KAFKALITE_BOOTSTRAP_SERVER`` (localhost by default). The Kafka protocol has no honest place
to advertise an HTTP port (clients compare what brokers answer with Kafka's), so the control
port is a convention, not discovered. An error answered by the API is printed as it came,
with the field it names, and the command exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone
from typing import Any

#: The HTTP API's port by convention: the container image serves it there, and the CLI
#: looks there on the bootstrap server's host when no URL is given.
DEFAULT_HTTP_PORT = 8092

#: `kafkalite fault add` options -> (spec key, type). Bool options are flags.
_SPEC_OPTIONS: dict[str, type] = {
    "api": str, "versions": str, "client_id": str, "client_id_pattern": str, "peer": str,
    "node_id": int, "topic": str, "topic_pattern": str, "partition": int, "group_id": str,
    "transactional_id": str, "error": str, "error_message": str, "scope": str, "leader_hint": int,
    "delay_ms": int, "throttle_ms": int, "drop": bool, "close": str, "apply": bool, "stall": bool,
    "times": int, "always": bool, "probability": float, "seed": int, "after": int,
}
_CHOICES = {"scope": ("request", "partition"), "close": ("before", "after")}
_HELP = {
    "api": "API name (Produce) or key", "versions": 'version range: "3-9", "3+" or 5',
    "client_id_pattern": "regex the client id must match", "peer": "client address, host or host:port",
    "topic_pattern": "regex a topic name must match", "error": "error name (NOT_LEADER_OR_FOLLOWER) or code",
    "scope": "top-level error, or per partition", "leader_hint": "node id to name as the current leader",
    "delay_ms": "hold the response this long", "throttle_ms": "throttle_time_ms, and hold the response",
    "drop": "never answer", "close": "close the connection before or after handling",
    "apply": "apply the request, then answer the error (a lost acknowledgement)",
    "stall": "Fetch returns nothing for the matched partitions while the rule exists",
    "times": "fire this many times (default 1)", "always": "fire on every match",
    "probability": "fire with this probability (0..1)", "seed": "seed of --probability",
    "after": "let this many matches pass first",
}


# -- talking to the API ------------------------------------------------------------------


def http_url(args: argparse.Namespace) -> str:
    """The API's base URL from the options and environment (see the module docstring)."""
    url = args.http_url or os.environ.get("KAFKALITE_HTTP_URL")
    if url:
        return url.rstrip("/")
    from kafkalite.tools.client import default_bootstrap, parse_bootstrap

    host, _port = parse_bootstrap(args.bootstrap_server or default_bootstrap())[0]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{DEFAULT_HTTP_PORT}"


def call(base: str, method: str, path: str, body: Any = None, *, timeout: float = 10.0) -> Any:
    """``method path`` on the API at *base*; returns the decoded JSON answer.

    Raises:
        ToolError: the API answered an error (its message and field), or cannot be reached.
    """
    import urllib.error
    import urllib.request

    from kafkalite.tools.client import ToolError

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise ToolError(_api_error(exc.code, exc.read())) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ToolError(
            f"cannot reach the kafkalite HTTP API at {base}: {reason} (is the broker started with "
            f"--http-port? give its address with --http-url or KAFKALITE_HTTP_URL)"
        ) from None


def _api_error(status: int, raw: bytes) -> str:
    try:
        answer = json.loads(raw)
        message, field = answer["error"], answer.get("field")
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: {raw.decode(errors='replace').strip()}"
    return f"{message} (field {field})" if field and field not in message else message


def _add_url_options(p: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    default = argparse.SUPPRESS if subcommand else None
    p.add_argument("--http-url", default=default, metavar="URL",
                   help="the broker's HTTP API (default: $KAFKALITE_HTTP_URL, else port "
                        f"{DEFAULT_HTTP_PORT} on the bootstrap server's host)")
    p.add_argument("--bootstrap-server", default=default, metavar="HOST:PORT",
                   help="the broker, whose host serves the API on the default port")
    p.add_argument("--timeout", type=float, default=argparse.SUPPRESS if subcommand else 10.0,
                   metavar="SECONDS", help="HTTP timeout (default 10)")


def _json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the API's JSON as it is")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


# -- kafkalite fault ---------------------------------------------------------------------


def fault_main(argv: list[str]) -> int:
    from kafkalite.tools import parser

    p = parser("fault", "Add, list and remove the broker's fault rules (its HTTP API).")
    _add_url_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a rule; prints it with its id")
    _add_url_options(add, subcommand=True)
    _json_option(add)
    for key, kind in _SPEC_OPTIONS.items():
        flag = "--" + key.replace("_", "-")
        if kind is bool:
            add.add_argument(flag, dest=key, action="store_true", default=None, help=_HELP.get(key))
        else:
            add.add_argument(flag, dest=key, type=kind, choices=_CHOICES.get(key), help=_HELP.get(key))
    listing = sub.add_parser("list", help="the rules, with how often each matched and fired")
    _add_url_options(listing, subcommand=True)
    _json_option(listing)
    remove = sub.add_parser("remove", help="remove one rule")
    _add_url_options(remove, subcommand=True)
    remove.add_argument("id", type=int)
    clear = sub.add_parser("clear", help="remove every rule")
    _add_url_options(clear, subcommand=True)
    args = p.parse_args(argv)
    base = http_url(args)
    if args.action == "add":
        spec = {key: _spec_value(key, getattr(args, key)) for key in _SPEC_OPTIONS if getattr(args, key) is not None}
        rule = call(base, "POST", "/v1/faults", spec, timeout=args.timeout)
        if args.json:
            _print_json(rule)
        else:
            print(describe_rule(rule))
    elif args.action == "list":
        rules = call(base, "GET", "/v1/faults", timeout=args.timeout)
        if args.json:
            _print_json(rules)
        for rule in [] if args.json else rules:
            print(describe_rule(rule))
    elif args.action == "remove":
        rule = call(base, "DELETE", f"/v1/faults/{args.id}", timeout=args.timeout)
        print(f"removed {describe_rule(rule)}")
    else:
        removed = call(base, "DELETE", "/v1/faults", timeout=args.timeout)["removed"]
        print(f"removed {removed} rule(s)")
    return 0


def _spec_value(key: str, value: Any) -> Any:
    # An API, error or version given as digits is a key, a code or one version.
    if key in ("api", "error", "versions") and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def describe_rule(rule: dict[str, Any]) -> str:
    """``rule 3: api=Produce topic=orders error=NOT_LEADER_OR_FOLLOWER times=3 (matched 1, fired 1)``."""
    spec = " ".join(f"{key}={value}" for key, value in rule.items() if key not in ("id", "matched", "fired"))
    return f"rule {rule['id']}: {spec} (matched {rule['matched']}, fired {rule['fired']})"


# -- kafkalite journal -------------------------------------------------------------------


def journal_main(argv: list[str]) -> int:
    from urllib.parse import urlencode

    from kafkalite.tools import parser

    p = parser("journal", "Print the requests the broker recorded (its HTTP API), oldest first.")
    _add_url_options(p)
    _json_option(p)
    p.add_argument("--api", help="only this API (Produce, FindCoordinator...)")
    p.add_argument("--client-id", help="only requests of this client id")
    p.add_argument("--topic", help="only requests naming this topic")
    p.add_argument("--partition", type=int, help="only requests naming this partition")
    p.add_argument("--group-id", help="only requests of this group")
    p.add_argument("--since-ms", type=int, help="from this broker time (ms since the epoch)")
    p.add_argument("--until-ms", type=int, help="up to this broker time")
    p.add_argument("--limit", type=int, help="at most this many, the latest")
    args = p.parse_args(argv)
    names = ("api", "client_id", "topic", "partition", "group_id", "since_ms", "until_ms", "limit")
    query = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    path = "/v1/journal" + ("?" + urlencode(query) if query else "")
    entries = call(http_url(args), "GET", path, timeout=args.timeout)
    if args.json:
        _print_json(entries)
        return 0
    for entry in entries:
        print(describe_entry(entry))
    return 0


def describe_entry(entry: dict[str, Any]) -> str:
    """One readable line: time, API and version, who sent it, how long it took, errors, fault."""
    line = (
        f"{_time(entry.get('time_ms'))} #{entry.get('seq')} {entry.get('api')} v{entry.get('api_version')}"
        f" correlation_id={entry.get('correlation_id')} client_id={entry.get('client_id')}"
        f" peer={entry.get('peer')} node={entry.get('node_id')}"
    )
    if entry.get("elapsed_ms") is not None:
        line += f" ({entry['elapsed_ms']:.1f} ms)"
    if entry.get("errors"):
        line += " errors=" + ",".join(_error_name(code) for code in entry["errors"])
    if entry.get("fault") is not None:
        line += f" fault=rule {entry['fault']}"
    return line


def _error_name(code: Any) -> str:
    from kafkalite.wire.error_codes import ErrorCode

    try:
        return f"{ErrorCode(code).name}({code})"
    except ValueError:
        return str(code)


def _time(ms: Any) -> str:
    if not isinstance(ms, int):
        return str(ms)
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- kafkalite clock ---------------------------------------------------------------------


def clock_main(argv: list[str]) -> int:
    from kafkalite.tools import parser

    p = parser("clock", "Show, advance, freeze or unfreeze the broker clock (its HTTP API).")
    _add_url_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    for name, help_text in [("show", "the broker clock"), ("freeze", "stop it (only advance moves it)"),
                            ("unfreeze", "let it run on from where it stands")]:
        _add_url_options(sub.add_parser(name, help=help_text), subcommand=True)
    advance = sub.add_parser("advance", help="move it forward: timers due by then fire now")
    _add_url_options(advance, subcommand=True)
    advance.add_argument("seconds", type=float)
    args = p.parse_args(argv)
    base = http_url(args)
    if args.action == "show":
        state = call(base, "GET", "/v1/clock", timeout=args.timeout)
    elif args.action == "advance":
        state = call(base, "POST", "/v1/clock/advance", {"seconds": args.seconds}, timeout=args.timeout)
    else:
        state = call(base, "POST", f"/v1/clock/{args.action}", {}, timeout=args.timeout)
    print(describe_clock(state))
    return 0


def describe_clock(state: dict[str, Any]) -> str:
    """``broker clock 2026-01-01T00:00:45.000Z, 45.000 s ahead of real time, running``."""
    running = "frozen" if state["frozen"] else "running"
    return f"broker clock {_time(state['now_ms'])}, {state['offset_s']:.3f} s ahead of real time, {running}"
