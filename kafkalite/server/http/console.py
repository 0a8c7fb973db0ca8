"""The web console's routes on the HTTP port: HTML pages over `kafkalite.console`.

``GET /`` (overview), ``/cluster``, ``/topics``, ``/topics/{topic}``, ``/topics/{topic}/partitions/{p}``
(messages, ``?offset=&limit=``), ``/groups``, ``/groups/{group}``, ``/transactions``,
``/trace`` (``?api=&client_id=&errors=1&limit=``), ``/trace/{seq}`` (one request decoded), ``/faults``, and ``/static/{name}`` (the stylesheet
and the script). The fault rules change through ``POST /faults`` (a form), ``POST
/faults/clear`` and ``POST /faults/{id}/remove``, only when the broker's ``console_write`` is
on: otherwise they answer 403 and the page shows no forms. A POST whose ``Origin`` is another
site's is refused too (403), so a page elsewhere cannot submit forms to the console.

The pages are not part of the JSON API: they are routed with ``openapi=False`` and the
OpenAPI document leaves them out. The lag samples' timer is a task of the router
(``router.tasks``), run while the HTTP port serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from kafkalite.console import static_file
from kafkalite.console.activity import (
    apply_fault_form,
    faults_page,
    group_page,
    groups_page,
    trace_entry_page,
    trace_page,
    transactions_page,
)
from kafkalite.console.lag import LagSamples
from kafkalite.console.views import (
    BadRequest,
    ConsoleError,
    cluster_page,
    Forbidden,
    NotFound,
    error_page,
    messages_page,
    overview_page,
    topic_page,
    topics_page,
)
from kafkalite.server.http.app import Handler, Request, Response, Router

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

HTML_TYPE = "text/html; charset=utf-8"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def html(document: str, status: int = 200) -> Response:
    return Response(status, document.encode(), HTML_TYPE, (("cache-control", "no-store"),))


def _page(render: Handler) -> Handler:
    """*render* with a `ConsoleError` answered as an HTML page of its status."""

    async def handler(request: Request) -> Response:
        try:
            return await render(request)
        except ConsoleError as exc:
            return html(error_page(exc), exc.status)

    return handler


def _query(request: Request, allowed: dict[str, type]) -> dict[str, Any]:
    """The query parameters in *allowed* (str or int); an empty one counts as absent.

    Raises:
        BadRequest: an unknown or repeated parameter, or a number that is not one.
    """
    found: dict[str, Any] = {}
    for name, raw in request.query:
        kind = allowed.get(name)
        if kind is None:
            raise BadRequest(f"Unknown query parameter {name!r} (known: {', '.join(allowed) or 'none'}).")
        if name in found:
            raise BadRequest(f"Query parameter {name!r} is given twice.")
        if raw == "":
            continue
        if kind is int:
            try:
                found[name] = int(raw)
            except ValueError:
                raise BadRequest(f"{name} must be a whole number, not {raw!r}.") from None
        else:
            found[name] = raw
    return found


def add_console_routes(router: Router, broker: Broker | None, *, write: bool | None = None,
                       samples: LagSamples | None = None) -> LagSamples:
    """Route the console's pages of *broker* on *router*; *write* (default: the broker's
    ``console_write``) lets its forms change fault rules. Adds the lag sampler to
    ``router.tasks`` (when there is a broker) and returns it. *broker* None routes only (for
    listing the routes)."""
    writable = bool(broker.config.console_write) if write is None and broker is not None else bool(write)
    samples = samples if samples is not None else LagSamples(broker)
    if broker is not None:
        router.tasks.append(samples.run)

    def get(template: str) -> Any:
        def register(render: Handler) -> Handler:
            router.add("GET", template, _page(render), openapi=False)
            return render
        return register

    def post(template: str) -> Any:
        def register(render: Handler) -> Handler:
            async def guarded(request: Request) -> Response:
                if not writable:
                    raise Forbidden("The console is read-only: start the broker with --console-write "
                                    "(KAFKALITE_CONSOLE_WRITE=1) to change fault rules from the page.")
                _check_origin(request)
                return await render(request)
            router.add("POST", template, _page(guarded), openapi=False)
            return render
        return register

    @get("/")
    async def overview(request: Request) -> Response:
        _query(request, {})
        return html(overview_page(broker))

    @get("/cluster")
    async def cluster(request: Request) -> Response:
        _query(request, {})
        return html(cluster_page(broker))

    @get("/topics")
    async def topics(request: Request) -> Response:
        _query(request, {})
        return html(topics_page(broker))

    @get("/topics/{topic}")
    async def topic(request: Request) -> Response:
        _query(request, {})
        return html(topic_page(broker, request.params["topic"]))

    @get("/topics/{topic}/partitions/{partition}")
    async def messages(request: Request) -> Response:
        params = _query(request, {"offset": int, "limit": int})
        raw = request.params["partition"]
        if not raw.isdigit():
            raise NotFound(f"{raw!r} is not a partition number.")
        return html(messages_page(broker, request.params["topic"], int(raw), params.get("offset"), params.get("limit")))

    @get("/groups")
    async def groups(request: Request) -> Response:
        _query(request, {})
        return html(groups_page(broker))

    @get("/groups/{group}")
    async def group(request: Request) -> Response:
        _query(request, {})
        return html(group_page(broker, request.params["group"], samples))

    @get("/transactions")
    async def transactions(request: Request) -> Response:
        _query(request, {})
        return html(transactions_page(broker))

    @get("/trace")
    async def trace(request: Request) -> Response:
        params = _query(request, {"api": str, "client_id": str, "errors": int, "limit": int})
        if params.get("errors", 0) not in (0, 1):
            raise BadRequest(f"errors must be 1 (only requests answered with an error) or 0, not {params['errors']}.")
        return html(trace_page(broker, params.get("api"), params.get("client_id"), params.get("limit"),
                               errors_only=params.get("errors") == 1))

    @get("/trace/{seq}")
    async def trace_entry(request: Request) -> Response:
        _query(request, {})
        raw = request.params["seq"]
        if not raw.isdigit():
            raise NotFound(f"{raw!r} is not a request number.")
        return html(trace_entry_page(broker, int(raw)))

    @get("/faults")
    async def faults(request: Request) -> Response:
        _query(request, {})
        return html(faults_page(broker, writable=writable))

    @post("/faults")
    async def add_fault(request: Request) -> Response:
        form = _form(request)
        try:
            apply_fault_form(broker, form)
        except BadRequest as exc:
            return html(faults_page(broker, writable=True, problem=exc.message, form=form), 400)
        return _see_other("/faults")

    @post("/faults/clear")
    async def clear_faults(request: Request) -> Response:
        broker.faults.clear()
        return _see_other("/faults")

    @post("/faults/{id}/remove")
    async def remove_fault(request: Request) -> Response:
        raw = request.params["id"]
        if not raw.isdigit() or not broker.faults.remove(int(raw)):
            raise NotFound(f"There is no fault rule {raw}.")
        return _see_other("/faults")

    @get("/static/{name}")
    async def static(request: Request) -> Response:
        name = request.params["name"]
        data = static_file(name)
        kind = _STATIC_TYPES.get(name[name.rfind("."):]) if "." in name else None
        if data is None or kind is None:
            raise NotFound(f"There is no file {name!r} in the console's static files.")
        return Response(200, data, kind, (("cache-control", "max-age=60"),))

    return samples


def _form(request: Request) -> dict[str, str]:
    """The body of a form (application/x-www-form-urlencoded), the last value of each name."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The form is not UTF-8.") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def _check_origin(request: Request) -> None:
    """Refuse a POST sent by a page of another site (its Origin is not this host)."""
    headers = dict(request.headers)
    origin = headers.get("origin")
    if origin is None:  # not sent by a browser's form (curl, a test client)
        return
    if urlsplit(origin).netloc != headers.get("host"):
        raise Forbidden(f"A form of {origin} may not change this console's data.")


def _see_other(location: str) -> Response:
    return Response(303, b"", HTML_TYPE, (("location", location),))
