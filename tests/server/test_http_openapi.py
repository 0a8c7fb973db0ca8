"""The OpenAPI document: valid OpenAPI 3.1, and the same routes as the app serves."""

from __future__ import annotations

import json
import urllib.request

import pytest
from openapi_spec_validator import validate

import kafkalite
from kafkalite.broker.faults import SPEC_KEYS
from kafkalite.server.http import build_app
from kafkalite.server.http.openapi import FAULT_SPEC_PROPERTIES, document, documented_routes


@pytest.fixture(scope="module")
def served() -> dict:
    with kafkalite.run_in_thread(http_port=0) as broker:
        with urllib.request.urlopen(broker.http_url + "/openapi.json", timeout=10) as response:
            assert response.headers["content-type"] == "application/json"
            return json.loads(response.read())


def test_the_served_document_is_valid_openapi_3_1(served: dict) -> None:
    validate(served)
    assert served["openapi"] == "3.1.0"
    assert served == document(served["info"]["version"])


def test_every_served_route_is_documented_and_every_documented_one_served() -> None:
    app = build_app(broker=None, ready=lambda: True)  # type: ignore[arg-type]  # routes only
    assert sorted(app.router.openapi_routes) == sorted(documented_routes())


def test_the_console_s_html_pages_are_served_but_not_in_the_json_api_document() -> None:
    app = build_app(broker=None, ready=lambda: True)  # type: ignore[arg-type]  # routes only
    pages = set(app.router.routes) - set(app.router.openapi_routes)
    assert {("GET", "/"), ("GET", "/topics/{topic}"), ("GET", "/groups/{group}"), ("POST", "/faults")} <= pages
    assert not pages & set(documented_routes())


def test_every_operation_documents_its_answers_and_path_parameters(served: dict) -> None:
    for path, methods in served["paths"].items():
        for method, operation in methods.items():
            assert operation["summary"], (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            assert "405" in operation["responses"]
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert documented == set(path.replace("}", "{").split("{")[1::2]), (method, path)


def test_the_fault_spec_schema_has_exactly_the_engine_s_keys() -> None:
    assert list(FAULT_SPEC_PROPERTIES) == list(SPEC_KEYS)


def test_the_fixed_routes_of_the_issue_are_there() -> None:
    fixed = {("POST", "/v1/faults"), ("GET", "/v1/faults"), ("DELETE", "/v1/faults"), ("DELETE", "/v1/faults/{id}"),
             ("GET", "/v1/journal"), ("POST", "/v1/clock/advance"), ("POST", "/v1/reset"), ("GET", "/healthz"),
             ("GET", "/metrics"), ("GET", "/openapi.json")}
    assert fixed <= set(documented_routes())
