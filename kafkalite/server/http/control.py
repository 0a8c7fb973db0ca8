"""The ``/v1`` control routes: fault rules, ACLs, the request journal, the broker clock, reset,
replication delays.

Each route calls the broker's engine directly (`Broker.faults`, `Broker.journal`,
`Broker.clock`, `Broker.reset`): the app runs in the broker's trio loop, so this is the same
call the Python API makes through ``BrokerThread.call``, and an engine's refusal (a bad fault
spec, a negative clock step) leaves nothing half-applied there, so nothing here either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkalite.broker.acls import binding_from, filter_from
from kafkalite.broker.faults import FaultSpecError, api_key_of
from kafkalite.server.http.app import HttpError, Request, Response, Router, number_field, query_params

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker
    from kafkalite.clock import BrokerClock

#: Query parameters of GET /v1/journal and their types (Journal.query's keywords).
JOURNAL_QUERY: dict[str, type] = {
    "api": str,
    "client_id": str,
    "topic": str,
    "partition": int,
    "group_id": str,
    "since_ms": int,
    "until_ms": int,
    "limit": int,
}


def add_control_routes(router: Router, broker: Broker) -> None:
    """Register the ``/v1`` routes of *broker* on *router*."""

    @router.route("POST", "/v1/faults")
    async def add_fault(request: Request) -> Response:
        spec = request.json_object()
        try:
            rule = broker.faults.add(**spec)
        except FaultSpecError as exc:
            raise HttpError(400, str(exc), exc.field) from None
        return Response.json(rule.to_dict(), 201).with_header("location", f"/v1/faults/{rule.id}")

    @router.route("GET", "/v1/faults")
    async def list_faults(request: Request) -> Response:
        query_params(request, {})
        return Response.json([rule.to_dict() for rule in broker.faults.rules])

    @router.route("DELETE", "/v1/faults")
    async def clear_faults(request: Request) -> Response:
        query_params(request, {})
        return Response.json({"removed": broker.faults.clear()})

    @router.route("GET", "/v1/faults/{id}")
    async def get_fault(request: Request) -> Response:
        return Response.json(_rule(broker, request).to_dict())

    @router.route("DELETE", "/v1/faults/{id}")
    async def remove_fault(request: Request) -> Response:
        rule = _rule(broker, request)
        broker.faults.remove(rule.id)
        return Response.json(rule.to_dict())  # its final counters

    @router.route("POST", "/v1/acls")
    async def add_acl(request: Request) -> Response:
        spec = request.json_object()
        try:
            acl = binding_from(**spec)
        except TypeError as exc:  # an unknown or missing key
            raise HttpError(400, f"bad ACL: {exc}") from None
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        broker.acls.add([acl])
        return Response.json(acl.to_json(), 201)

    @router.route("GET", "/v1/acls")
    async def list_acls(request: Request) -> Response:
        return Response.json([acl.to_json() for acl in broker.acls.matching(_acl_filter(request))])

    @router.route("DELETE", "/v1/acls")
    async def remove_acls(request: Request) -> Response:
        matched = broker.acls.matching(_acl_filter(request))
        broker.acls.remove(matched)
        return Response.json({"removed": [acl.to_json() for acl in matched]})

    @router.route("GET", "/v1/journal")
    async def journal(request: Request) -> Response:
        params = query_params(request, JOURNAL_QUERY)
        if params.get("limit", 0) < 0:
            raise HttpError(400, f"limit must be 0 or more, not {params['limit']}", "limit")
        if params.get("partition", 0) < 0:
            raise HttpError(400, f"partition must be 0 or more, not {params['partition']}", "partition")
        if "api" in params:
            try:
                params["api"] = api_key_of(params["api"])
            except FaultSpecError as exc:  # an API no one could have sent
                raise HttpError(400, str(exc), "api") from None
        if not broker.journal.enabled:
            raise HttpError(409, "the request journal is off: start the broker with --journal-size N "
                                 "(KAFKALITE_JOURNAL_SIZE)")
        entries = broker.journal.query(**params)
        return Response.json([entry.to_dict() for entry in entries])

    @router.route("GET", "/v1/clock")
    async def clock(request: Request) -> Response:
        return Response.json(clock_state(broker.clock))

    @router.route("POST", "/v1/clock/advance")
    async def advance(request: Request) -> Response:
        seconds = number_field(request.json_object(), "seconds")
        if seconds < 0:
            raise HttpError(400, f"seconds must be 0 or more (time never goes back), not {seconds:g}", "seconds")
        broker.clock.advance(seconds)
        return Response.json(clock_state(broker.clock))

    @router.route("POST", "/v1/clock/freeze")
    async def freeze(request: Request) -> Response:
        request.json_object(required=False)
        broker.clock.freeze()
        return Response.json(clock_state(broker.clock))

    @router.route("POST", "/v1/clock/unfreeze")
    async def unfreeze(request: Request) -> Response:
        request.json_object(required=False)
        broker.clock.unfreeze()
        return Response.json(clock_state(broker.clock))

    @router.route("POST", "/v1/replication/delay")
    async def replication_delay(request: Request) -> Response:
        body = request.json_object()
        delay = number_field(body, "delay_ms")
        if delay < 0 or delay != int(delay):
            raise HttpError(400, f"delay_ms must be a whole number of ms, 0 or more, not {delay:g}", "delay_ms")
        scope: dict[str, Any] = {}
        for name, kind in (("node_id", int), ("topic", str), ("partition", int)):
            value = body.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
                raise HttpError(400, f"{name} must be {'an integer' if kind is int else 'a string'} or null", name)
            scope[name] = value
        try:
            broker.replicas.set_delay(**scope, delay_ms=int(delay))
        except ValueError as exc:
            raise HttpError(400, str(exc), "partition") from None
        return Response.json(replication_delays(broker))

    @router.route("POST", "/v1/reset")
    async def reset(request: Request) -> Response:
        request.json_object(required=False)
        deleted = broker.reset()  # also: fault rules, journal; a frozen clock runs on
        return Response.json({"topics_deleted": deleted, "clock": clock_state(broker.clock)})


def replication_delays(broker: Broker) -> dict[str, Any]:
    """The replication delay rules in force, as POST /v1/replication/delay answers them."""
    return {"delays": [
        {"node_id": node, "topic": topic, "partition": partition, "delay_ms": ms}
        for (node, topic, partition), ms in broker.replicas.delays.items()
    ]}


def clock_state(clock: BrokerClock) -> dict[str, Any]:
    """The clock as JSON: its wall-clock reading, how far ahead of real time, frozen or not."""
    return {"now_ms": clock.wall_ms(), "offset_s": clock.offset_s, "frozen": clock.frozen}


#: The query parameters of GET and DELETE /v1/acls: a filter (absent: any).
ACL_QUERY: dict[str, type] = {
    "principal": str, "resource": str, "name": str, "pattern": str, "operation": str, "permission": str, "host": str,
}


def _acl_filter(request: Request) -> Any:
    try:
        return filter_from(**query_params(request, ACL_QUERY))
    except ValueError as exc:
        raise HttpError(400, str(exc)) from None


def _rule(broker: Broker, request: Request) -> Any:
    raw = request.params["id"]
    rule = broker.faults.get(int(raw)) if raw.isdigit() else None
    if rule is None:
        raise HttpError(404, f"no fault rule {raw}", "id")
    return rule
