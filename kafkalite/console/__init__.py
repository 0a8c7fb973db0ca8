"""The web console: server-rendered pages of what the broker holds and does.

Served on the HTTP port (``--http-port``) at ``/`` by `kafkalite.server.http.console`.

* `facts`: the broker's state as plain values (cluster, topics, partitions, groups and lag,
  transactions, fault rules), read without creating anything;
* `messages`: the message browser's bounded reads, values decoded through the Schema
  Registry when they carry a schema id;
* `trace`: the request journal's newest entries, errors explained as ``--trace`` does;
* `lag`: lag samples per group (a bounded ring, on a timer) and their SVG chart;
* `html`: the escaping HTML builder and the page layout;
* `views` (overview, cluster, topics, messages) and `activity` (groups, transactions, trace,
  faults): the pages themselves;
* ``static/``: the stylesheet and the live-update script, served as they are.
"""

from __future__ import annotations

from importlib import resources


def static_file(name: str) -> bytes | None:
    """The bytes of ``static/NAME`` (None when there is no such file)."""
    if "/" in name or name.startswith("."):
        return None
    entry = resources.files(__name__).joinpath("static", name)
    return entry.read_bytes() if entry.is_file() else None
