"""``kafkalite broker list | stop ID [--hard] | start ID``: the cluster's broker nodes, through
the broker's HTTP API (``kafkalite serve --brokers 3 --http-port PORT``).

    kafkalite broker list          # id, address, running or stopped, partitions led
    kafkalite broker stop 1        # controlled shutdown: leaderships move first
    kafkalite broker stop 1 --hard # kill -9: its connections drop, the controller re-elects
    kafkalite broker start 1       # back on its ports; it catches up and rejoins the ISRs

Where the API is: as for ``kafkalite fault`` (`kafkalite.tools.control`).
"""

from __future__ import annotations

from typing import Any

from kafkalite.tools.control import _add_url_options, _json_option, _print_json, call, http_url


def main(argv: list[str]) -> int:
    from kafkalite.tools import parser

    p = parser("broker", "List, stop and start the cluster's broker nodes (the broker's HTTP API).")
    _add_url_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="every node: address, running or stopped, partitions it leads")
    _add_url_options(listing, subcommand=True)
    _json_option(listing)
    stop = sub.add_parser("stop", help="stop a node (controlled shutdown; --hard: as kill -9)")
    _add_url_options(stop, subcommand=True)
    stop.add_argument("id", type=int)
    stop.add_argument("--hard", action="store_true", help="drop its connections at once, moving nothing first")
    start = sub.add_parser("start", help="start a stopped node again")
    _add_url_options(start, subcommand=True)
    start.add_argument("id", type=int)
    args = p.parse_args(argv)
    base = http_url(args)
    if args.action == "list":
        rows = call(base, "GET", "/v1/nodes", timeout=args.timeout)
        if args.json:
            _print_json(rows)
        else:
            print(describe_nodes(rows))
    elif args.action == "stop":
        row = call(base, "POST", f"/v1/nodes/{args.id}/stop", {"clean": not args.hard}, timeout=args.timeout)
        print(f"stopped ({'hard' if args.hard else 'controlled shutdown'}): {describe_node(row)}")
    else:
        row = call(base, "POST", f"/v1/nodes/{args.id}/start", {}, timeout=args.timeout)
        print(f"started: {describe_node(row)}")
    return 0


def _address(row: dict[str, Any]) -> str:
    return f"{row['host']}:{row['port']}" if row.get("host") else "-"  # controllers: no client listener


def describe_node(row: dict[str, Any]) -> str:
    """``broker 1 localhost:9093 stopped, leads 0 partition(s)``."""
    rack = f" rack {row['rack']}" if row.get("rack") else ""
    state = "running" if row["live"] else "stopped"
    return f"{row['role']} {row['id']} {_address(row)}{rack} {state}, leads {row['leaders']} partition(s)"


def describe_nodes(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'ID':>5}  {'ROLE':<10}  {'ADDRESS':<22}  {'RACK':<8}  {'STATE':<8}  LEADERS"]
    for row in rows:
        lines.append(
            f"{row['id']:>5}  {row['role']:<10}  {_address(row):<22}  "
            f"{row.get('rack') or '-':<8}  {'running' if row['live'] else 'stopped':<8}  {row['leaders']}"
        )
    return "\n".join(lines)
