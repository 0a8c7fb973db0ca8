"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /openapi.json``.

Written out as data, operation by operation, rather than derived from the router: a test
compares the two (every route documented, every documented operation routed), so a route
added without its description, or a description left behind, fails.
"""

from __future__ import annotations

from typing import Any

from kafkalite.server.http.app import Request, Response, Router
from kafkalite.server.http.registry import HTTP_PREFIX, registry_operations

_INT = {"type": "integer"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}

#: The keys of a fault rule's spec (the same names as ``broker.faults.add``'s keywords) and
#: the JSON they take. The fault engine checks them (unknown keys included).
FAULT_SPEC_PROPERTIES: dict[str, dict[str, Any]] = {
    # what it matches
    "api": {"oneOf": [_STR, _INT], "description": "API name (Produce) or key (0)"},
    "versions": {
        "oneOf": [_STR, _INT, {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}],
        "description": 'version range: "3-9", [3, 9] or one version',
    },
    "client_id": {**_STR, "description": "exact client id"},
    "client_id_pattern": {**_STR, "description": "regular expression the client id must match"},
    "peer": {**_STR, "description": 'the client\'s address, "host" or "host:port"'},
    "node_id": {**_INT, "description": "the broker node the request reached"},
    "topic": _STR,
    "topic_pattern": {**_STR, "description": "regular expression a topic name must match"},
    "partition": _INT,
    "group_id": _STR,
    "transactional_id": _STR,
    # what it does
    "error": {"oneOf": [_STR, _INT], "description": "error name (NOT_LEADER_OR_FOLLOWER) or code"},
    "error_message": {**_STR, "description": "the error message field, where the version has one"},
    "scope": {"enum": ["request", "partition"], "description": "top-level error or per partition"},
    "leader_hint": {**_INT, "description": "node id given as current leader with NOT_LEADER_OR_FOLLOWER"},
    "delay_ms": {**_INT, "description": "hold the response this long"},
    "throttle_ms": {**_INT, "description": "set throttle_time_ms and hold the response that long"},
    "drop": {**_BOOL, "description": "never answer"},
    "close": {"enum": ["before", "after"], "description": "close the connection before or after handling"},
    "apply": {**_BOOL, "description": "with error: apply the request, then answer the error (a lost ack)"},
    "stall": {**_BOOL, "description": "Fetch returns nothing for the matched partitions while the rule exists"},
    # when it fires
    "times": {**_INT, "description": "fire this many times (default 1)"},
    "always": {**_BOOL, "description": "fire on every match"},
    "probability": {"type": "number", "minimum": 0, "maximum": 1},
    "seed": {**_INT, "description": "seed of the probability's random numbers"},
    "after": {**_INT, "description": "let this many matches pass before firing"},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "field"],
        "properties": {"error": _STR, "field": {"type": ["string", "null"]}},
    },
    "AclSpec": {
        "type": "object",
        "required": ["principal", "resource", "operation"],
        "additionalProperties": False,
        "properties": {
            "principal": {**_STR, "description": "User:alice, User:* (a plain name is a user)"},
            "resource": {"enum": ["topic", "group", "cluster", "transactional_id", "delegation_token", "user"]},
            "name": {**_STR, "description": "the resource name or prefix; cluster: kafka-cluster (the default)"},
            "operation": {**_STR, "description": "READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, ... ALL"},
            "permission": {"enum": ["ALLOW", "DENY"], "description": "default ALLOW"},
            "pattern": {"enum": ["LITERAL", "PREFIXED"], "description": "default LITERAL"},
            "host": {**_STR, "description": "default *"},
        },
    },
    "Acl": {
        "type": "object",
        "properties": {name: _STR for name in (
            "resource_type", "resource_name", "pattern_type", "principal", "host", "operation", "permission")},
    },
    "FaultSpec": {"type": "object", "additionalProperties": False, "properties": FAULT_SPEC_PROPERTIES},
    "FaultRule": {
        "type": "object",
        "required": ["id", "matched", "fired"],
        "description": "the spec as given, with the rule's id and live counters",
        "properties": {
            **FAULT_SPEC_PROPERTIES,
            "id": _INT,
            "matched": {**_INT, "description": "requests the rule matched"},
            "fired": {**_INT, "description": "times it acted"},
        },
    },
    "JournalEntry": {
        "type": "object",
        "required": ["seq", "time_ms", "api", "api_version"],
        "properties": {
            "seq": _INT,
            "time_ms": {**_INT, "description": "broker wall clock when the request arrived"},
            "elapsed_ms": {"type": "number"},
            "api": _STR,
            "api_key": _INT,
            "api_version": _INT,
            "correlation_id": _INT,
            "client_id": {"type": ["string", "null"]},
            "peer": _STR,
            "node_id": _INT,
            "request": {"type": "object", "description": "decoded, record bytes summarised"},
            "response": {"type": ["object", "null"]},
            "errors": {"type": "array"},
            "fault": {"type": ["integer", "null"], "description": "id of the fault rule that fired"},
            "records": {"type": "object", "description": "record bytes held, or kept: false once let go"},
        },
    },
    "Clock": {
        "type": "object",
        "required": ["now_ms", "offset_s", "frozen"],
        "properties": {
            "now_ms": {**_INT, "description": "the broker's wall clock (ms since the epoch)"},
            "offset_s": {"type": "number", "description": "how far ahead of real time"},
            "frozen": _BOOL,
        },
    },
    "Status": {"type": "object", "required": ["status"], "properties": {"status": _STR}},
    "Node": {
        "type": "object",
        "required": ["id", "host", "port", "rack", "live", "leaders", "role"],
        "properties": {
            "id": _INT,
            "host": {"type": ["string", "null"]},
            "port": {"type": ["integer", "null"]},
            "rack": {"type": ["string", "null"]},
            "live": {**_BOOL, "description": "running (false: stopped)"},
            "leaders": {**_INT, "description": "partitions it leads"},
            "role": {"enum": ["broker", "controller", "broker,controller"]},
        },
    },
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_ACL_FILTER = [
    {"name": name, "in": "query", "required": False, "schema": _STR, "description": description}
    for name, description in (
        ("principal", "User:alice (a plain name is a user)"), ("resource", "topic, group, cluster, transactional_id, ..."),
        ("name", "the resource pattern's name"), ("pattern", "LITERAL, PREFIXED, MATCH (patterns covering name), ANY"),
        ("operation", "READ, WRITE, ... ALL"), ("permission", "ALLOW, DENY"), ("host", "* or an IP"),
    )
]
_RULE_ID = {"name": "id", "in": "path", "required": True, "schema": _INT, "description": "the rule's id"}
_BAD = _error("bad input: the message names the field")
_NO_RULE = _error("no rule with that id")
_CLOCK = _json(_ref("Clock"), "the clock after the change")
_NODE_ID = {"name": "id", "in": "path", "required": True, "schema": _INT, "description": "the node's id"}
_NODE = _json(_ref("Node"), "the node, once stopped or started")
_NO_NODE = _error("no node with that id")

_JOURNAL_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    for name, schema, description in [
        ("api", _STR, "API name, e.g. Produce"),
        ("client_id", _STR, "exact client id"),
        ("topic", _STR, "requests naming this topic"),
        ("partition", {**_INT, "minimum": 0}, "requests naming this partition"),
        ("group_id", _STR, "requests of this group"),
        ("since_ms", _INT, "from this broker time (ms since the epoch)"),
        ("until_ms", _INT, "up to this broker time"),
        ("limit", {**_INT, "minimum": 0}, "at most this many, the latest"),
    ]
]

#: path -> method -> operation
OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "/v1/faults": {
        "post": {
            "summary": "Add a fault rule",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FaultSpec")}}},
            "responses": {"201": _json(_ref("FaultRule"), "the rule, with its id"), "400": _BAD},
        },
        "get": {
            "summary": "List the fault rules, oldest first, with their counters",
            "responses": {"200": _json({"type": "array", "items": _ref("FaultRule")}, "the rules")},
        },
        "delete": {
            "summary": "Remove every fault rule",
            "responses": {"200": _json({"type": "object", "properties": {"removed": _INT}}, "how many")},
        },
    },
    "/v1/acls": {
        "post": {
            "summary": "Add an ACL (enforced when the broker runs with --acls)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AclSpec")}}},
            "responses": {"201": _json(_ref("Acl"), "the ACL"), "400": _BAD},
        },
        "get": {
            "summary": "The ACLs matching the filter, oldest first",
            "parameters": _ACL_FILTER,
            "responses": {"200": _json({"type": "array", "items": _ref("Acl")}, "the ACLs"), "400": _BAD},
        },
        "delete": {
            "summary": "Remove the ACLs matching the filter (none given: every ACL)",
            "parameters": _ACL_FILTER,
            "responses": {"200": _json({"type": "object", "properties": {
                "removed": {"type": "array", "items": _ref("Acl")}}}, "the removed ACLs"), "400": _BAD},
        },
    },
    "/v1/faults/{id}": {
        "get": {
            "summary": "One fault rule and its counters",
            "parameters": [_RULE_ID],
            "responses": {"200": _json(_ref("FaultRule"), "the rule"), "404": _NO_RULE},
        },
        "delete": {
            "summary": "Remove one fault rule",
            "parameters": [_RULE_ID],
            "responses": {"200": _json(_ref("FaultRule"), "the removed rule, final counters"), "404": _NO_RULE},
        },
    },
    "/v1/journal": {
        "get": {
            "summary": "Requests and responses the broker recorded, oldest first",
            "parameters": _JOURNAL_PARAMETERS,
            "responses": {
                "200": _json({"type": "array", "items": _ref("JournalEntry")}, "the entries"),
                "400": _BAD,
                "409": _error("the journal is off (journal size 0)"),
            },
        },
    },
    "/v1/clock": {
        "get": {"summary": "The broker clock", "responses": {"200": _json(_ref("Clock"), "the clock")}},
    },
    "/v1/clock/advance": {
        "post": {
            "summary": "Move the broker clock forward: timers due by then fire now",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["seconds"],
                    "properties": {"seconds": {"type": "number", "minimum": 0}},
                }}},
            },
            "responses": {"200": _CLOCK, "400": _BAD},
        },
    },
    "/v1/clock/freeze": {
        "post": {"summary": "Stop the broker clock (only advance moves it)", "responses": {"200": _CLOCK}},
    },
    "/v1/clock/unfreeze": {
        "post": {"summary": "Let the broker clock run on from where it stands", "responses": {"200": _CLOCK}},
    },
    "/v1/replication/delay": {
        "post": {
            "summary": "Make followers lag: they copy new batches delay_ms (broker clock) after they see them; 0 lifts the rule",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["delay_ms"],
                    "properties": {
                        "delay_ms": {"type": "integer", "minimum": 0},
                        "node_id": {"type": ["integer", "null"], "description": "the follower broker (absent: all)"},
                        "topic": {"type": ["string", "null"]},
                        "partition": {"type": ["integer", "null"], "description": "needs topic"},
                    },
                }}},
            },
            "responses": {"200": _json({"type": "object", "properties": {"delays": {"type": "array", "items": {
                "type": "object"}}}}, "the delay rules in force"), "400": _BAD},
        },
    },
    "/v1/reset": {
        "post": {
            "summary": "Empty the broker: topics, groups, offsets, producers, fault rules, ACLs, journal; unfreeze the clock",
            "responses": {"200": _json({"type": "object", "properties": {
                "topics_deleted": _INT, "clock": _ref("Clock")}}, "what was dropped")},
        },
    },
    "/v1/nodes": {
        "get": {
            "summary": "Every node of the cluster: address, rack, running or stopped, partitions it leads",
            "responses": {"200": _json({"type": "array", "items": _ref("Node")}, "the nodes")},
        },
    },
    "/v1/nodes/{id}/stop": {
        "post": {
            "summary": "Stop a node while the others run: clean (controlled shutdown) or hard (kill -9)",
            "parameters": [_NODE_ID],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"clean": {**_BOOL, "default": True,
                                             "description": "move leaderships first (false: drop at once)"}},
                }}},
            },
            "responses": {"200": _NODE, "400": _BAD, "404": _NO_NODE, "409": _error("the node is stopped already")},
        },
    },
    "/v1/nodes/{id}/start": {
        "post": {
            "summary": "Start a stopped node again, on the ports it had",
            "parameters": [_NODE_ID],
            "responses": {"200": _NODE, "404": _NO_NODE, "409": _error("the node runs already")},
        },
    },
    "/healthz": {
        "get": {"summary": "Liveness: the broker's loop answers", "responses": {"200": _json(_ref("Status"), "alive")}},
    },
    "/readyz": {
        "get": {
            "summary": "Readiness: the Kafka listeners accept connections",
            "responses": {"200": _json(_ref("Status"), "ready"), "503": _json(_ref("Status"), "starting or stopping")},
        },
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics: requests and errors per API, bytes, connections, consumer lag",
            "responses": {"200": {"description": "text exposition format 0.0.4",
                                  "content": {"text/plain": {"schema": _STR}}}},
        },
    },
    "/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}},
    },
}


OPERATIONS.update(registry_operations(HTTP_PREFIX))


def document(version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document; *version* is kafkalite's."""
    common = {"405": _error("method not allowed on this path (the Allow header lists those that are)")}
    paths = {
        path: {method: {**op, "responses": {**op["responses"], **common}} for method, op in methods.items()}
        for path, methods in OPERATIONS.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kafkalite control API",
            "version": version,
            "description": "Fault injection, the request journal, the broker clock, reset, health and "
                           "metrics of one kafkalite broker. Bad input answers 400 with "
                           '{"error": ..., "field": ...} naming the field; nothing is half-applied.',
        },
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }


def documented_routes() -> list[tuple[str, str]]:
    """Every (METHOD, path template) the document describes."""
    return [(method.upper(), path) for path, methods in OPERATIONS.items() for method in methods]


def add_openapi_route(router: Router, version: str) -> None:
    body = Response.json(document(version))

    @router.route("GET", "/openapi.json")
    async def openapi(request: Request) -> Response:
        return body
