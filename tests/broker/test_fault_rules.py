"""The fault rule engine (kafkalite.broker.faults): checking specs, matching, firing, counters."""

from __future__ import annotations

import pytest

from kafkalite.broker.faults import FaultRules, FaultSpecError, Targets, api_key_of
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode

NO_TARGETS = Targets()


def select(rules: FaultRules, api: int = 0, version: int = 9, client: str | None = "app", peer: str = "127.0.0.1:5000", node: int = 0, targets: Targets = NO_TARGETS):
    return rules.select(api, version, client, peer, node, lambda: targets)


def fired_ids(rules: FaultRules, n: int, **kw) -> list[int | None]:
    out = []
    for _ in range(n):
        chosen = select(rules, **kw)
        out.append(chosen[0].id if chosen else None)
    return out


# -- spec checking ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "tpoic": "t"}, "tpoic"),
        ({"api": "Prodce", "error": 6}, "api"),
        ({"api": 999, "error": 6}, "api"),
        ({"api": "Produce", "error": "NOT_A_CODE"}, "error"),
        ({"api": "Produce", "error": 0}, "error"),
        ({"api": "Produce", "error": 6, "versions": "9-3"}, "versions"),
        ({"api": "Produce", "error": 6, "versions": "x"}, "versions"),
        ({"api": "Produce", "error": 6, "topic_pattern": "("}, "topic_pattern"),
        ({"api": "Produce", "error": 6, "client_id_pattern": "[a"}, "client_id_pattern"),
        ({"api": "Produce", "error": 6, "times": 0}, "times"),
        ({"api": "Produce", "error": 6, "times": "3"}, "times"),
        ({"api": "Produce", "error": 6, "probability": 1.5}, "probability"),
        ({"api": "Produce", "error": 6, "scope": "topic"}, "scope"),
        ({"api": "Produce", "error": 6, "topic": "t", "partition": -1}, "partition"),
        ({"api": "Produce", "error": 6, "partition": 0}, "partition"),
        ({"api": "Produce", "close": "during"}, "close"),
        ({"api": "Produce", "drop": "yes"}, "drop"),
        ({"api": "Produce", "drop": True, "close": "after"}, "close"),
        ({"api": "Produce", "error": 6, "drop": True}, "error"),
        ({"api": "Produce", "apply": True, "delay_ms": 5}, "apply"),
        ({"api": "Produce", "delay_ms": -1}, "delay_ms"),
        ({"api": "Produce"}, "error"),
        ({"error": 6}, "api"),
        ({"api": "Produce", "stall": True}, "stall"),
        ({"api": "JoinGroup", "error": 16, "topic": "t", "scope": "partition"}, "scope"),
        ({"api": "Produce", "error": 6, "scope": "partition"}, "scope"),
        ({"api": "Produce", "delay_ms": 5, "leader_hint": 1}, "leader_hint"),
    ],
)
def test_bad_spec_names_the_field_and_adds_nothing(spec: dict, field: str) -> None:
    rules = FaultRules()
    with pytest.raises(FaultSpecError) as info:
        rules.add(**spec)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert rules.rules == [] and not rules.active


@pytest.mark.parametrize(
    ("name", "key"),
    [("Produce", 0), ("PRODUCE", 0), ("offset_commit", 8), ("OffsetCommit", 8), (9, 9), ("1", 1)],
)
def test_api_by_name_or_key(name, key) -> None:
    assert api_key_of(name) == key


def test_versions_forms() -> None:
    rules = FaultRules()
    assert rules.add(api=0, error=6, versions="3-9").versions == (3, 9)
    assert rules.add(api=0, error=6, versions=[3, 9]).versions == (3, 9)
    assert rules.add(api=0, error=6, versions=5).versions == (5, 5)
    assert rules.add(api=0, error=6, versions="7+").versions == (7, 0x7FFF)


def test_to_dict_is_the_spec_as_given_with_counters() -> None:
    rules = FaultRules()
    rule = rules.add(api="Produce", error="NOT_LEADER_OR_FOLLOWER", topic="t", times=3)
    assert rule.to_dict() == {
        "id": rule.id,
        "api": "Produce",
        "error": "NOT_LEADER_OR_FOLLOWER",
        "topic": "t",
        "times": 3,
        "matched": 0,
        "fired": 0,
    }
    assert rule.error is ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert rule.scope == "partition"  # it names a topic of an API with per-partition errors


def test_default_scope_is_request_without_topic() -> None:
    rules = FaultRules()
    assert rules.add(api="Heartbeat", error="NOT_COORDINATOR").scope == "request"
    assert rules.add(api="Produce", error=6, topic="t", scope="request").scope == "request"


def test_stall_defaults_to_fetch() -> None:
    assert FaultRules().add(stall=True, topic="t").api_key == ApiKey.FETCH


# -- registry -----------------------------------------------------------------------------


def test_ids_count_up_and_are_never_reused() -> None:
    rules = FaultRules()
    first = rules.add(api=0, error=6)
    second = rules.add(api=0, error=6)
    assert (first.id, second.id) == (1, 2)
    assert rules.get(2) is second
    assert rules.remove(1) and not rules.remove(1)
    assert rules.rules == [second] and rules.active
    assert rules.clear() == 1 and not rules.active
    assert rules.add(api=0, error=6).id == 3


# -- matching -----------------------------------------------------------------------------


def test_api_and_version_range() -> None:
    rules = FaultRules()
    rule = rules.add(api="Produce", versions="3-8", error=6, always=True)
    assert select(rules, api=1) is None
    assert select(rules, version=9) is None
    assert select(rules, version=3)[0] is rule
    assert (rule.matched, rule.fired) == (1, 1)


def test_client_id_exact_and_pattern() -> None:
    rules = FaultRules()
    exact = rules.add(api=0, error=6, client_id="app-1", always=True)
    assert select(rules, client="app-10") is None
    assert select(rules, client=None) is None
    assert select(rules, client="app-1")[0] is exact
    rules.clear()
    pattern = rules.add(api=0, error=6, client_id_pattern="app-[0-9]", always=True)
    assert select(rules, client="app-10") is None  # the whole id must match
    assert select(rules, client="app-7")[0] is pattern


def test_peer_host_or_host_and_port() -> None:
    rules = FaultRules()
    rules.add(api=0, error=6, peer="10.0.0.1", always=True)
    assert select(rules, peer="10.0.0.1:4000") is not None
    assert select(rules, peer="10.0.0.11:4000") is None
    rules.clear()
    rules.add(api=0, error=6, peer="10.0.0.1:4000", always=True)
    assert select(rules, peer="10.0.0.1:4000") is not None
    assert select(rules, peer="10.0.0.1:4001") is None


def test_node_id() -> None:
    rules = FaultRules()
    rules.add(api=0, error=6, node_id=2, always=True)
    assert select(rules, node=1) is None
    assert select(rules, node=2) is not None


def test_topic_partition_group_and_transactional_id() -> None:
    rules = FaultRules()
    rule = rules.add(api=0, error=6, topic_pattern="orders-.*", partition=1, always=True)
    assert select(rules, targets=Targets(topics={"orders-eu": frozenset({0})})) is None
    assert select(rules, targets=Targets(topics={"users": frozenset({1})})) is None
    hit = select(rules, targets=Targets(topics={"orders-eu": frozenset({0, 1}), "users": frozenset({1})}))
    assert hit is not None and hit[0] is rule
    assert rule.matched_partitions(hit[1]) == {"orders-eu": frozenset({1})}
    rules.clear()
    rules.add(api=11, error=16, group_id="g", always=True)
    assert select(rules, api=11, targets=Targets(groups=frozenset({"h"}))) is None
    assert select(rules, api=11, targets=Targets(groups=frozenset({"g"}))) is not None
    rules.clear()
    rules.add(api=22, error=15, transactional_id="tx", always=True)
    assert select(rules, api=22, targets=Targets(transactional_ids=frozenset({"tx"}))) is not None


def test_targets_are_read_only_when_a_rule_needs_them() -> None:
    rules = FaultRules()
    rules.add(api=0, error=6, always=True)
    calls = []
    assert rules.select(0, 9, "c", "p", 0, lambda: calls.append(1) or NO_TARGETS) is not None
    assert calls == []


# -- firing -------------------------------------------------------------------------------


def test_times_default_one_then_exhausted_but_still_matching() -> None:
    rules = FaultRules()
    rule = rules.add(api=0, error=6)
    assert fired_ids(rules, 3) == [rule.id, None, None]
    assert (rule.matched, rule.fired) == (3, 1)


def test_times_and_always() -> None:
    rules = FaultRules()
    rule = rules.add(api=0, error=6, times=3)
    assert fired_ids(rules, 5) == [rule.id] * 3 + [None] * 2
    rules.clear()
    always = rules.add(api=0, error=6, always=True, times=1)
    assert fired_ids(rules, 4) == [always.id] * 4


def test_after_arms_the_rule_after_k_matches() -> None:
    rules = FaultRules()
    rule = rules.add(api=0, error=6, after=2, times=2)
    assert fired_ids(rules, 5) == [None, None, rule.id, rule.id, None]
    assert (rule.matched, rule.fired) == (5, 2)


def test_probability_with_seed_repeats() -> None:
    def run() -> list[int | None]:
        rules = FaultRules()
        rules.add(api=0, error=6, probability=0.5, seed=42, always=True)
        return fired_ids(rules, 40)

    first = run()
    assert first == run()
    assert 5 < sum(1 for x in first if x) < 35
    rules = FaultRules()
    never = rules.add(api=0, error=6, probability=0, always=True)
    assert fired_ids(rules, 5) == [None] * 5 and never.matched == 5


def test_oldest_firing_rule_wins_and_later_rules_do_not_see_the_request() -> None:
    rules = FaultRules()
    first = rules.add(api=0, error=6, times=1)
    second = rules.add(api=0, error=29, times=1)
    assert fired_ids(rules, 3) == [first.id, second.id, None]
    assert (first.matched, first.fired) == (3, 1)
    assert (second.matched, second.fired) == (2, 1)


def test_stall_fires_while_it_exists() -> None:
    rules = FaultRules()
    rule = rules.add(stall=True, topic="t")
    targets = Targets(topics={"t": frozenset({0})})
    assert fired_ids(rules, 3, api=1, targets=targets) == [rule.id] * 3
