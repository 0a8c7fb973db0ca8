"""``kafkalite health``: exit 0 only when a broker answers a real ApiVersions request.

Meant for container health checks (the Dockerfile's HEALTHCHECK) and for scripts that wait
for a broker: a listening socket is not enough, the broker must decode a request and answer
it without an error.
"""

from __future__ import annotations

import sys
import time

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Connection, ToolError, parse_bootstrap


def main(argv: list[str]) -> int:
    p = parser("health", "Exit 0 when the broker answers ApiVersions, 1 otherwise.")
    add_connection_options(p)
    p.set_defaults(timeout=5.0)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="keep trying for this long before giving up (default: one try)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = p.parse_args(argv)
    host, port = parse_bootstrap(args.bootstrap_server)[0]
    deadline = time.monotonic() + args.wait
    while True:
        started = time.monotonic()
        try:
            with Connection(host, port, timeout=args.timeout) as connection:
                response = connection.negotiate()
        except ToolError as exc:
            if time.monotonic() + 0.1 < deadline:
                time.sleep(0.1)
                continue
            print(f"kafkalite health: {host}:{port} is not healthy: {exc}", file=sys.stderr)
            return 1
        break
    if not args.quiet:
        took = (time.monotonic() - started) * 1000
        print(f"{host}:{port} is healthy: ApiVersions answered with {len(response.api_keys)} APIs in {took:.1f} ms")
    return 0
