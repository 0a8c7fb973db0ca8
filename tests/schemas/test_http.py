"""The registry's REST API with a plain HTTP client: Confluent's paths, bodies, content type
and error codes; both mounts (under /schema-registry on the HTTP port, and the registry's own
port) on one registry; durability in _schemas across a restart; a reset empties it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

import kafkalite
from kafkalite.testing.thread import BrokerThread

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
V1 = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
V2 = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"},
                                                            {"name": "b", "type": "string", "default": ""}]})
BAD = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"},
                                                             {"name": "c", "type": "string"}]})


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerThread]:
    with kafkalite.run_in_thread(http_port=0, schema_registry_port=0) as running:
        yield running


@pytest.fixture
def url(broker: BrokerThread) -> str:
    broker.reset()
    return broker.schema_registry_url


def call(url: str, method: str, path: str, body: Any = None, raw: bytes | None = None,
         content_type: str = CONTENT_TYPE) -> tuple[int, Any, str]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url + path, data=data, method=method, headers={"content-type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, json.loads(text), response.headers["content-type"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers["content-type"]


def test_the_registry_port_serves_at_its_root_with_confluent_s_content_type(url: str, broker: BrokerThread) -> None:
    assert url == f"http://{broker.info.schema_registry[0]}:{broker.info.schema_registry[1]}"  # type: ignore[index]
    status, body, content_type = call(url, "POST", "/subjects/t-value/versions", {"schema": V1})
    assert (status, body, content_type) == (200, {"id": 1}, CONTENT_TYPE)
    assert call(url, "GET", "/")[:2] == (200, {})


def test_both_mounts_serve_one_registry(url: str, broker: BrokerThread) -> None:
    under_http = broker.http_url + "/schema-registry"
    call(url, "POST", "/subjects/t-value/versions", {"schema": V1})
    assert call(under_http, "GET", "/subjects")[:2] == (200, ["t-value"])
    status, body, _ = call(under_http, "POST", "/subjects/u-value/versions", {"schema": V1},
                           content_type="application/json")
    assert (status, body) == (200, {"id": 1})
    assert call(url, "GET", "/subjects")[1] == ["t-value", "u-value"]


def test_versions_and_schemas_read_back(url: str) -> None:
    call(url, "POST", "/subjects/t/versions", {"schema": V1})
    call(url, "POST", "/subjects/t/versions", {"schema": V2})
    assert call(url, "GET", "/subjects/t/versions")[1] == [1, 2]
    assert call(url, "GET", "/subjects/t/versions/latest")[1] == {"subject": "t", "version": 2, "id": 2, "schema": V2}
    assert call(url, "GET", "/subjects/t/versions/1/schema")[1] == json.loads(V1)
    assert call(url, "GET", "/schemas/ids/1")[1] == {"schema": V1}
    assert call(url, "GET", "/schemas/ids/2/versions")[1] == [{"subject": "t", "version": 2}]
    assert call(url, "GET", "/schemas/ids/2/subjects")[1] == ["t"]
    assert call(url, "GET", "/schemas/types")[1] == ["AVRO", "JSON", "PROTOBUF"]
    assert [s["version"] for s in call(url, "GET", "/schemas?latestOnly=true")[1]] == [2]
    status, body, _ = call(url, "POST", "/subjects/t", {"schema": V1})
    assert (status, body) == (200, {"subject": "t", "version": 1, "id": 1, "schema": V1})


def test_error_bodies_and_codes(url: str) -> None:
    call(url, "POST", "/subjects/t/versions", {"schema": V1})
    cases = [
        (("GET", "/subjects/nope/versions"), 404, 40401, "Subject 'nope' not found."),
        (("GET", "/subjects/t/versions/9"), 404, 40402, "Version 9 not found."),
        (("GET", "/schemas/ids/99"), 404, 40403, "Schema 99 not found"),
        (("GET", "/subjects/t/versions/zero"), 422, 42202, None),
        (("DELETE", "/subjects/t?permanent=true"), 404, 40405, None),
        (("DELETE", "/subjects/t/versions/1?permanent=true"), 404, 40407, None),
        (("GET", "/config/t?defaultToGlobal=false"), 404, 40408, None),
        (("GET", "/mode/t?defaultToGlobal=false"), 404, 40409, None),
    ]
    for (method, path), status, error_code, message in cases:
        got_status, body, content_type = call(url, method, path)
        assert (got_status, body["error_code"]) == (status, error_code), path
        assert content_type == CONTENT_TYPE
        if message is not None:
            assert body["message"] == message


def test_invalid_bodies(url: str) -> None:
    assert call(url, "POST", "/subjects/t/versions", {"schema": "{not avro"})[1]["error_code"] == 42201
    assert call(url, "POST", "/subjects/t/versions", {})[1]["error_code"] == 42201
    assert call(url, "POST", "/subjects/t/versions", {"schema": V1, "schemaType": "XML"})[1]["error_code"] == 42201
    status, body, _ = call(url, "POST", "/subjects/t/versions", {"schema": V1, "references": "x"})
    assert (status, body["error_code"]) == (422, 422)
    status, body, _ = call(url, "POST", "/subjects/t/versions", raw=b"{nope")
    assert (status, body["error_code"]) == (400, 400)
    assert call(url, "PUT", "/config", {"compatibility": "SOMETIMES"})[1]["error_code"] == 42203
    assert call(url, "PUT", "/mode", {"mode": "SLEEPY"})[1]["error_code"] == 42204


def test_incompatible_schemas_answer_409_and_verbose_checks_say_why(url: str) -> None:
    call(url, "POST", "/subjects/t/versions", {"schema": V1})
    status, body, _ = call(url, "POST", "/subjects/t/versions", {"schema": BAD})
    assert (status, body["error_code"]) == (409, 409)
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in body["message"]
    assert call(url, "POST", "/compatibility/subjects/t/versions/latest", {"schema": BAD})[1] == {"is_compatible": False}
    verbose = call(url, "POST", "/compatibility/subjects/t/versions/latest?verbose=true", {"schema": BAD})[1]
    assert verbose["is_compatible"] is False
    assert verbose["messages"][0].startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'")
    assert verbose["messages"][-1] == "{compatibility: 'BACKWARD'}"
    assert call(url, "POST", "/compatibility/subjects/t/versions?verbose=true", {"schema": V2})[1] == \
        {"is_compatible": True, "messages": []}


def test_config_and_mode_routes(url: str) -> None:
    assert call(url, "GET", "/config")[1] == {"compatibilityLevel": "BACKWARD"}
    assert call(url, "PUT", "/config/t", {"compatibility": "FULL"})[1] == {"compatibility": "FULL"}
    assert call(url, "GET", "/config/t")[1] == {"compatibilityLevel": "FULL"}
    assert call(url, "GET", "/config/u?defaultToGlobal=true")[1] == {"compatibilityLevel": "BACKWARD"}
    call(url, "POST", "/subjects/t/versions", {"schema": V1})
    assert call(url, "DELETE", "/config/t")[1] == {"compatibilityLevel": "FULL"}
    assert call(url, "PUT", "/mode/t", {"mode": "READONLY"})[1] == {"mode": "READONLY"}
    status, body, _ = call(url, "POST", "/subjects/t/versions", {"schema": V2})
    assert (status, body["error_code"]) == (422, 42205)
    assert call(url, "DELETE", "/mode/t")[1] == {"mode": "READONLY"}
    assert call(url, "GET", "/mode")[1] == {"mode": "READWRITE"}


def test_deletes_and_references_over_http(url: str) -> None:
    address = json.dumps({"type": "record", "name": "Address", "fields": [{"name": "city", "type": "string"}]})
    call(url, "POST", "/subjects/address/versions", {"schema": address})
    person = json.dumps({"type": "record", "name": "Person", "fields": [{"name": "home", "type": "Address"}]})
    ref = [{"name": "Address", "subject": "address", "version": 1}]
    assert call(url, "POST", "/subjects/person/versions", {"schema": person, "references": ref})[1] == {"id": 2}
    assert call(url, "GET", "/subjects/person/versions/1")[1]["references"] == ref
    assert call(url, "GET", "/subjects/address/versions/1/referencedby")[1] == [2]
    assert call(url, "DELETE", "/subjects/address")[1]["error_code"] == 42206
    assert call(url, "DELETE", "/subjects/person/versions/latest")[1] == 1
    assert call(url, "DELETE", "/subjects/address")[1] == [1]
    assert call(url, "DELETE", "/subjects/address")[1]["error_code"] == 40404
    assert call(url, "GET", "/subjects?deleted=true")[1] == ["address", "person"]
    assert call(url, "DELETE", "/subjects/address?permanent=true")[1] == [1]


def test_protobuf_serialized_format(url: str) -> None:
    proto = 'syntax = "proto3";\nmessage M { int32 a = 1; }\n'
    call(url, "POST", "/subjects/p/versions", {"schema": proto, "schemaType": "PROTOBUF"})
    assert call(url, "GET", "/schemas/ids/1")[1] == {"schemaType": "PROTOBUF", "schema": proto}
    serialized = call(url, "GET", "/schemas/ids/1?format=serialized")[1]["schema"]
    assert serialized != proto
    # the serialized form is the same schema: registering it finds version 1
    assert call(url, "POST", "/subjects/p", {"schema": serialized, "schemaType": "PROTOBUF"})[1]["version"] == 1


def test_the_registry_writes_a_compacted_schemas_topic(url: str, broker: BrokerThread) -> None:
    call(url, "POST", "/subjects/t/versions", {"schema": V1})
    configs = broker.call(lambda: broker.broker.topic_configs(broker.broker.cluster.topics["_schemas"]))
    assert configs["cleanup.policy"] == "compact"
    records = broker.records("_schemas")
    assert [json.loads(r.key) for r in records] == [{"keytype": "SCHEMA", "subject": "t", "version": 1, "magic": 1}]


def test_a_backup_produced_into_schemas_is_served(url: str, broker: BrokerThread) -> None:
    call(url, "POST", "/subjects/t/versions", {"schema": V1})
    key = json.dumps({"keytype": "SCHEMA", "subject": "restored", "version": 1, "magic": 1}).encode()
    value = json.dumps({"subject": "restored", "version": 1, "id": 7, "schema": V2, "deleted": False}).encode()
    broker.produce("_schemas", value, key=key)
    assert call(url, "GET", "/subjects")[1] == ["restored", "t"]
    assert call(url, "GET", "/schemas/ids/7")[1] == {"schema": V2}


def test_a_reset_empties_the_registry(url: str, broker: BrokerThread) -> None:
    call(url, "POST", "/subjects/t/versions", {"schema": V1})
    broker.reset()
    assert call(url, "GET", "/subjects")[1] == []


def test_schemas_survive_a_restart(tmp_path: Path) -> None:
    with kafkalite.run_in_thread(data_dir=tmp_path, memory=False, http_port=0) as first:
        assert first.register_schema("t", V1) == 1
        assert first.register_schema("t", V2) == 2
    with kafkalite.run_in_thread(data_dir=tmp_path, memory=False, http_port=0) as second:
        assert call(second.schema_registry_url, "GET", "/subjects/t/versions")[1] == [1, 2]
        assert second.register_schema("u", json.dumps({"type": "string"})) == 3
        assert second.get_schema(2).schema == V2
        latest = second.latest_schema("t")
        assert latest is not None and latest.version == 2
        assert second.latest_schema("nothing") is None


def test_the_registry_is_off_without_an_http_port() -> None:
    with kafkalite.run_in_thread() as plain:
        with pytest.raises(RuntimeError, match="Schema Registry is off"):
            plain.schema_registry_url
        assert plain.register_schema("t", V1) == 1  # the helpers set it up anyway


def test_the_registry_port_alone_serves_and_stops_with_the_broker() -> None:
    with kafkalite.run_in_thread(schema_registry_port=0, http_host="127.0.0.1") as alone:
        with pytest.raises(RuntimeError, match="HTTP API is off"):
            alone.http_url
        url = alone.schema_registry_url
        assert url.startswith("http://127.0.0.1:")
        assert call(url, "POST", "/subjects/t/versions", {"schema": V1})[:2] == (200, {"id": 1})
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/subjects", timeout=5)
