"""``kafkalite compat``: the compatibility matrix built from a compat run's journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kafkalite.cli import main as cli_main
from kafkalite.handlers import SERVED
from kafkalite.tools.compat import (
    README_END,
    README_START,
    JournalError,
    api_name,
    build_matrix,
    client_id_family,
    client_label,
    dumps,
    main,
    read_journal,
    readme_table,
    render_markdown,
    replace_readme_table,
    version_ranges,
)

ROOT = Path(__file__).resolve().parents[2]
CONFLUENT = ["confluent-kafka-python", "2.16.1-rdkafka-2.16.0"]


def req(t: float, api_key: int, api_version: int, client_id: str | None = "rdkafka", peer: str = "127.0.0.1:5000",
        software: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"t": t, "peer": peer, "client_id": client_id, "api_key": api_key, "api_version": api_version}
    if software is not None:
        entry["software"] = software
    return entry


def ran(name: str, start: float, end: float, outcome: str = "passed") -> dict[str, Any]:
    """A compat test's line in the journal."""
    return {"test": f"compat_tests/test_x.py::{name}", "start": start, "end": end, "outcome": outcome}


def journal(requests: list[dict[str, Any]], tests: list[dict[str, Any]], worker: str = "main") -> dict[str, Any]:
    return {"brokers": [{"worker": worker, "requests": requests}], "tests": {worker: tests}}


def only_client(data: dict[str, Any]) -> dict[str, Any]:
    assert len(data["clients"]) == 1, data["clients"]
    return data["clients"][0]


def apis(client: dict[str, Any]) -> dict[int, list[int]]:
    return {a["api_key"]: a["versions"] for a in client["apis"]}


# -- who sent it ------------------------------------------------------------------------------


def test_a_connection_is_named_by_its_api_versions_software() -> None:
    data = build_matrix(journal(
        [req(1.0, 18, 3, software=CONFLUENT), req(1.1, 3, 13), req(1.2, 0, 10), req(1.3, 0, 10)],
        [ran("t1", 0.5, 2.0)],
    ))
    client = only_client(data)
    assert (client["client"], client["version"], client["known_by"]) == (*CONFLUENT, "software")
    assert apis(client) == {0: [10], 3: [13], 18: [3]}
    assert client["apis"][0]["api"] == "Produce"


def test_a_connection_without_software_takes_the_software_named_under_its_client_id() -> None:
    # kafka-python pinned to an old api_version sends ApiVersions v0: no software name, but the
    # same client id named kafka-python 3.0.12 on another connection.
    kp = "kafka-python-3.0.12"
    data = build_matrix(journal(
        [req(1.0, 18, 4, kp, "127.0.0.1:1", ["kafka-python", "3.0.12"]), req(2.0, 18, 0, kp, "127.0.0.1:2"),
         req(2.1, 8, 2, kp, "127.0.0.1:2")],
        [],
    ))
    client = only_client(data)
    assert (client["client"], client["version"]) == ("kafka-python", "3.0.12")
    assert apis(client) == {8: [2], 18: [0, 4]}


def test_a_client_id_with_another_instance_counter_is_the_same_software() -> None:
    # kafka-python numbers its instances: "kafka-python-producer-11" pinned to old versions
    # never names itself, "kafka-python-producer-1" does.
    data = build_matrix(journal(
        [req(1.0, 18, 4, "kafka-python-producer-1", "127.0.0.1:1", ["kafka-python", "3.0.12"]),
         req(2.0, 0, 2, "kafka-python-producer-11", "127.0.0.1:2"),
         req(2.1, 0, 9, "kafka-python-producerX", "127.0.0.1:3")],
        [],
    ))
    by_name = {c["client"]: c for c in data["clients"]}
    assert apis(by_name["kafka-python"]) == {0: [2], 18: [4]}
    assert by_name["kafka-python-producerX"]["known_by"] == "client_id"
    assert client_id_family("app-7") == "app" and client_id_family("app") == "app"
    assert client_id_family("kafka-python-3.0.12") == "kafka-python-3.0.12" and client_id_family(None) is None


def test_a_client_that_never_names_its_software_is_known_by_its_client_id() -> None:
    data = build_matrix(journal([req(1.0, 3, 12, "kafkalite-differential"), req(1.1, 3, 1, None)], []))
    by_name = {c["client"]: c for c in data["clients"]}
    assert by_name["kafkalite-differential"]["known_by"] == "client_id"
    assert by_name["(no client id)"]["version"] == ""
    assert client_label(by_name["kafkalite-differential"]) == 'client id "kafkalite-differential"'


def test_a_reused_peer_port_with_another_client_id_is_another_client() -> None:
    data = build_matrix(journal(
        [req(1.0, 18, 3, "rdkafka", "127.0.0.1:7", CONFLUENT), req(5.0, 3, 1, "kafkalite-differential", "127.0.0.1:7")],
        [],
    ))
    assert {c["client"]: apis(c) for c in data["clients"]} == {
        "confluent-kafka-python": {18: [3]},
        "kafkalite-differential": {3: [1]},
    }


def test_a_client_id_that_named_two_softwares_is_not_guessed() -> None:
    data = build_matrix(journal(
        [req(1.0, 18, 3, "app", "127.0.0.1:1", ["a", "1"]), req(1.0, 18, 3, "app", "127.0.0.1:2", ["b", "1"]),
         req(2.0, 3, 9, "app", "127.0.0.1:3")],
        [],
    ))
    assert sorted((c["client"], c["known_by"]) for c in data["clients"]) == [
        ("a", "software"), ("app", "client_id"), ("b", "software")]


def test_software_names_the_requests_after_it_on_its_connection_only() -> None:
    data = build_matrix(journal(
        [req(1.0, 3, 12, "x", "127.0.0.1:1"), req(2.0, 18, 3, "x", "127.0.0.1:1", ["lib", "9"]),
         req(3.0, 3, 13, "x", "127.0.0.1:1")],
        [],
    ))
    # The first Metadata came before the connection named itself; the client id later named
    # one software only, so it is that software's too.
    assert apis(only_client(data)) == {3: [12, 13], 18: [3]}


# -- which scenario ----------------------------------------------------------------------------


def test_a_request_counts_for_the_test_that_ran_when_it_came() -> None:
    data = build_matrix(journal(
        [req(1.0, 18, 3, software=CONFLUENT), req(1.5, 3, 13), req(3.5, 0, 10, peer="127.0.0.1:2"),
         req(9.0, 1, 16, peer="127.0.0.1:3")],
        [ran("t1", 1.0, 2.0), ran("t2", 3.0, 4.0, "failed"), ran("t3", 5.0, 6.0), ran("t4", 7.0, 8.0, "skipped")],
    ))
    client = only_client(data)
    assert client["scenarios"] == {"passed": ["compat_tests/test_x.py::t1"], "failed": ["compat_tests/test_x.py::t2"]}
    assert apis(client)[1] == [16]  # sent between tests: its versions count, no scenario does
    assert data["scenarios"] == {"failed": 1, "passed": 2, "skipped": 1}


def test_a_connection_left_open_by_an_earlier_test_does_not_take_part_in_later_ones() -> None:
    kp = ["kafka-python", "3.0.12"]
    data = build_matrix(journal(
        [req(1.0, 18, 3, software=CONFLUENT, peer="127.0.0.1:1"),
         req(1.1, 18, 4, "kp", "127.0.0.1:2", kp),
         req(3.2, 3, 13, peer="127.0.0.1:1"),  # confluent's leftover from t1, during t2
         req(3.3, 18, 4, "kp", "127.0.0.1:3", kp), req(3.4, 0, 9, "kp", "127.0.0.1:3"),
         req(5.1, 18, 3, software=CONFLUENT, peer="127.0.0.1:1"),  # a new connection, same port
         req(5.2, 0, 10, peer="127.0.0.1:1")],
        [ran("t1", 1.0, 2.0), ran("t2", 3.0, 4.0), ran("t3", 5.0, 6.0)],
    ))
    scenarios = {c["client"]: c["scenarios"]["passed"] for c in data["clients"]}
    assert scenarios == {
        "confluent-kafka-python": ["compat_tests/test_x.py::t1", "compat_tests/test_x.py::t3"],
        "kafka-python": ["compat_tests/test_x.py::t1", "compat_tests/test_x.py::t2"],
    }
    confluent = data["clients"][0]
    assert apis(confluent)[3] == [13]  # its versions still count


def test_a_new_connection_on_a_reused_port_forgets_the_old_ones_software() -> None:
    data = build_matrix(journal(
        [req(1.0, 18, 3, "app", "127.0.0.1:1", ["lib", "1"]), req(1.0, 18, 3, "app", "127.0.0.1:2", ["other", "2"]),
         req(2.0, 18, 0, "app", "127.0.0.1:1"), req(2.1, 3, 9, "app", "127.0.0.1:1")],
        [],
    ))
    # "app" named two softwares, so the v0 connection is known by its client id alone.
    assert {c["client"]: apis(c) for c in data["clients"]} == {"lib": {18: [3]}, "other": {18: [3]}, "app": {3: [9], 18: [0]}}


def test_a_broker_is_matched_with_its_own_workers_tests() -> None:
    data = build_matrix({
        "brokers": [{"worker": "gw0", "requests": [req(1.5, 18, 3, software=CONFLUENT)]},
                    {"worker": "gw1", "requests": [req(1.5, 18, 4, "kp", software=["kafka-python", "3.0.12"])]}],
        "tests": {"gw0": [ran("a", 1.0, 2.0)], "gw1": [ran("b", 1.0, 2.0, "failed")]},
    })
    assert {c["client"]: c["scenarios"] for c in data["clients"]} == {
        "confluent-kafka-python": {"passed": ["compat_tests/test_x.py::a"], "failed": []},
        "kafka-python": {"passed": [], "failed": ["compat_tests/test_x.py::b"]},
    }


# -- reading the files -------------------------------------------------------------------------


def write_journal(folder: Path, requests: list[dict[str, Any]], tests: list[dict[str, Any]], torn: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requests-main-123.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests) + torn)
    (folder / "tests-main.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tests))


def test_read_journal_leaves_out_a_torn_last_line(tmp_path: Path) -> None:
    write_journal(tmp_path, [req(1.0, 18, 3, software=CONFLUENT)], [ran("t1", 0.0, 2.0)], torn='{"t": 1.5, "pe')
    read = read_journal(tmp_path)
    assert read == {"brokers": [{"worker": "main", "requests": [req(1.0, 18, 3, software=CONFLUENT)]}],
                    "tests": {"main": [ran("t1", 0.0, 2.0)]}}


def test_read_journal_of_a_missing_or_empty_folder_fails(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal folder"):
        read_journal(tmp_path / "nope")
    with pytest.raises(JournalError, match="holds no journal"):
        read_journal(tmp_path)


# -- rendering ---------------------------------------------------------------------------------


def test_version_ranges() -> None:
    assert version_ranges([4, 0, 1, 2, 2, 7, 8]) == "0-2, 4, 7-8"
    assert version_ranges([3]) == "3"


def test_api_names_are_kafkas() -> None:
    assert [api_name(k) for k in (0, 18, 23, 28)] == ["Produce", "ApiVersions", "OffsetForLeaderEpoch", "TxnOffsetCommit"]
    assert api_name(9999) == "api 9999"


def test_markdown_has_a_scenario_table_and_a_version_matrix() -> None:
    data = build_matrix(journal(
        [req(1.0, 18, 3, software=CONFLUENT), req(1.1, 0, 9), req(1.2, 0, 10),
         req(1.3, 18, 4, "kp", "127.0.0.1:2", ["kafka-python", "3.0.12"]), req(1.4, 1, 12, "kp", "127.0.0.1:2"),
         req(3.1, 3, 1, "kafkalite-differential", "127.0.0.1:3")],
        [ran("t1", 1.0, 2.0), ran("t2", 3.0, 4.0, "failed")],
    ))
    assert render_markdown(data) == (
        "Compat run: 2 scenarios (1 failed, 1 passed).\n"
        "\n"
        "| client | scenarios passed | scenarios failed |\n"
        "|---|---:|---:|\n"
        "| confluent-kafka-python 2.16.1 (librdkafka 2.16.0) | 1 | 0 |\n"
        "| kafka-python 3.0.12 | 1 | 0 |\n"
        '| client id "kafkalite-differential" | 0 | 1 |\n'
        "\n"
        '| key | API | confluent-kafka-python 2.16.1 (librdkafka 2.16.0) | kafka-python 3.0.12 | client id "kafkalite-differential" |\n'
        "|---:|---|---|---|---|\n"
        "| 0 | Produce | 9-10 |  |  |\n"
        "| 1 | Fetch |  | 12 |  |\n"
        "| 3 | Metadata |  |  | 1 |\n"
        "| 18 | ApiVersions | 3 | 4 |  |\n"
    )


def test_clients_known_by_software_come_before_client_ids() -> None:
    data = build_matrix(journal([req(1.0, 3, 1, "aaa"), req(1.0, 18, 3, "zzz", "127.0.0.1:9", ["zlib", "1"])], []))
    assert [c["client"] for c in data["clients"]] == ["zlib", "aaa"]


def test_dumps_keeps_each_api_on_one_line_and_reads_back() -> None:
    data = build_matrix(journal([req(1.0, 0, v) for v in (3, 7, 9)], []))
    text = dumps(data)
    assert '    {"api_key": 0, "api": "Produce", "versions": [3, 7, 9]}' in text.splitlines()
    assert json.loads(text) == data


def test_readme_table_is_replaced_between_the_markers() -> None:
    text = f"intro\n{README_START}\nold\n{README_END}\nrest\n"
    replaced = replace_readme_table(text, "| new |\n")
    assert replaced == f"intro\n{README_START}\n| new |\n{README_END}\nrest\n"
    assert readme_table(replaced) == "| new |\n"
    with pytest.raises(JournalError, match="markers"):
        replace_readme_table("no markers", "x")


# -- the command -------------------------------------------------------------------------------


def test_update_writes_the_data_file_and_the_readme_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_journal(tmp_path / "journal", [req(1.0, 18, 3, software=CONFLUENT)], [ran("t1", 0.0, 2.0)])
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{README_START}\n{README_END}\n")
    data_file = tmp_path / "matrix.json"
    status = main(["--journal", str(tmp_path / "journal"), "--update", "--data", str(data_file), "--readme", str(readme)])
    assert status == 0
    data = json.loads(data_file.read_text())
    assert only_client(data)["scenarios"]["passed"] == ["compat_tests/test_x.py::t1"]
    assert readme_table(readme.read_text()) == render_markdown(data)
    assert capsys.readouterr().out == render_markdown(data)
    # Without --journal it renders the data file.
    assert main(["--data", str(data_file), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == data


def test_update_without_a_journal_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--update"])
    assert exc.value.code == 2
    assert "--update needs --journal" in capsys.readouterr().err


def test_a_missing_data_file_is_an_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["compat", "--data", str(tmp_path / "none.json")]) == 1
    assert "kafkalite compat: error: cannot read" in capsys.readouterr().err
    assert cli_main(["compat", "--data", str(COMMITTED), "--readme", str(tmp_path / "NO-README.md")]) == 1
    assert f"cannot read {tmp_path / 'NO-README.md'}" in capsys.readouterr().err


# -- the committed matrix ----------------------------------------------------------------------


COMMITTED = ROOT / "compat_tests" / "compat-matrix.json"


def test_readme_table_is_what_the_committed_matrix_renders_to() -> None:
    data = json.loads(COMMITTED.read_text())
    assert readme_table((ROOT / "README.md").read_text()) == render_markdown(data), (
        "README's compat matrix differs from compat_tests/compat-matrix.json: run "
        "`kafkalite compat --readme README.md` (or `make compat-matrix`)"
    )


def test_every_api_version_in_the_committed_matrix_is_served() -> None:
    data = json.loads(COMMITTED.read_text())
    assert data["clients"], "the committed matrix names no client"
    for client in data["clients"]:
        for api in client["apis"]:
            assert api["api_key"] in SERVED, f"{client_label(client)} used {api['api']}, which kafkalite does not serve"
            _module, lo, hi = SERVED[api["api_key"]]
            outside = [v for v in api["versions"] if not lo <= v <= hi]
            assert not outside, f"{client_label(client)} used {api['api']} v{outside}; kafkalite serves v{lo}-{hi}"


def test_the_committed_matrix_covers_both_client_libraries() -> None:
    data = json.loads(COMMITTED.read_text())
    names = {c["client"] for c in data["clients"] if c["scenarios"]["passed"]}
    assert {"confluent-kafka-python", "kafka-python"} <= names
