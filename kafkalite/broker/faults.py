"""Fault rules: what a test asks the broker to do wrong, and when (issue #12, part 1).

A `FaultRule` is a spec (the keys a test gave, in Python or as HTTP JSON) checked once and
compiled: which requests it matches, what it does to them, how often it fires. `FaultRules`
keeps them (``broker.faults``) and picks, for one request, the rule that fires. This module is
pure: no sockets, no trio; the server (`kafkalite.server.faults`) applies the chosen action.

Matching keys (all optional; every given key must match):

* ``api``: a name ("Produce", "OffsetCommit", "OFFSET_COMMIT") or an API key;
* ``versions``: "3-9", "3+", [3, 9] or 5;
* ``client_id`` (exact) / ``client_id_pattern`` (a regex the whole client id must match);
* ``peer``: "host" or "host:port" of the client's connection;
* ``node_id``: the emulated broker node that received the request;
* ``topic`` / ``topic_pattern`` (whole-name regex) and ``partition``, for APIs whose requests
  name topics; ``group_id``; ``transactional_id``.

Actions: ``error`` (name or code) with ``error_message``, ``scope`` ("request" or "partition";
by default "partition" when the rule names a topic and the API answers per partition, else
"request"), ``leader_hint`` (a node id for NOT_LEADER_OR_FOLLOWER's current leader);
``delay_ms``; ``throttle_ms``; ``drop`` (never answer); ``close`` ("before": the request is not
applied, "after": it is, and no answer); ``apply`` (with ``error``: the request is applied and
then answered with the error, a lost acknowledgement); ``stall`` (Fetch returns no records for
the matched partitions while the rule exists).

Firing: a matching rule is armed after its first ``after`` matches; it then fires ``times``
times (default 1), or on every match with ``always``, each time with ``probability`` (from a
random generator seeded with ``seed``, so a run repeats). A stall rule fires while it exists.
One rule acts on a request: the oldest that matches and fires; rules after it do not see that
request (neither their ``matched`` nor their ``fired`` counts it).
"""

from __future__ import annotations

import itertools
import random
import re
from typing import Any, Callable

import attrs

from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode

__all__ = [
    "PARTITION_SCOPED_APIS",
    "SPEC_KEYS",
    "FaultRule",
    "FaultRules",
    "FaultSpecError",
    "Targets",
    "api_key_of",
]

#: Every key a spec may have, in the order `FaultRule.to_dict` lists them.
SPEC_KEYS = (
    "api",
    "versions",
    "client_id",
    "client_id_pattern",
    "peer",
    "node_id",
    "topic",
    "topic_pattern",
    "partition",
    "group_id",
    "transactional_id",
    "error",
    "error_message",
    "scope",
    "leader_hint",
    "delay_ms",
    "throttle_ms",
    "drop",
    "close",
    "apply",
    "stall",
    "times",
    "always",
    "probability",
    "seed",
    "after",
)

#: APIs whose answers carry an error per topic or partition, so a rule can fail only the
#: partitions it names (kafkalite.broker.registry builds those answers).
PARTITION_SCOPED_APIS = frozenset(
    {
        ApiKey.PRODUCE,
        ApiKey.FETCH,
        ApiKey.LIST_OFFSETS,
        ApiKey.METADATA,
        ApiKey.OFFSET_COMMIT,
        ApiKey.OFFSET_FETCH,
        ApiKey.DELETE_RECORDS,
        ApiKey.OFFSET_FOR_LEADER_EPOCH,
        ApiKey.TXN_OFFSET_COMMIT,
    }
)


class FaultSpecError(ValueError):
    """A fault spec that cannot be used; `field` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _squash(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


_API_BY_NAME = {_squash(key.name): int(key) for key in ApiKey}
_ERROR_BY_NAME = {_squash(code.name): code for code in ErrorCode}


def api_key_of(value: Any) -> int:
    """The API key *value* names ("Produce", "PRODUCE", "offset_commit", 0).

    Raises:
        FaultSpecError: no such API (field ``api``).
    """
    if isinstance(value, bool):
        raise FaultSpecError("api", f"not an API name or key: {value!r}")
    if isinstance(value, int):
        if value in ApiKey._value2member_map_:
            return value
        raise FaultSpecError("api", f"unknown API key {value}")
    if isinstance(value, str):
        key = _API_BY_NAME.get(_squash(value.strip()))
        if key is not None:
            return key
        if value.strip().isdigit():
            return api_key_of(int(value))
        raise FaultSpecError("api", f"unknown API {value!r}")
    raise FaultSpecError("api", f"not an API name or key: {value!r}")


def _error_of(value: Any) -> ErrorCode:
    if isinstance(value, bool):
        raise FaultSpecError("error", f"not an error name or code: {value!r}")
    try:
        if isinstance(value, int):
            code = ErrorCode(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            code = ErrorCode(int(value))
        elif isinstance(value, str):
            code = _ERROR_BY_NAME[_squash(value.strip())]
        else:
            raise FaultSpecError("error", f"not an error name or code: {value!r}")
    except (ValueError, KeyError):
        raise FaultSpecError("error", f"unknown error {value!r}") from None
    if code == ErrorCode.NONE:
        raise FaultSpecError("error", "NONE is not an error")
    return code


def _versions_of(value: Any) -> tuple[int, int]:
    bad = FaultSpecError("versions", f'expected a version, "lo-hi", "lo+" or [lo, hi], got {value!r}')
    try:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            lo = hi = value
        elif isinstance(value, str):
            text = value.strip()
            if text.endswith("+"):
                lo, hi = int(text[:-1]), 0x7FFF
            elif "-" in text:
                first, last = text.split("-")
                lo, hi = int(first), int(last)
            else:
                lo = hi = int(text)
        elif isinstance(value, (list, tuple)) and len(value) == 2 and not any(isinstance(v, bool) for v in value):
            lo, hi = int(value[0]), int(value[1])
        else:
            raise bad
    except ValueError:
        raise bad from None
    if lo < 0 or hi < lo:
        raise bad
    return lo, hi


def _regex(field: str, value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise FaultSpecError(field, f"expected a regular expression string, got {value!r}")
    try:
        return re.compile(value)
    except re.error as exc:
        raise FaultSpecError(field, f"bad regular expression {value!r}: {exc}") from None


def _int(field: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultSpecError(field, f"expected an integer, got {value!r}")
    if value < minimum:
        raise FaultSpecError(field, f"must be at least {minimum}, got {value}")
    return value


def _str(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise FaultSpecError(field, f"expected a string, got {value!r}")
    return value


def _bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FaultSpecError(field, f"expected true or false, got {value!r}")
    return value


@attrs.frozen
class Targets:
    """What one request names, for matching: topics (each with the partitions it names, or
    None for the whole topic), group ids and transactional ids."""

    topics: dict[str, frozenset[int] | None] = attrs.Factory(dict)
    groups: frozenset[str] = frozenset()
    transactional_ids: frozenset[str] = frozenset()


@attrs.define(eq=False)
class FaultRule:
    """One checked rule with its live counters (`matched`, `fired`). Build with `FaultRules.add`."""

    id: int
    spec: dict[str, Any]
    api_key: int | None = None
    versions: tuple[int, int] | None = None
    client_id: str | None = None
    client_id_pattern: re.Pattern[str] | None = None
    peer: str | None = None
    node_id: int | None = None
    topic: str | None = None
    topic_pattern: re.Pattern[str] | None = None
    partition: int | None = None
    group_id: str | None = None
    transactional_id: str | None = None
    error: ErrorCode | None = None
    error_message: str | None = None
    scope: str = "request"
    leader_hint: int | None = None
    delay_ms: int = 0
    throttle_ms: int = 0
    drop: bool = False
    close: str | None = None
    apply: bool = False
    stall: bool = False
    times: int = 1
    always: bool = False
    probability: float | None = None
    seed: int | None = None
    after: int = 0
    matched: int = 0
    fired: int = 0
    _random: random.Random = attrs.field(init=False, factory=random.Random)

    def __attrs_post_init__(self) -> None:
        self._random.seed(self.seed)

    @property
    def exhausted(self) -> bool:
        """True once the rule has fired all its times (it still counts matches)."""
        return not (self.always or self.stall) and self.fired >= self.times

    @property
    def needs_targets(self) -> bool:
        """Whether matching reads the request's topics, groups or transactional ids."""
        return (
            self.topic is not None
            or self.topic_pattern is not None
            or self.group_id is not None
            or self.transactional_id is not None
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec as given, plus ``id``, ``matched`` and ``fired`` (JSON-able)."""
        out: dict[str, Any] = {"id": self.id}
        out.update(self.spec)
        out["matched"] = self.matched
        out["fired"] = self.fired
        return out

    # -- matching ----------------------------------------------------------------------

    def matches_client(self, api_key: int, api_version: int, client_id: str | None, peer: str, node_id: int) -> bool:
        """Whether the request's API, version and connection match (its content aside)."""
        if self.api_key is not None and api_key != self.api_key:
            return False
        if self.versions is not None and not self.versions[0] <= api_version <= self.versions[1]:
            return False
        if self.client_id is not None and client_id != self.client_id:
            return False
        if self.client_id_pattern is not None and self.client_id_pattern.fullmatch(client_id or "") is None:
            return False
        if self.peer is not None and peer != self.peer and peer.rpartition(":")[0] != self.peer:
            return False
        return self.node_id is None or node_id == self.node_id

    def topic_matches(self, name: str) -> bool:
        if self.topic is not None and name != self.topic:
            return False
        return self.topic_pattern is None or self.topic_pattern.fullmatch(name) is not None

    def matched_partitions(self, targets: Targets) -> dict[str, frozenset[int] | None]:
        """The topics (and partitions, None = the whole topic or every partition it names)
        of *targets* this rule's topic keys select; all of them when it names no topic."""
        out: dict[str, frozenset[int] | None] = {}
        for name, partitions in targets.topics.items():
            if not self.topic_matches(name):
                continue
            if self.partition is None:
                out[name] = partitions
            elif partitions is None or self.partition in partitions:
                out[name] = frozenset({self.partition})
        return out

    def matches_targets(self, targets: Targets) -> bool:
        if self.group_id is not None and self.group_id not in targets.groups:
            return False
        if self.transactional_id is not None and self.transactional_id not in targets.transactional_ids:
            return False
        if self.topic is None and self.topic_pattern is None:
            return True
        return bool(self.matched_partitions(targets))

    def count_match(self) -> bool:
        """Count one match; return True when the rule fires on it (and count that too)."""
        self.matched += 1
        if self.matched <= self.after or self.exhausted:
            return False
        if self.probability is not None and self._random.random() >= self.probability:
            return False
        self.fired += 1
        return True


def _compile(rule_id: int, spec: dict[str, Any]) -> FaultRule:
    """Check *spec* and build its rule, or raise FaultSpecError naming the first bad key."""
    unknown = [key for key in spec if key not in SPEC_KEYS]
    if unknown:
        raise FaultSpecError(unknown[0], f"unknown key (known: {', '.join(SPEC_KEYS)})")
    values: dict[str, Any] = {}
    given = {key: value for key, value in spec.items() if value is not None}
    for key, value in given.items():
        if key == "api":
            values["api_key"] = api_key_of(value)
        elif key == "versions":
            values["versions"] = _versions_of(value)
        elif key in ("client_id_pattern", "topic_pattern"):
            values[key] = _regex(key, value)
        elif key in ("client_id", "peer", "topic", "group_id", "transactional_id", "error_message"):
            values[key] = _str(key, value)
        elif key in ("node_id", "partition", "leader_hint", "delay_ms", "throttle_ms", "seed", "after"):
            values[key] = _int(key, value)
        elif key == "times":
            values[key] = _int(key, value, minimum=1)
        elif key in ("drop", "apply", "stall", "always"):
            values[key] = _bool(key, value)
        elif key == "error":
            values["error"] = _error_of(value)
        elif key == "scope":
            if value not in ("request", "partition"):
                raise FaultSpecError(key, f'expected "request" or "partition", got {value!r}')
            values[key] = value
        elif key == "close":
            if value not in ("before", "after"):
                raise FaultSpecError(key, f'expected "before" or "after", got {value!r}')
            values[key] = value
        elif key == "probability":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise FaultSpecError(key, f"expected a number from 0 to 1, got {value!r}")
            values[key] = float(value)
    _check_combination(values)
    return FaultRule(id=rule_id, spec=dict(given), **values)


def _check_combination(values: dict[str, Any]) -> None:
    """Cross-key rules of a spec (fills in the default scope and stall's API)."""
    error = values.get("error")
    names_topic = "topic" in values or "topic_pattern" in values
    if not any(values.get(key) for key in ("error", "delay_ms", "throttle_ms", "drop", "close", "stall")):
        raise FaultSpecError("error", "a rule needs an action: error, delay_ms, throttle_ms, drop, close or stall")
    if "partition" in values and not names_topic:
        raise FaultSpecError("partition", "a partition needs a topic or topic_pattern")
    if values.get("drop") and values.get("close"):
        raise FaultSpecError("close", "drop never answers and close closes: choose one")
    if error is not None and (values.get("drop") or values.get("close")):
        raise FaultSpecError("error", "a dropped or closed request has no answer to carry an error")
    if values.get("apply") and error is None:
        raise FaultSpecError("apply", "apply needs an error to answer after applying the request")
    for key in ("error_message", "leader_hint", "scope"):
        if key in values and error is None:
            raise FaultSpecError(key, f"{key} needs an error")
    if values.get("stall"):
        if values.setdefault("api_key", ApiKey.FETCH) != ApiKey.FETCH:
            raise FaultSpecError("stall", "only Fetch can stall")
        if error is not None or values.get("drop") or values.get("close"):
            raise FaultSpecError("stall", "a stalled Fetch is answered (empty): no error, drop or close")
    if error is not None and "api_key" not in values:
        raise FaultSpecError("api", "an error rule needs the API whose answer carries the error")
    api_key = values.get("api_key")
    if error is not None:
        scope = values.get("scope")
        if scope is None:
            scope = "partition" if names_topic and api_key in PARTITION_SCOPED_APIS else "request"
        if scope == "partition":
            if api_key not in PARTITION_SCOPED_APIS:
                raise FaultSpecError("scope", f"{ApiKey(api_key).name} has no per-partition errors")
            if not names_topic:
                raise FaultSpecError("scope", "a partition-scoped error needs a topic or topic_pattern")
        values["scope"] = scope


class FaultRules:
    """The broker's fault rules (``broker.faults``), oldest first. Broker thread only."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)  # never reused, also after clear()
        #: The one check dispatch makes: False while no rule exists.
        self.active = False

    @property
    def rules(self) -> list[FaultRule]:
        """The rules, oldest first (a copy)."""
        return list(self._rules)

    def add(self, **spec: Any) -> FaultRule:
        """Check *spec*, add its rule and return it (live counters).

        Raises:
            FaultSpecError: a key is unknown or its value (or combination) unusable; nothing
                is added then.
        """
        rule = _compile(next(self._ids), spec)
        self._rules.append(rule)
        self.active = True
        return rule

    def get(self, rule_id: int) -> FaultRule | None:
        return next((rule for rule in self._rules if rule.id == rule_id), None)

    def remove(self, rule_id: int) -> bool:
        """Remove the rule with *rule_id*; False if there is none."""
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        self.active = bool(self._rules)
        return len(self._rules) < before

    def clear(self) -> int:
        """Remove every rule; return how many there were."""
        count = len(self._rules)
        self._rules = []
        self.active = False
        return count

    def select(
        self,
        api_key: int,
        api_version: int,
        client_id: str | None,
        peer: str,
        node_id: int,
        targets: Callable[[], Targets],
    ) -> tuple[FaultRule, Targets | None] | None:
        """The rule that fires on this request, with the request's targets if they were read
        (*targets* is called at most once, only if a candidate rule looks at them); None when
        none fires. Counts ``matched`` and ``fired``."""
        read: Targets | None = None
        for rule in self._rules:
            if not rule.matches_client(api_key, api_version, client_id, peer, node_id):
                continue
            if rule.needs_targets:
                if read is None:
                    read = targets()
                if not rule.matches_targets(read):
                    continue
            if rule.count_match():
                return rule, read
        return None

