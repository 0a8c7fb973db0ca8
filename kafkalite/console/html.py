"""A very small HTML builder: everything is escaped unless it is already `Markup`.

The console's views build pages from these functions rather than from a template engine:
a page is a few tables and lists, and building it in Python keeps the escaping rule in one
place. `esc` turns any value into escaped text; `tag` wraps children (each escaped unless
it is `Markup`) in an element whose attribute values are escaped too; `page` is the layout
every view shares (navigation, the stylesheet, the live-update script).
"""

from __future__ import annotations

import html
from typing import Any, Iterable
from urllib.parse import quote

#: The views, in the order of the navigation bar: (path, label).
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Overview"),
    ("/cluster", "Cluster"),
    ("/topics", "Topics"),
    ("/groups", "Groups"),
    ("/transactions", "Transactions"),
    ("/trace", "Trace"),
    ("/faults", "Faults"),
)


class Markup(str):
    """A string that is HTML already: `esc` and `tag` insert it as it is."""


def esc(value: Any) -> Markup:
    """*value* as HTML text: Markup unchanged, None as an empty string, anything else escaped
    (quotes included, so the result is also safe inside an attribute value)."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """The escaped *parts* one after the other, separated by *sep* (taken as HTML)."""
    return Markup(sep.join(esc(p) for p in parts))


def tag(name: str, /, *children: Any, **attrs: Any) -> Markup:
    """``<name attrs>children</name>``; an attribute whose value is None or False is left out,
    True gives a bare attribute, ``class_`` is ``class`` and ``data_x`` is ``data-x``."""
    rendered = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        rendered.append(f" {attr}" if value is True else f' {attr}="{esc(value)}"')
    inner = "".join(esc(child) for child in children)
    return Markup(f"<{name}{''.join(rendered)}>{inner}</{name}>")


def void(name: str, /, **attrs: Any) -> Markup:
    """An element without content (``<input ...>``), attributes as in `tag`."""
    return Markup(tag(name, **attrs).removesuffix(f"></{name}>") + ">")


def path_part(value: str) -> str:
    """*value* quoted for one segment of a URL path (a topic or group name)."""
    return quote(value, safe="")


def link(href: str, text: Any, **attrs: Any) -> Markup:
    return tag("a", text, href=href, **attrs)


def table(headers: Iterable[Any], rows: Iterable[Iterable[Any]], *, caption: Any = None,
          empty: str = "none", **attrs: Any) -> Markup:
    """A table with a header row; each row's cells escaped unless Markup. With no rows, one
    row saying *empty* across all columns."""
    heads = list(headers)
    body = [tag("tr", *(tag("td", cell) for cell in row)) for row in rows]
    if not body:
        body = [tag("tr", tag("td", empty, colspan=len(heads), class_="empty"))]
    return tag(
        "table",
        tag("caption", caption) if caption is not None else "",
        tag("thead", tag("tr", *(tag("th", h, scope="col") for h in heads))),
        tag("tbody", *body),
        **attrs,
    )


def facts(pairs: Iterable[tuple[Any, Any]], **attrs: Any) -> Markup:
    """A definition list of (name, value) pairs."""
    items = []
    for name, value in pairs:
        items += [tag("dt", name), tag("dd", value)]
    return tag("dl", *items, class_="facts", **attrs)


def page(title: str, active: str, *body: Any, live: bool = True) -> str:
    """The whole document of a view: *title*, the navigation with *active* (a path of `NAV`)
    marked, the *body*. With *live*, the page's script refreshes its ``data-live`` parts."""
    nav = tag("nav", tag("ul", *(
        tag("li", link(href, label, aria_current="page" if href == active else None)) for href, label in NAV
    )), aria_label="Views")
    script = tag("script", src="/static/console.js", defer=True) if live else ""
    return (
        "<!DOCTYPE html>\n"
        + tag(
            "html",
            tag(
                "head",
                void("meta", charset="utf-8"),
                void("meta", name="viewport", content="width=device-width, initial-scale=1"),
                tag("title", f"{title} · kafkalite"),
                void("link", rel="stylesheet", href="/static/console.css"),
                script,
            ),
            tag(
                "body",
                link("#main", "Skip to content", class_="skip"),
                tag("header", link("/", "kafkalite", class_="brand"), nav),
                tag("main", tag("h1", title), *body, id="main", tabindex="-1"),
            ),
            lang="en",
        )
        + "\n"
    )
