"""Helpers of the console's tests: GET and POST over a real socket, tables read from HTML."""

from __future__ import annotations

import http.client
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from kafkalite.testing.thread import BrokerThread


def request(broker: BrokerThread, method: str, path: str, form: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """(status, headers with lower-case names, body as text) of one request to the HTTP port."""
    host, port = broker.http_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        body = None if form is None else urlencode(form)
        sent = dict(headers or {})
        if form is not None:
            sent["content-type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        payload = response.read().decode()
        found = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    return response.status, found, payload


def get(broker: BrokerThread, path: str) -> str:
    """The body of a page that must answer 200 with HTML."""
    status, headers, body = request(broker, "GET", path)
    assert status == 200, (path, status, body[:500])
    assert headers["content-type"] == "text/html; charset=utf-8"
    return body


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.texts: dict[str, str] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._open_ids: list[tuple[str, str, int]] = []  # (tag, id, depth)
        self._capture: dict[str, list[str]] = {}
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._gap(tag)
        if tag == "li" and self._cell is not None:
            self._cell.append(" ")  # items of a list in a cell read as separate words
        if tag not in ("meta", "link", "input", "br"):
            self._depth += 1
            if found.get("id"):
                self._open_ids.append((tag, found["id"] or "", self._depth))
                self._capture[found["id"] or ""] = []
        if tag == "table":
            self._table = found.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def _gap(self, tag: str) -> None:
        # Block-level boundaries separate words in the text a person reads.
        if tag not in ("a", "span", "strong", "code", "small", "b", "i", "em"):
            for ident in self._capture:
                self._capture[ident].append(" ")

    def handle_endtag(self, tag: str) -> None:
        self._gap(tag)
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        if tag not in ("meta", "link", "input", "br"):
            while self._open_ids and self._open_ids[-1][2] >= self._depth:
                _tag, ident, _d = self._open_ids.pop()
                self.texts[ident] = " ".join("".join(self._capture.pop(ident)).split())
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for ident in self._capture:
            self._capture[ident].append(data)


def tables(page: str) -> dict[str, list[list[str]]]:
    """Every table of *page* by its id: rows of cell texts (whitespace collapsed), the header
    row first."""
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def text_of(page: str, ident: str) -> str:
    """The text inside the element with id *ident* (whitespace collapsed)."""
    parser = _Tables()
    parser.feed(page)
    return parser.texts[ident]


def rows(page: str, ident: str) -> list[dict[str, str]]:
    """The body rows of table *ident* as dicts by column header."""
    header, *body = tables(page)[ident]
    return [dict(zip(header, row)) for row in body]
