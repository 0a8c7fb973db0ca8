"""``kafkalite schemas list | get | register | check``: the Schema Registry from the command line.

    kafkalite schemas list                                 # subjects, versions, latest id and type
    kafkalite schemas get orders-value [--version 2]       # or: get --id 7
    kafkalite schemas register orders-value order.avsc [--type AVRO] [--reference NAME=SUBJECT:VERSION]
    kafkalite schemas check orders-value order-v2.avsc     # exit 1 and the reasons when incompatible

They talk to the registry's REST API (Confluent's) with urllib. Where: ``--registry-url URL``,
else ``$KAFKALITE_SCHEMA_REGISTRY_URL``, else ``/schema-registry`` on the broker's HTTP API (as
`kafkalite.tools.control` finds it: ``--http-url``, ``$KAFKALITE_HTTP_URL``, else port 8092 on
the bootstrap server's host). A refusal is printed with Confluent's error code and the command
exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import quote

from kafkalite.tools.control import _add_url_options, http_url

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def registry_url(args: argparse.Namespace) -> str:
    """The registry's base URL from the options and environment (see the module docstring)."""
    url = getattr(args, "registry_url", None) or os.environ.get("KAFKALITE_SCHEMA_REGISTRY_URL")
    if url:
        return url.rstrip("/")
    return http_url(args) + "/schema-registry"


def call(base: str, method: str, path: str, body: Any = None, *, timeout: float = 10.0) -> Any:
    """``method path`` on the registry at *base*; returns the decoded JSON answer.

    Raises:
        ToolError: the registry refused (its error code and message), or cannot be reached.
    """
    import urllib.error
    import urllib.request

    from kafkalite.tools.client import ToolError

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", CONTENT_TYPE)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            answer = json.loads(raw)
            message = f"error {answer['error_code']}: {answer['message']}"
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code}: {raw.decode(errors='replace').strip()}"
        raise ToolError(message) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ToolError(
            f"cannot reach the Schema Registry at {base}: {reason} (is the broker started with --http-port "
            f"or --schema-registry-port? give its address with --registry-url or KAFKALITE_SCHEMA_REGISTRY_URL)"
        ) from None


def _options(p: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    _add_url_options(p, subcommand=subcommand)
    p.add_argument("--registry-url", default=argparse.SUPPRESS if subcommand else None, metavar="URL",
                   help="the Schema Registry (default: $KAFKALITE_SCHEMA_REGISTRY_URL, else /schema-registry "
                        "on the HTTP API)")


def _read_schema(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def _references(values: list[str]) -> list[dict[str, Any]]:
    from kafkalite.tools.client import ToolError

    found = []
    for value in values:
        name, _, where = value.partition("=")
        subject, _, version = where.rpartition(":")
        if not name or not subject or not version.isdigit():
            raise ToolError(f"--reference {value!r}: expected NAME=SUBJECT:VERSION")
        found.append({"name": name, "subject": subject, "version": int(version)})
    return found


def _schema_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": _read_schema(args.file), "schemaType": args.type.upper()}
    if args.reference:
        body["references"] = _references(args.reference)
    return body


def _show(text: str, schema_type: str) -> str:
    if schema_type in ("AVRO", "JSON"):
        try:
            return json.dumps(json.loads(text), indent=2)
        except ValueError:
            pass
    return text


def schemas_main(argv: list[str]) -> int:
    from kafkalite.tools import parser

    p = parser("schemas", "List, show, register and check schemas in the broker's Schema Registry.")
    _options(p)
    sub = p.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="subjects with their versions, latest id and type")
    _options(listing, subcommand=True)
    listing.add_argument("--deleted", action="store_true", help="include soft-deleted subjects")
    listing.add_argument("--json", action="store_true", help="print the registry's JSON")
    get = sub.add_parser("get", help="one version of a subject (default latest), or a schema by id")
    _options(get, subcommand=True)
    get.add_argument("subject", nargs="?")
    get.add_argument("--version", default="latest")
    get.add_argument("--id", type=int, help="the schema with this global id")
    get.add_argument("--json", action="store_true", help="print the registry's JSON")
    for name, help_text in (("register", "register a schema under a subject; prints its id"),
                            ("check", "whether a schema can follow a subject's versions (exit 1 if not)")):
        cmd = sub.add_parser(name, help=help_text)
        _options(cmd, subcommand=True)
        cmd.add_argument("subject")
        cmd.add_argument("file", help="the schema's file (- for standard input)")
        cmd.add_argument("--type", default="AVRO", type=str.upper, choices=("AVRO", "JSON", "PROTOBUF"))
        cmd.add_argument("--reference", action="append", default=[], metavar="NAME=SUBJECT:VERSION")
        if name == "register":
            cmd.add_argument("--normalize", action="store_true", help="store the normalised schema")
        else:
            cmd.add_argument("--version", default="all",
                             help="a version, latest, or all: those the subject's level checks (default)")
    args = p.parse_args(argv)
    base = registry_url(args)
    if args.action == "list":
        return _list(base, args)
    if args.action == "get":
        return _get(base, args, p)
    body = _schema_body(args)
    subject = quote(args.subject, safe="")
    if args.action == "register":
        answer = call(base, "POST", f"/subjects/{subject}/versions?normalize={str(args.normalize).lower()}", body,
                      timeout=args.timeout)
        found = call(base, "POST", f"/subjects/{subject}", body, timeout=args.timeout)
        print(f"{args.subject}: id {answer['id']}, version {found['version']}")
        return 0
    path = "/versions" if args.version == "all" else f"/versions/{quote(args.version, safe='')}"
    answer = call(base, "POST", f"/compatibility/subjects/{subject}{path}?verbose=true", body, timeout=args.timeout)
    if answer["is_compatible"]:
        print("compatible")
        return 0
    print("incompatible:")
    for message in answer.get("messages", []):
        print(f"  {message}")
    return 1


def _list(base: str, args: argparse.Namespace) -> int:
    deleted = "?deleted=true" if args.deleted else ""
    subjects = call(base, "GET", f"/subjects{deleted}", timeout=args.timeout)
    rows = []
    for subject in subjects:
        versions = call(base, "GET", f"/subjects/{quote(subject, safe='')}/versions{deleted}", timeout=args.timeout)
        latest = call(base, "GET", f"/subjects/{quote(subject, safe='')}/versions/{versions[-1]}{deleted}",
                      timeout=args.timeout)
        rows.append({"subject": subject, "versions": versions, "id": latest["id"],
                     "schemaType": latest.get("schemaType", "AVRO")})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no subjects")
        return 0
    width = max(len("SUBJECT"), *(len(r["subject"]) for r in rows))
    print(f"{'SUBJECT':<{width}}  {'TYPE':<8}  {'LATEST-ID':>9}  VERSIONS")
    for r in rows:
        print(f"{r['subject']:<{width}}  {r['schemaType']:<8}  {r['id']:>9}  {','.join(map(str, r['versions']))}")
    return 0


def _get(base: str, args: argparse.Namespace, p: argparse.ArgumentParser) -> int:
    if (args.id is None) == (args.subject is None):
        p.error("give a subject or --id")
    if args.id is not None:
        answer = call(base, "GET", f"/schemas/ids/{args.id}", timeout=args.timeout)
        header = f"id {args.id}"
    else:
        answer = call(base, "GET", f"/subjects/{quote(args.subject, safe='')}/versions/{quote(args.version, safe='')}",
                      timeout=args.timeout)
        header = f"{answer['subject']} version {answer['version']}, id {answer['id']}"
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    schema_type = answer.get("schemaType", "AVRO")
    print(f"{header} ({schema_type})")
    for ref in answer.get("references", []):
        print(f"references {ref['name']} = {ref['subject']} version {ref['version']}")
    print(_show(answer["schema"], schema_type))
    return 0
