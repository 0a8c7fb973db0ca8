"""``kafkalite schemas list | get | register | check`` against a running broker's registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kafkalite.testing.thread import BrokerThread

from .conftest import Run

V1 = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
V2 = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    found = {}
    for name, schema in (("v1", V1), ("v2", V2)):
        path = tmp_path / f"{name}.avsc"
        path.write_text(json.dumps(schema))
        found[name] = str(path)
    return found


def test_register_list_and_get(cli: Run, schema_registry_url: str, files: dict[str, str]) -> None:
    url = ["--registry-url", schema_registry_url]
    assert cli("schemas", "list", *url) == (0, "no subjects\n", "")
    assert cli("schemas", "register", "orders-value", files["v1"], *url) == (0, "orders-value: id 1, version 1\n", "")
    status, out, _ = cli("schemas", "list", *url)
    assert (status, out.splitlines()) == (0, ["SUBJECT       TYPE      LATEST-ID  VERSIONS",
                                              "orders-value  AVRO              1  1"])
    status, out, _ = cli("schemas", "get", "orders-value", *url)
    assert status == 0
    assert out.splitlines()[0] == "orders-value version 1, id 1 (AVRO)"
    assert json.loads("\n".join(out.splitlines()[1:])) == V1
    status, out, _ = cli("schemas", "get", "--id", "1", "--json", *url)
    assert json.loads(out) == {"schema": json.dumps(V1)}


def test_check_exits_1_with_the_reasons(cli: Run, schema_registry_url: str, files: dict[str, str]) -> None:
    url = ["--registry-url", schema_registry_url]
    cli("schemas", "register", "s", files["v1"], *url)
    assert cli("schemas", "check", "s", files["v1"], *url) == (0, "compatible\n", "")
    status, out, _ = cli("schemas", "check", "s", files["v2"], "--version", "latest", *url)
    assert status == 1
    assert out.splitlines()[0] == "incompatible:"
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in out.splitlines()[1]


def test_refusals_print_confluent_s_error_and_exit_1(cli: Run, schema_registry_url: str, files: dict[str, str]) -> None:
    url = ["--registry-url", schema_registry_url]
    assert cli("schemas", "get", "nothing", *url) == (1, "", "kafkalite schemas: error: error 40401: "
                                                             "Subject 'nothing' not found.\n")
    cli("schemas", "register", "s", files["v1"], *url)
    status, _, err = cli("schemas", "register", "s", files["v2"], *url)
    assert status == 1 and err.startswith("kafkalite schemas: error: error 409: Schema being registered is incompatible")


def test_the_registry_is_found_under_the_http_url(cli: Run, kafkalite_broker: BrokerThread, schema_registry_url: str,
                                                  files: dict[str, str]) -> None:
    status, out, _ = cli("schemas", "register", "t", files["v1"], "--http-url", kafkalite_broker.http_url)
    assert (status, out) == (0, "t: id 1, version 1\n")


def test_an_unreachable_registry_says_where_it_looked(cli: Run, files: dict[str, str]) -> None:
    status, _, err = cli("schemas", "list", "--registry-url", "http://127.0.0.1:9")
    assert status == 1 and "cannot reach the Schema Registry at http://127.0.0.1:9" in err


def test_consume_reads_the_registry_s_records(cli: Run, kafkalite_broker: BrokerThread) -> None:
    kafkalite_broker.register_schema("t", '"string"')
    status, out, _ = cli("consume", "_schemas", "--bootstrap-server", kafkalite_broker.bootstrap_servers,
                         "--from-beginning", "--exit-at-end", "--print-key")
    assert status == 0
    key, value = out.splitlines()[0].split("\t")
    assert json.loads(key) == {"keytype": "SCHEMA", "subject": "t", "version": 1, "magic": 1}
    assert json.loads(value) == {"subject": "t", "version": 1, "id": 1, "schema": '"string"', "references": [],
                                 "deleted": False}
