"""The Schema Registry's REST API (Confluent's paths, bodies and error codes) over
`kafkalite.schemas`.

Mounted twice when asked: under ``/schema-registry`` on the HTTP port, and at the root of
``--schema-registry-port`` (Confluent's familiar 8081). Answers are
``application/vnd.schemaregistry.v1+json``; errors are Confluent's
``{"error_code": 40401, "message": "Subject 'x' not found."}``. Request bodies are read as
JSON whatever their content type says (``application/vnd.schemaregistry.v1+json``,
``application/json``...).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Sequence

from kafkalite.broker.internal_topics import InternalTopic
from kafkalite.schemas import SCHEMAS_TOPIC, SchemaRegistry, attach, errors, registry_for
from kafkalite.schemas.model import AVRO, SCHEMA_TYPES
from kafkalite.schemas.registry import parse_references
from kafkalite.schemas.store import SchemaVersion
from kafkalite.server.http.app import Request, Response, Router
from kafkalite.wire.batch import BatchHeader
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.records import NewRecord, build_batch

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
#: Where the registry lives on the HTTP port (at the root of its own port).
HTTP_PREFIX = "/schema-registry"


#: (method, path under the prefix) -> what it does: the routes, and their OpenAPI summaries.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): "The registry answers (an empty object)",
    ("GET", "/subjects"): "Subjects (?deleted=true with soft-deleted ones, ?subjectPrefix=)",
    ("GET", "/subjects/{subject}/versions"): "A subject's versions (?deleted=true)",
    ("POST", "/subjects/{subject}/versions"): "Register a schema under a subject (?normalize=true); its global id",
    ("POST", "/subjects/{subject}"): "The subject's version that has this schema (?normalize, ?deleted)",
    ("DELETE", "/subjects/{subject}"): "Soft delete a subject's versions (?permanent=true after that: remove them)",
    ("GET", "/subjects/{subject}/versions/{version}"): "One version (a number, latest or -1; ?deleted, ?format=serialized)",
    ("GET", "/subjects/{subject}/versions/{version}/schema"): "One version's schema text",
    ("GET", "/subjects/{subject}/versions/{version}/referencedby"): "Ids of the schemas that reference this version",
    ("DELETE", "/subjects/{subject}/versions/{version}"): "Soft delete a version (?permanent=true after that: remove it)",
    ("GET", "/schemas/ids/{id}"): "A schema by global id (?subject=, ?format=serialized)",
    ("GET", "/schemas/ids/{id}/schema"): "A schema's text by global id",
    ("GET", "/schemas/ids/{id}/versions"): "The subject-versions that use a global id",
    ("GET", "/schemas/ids/{id}/subjects"): "The subjects that use a global id",
    ("GET", "/schemas/types"): "The schema types served: AVRO, JSON, PROTOBUF",
    ("GET", "/schemas"): "Every version (?subjectPrefix, ?deleted, ?latestOnly)",
    ("GET", "/config"): "The global compatibility level",
    ("PUT", "/config"): "Set the global compatibility level",
    ("DELETE", "/config"): "Reset the global compatibility level to BACKWARD",
    ("GET", "/config/{subject}"): "A subject's compatibility level (?defaultToGlobal=true)",
    ("PUT", "/config/{subject}"): "Set a subject's compatibility level",
    ("DELETE", "/config/{subject}"): "Remove a subject's compatibility level",
    ("GET", "/mode"): "The global mode",
    ("PUT", "/mode"): "Set the global mode (?force=true for IMPORT with subjects)",
    ("GET", "/mode/{subject}"): "A subject's mode (?defaultToGlobal=true)",
    ("PUT", "/mode/{subject}"): "Set a subject's mode",
    ("DELETE", "/mode/{subject}"): "Remove a subject's mode",
    ("POST", "/compatibility/subjects/{subject}/versions/{version}"): "Whether a schema can follow one version (?verbose=true: the reasons)",
    ("POST", "/compatibility/subjects/{subject}/versions"): "Whether a schema can follow the versions the subject's level checks (?verbose=true)",
}


class BrokerSchemasTopic:
    """The registry's port onto the broker: ``_schemas``, one partition, compacted, created on
    the first write with the replication factor of the broker's internal topics (at most 3,
    as Confluent's ``kafkastore.topic.replication.factor``)."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._topic = InternalTopic(broker, SCHEMAS_TOPIC, 1, {"cleanup.policy": "compact"})

    def incarnation(self) -> object | None:
        topic = self._broker.cluster.topic(SCHEMAS_TOPIC)
        if topic is None:
            return None
        plog = self._broker.log_for(SCHEMAS_TOPIC, 0)
        return topic.topic_id, -1 if plog is None else plog.log_end_offset

    def append(self, records: Sequence[tuple[bytes, bytes | None]]) -> ErrorCode:
        self._topic.partition_count()  # creates the topic on the first write
        now = self._broker.clock.wall_ms()
        batch = build_batch([NewRecord(key, value, timestamp=now) for key, value in records], base_timestamp=now)
        return self._topic.append(0, batch)[0]

    def batches(self) -> Iterable[tuple[BatchHeader, memoryview]]:
        return self._topic.batches(0)


def setup_registry(broker: Broker) -> SchemaRegistry:
    """*broker*'s registry (set up once, replaying ``_schemas``)."""
    return registry_for(broker) or attach(broker, BrokerSchemasTopic(broker))


def _answer(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode(), CONTENT_TYPE)


RegistryHandler = Callable[[Request], Any]


def _wrap(handler: RegistryHandler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            result = handler(request)
        except errors.RegistryError as exc:
            return Response(exc.status, json.dumps(exc.body()).encode(), CONTENT_TYPE)
        except ImportError as exc:
            error = errors.store_error(f"the registry needs {exc.name}: pip install 'kafkalite[registry]'")
            return Response(error.status, json.dumps(error.body()).encode(), CONTENT_TYPE)
        return result if isinstance(result, Response) else _answer(result)

    return run


def _flag(request: Request, name: str, default: bool = False) -> bool:
    for key, value in request.query:
        if key == name:
            return value.strip().lower() in ("true", "1", "yes", "")
    return default


def _arg(request: Request, name: str) -> str | None:
    return next((value for key, value in request.query if key == name), None)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.RegistryError(400, 400, f"The request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise errors.unprocessable("The request body must be a JSON object")
    return body


def _schema_request(request: Request) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    body = _body(request)
    schema = body.get("schema")
    if not isinstance(schema, str) or not schema.strip():
        raise errors.invalid_schema("Empty schema")
    schema_type = body.get("schemaType") or AVRO
    if not isinstance(schema_type, str) or schema_type.upper() not in SCHEMA_TYPES:
        raise errors.invalid_schema(f"Invalid schema type {schema_type}")
    return schema, schema_type.upper(), parse_references(body.get("references")), body


def _schema_id(request: Request) -> int:
    try:
        return int(request.params["id"])
    except ValueError:
        raise errors.schema_not_found() from None


def _by_id_body(registry: SchemaRegistry, version: SchemaVersion, fmt: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    text = version.schema
    if fmt == "serialized" and version.schema_type == "PROTOBUF":
        text = registry.parse(version.schema, version.schema_type, version.references).serialized()  # type: ignore[attr-defined]
    if version.schema_type != AVRO:
        body["schemaType"] = version.schema_type
    if version.references:
        body["references"] = [r.to_json() for r in version.references]
    body["schema"] = text
    return body


def _version_body(registry: SchemaRegistry, version: SchemaVersion, fmt: str | None) -> dict[str, Any]:
    body = version.to_json()
    if fmt == "serialized" and version.schema_type == "PROTOBUF":
        body["schema"] = registry.parse(version.schema, version.schema_type, version.references).serialized()  # type: ignore[attr-defined]
    return body


def add_registry_routes(router: Router, broker: Broker, prefix: str = HTTP_PREFIX) -> None:
    """Register the registry's routes for *broker* on *router*, under *prefix* ("" for the
    root of the registry's own port). The registry is set up on the first request, if the
    server has not set it up at start."""

    class _Lazy:
        def __getattr__(self, name: str) -> Any:
            return getattr(setup_registry(broker), name)

    registry: SchemaRegistry = _Lazy()  # type: ignore[assignment]

    def route(method: str, path: str) -> Callable[[RegistryHandler], RegistryHandler]:
        assert (method, path) in ROUTES, (method, path)  # documented in ROUTES

        def register(handler: RegistryHandler) -> RegistryHandler:
            router.add(method, _full_path(prefix, path), _wrap(handler))
            return handler

        return register

    @route("GET", "/")
    def root(request: Request) -> Any:
        return {}

    @route("GET", "/subjects")
    def subjects(request: Request) -> Any:
        return registry.subjects(deleted=_flag(request, "deleted"), prefix=_arg(request, "subjectPrefix") or "")

    @route("GET", "/subjects/{subject}/versions")
    def versions(request: Request) -> Any:
        return registry.versions(request.params["subject"], deleted=_flag(request, "deleted"))

    @route("POST", "/subjects/{subject}/versions")
    def register_schema(request: Request) -> Any:
        schema, schema_type, references, body = _schema_request(request)
        schema_id, version = body.get("id"), body.get("version")
        for name, value in (("id", schema_id), ("version", version)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise errors.unprocessable(f"{name} must be a whole number")
        registered = registry.register(
            request.params["subject"], schema, schema_type, references, normalize=_flag(request, "normalize"),
            schema_id=schema_id if schema_id not in (None, -1, 0) else None,
            version=version if version not in (None, -1, 0) else None,
        )
        return {"id": registered.schema_id}

    @route("POST", "/subjects/{subject}")
    def lookup(request: Request) -> Any:
        schema, schema_type, references, _ = _schema_request(request)
        found = registry.lookup(request.params["subject"], schema, schema_type, references,
                                normalize=_flag(request, "normalize"), deleted=_flag(request, "deleted"))
        return found.to_json()

    @route("DELETE", "/subjects/{subject}")
    def delete_subject(request: Request) -> Any:
        return registry.delete_subject(request.params["subject"], permanent=_flag(request, "permanent"))

    @route("GET", "/subjects/{subject}/versions/{version}")
    def get_version(request: Request) -> Any:
        found = registry.version(request.params["subject"], request.params["version"], deleted=_flag(request, "deleted"))
        return _version_body(registry, found, _arg(request, "format"))

    @route("GET", "/subjects/{subject}/versions/{version}/schema")
    def get_version_schema(request: Request) -> Any:
        found = registry.version(request.params["subject"], request.params["version"], deleted=_flag(request, "deleted"))
        return Response(200, found.schema.encode(), CONTENT_TYPE)

    @route("GET", "/subjects/{subject}/versions/{version}/referencedby")
    def referenced_by(request: Request) -> Any:
        return registry.referenced_by(request.params["subject"], request.params["version"])

    @route("DELETE", "/subjects/{subject}/versions/{version}")
    def delete_version(request: Request) -> Any:
        return registry.delete_version(request.params["subject"], request.params["version"],
                                       permanent=_flag(request, "permanent"))

    @route("GET", "/schemas/ids/{id}")
    def schema_by_id(request: Request) -> Any:
        found = registry.schema_by_id(_schema_id(request), _arg(request, "subject") or None)
        return _by_id_body(registry, found, _arg(request, "format"))

    @route("GET", "/schemas/ids/{id}/schema")
    def schema_text_by_id(request: Request) -> Any:
        found = registry.schema_by_id(_schema_id(request), _arg(request, "subject") or None)
        return Response(200, found.schema.encode(), CONTENT_TYPE)

    @route("GET", "/schemas/ids/{id}/versions")
    def id_versions(request: Request) -> Any:
        found = registry.id_versions(_schema_id(request), deleted=_flag(request, "deleted"))
        return [{"subject": v.subject, "version": v.version} for v in found]

    @route("GET", "/schemas/ids/{id}/subjects")
    def id_subjects(request: Request) -> Any:
        found = registry.id_versions(_schema_id(request), deleted=_flag(request, "deleted"))
        return sorted({v.subject for v in found})

    @route("GET", "/schemas/types")
    def schema_types(request: Request) -> Any:
        return list(SCHEMA_TYPES)

    @route("GET", "/schemas")
    def all_schemas(request: Request) -> Any:
        prefix_arg = _arg(request, "subjectPrefix") or ""
        deleted, latest_only = _flag(request, "deleted"), _flag(request, "latestOnly")
        found = []
        for subject in registry.subjects(deleted=deleted, prefix=prefix_arg):
            versions = registry.state.versions(subject, deleted=deleted)
            found += [v.to_json() for v in (versions[-1:] if latest_only else versions)]
        return found

    @route("GET", "/config")
    def get_global_config(request: Request) -> Any:
        return {"compatibilityLevel": registry.compatibility()}

    @route("PUT", "/config")
    def put_global_config(request: Request) -> Any:
        return {"compatibility": registry.set_compatibility(_body(request).get("compatibility"))}

    @route("DELETE", "/config")
    def delete_global_config(request: Request) -> Any:
        return {"compatibilityLevel": registry.delete_compatibility()}

    @route("GET", "/config/{subject}")
    def get_config(request: Request) -> Any:
        level = registry.compatibility(request.params["subject"],
                                      default_to_global=_flag(request, "defaultToGlobal"))
        return {"compatibilityLevel": level}

    @route("PUT", "/config/{subject}")
    def put_config(request: Request) -> Any:
        level = registry.set_compatibility(_body(request).get("compatibility"), request.params["subject"])
        return {"compatibility": level}

    @route("DELETE", "/config/{subject}")
    def delete_config(request: Request) -> Any:
        return {"compatibilityLevel": registry.delete_compatibility(request.params["subject"])}

    @route("GET", "/mode")
    def get_global_mode(request: Request) -> Any:
        return {"mode": registry.mode()}

    @route("PUT", "/mode")
    def put_global_mode(request: Request) -> Any:
        return {"mode": registry.set_mode(_body(request).get("mode"), force=_flag(request, "force"))}

    @route("GET", "/mode/{subject}")
    def get_mode(request: Request) -> Any:
        return {"mode": registry.mode(request.params["subject"], default_to_global=_flag(request, "defaultToGlobal"))}

    @route("PUT", "/mode/{subject}")
    def put_mode(request: Request) -> Any:
        mode = registry.set_mode(_body(request).get("mode"), request.params["subject"], force=_flag(request, "force"))
        return {"mode": mode}

    @route("DELETE", "/mode/{subject}")
    def delete_mode(request: Request) -> Any:
        return {"mode": registry.delete_mode(request.params["subject"])}

    def compatibility(request: Request, version: str | None) -> Any:
        schema, schema_type, references, _ = _schema_request(request)
        messages = registry.check(request.params["subject"], schema, schema_type, references, version)
        answer: dict[str, Any] = {"is_compatible": not messages}
        if _flag(request, "verbose"):
            answer["messages"] = messages
        return answer

    @route("POST", "/compatibility/subjects/{subject}/versions/{version}")
    def check_version(request: Request) -> Any:
        return compatibility(request, request.params["version"])

    @route("POST", "/compatibility/subjects/{subject}/versions")
    def check_all(request: Request) -> Any:
        return compatibility(request, None)


def _full_path(prefix: str, path: str) -> str:
    return (prefix or "/") if path == "/" else f"{prefix}{path}"


def registry_operations(prefix: str = HTTP_PREFIX) -> dict[str, dict[str, dict[str, Any]]]:
    """OpenAPI operations of the routes under *prefix*: path -> method -> operation."""
    error = {"description": "Confluent's error: error_code and message", "content": {CONTENT_TYPE: {"schema": {
        "type": "object", "properties": {"error_code": {"type": "integer"}, "message": {"type": "string"}}}}}}
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for (method, path), summary in ROUTES.items():
        full = _full_path(prefix, path)
        names = full.replace("}", "{").split("{")[1::2]
        found.setdefault(full, {})[method.lower()] = {
            "summary": f"Schema Registry: {summary}",
            "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names],
            "responses": {"200": {"description": "Confluent's answer", "content": {CONTENT_TYPE: {"schema": {}}}},
                          "4XX": error, "500": error},
        }
    return found
